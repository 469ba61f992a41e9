#!/usr/bin/env bash
# The same durable workflow (steps `one`, `two`, a wait, a map of 4 items each a step, a step
# `three`) on the official Rust SDK (`official-durable`: aws-durable-execution-sdk 0.1.0 on
# tokio, lambda_runtime, aws-sdk-lambda) and on lambda-loop (`ll-durable`: the `durable`
# feature), served by one fake Runtime API and lambda-loop's fake durable service (plain HTTP
# on 127.0.0.1: no TLS for either; both sign every durable call with the fake credentials of
# the environment), measured side by side in one run, pinned with `taskset -c 0`. Both x86_64
# glibc, the workspace's profile `size`, stripped: the official SDK's aws-lc-sys needs a musl C
# compiler for a static build, so the like-for-like row is glibc; lambda-loop's function as
# ./build.sh packages it for Lambda (`ll-durable-musl`: static non-PIE musl, the same profile)
# is measured too.
# AWS's Python SDK runs the same workflow once, when it is installed, for its count of durable
# API calls.
#
# Usage: bench/durable-cost.sh [--quick] [--rounds N]
# Writes results/durable.md (a --quick run only target/durable.md). The SDK build takes minutes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
rounds=11
steps=40
quick=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick="--quick"; rounds=1; steps=5 ;;
        --rounds) rounds="$2"; shift ;;
        *) echo "durable-cost.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
gnu=x86_64-unknown-linux-gnu
musl=x86_64-unknown-linux-musl
jobs="${CARGO_BUILD_JOBS:-2}"
log() { echo "durable-cost.sh: $*" >&2; }
for tool in valgrind taskset musl-gcc; do
    command -v "$tool" >/dev/null || { log "$tool missing: run bench/run.sh and bench/sdk-cost.sh once (they install it)"; exit 1; }
done
# ring (lambda-loop's TLS crypto) compiles C for the static musl build.
export CC_x86_64_unknown_linux_musl="${CC_x86_64_unknown_linux_musl:-musl-gcc}"

target="$here/target/durable"
build() { # package target
    log "building $1 (size profile, $2)"
    (cd durable && CARGO_BUILD_JOBS=$jobs cargo build -q -p "$1" --profile size --target "$2" \
        --target-dir "$target")
}
deployed() { # package: its binary as ./build.sh packages it (x86_64), checked static non-PIE
    log "building $1 with build.sh (x86_64)"
    CARGO_TARGET_DIR="$target" CARGO_BUILD_JOBS=$jobs "$here/../build.sh" --arch x86_64 \
        --manifest-path "$here/durable/$1/Cargo.toml" --bin "$1" --no-smoke --out "$target/lambda" >&2
    local binary="$target/lambda/$1/x86_64/bootstrap"
    readelf -h "$binary" | grep -q 'Type: *EXEC' || { log "$binary is not a non-PIE executable"; exit 1; }
    echo "$binary"
}
(cd durable && CARGO_BUILD_JOBS=$jobs cargo build -q --release -p durable-driver --target-dir "$target")
build official-durable "$gnu"
build ll-durable "$gnu"
ll_deployed=$(deployed ll-durable)

crates_in_tree() { # package target
    (cd durable && cargo tree -q -p "$1" -e normal --prefix none --target "$2" 2>/dev/null) |
        sed -e 's/ (\*)$//' -e 's/ (proc-macro)$//' | sort -u | grep -c .
}
args=(--rounds "$rounds" --steps "$steps"
    --function official-durable "$target/$gnu/size/official-durable" "$(crates_in_tree official-durable "$gnu")"
    --function ll-durable "$target/$gnu/size/ll-durable" "$(crates_in_tree ll-durable "$gnu")"
    --function ll-durable-musl "$ll_deployed" "$(crates_in_tree ll-durable "$musl")")
python_sdk=""
if python3 -c 'import aws_durable_execution_sdk_python' 2>/dev/null; then
    python_sdk=$(python3 -c 'import importlib.metadata as m; print(m.version("aws-durable-execution-sdk-python"))')
    # The driver gives its functions a clean environment: the launcher names this python3.
    printf '#!/bin/sh\nexec %s %s\n' "$(command -v python3)" "$here/durable/python-durable/bootstrap.py" \
        >"$target/python-durable"
    chmod +x "$target/python-durable"
    args+=(--calls python-durable "$target/python-durable")
else
    log "aws-durable-execution-sdk-python not installed: no Python row (pip install aws-durable-execution-sdk-python)"
fi
# The floor (bench/durable/floor): std alone connecting to the Runtime API and sending
# `GET /next`, built as the rows are, measured in the same rounds to its first `next`. No
# function linked that way starts for less, whatever runtime it uses.
build floor "$gnu"
args+=(--floor "glibc (dynamic, as \`ll-durable\`)" "$target/$gnu/size/floor"
    --floor "musl (static non-PIE by build.sh, as \`ll-durable-musl\`)" "$(deployed floor)")
table="$target/table.md"
taskset -c 0 "$target/release/durable-driver" "${args[@]}" >"$table"

version_of() { # package, crate
    (cd durable && cargo tree -q -p "$1" -e normal --prefix none --target "$gnu" 2>/dev/null) |
        awk -v p="$2" '$1 == p { print $2; exit }'
}
{
    echo "# Durable functions: lambda-loop vs the official Rust SDK"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r), $(ldd --version | head -1 | sed 's/^ldd //')"
    echo "- toolchain: $(rustc -V); aws-durable-execution-sdk $(version_of official-durable aws-durable-execution-sdk), lambda_runtime $(version_of official-durable lambda_runtime), aws-sdk-lambda $(version_of official-durable aws-sdk-lambda), tokio $(version_of official-durable tokio); ureq $(version_of ll-durable ureq), rustls $(version_of ll-durable rustls)${python_sdk:+; aws-durable-execution-sdk-python $python_sdk}"
    echo "- command: \`bench/durable-cost.sh${quick:+ --quick}\` ($rounds rounds, per step over $steps more steps; driver and functions pinned with \`taskset -c 0\`)"
    echo "- rows: the workflow of bench/durable/ (steps \`one\`, \`two\`, a 1 s wait, a map of 4 items each a step, a step \`three\`; the driver checks the result) on \`official-durable\` (the official Rust SDK, \`durable::run\` under \`#[tokio::main]\`) and \`ll-durable\` (\`lambda_loop::durable::handler\`), x86_64 glibc, and \`ll-durable-musl\`, the same lambda-loop function as \`./build.sh --arch x86_64\` packages it for Lambda (static non-PIE musl); all in the workspace's profile size (opt-level z, LTO, panic abort), stripped. The endpoint is lambda-loop's fake durable service on 127.0.0.1, plain HTTP (\`AWS_ENDPOINT_URL_LAMBDA\`): neither function does TLS here; both sign every call (SigV4, fake credentials)."
    echo "- instructions: valgrind --tool=cachegrind, every thread, from exec until the function waits for its next event (SIGTERM then); first invocation = (through it) − (to the first \`next\`); per step = the first invocation with $steps more steps, minus it, over $steps. Wall times: medians of the rounds, one run of a shared machine: read them as ratios."
    echo "- durable API calls: what the fake service received in one execution (the first round's in the table; the notes give each function's calls in order, \`|\` where an invocation ended, and the range over the rounds: the map's threads meet in group commits, lambda-loop's calls waiting up to 1 ms for the threads still running, the Python SDK's up to 1 ms for each next update)."
    echo "- floor: \`floor\` (bench/durable/floor), a Rust \`main\` that connects to the Runtime API and sends \`GET /next\` with std alone and does nothing else, built as the rows are (glibc as \`ll-durable\`, musl by build.sh as \`ll-durable-musl\`) and measured as they are to their first \`next\`, in the same rounds: the last notes below. No function linked that way starts for less, whatever runtime it uses; the goals' ratios are against \`official-durable\`."
    echo
    cat "$table"
} >"$target/durable.md"
[[ -n "$quick" ]] || cp "$target/durable.md" "$here/results/durable.md"
cat "$target/durable.md"
