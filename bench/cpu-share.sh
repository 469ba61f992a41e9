#!/usr/bin/env bash
# Cold start at Lambda's CPU share: run by `bench/run.sh --lambda-cpu MB[,MB...]`.
#
# Lambda gives a function a share of one vCPU in proportion to its memory: a full one at
# 1,769 MB, MB/1769 below (128 MB: 1/13.8). Each function here runs in a cgroup whose CPU quota
# is that share of one CPU (per period of BENCH_CPU_PERIOD_US, default 20,000 µs), and in one
# without a quota ("full CPU"), interleaved, so that the rows differ by the quota alone. The
# harness spawns each child as a `sh` waiting on its stdin, moves it into the cgroup, then
# starts the clock and lets it exec the bootstrap (moving a process is slow on cgroup v1, and
# Lambda's sandbox is made before the bootstrap starts). The harness stays outside the
# cgroups, pinned to CPU 0 with the children (`taskset -c 0`).
#
# Rows: ll-echo-size, official-size and raw-size (run.sh's size builds), and the AWS SDK
# example's ll-s3-size and official-s3-size (built as bench/sdk-cost.sh builds them; left out
# with a line when musl-gcc cannot be had). Figures: the cold invocation (spawn → first
# response), spawn → first `next`, the CPU the init used, the first 64 B round trip after it,
# the 64 B round trip p50/p99 and invocations/s. Then the SDK rows again with SSL_CERT_FILE
# set to the system's bundle of root certificates (what a function can do about the SDK's
# init: see the table's note).
#
# Needs a writable cgroup CPU controller: cgroup v2 (`cpu.max`, the controller enabled in the
# root's cgroup.subtree_control) or v1 (`cpu.cfs_quota_us`); without one it says so in one line
# and exits 0. The cgroups are made under the controller's root as lambda-loop-bench-PID-*
# and removed on exit.
#
# Usage: bench/cpu-share.sh MB[,MB...] [--quick] [--rounds N]
# Writes results/lambda-cpu.md (a --quick run only target/lambda-cpu.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
log() { echo "cpu-share.sh: $*" >&2; }

[[ $# -ge 1 && "$1" =~ ^[0-9]+(,[0-9]+)*$ ]] || { log "usage: cpu-share.sh MB[,MB...] [--quick] [--rounds N]"; exit 2; }
IFS=, read -r -a memories <<<"$1"
shift
quick=""
rounds=5
invocations=300
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=yes; rounds=1; invocations=100 ;;
        --rounds) rounds="$2"; shift ;;
        *) log "unknown argument $1"; exit 2 ;;
    esac
    shift
done
period_us="${BENCH_CPU_PERIOD_US:-20000}"
x86=x86_64-unknown-linux-musl

# --- the cgroup controller ---------------------------------------------------------------
kind=""
root=""
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    if grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
        grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control \
            || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
        if grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control; then kind=v2; root=/sys/fs/cgroup; fi
    fi
elif [[ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]]; then
    kind=v1
    root=/sys/fs/cgroup/cpu
fi
made=()
remove_cgroups() {
    local dir
    for dir in "${made[@]}"; do
        rmdir "$dir" 2>/dev/null || log "could not remove $dir (a process still in it?)"
    done
}
trap remove_cgroups EXIT
cgroup=""
make_cgroup() { # name quota_us ("max" for none) -> its folder in $cgroup
    cgroup="$root/lambda-loop-bench-$$-$1"
    mkdir "$cgroup" 2>/dev/null || return 1
    made+=("$cgroup")
    if [[ $kind == v2 ]]; then
        echo "$2 $period_us" >"$cgroup/cpu.max"
    else
        echo "$period_us" >"$cgroup/cpu.cfs_period_us"
        if [[ $2 == max ]]; then echo -1 >"$cgroup/cpu.cfs_quota_us"; else echo "$2" >"$cgroup/cpu.cfs_quota_us"; fi
    fi
}
if [[ -z "$kind" ]] || ! make_cgroup full max 2>/dev/null; then
    log "no writable cgroup CPU controller here (cgroup v2 cpu.max or v1 cpu.cfs_quota_us, as root): the Lambda CPU share table is skipped"
    exit 0
fi
full="$cgroup"

# --- the functions -----------------------------------------------------------------------
cargo build -q --release -p harness
for package in ll-echo official-echo raw-floor; do
    extra=()
    [[ $package == ll-* ]] && extra=("${ll_size_config[@]}")
    CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build -q -p "$package" --profile size "${extra[@]}" --target "$x86"
done
manifest="$here/target/share-manifest.tsv"
: >"$manifest"
add_row() { # name family binary
    printf '%s\t%s\tsize\t%s\t-\t-\t-\t-\t-\t-\n' "$1" "$2" "$3" >>"$manifest"
}
add_row ll-echo-size ll-echo "$here/target/$x86/size/ll-echo"
add_row official-size official "$here/target/$x86/size/official-echo"
add_row raw-size raw "$here/target/$x86/size/raw-floor"
sdk_manifest="$here/target/share-sdk-manifest.tsv"
: >"$sdk_manifest"
if build_sdk_rows cpu-share.sh; then
    add_row ll-s3-size ll-s3 "$here/target/sdk/$x86/size/ll-s3"
    add_row official-s3-size official-s3 "$here/target/sdk/$x86/size/official-s3"
    grep -- '-s3-size' "$manifest" >"$sdk_manifest"
else
    log "the SDK example's rows are left out"
fi
# Most of the SDK's init is its TLS client loading the system's root certificates
# (rustls-native-certs): the bundle, and every file of the certificate folder. With
# SSL_CERT_FILE set, it reads that one file only: the second table measures that setting.
bundle=""
for candidate in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
    if [[ -f $candidate ]]; then bundle=$candidate; break; fi
done

# --- the settings: no quota, then each share ---------------------------------------------
settings=(--setting "full CPU=$full")
for mb in "${memories[@]}"; do
    quota=$((period_us * mb / 1769))
    share="$(awk -v mb="$mb" 'BEGIN { printf "%.1f", 1769 / mb }')"
    make_cgroup "$mb" "$quota" || { log "could not make the cgroup for $mb MB"; exit 1; }
    settings+=(--setting "$mb MB (1/$share vCPU: $quota µs per $period_us µs)=$cgroup")
done

table="$here/target/lambda-cpu-table.md"
taskset -c 0 "$here/target/release/harness" share --manifest "$manifest" "${settings[@]}" \
    --rounds "$rounds" --invocations "$invocations" --out "$table" >/dev/null
cert_table="$here/target/lambda-cpu-cert-table.md"
rm -f "$cert_table"
if [[ -s $sdk_manifest && -n $bundle ]]; then
    BENCH_CHILD_ENV="SSL_CERT_FILE=$bundle" taskset -c 0 "$here/target/release/harness" share \
        --manifest "$sdk_manifest" "${settings[@]}" --rounds "$rounds" --invocations "$invocations" \
        --out "$cert_table" >/dev/null
fi
{
    echo "# Cold start at Lambda's CPU share: lambda-loop, the official runtime, the raw floor, the AWS SDK example"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r); cgroup $kind CPU quota"
    echo "- toolchain: $(rustc -V)"
    echo "- command: \`bench/run.sh --lambda-cpu $(IFS=,; echo "${memories[*]}")${quick:+ --quick} --rounds $rounds\` (harness and functions pinned with \`taskset -c 0\`; each function is moved into its cgroup before its exec and before the clock starts)"
    echo "- rows: x86_64 musl, profile size, stripped; \`ll-s3-size\`/\`official-s3-size\` build an S3 client in the init (bench/sdk-cost.sh)"
    echo
    cat "$table"
    if [[ -f $cert_table ]]; then
        echo
        echo "The SDK rows again, with \`SSL_CERT_FILE=$bundle\` in the function's environment: the TLS client then loads that one bundle of root certificates, not also each file of $(dirname "$bundle") ($(find "$(dirname "$bundle")" -maxdepth 1 \( -name '*.pem' -o -name '*.crt' \) | wc -l) files here)."
        echo
        cat "$cert_table"
    fi
} >"$here/target/lambda-cpu.md"
[[ -n "$quick" ]] || cp "$here/target/lambda-cpu.md" "$here/results/lambda-cpu.md"
cat "$here/target/lambda-cpu.md"
