#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, one after the other, starting from the
# committed corpus in fuzz/corpus/<target>/. That corpus is only read: new inputs go to a
# temporary directory, so a run never dirties the tree. Exits non-zero when any target finds a
# crash (the input is kept in fuzz/artifacts/<target>/, which git ignores).
#
# Usage: fuzz/run.sh [SECONDS]
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz/run.sh: SECONDS must be a positive whole number, got '$seconds'" >&2
    exit 2
fi
cd "$(dirname "$0")"

targets=(context_headers error_json request_id_path endpoint chunked_writer)

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz/run.sh: cargo fuzz needs the nightly toolchain: rustup toolchain install nightly" >&2
    exit 2
fi
if ! command -v cargo-fuzz > /dev/null; then
    cargo install cargo-fuzz --locked
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo +nightly fuzz build

failed=0
for target in "${targets[@]}"; do
    mkdir "$work/$target"
    log="$work/$target.log"
    if cargo +nightly fuzz run "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 > "$log" 2>&1; then
        stat() { sed -n "s/^stat::$1: *//p" "$log"; }
        execs="$(stat number_of_executed_units)"
        per_second="$(stat average_exec_per_sec)"
        corpus="$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1 | cut -d' ' -f2)"
        new="$(find "$work/$target" -type f | wc -l)"
        echo "fuzz $target: ok, $execs execs in ${seconds}s ($per_second/s), corpus $corpus (units/bytes), $new new inputs"
    else
        failed=1
        echo "fuzz $target: FAILED; the end of its log:"
        tail -n 40 "$log"
    fi
done
exit "$failed"
