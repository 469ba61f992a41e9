#!/usr/bin/env bash
# Side-by-side benchmark: lambda-loop, the official lambda_runtime, and a raw floor.
#
# Usage: bench/run.sh [--quick] [--build-times] [--rounds N] [--tiny] [--baseline REV]
#   --quick        smoke run: one round, few invocations (about a minute)
#   --build-times  also time a clean `cargo build --release` per function family
#                  (slow; otherwise the last measured times in results/build-times.tsv are shown)
#   --rounds N     timing rounds (default 5)
#   --tiny         add `tiny` rows: nightly, build-std for size, immediate-abort panics, no
#                  unwind tables (build.sh --profile tiny), x86_64 and arm64
#                  (rebuilds std, several minutes more)
#   --baseline REV also build ll-echo and ll-json (release and size, x86_64 and arm64) from
#                  commit REV of this repository and measure them in the same run, as rows
#                  `ll-echo-release@REV` beside the current ones, with a before/after table
#                  (REV is checked out with `git worktree add --detach` in a temp folder and
#                  removed afterwards; its function crates are generated, pointing at it,
#                  under bench/target/baseline-REV, where their builds stay cached)
#   --lambda-cpu MB[,MB...]
#                  instead of all that, cold start at Lambda's CPU share for MB of memory
#                  (MB/1769 of one CPU, a cgroup CPU quota): init and the 64 B round trip of
#                  the size builds of ll-echo, official, raw and the AWS SDK example, beside
#                  the same without a quota (bench/cpu-share.sh, which says more; with
#                  --quick and --rounds N); writes results/lambda-cpu.md
# Prints one markdown table and writes it, with the machine and the date, to results/latest.md
# (a --quick run only to target/latest.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

quick=""
build_times=""
rounds=""
tiny=""
baseline=""
lambda_cpu=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick="--quick" ;;
        --build-times) build_times="yes" ;;
        --rounds) rounds="$2"; shift ;;
        --tiny) tiny="yes" ;;
        --baseline)
            [[ $# -ge 2 ]] || { echo "run.sh: --baseline takes a git revision" >&2; exit 2; }
            baseline="$2"; shift ;;
        --lambda-cpu)
            [[ $# -ge 2 ]] || { echo "run.sh: --lambda-cpu takes MB[,MB...]" >&2; exit 2; }
            lambda_cpu="$2"; shift ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

if [[ -n "$lambda_cpu" ]]; then
    exec "$here/cpu-share.sh" "$lambda_cpu" ${quick:+--quick} ${rounds:+--rounds "$rounds"}
fi

x86=x86_64-unknown-linux-musl
arm=aarch64-unknown-linux-musl
# arm64 links with the linker rustup ships; no cross gcc needed.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
jobs="${CARGO_BUILD_JOBS:-2}"

log() { echo "run.sh: $*" >&2; }

# --- tools -------------------------------------------------------------------------------
missing=()
for tool in valgrind strace taskset zip; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        packages=()
        for tool in "${missing[@]}"; do
            case "$tool" in taskset) packages+=(util-linux) ;; *) packages+=("$tool") ;; esac
        done
        log "installing ${packages[*]}"
        apt-get update -qq && apt-get install -y -qq "${packages[@]}" >/dev/null
    else
        log "missing ${missing[*]} and cannot install them (needs root and apt-get)"; exit 1
    fi
fi
rustup target add "$x86" "$arm" >/dev/null 2>&1 || log "rustup target add failed; using what is installed"

# --- builds ------------------------------------------------------------------------------
# name family profile package
functions=(
    "ll-echo-release ll-echo release ll-echo"
    "ll-echo-size ll-echo size ll-echo"
    "ll-json-release ll-json release ll-json"
    "ll-json-size ll-json size ll-json"
    "official-release official release official-echo"
    "official-size official size official-echo"
    "raw-release raw release raw-floor"
    "raw-size raw size raw-floor"
)
dir_of() { # profile -> cargo's output folder name
    if [[ "$1" == "release" ]]; then echo release; else echo "$1"; fi
}

# lambda-loop's size rows get lib.sh's ll_size_config; the official and raw rows keep "z"
# throughout, their smallest build.
profile_config_for() { # family profile -> extra cargo arguments
    if [[ "$1" == ll-* && "$2" == size ]]; then printf '%s\n' "${ll_size_config[@]}"; fi
}

cargo build -q --release -p harness
for target in "$x86" "$arm"; do
    for entry in "${functions[@]}"; do
        read -r name family profile package <<<"$entry"
        mapfile -t extra < <(profile_config_for "$family" "$profile")
        if ! CARGO_BUILD_JOBS=$jobs cargo build -q -p "$package" --profile "$profile" "${extra[@]}" --target "$target" 2>"target/$name.$target.build.log"; then
            log "building $name for $target failed (see bench/target/$name.$target.build.log); its $target figures are left out"
        fi
    done
done

# tiny rebuilds std, so of a target's rust-std it needs only musl's C runtime objects: when the
# nightly has none for a target (rustup cannot download it), they are read from this
# toolchain's, with the same musl version (build.sh's --profile tiny does the same, and says more).
musl_version() { ar p "$1" version.lo 2>/dev/null | tr -c '[:print:]' '\n' | grep -m 1 -E '^[0-9]+\.[0-9]+\.[0-9]+$' || true; }
tiny_crt_flags() { # target -> extra RUSTFLAGS for its link, or nothing
    local nightly own reference
    nightly="$(rustc +nightly --print sysroot)"
    [[ -d "$nightly/lib/rustlib/$1/lib" ]] && return 0
    rustup +nightly target add "$1" >/dev/null 2>&1 && return 0
    own="$(rustc --print sysroot)/lib/rustlib/$1/lib/self-contained"
    [[ -f "$own/libc.a" ]] || return 0
    for reference in "$nightly"/lib/rustlib/*-musl*/lib/self-contained/libc.a; do
        [[ -f "$reference" ]] || continue
        if [[ "$(musl_version "$reference")" != "$(musl_version "$own/libc.a")" ]]; then
            log "tiny: the nightly's musl differs from $own's; $1 is left to fail"; return 0
        fi
        break
    done
    echo " -Lnative=$own"
}
if [[ -n "$tiny" ]]; then
    # The smallest build stable can't make, as build.sh --profile tiny makes it: std rebuilt for
    # size, panics that abort at once, no unwind tables.
    declare -A crt_flags=()
    for target in "$x86" "$arm"; do crt_flags[$target]="$(tiny_crt_flags "$target")"; done
    for package in ll-echo ll-json official-echo raw-floor; do
        for target in "$x86" "$arm"; do
            if CARGO_BUILD_JOBS=$jobs RUSTFLAGS="-Cforce-unwind-tables=no -Zunstable-options -Cpanic=immediate-abort -Clink-self-contained=yes${crt_flags[$target]}" cargo +nightly build -q \
                -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size \
                -p "$package" --profile size --target "$target" --target-dir target/tiny \
                2>"target/tiny-$package.$target.build.log"; then
                :
            else
                log "tiny build of $package for $target failed (see bench/target/tiny-$package.$target.build.log)"
            fi
        done
    done
fi

# --- baseline: the lambda-loop functions as they were at REV ----------------------------
# The function crates depend on lambda-loop by path (../../..), so the baseline gets copies of
# REV's own function crates (its ll-json is written against REV's API) in a generated
# workspace whose path dependency points at a worktree of REV, with the current profiles (so
# only the library differs) and REV's bench/Cargo.lock (the dependency versions of then).
rev=""
base_tree=""
base_ws=""
remove_baseline_tree() {
    if [[ -n "$base_tree" && -d "$base_tree" ]]; then
        git -C "$here" worktree remove --force "$base_tree" || log "could not remove the worktree $base_tree"
    fi
    if [[ -n "$base_tree" ]]; then
        rm -rf "$(dirname "$base_tree")"
        git -C "$here" worktree prune
    fi
    base_tree=""
}
if [[ -n "$baseline" ]]; then
    if ! rev="$(git -C "$here" rev-parse --verify --quiet --short "$baseline^{commit}")"; then
        log "--baseline: $baseline is not a commit of this repository"; exit 2
    fi
    base_tree="$(mktemp -d)/lambda-loop"
    trap remove_baseline_tree EXIT
    git -C "$here" worktree add -q --detach "$base_tree" "$rev"
    base_ws="$here/target/baseline-$rev"
    rm -rf "$base_ws/functions"
    mkdir -p "$base_ws/functions"
    for package in ll-echo ll-json; do
        if [[ ! -f "$base_tree/bench/functions/$package/Cargo.toml" ]]; then
            log "--baseline: $rev has no bench/functions/$package"; exit 1
        fi
        cp -r "$base_tree/bench/functions/$package" "$base_ws/functions/"
        sed -i -E "s#^(lambda-loop *= *\{ *path *= *)\"[^\"]*\"#\1\"$base_tree\"#" \
            "$base_ws/functions/$package/Cargo.toml"
        grep -q "path = \"$base_tree\"" "$base_ws/functions/$package/Cargo.toml" \
            || { log "--baseline: no lambda-loop path dependency in $rev's $package"; exit 1; }
    done
    {
        echo "# Generated by bench/run.sh --baseline $rev: $rev's lambda-loop functions,"
        echo "# built with the current bench profiles. Rewritten at every run."
        echo "[workspace]"
        echo 'resolver = "2"'
        echo 'members = ["functions/ll-echo", "functions/ll-json"]'
        echo
        sed -n '/^\[profile\./,$p' "$here/Cargo.toml"
    } >"$base_ws/Cargo.toml"
    git -C "$here" show "$rev:bench/Cargo.lock" >"$base_ws/Cargo.lock" 2>/dev/null || rm -f "$base_ws/Cargo.lock"
    for target in "$x86" "$arm"; do
        for profile in release size; do
            for package in ll-echo ll-json; do
                mapfile -t extra < <(profile_config_for "$package" "$profile")
                if ! CARGO_BUILD_JOBS=$jobs cargo build -q --manifest-path "$base_ws/Cargo.toml" -p "$package" \
                    --profile "$profile" "${extra[@]}" --target "$target" 2>"$base_ws/$package-$profile.$target.build.log"; then
                    log "building $package ($profile) at $rev for $target failed (see $base_ws/$package-$profile.$target.build.log)"
                fi
            done
        done
    done
fi

bin_path() { # target profile package [tiny|baseline]
    if [[ "${4:-}" == tiny ]]; then
        # tiny = the size profile, built by nightly into its own target folder.
        echo "$here/target/tiny/$1/size/$3"
    elif [[ "${4:-}" == baseline ]]; then
        echo "$base_ws/target/$1/$(dir_of "$2")/$3"
    else
        echo "$here/target/$1/$(dir_of "$2")/$3"
    fi
}


crates_in_tree() { # package [manifest]
    cargo tree -q ${2:+--manifest-path "$2"} -p "$1" -e normal --prefix none --target "$x86" 2>/dev/null \
        | sed -e 's/ (\*)$//' -e 's/ (proc-macro)$//' | sort -u | grep -c .
}

# --- clean build times -------------------------------------------------------------------
times_file="$here/results/build-times.tsv"
if [[ -n "$build_times" ]]; then
    # The date the times were measured goes into the file: its modification time is not
    # that date (a checkout or a copy resets it).
    echo "# measured: $(date -u '+%Y-%m-%d %H:%M UTC')" >"$times_file.new"
    for package in ll-echo ll-json official-echo raw-floor; do
        scratch="$(mktemp -d)"
        start=$(date +%s.%N)
        if CARGO_BUILD_JOBS=2 cargo build -q --release -p "$package" --target "$x86" --target-dir "$scratch" 2>/dev/null; then
            end=$(date +%s.%N)
            printf '%s\t%.1f\n' "$package" "$(echo "$end - $start" | bc)" >>"$times_file.new"
        fi
        rm -rf "$scratch"
    done
    mv "$times_file.new" "$times_file"
fi
build_time_of() { # package
    if [[ -f "$times_file" ]]; then
        awk -F'\t' -v p="$1" '$1 == p { print $2 }' "$times_file"
    fi
}

# --- manifest ----------------------------------------------------------------------------
manifest="$here/target/manifest.tsv"
: >"$manifest"
add_row() { # name family profile package [tiny|baseline]
    local name=$1 family=$2 profile=$3 package=$4 kind=${5:-}
    local x86_bin arm_bin x86_bytes=- x86_zip=- arm_bytes=- arm_zip=-
    x86_bin="$(bin_path "$x86" "$profile" "$package" "$kind")"
    arm_bin="$(bin_path "$arm" "$profile" "$package" "$kind")"
    [[ -x "$x86_bin" ]] || return 0
    x86_bytes=$(stat -c %s "$x86_bin"); x86_zip=$(zip_bytes "$x86_bin")
    if [[ -x "$arm_bin" ]]; then arm_bytes=$(stat -c %s "$arm_bin"); arm_zip=$(zip_bytes "$arm_bin"); fi
    local build="" crates
    if [[ "$kind" == baseline ]]; then
        crates="$(crates_in_tree "$package" "$base_ws/Cargo.toml")"
    else
        build="$(build_time_of "$package")"
        crates="$(crates_in_tree "$package")"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$family" "$profile" "$x86_bin" \
        "$x86_bytes" "$x86_zip" "$arm_bytes" "$arm_zip" "${crates:--}" "${build:--}" >>"$manifest"
}
for entry in "${functions[@]}"; do
    read -r name family profile package <<<"$entry"
    add_row "$name" "$family" "$profile" "$package"
    # Each baseline row right after its current one: `ll-echo-release@REV`.
    if [[ -n "$rev" && "$family" == ll-* ]]; then
        add_row "$name@$rev" "$family" "$profile" "$package" baseline
    fi
done
# The binaries are built; the worktree is no longer needed.
remove_baseline_tree
if [[ -n "$tiny" ]]; then
    add_row ll-echo-tiny ll-echo tiny ll-echo tiny
    add_row ll-json-tiny ll-json tiny ll-json tiny
    add_row official-tiny official tiny official-echo tiny
fi
log "functions: $(cut -f1 "$manifest" | tr '\n' ' ')"

# --- measure -----------------------------------------------------------------------------
table="$here/target/table.md"
args=(run --manifest "$manifest" --out "$table")
[[ -n "$quick" ]] && args+=(--quick)
[[ -n "$rounds" ]] && args+=(--rounds "$rounds")
# Harness and children on one CPU: an unpinned loopback ping-pong mostly measures vCPU wake-up.
taskset -c 0 "$here/target/release/harness" "${args[@]}" >/dev/null

# One lambda-loop invocation, syscall by syscall (the second of three: the connection is warm).
excerpt="$here/target/strace-excerpt.txt"
: >"$excerpt"
ll_bin="$(bin_path "$x86" release ll-echo)"
if [[ -x "$ll_bin" ]]; then
    trace="$(mktemp)"
    taskset -c 0 "$here/target/release/harness" serve --bin "$ll_bin" --invocations 3 \
        --wrap "strace -f -s 64 -o $trace" 2>/dev/null || true
    # From the second `next` request to the third: one full invocation.
    awk '/GET \/2018-06-01\/runtime\/invocation\/next/ { n++ } n == 2' "$trace" \
        | sed -E 's/^[0-9]+ +//' | cut -c1-160 >"$excerpt"
    rm -f "$trace"
fi

cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
{
    echo "# Benchmark: lambda-loop vs the official lambda_runtime vs a raw floor"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPU(s), ${cpu_model:-unknown CPU}, Linux $(uname -r)"
    echo "- toolchain: $(rustc -V); official runtime: lambda_runtime $(cargo tree -q -p official-echo -e normal --depth 1 --prefix none | awk '/^lambda_runtime /{print $2}')"
    if [[ -f "$times_file" ]]; then
        echo "- clean build times: \`results/build-times.tsv\`, measured by \`bench/run.sh --build-times\` on $(sed -n 's/^# measured: //p' "$times_file" | head -n 1)"
    fi
    echo "- command: \`bench/run.sh${quick:+ --quick}${rounds:+ --rounds $rounds}${tiny:+ --tiny}${baseline:+ --baseline $baseline}\` (harness and functions pinned with \`taskset -c 0\`)"
    echo
    cat "$table"
    if [[ -s "$excerpt" ]]; then
        echo
        echo "One warm 64 B invocation of \`ll-echo-release\` under \`strace -f\` (from its \`next\` request to the next one):"
        echo
        echo '```'
        cat "$excerpt"
        echo '```'
    fi
} >"$here/target/latest.md"
# A --quick smoke run must not replace the published results.
[[ -n "$quick" ]] || cp "$here/target/latest.md" "$here/results/latest.md"
cat "$here/target/latest.md"
