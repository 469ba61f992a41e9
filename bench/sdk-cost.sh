#!/usr/bin/env bash
# What the async AWS SDK costs at cold start: an S3 client built in the init (a current-thread
# tokio runtime, aws-config from the environment, aws-sdk-s3), on lambda-loop (`ll-s3`, the
# init of examples/aws-sdk-s3) and on the official lambda_runtime (`official-s3`), next to the
# plain echo of each (`ll-echo-size`, `official-size`). All x86_64 musl, profile `size`,
# stripped; measured by the same harness as run.sh, pinned to one CPU, ratios against
# `official-s3-size`.
#
# Usage: bench/sdk-cost.sh [--quick] [--rounds N]
# Writes results/sdk.md (a --quick run only target/sdk.md). The SDK builds take minutes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
quick=""
rounds=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick="--quick" ;;
        --rounds) rounds="$2"; shift ;;
        *) echo "sdk-cost.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
x86=x86_64-unknown-linux-musl
jobs="${CARGO_BUILD_JOBS:-2}"
log() { echo "sdk-cost.sh: $*" >&2; }
for tool in valgrind strace taskset zip; do
    command -v "$tool" >/dev/null || { log "$tool missing: run bench/run.sh once (it installs them)"; exit 1; }
done
cargo build -q --release -p harness
CARGO_BUILD_JOBS=$jobs cargo build -q -p ll-echo --profile size "${ll_size_config[@]}" --target "$x86"
CARGO_BUILD_JOBS=$jobs cargo build -q -p official-echo --profile size --target "$x86"
build_sdk_rows sdk-cost.sh || exit 1
sdk_target="$here/target/sdk"

crates_in_tree() { # workspace dir, package
    (cd "$1" && cargo tree -q -p "$2" -e normal --prefix none --target "$x86" 2>/dev/null) |
        sed -e 's/ (\*)$//' -e 's/ (proc-macro)$//' | sort -u | grep -c .
}
manifest="$here/target/sdk-manifest.tsv"
: >"$manifest"
add_row() { # name family binary workspace package
    local bytes zip
    bytes=$(stat -c %s "$3")
    zip=$(zip_bytes "$3")
    printf '%s\t%s\tsize\t%s\t%s\t%s\t-\t-\t%s\t-\n' "$1" "$2" "$3" "$bytes" "$zip" \
        "$(crates_in_tree "$4" "$5")" >>"$manifest"
}
add_row ll-echo-size ll-echo "$here/target/$x86/size/ll-echo" "$here" ll-echo
add_row ll-s3-size ll-s3 "$sdk_target/$x86/size/ll-s3" "$here/sdk" ll-s3
add_row official-size official "$here/target/$x86/size/official-echo" "$here" official-echo
add_row official-s3-size official-s3 "$sdk_target/$x86/size/official-s3" "$here/sdk" official-s3

table="$here/target/sdk-table.md"
args=(run --manifest "$manifest" --out "$table")
[[ -n "$quick" ]] && args+=(--quick)
[[ -n "$rounds" ]] && args+=(--rounds "$rounds")
BENCH_SPEED_BASELINE=official-s3-size BENCH_SIZE_BASELINE=official-s3-size \
    taskset -c 0 "$here/target/release/harness" "${args[@]}" >/dev/null

sdk_version() { # package name in the sdk workspace's tree
    (cd sdk && cargo tree -q -p ll-s3 -e normal --prefix none 2>/dev/null) |
        awk -v p="$1" '$1 == p { print $2; exit }'
}
{
    echo "# Cold-start cost of the async AWS SDK: lambda-loop vs the official lambda_runtime"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
    echo "- toolchain: $(rustc -V); aws-sdk-s3 $(sdk_version aws-sdk-s3), aws-config $(sdk_version aws-config), tokio $(sdk_version tokio)"
    echo "- command: \`bench/sdk-cost.sh${quick:+ --quick}${rounds:+ --rounds $rounds}\` (harness and functions pinned with \`taskset -c 0\`)"
    echo "- rows: \`ll-s3-size\` = lambda-loop + a current-thread tokio runtime + aws-config + an S3 client built in the init; \`official-s3-size\` = lambda_runtime + \`#[tokio::main]\` + the same client; both then echo (the harness checks every answer). x86_64 musl, profile size (opt-level z, LTO, panic abort), stripped. No S3 call is made: the rows measure what the SDK costs before the first event."
    echo
    # The harness's table of figures; its targets section is about the echo rows of run.sh.
    sed '/^Targets of the issue/,$d' "$table"
} >"$here/target/sdk.md"
[[ -n "$quick" ]] || cp "$here/target/sdk.md" "$here/results/sdk.md"
cat "$here/target/sdk.md"
