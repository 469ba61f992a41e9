#!/usr/bin/env bash
# Where the instructions go: one bench function (x86_64), built as bench/run.sh builds it but
# with symbols kept, served by the harness under callgrind, pinned to one CPU.
#
# Usage: bench/profile.sh [--package ll-echo] [--profile release|size] [--invocations N]
#                         [--size BYTES] [--top N]
#   --invocations 0 profiles exec -> first `next` (and the exit that follows at once);
#   N > 0 adds N invocations of --size bytes (default 64): divide the differences by N.
# Prints callgrind_annotate's inclusive table (the top --top lines, default 40) and keeps
# the profile in target/profile/callgrind.<package>-<profile>-<N>.out for further reading.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

package=ll-echo
profile=release
invocations=0
size=64
top=40
while [[ $# -gt 0 ]]; do
    case "$1" in
        --package) package="$2"; shift ;;
        --profile) profile="$2"; shift ;;
        --invocations) invocations="$2"; shift ;;
        --size) size="$2"; shift ;;
        --top) top="$2"; shift ;;
        *) echo "profile.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
case "$profile" in
release | size) ;;
*) echo "profile.sh: --profile is release or size, not '$profile'" >&2; exit 2 ;;
esac
for tool in valgrind callgrind_annotate taskset; do
    command -v "$tool" >/dev/null || { echo "profile.sh: $tool is missing (Debian: valgrind, util-linux)" >&2; exit 1; }
done

target=x86_64-unknown-linux-musl
out_dir="$here/target/profile"
mkdir -p "$out_dir"
# The same profile as bench/run.sh's rows (lambda-loop's size rows get opt-level "s" for the
# dependencies), with symbols and line tables so that the table names functions.
extra=(--config "profile.$profile.strip=false" --config "profile.$profile.debug=1")
if [[ "$package" == ll-* && "$profile" == size ]]; then
    extra+=(--config 'profile.size.package."*".opt-level="s"')
fi
cargo build -q --release -p harness
cargo build -q -p "$package" --profile "$profile" --target "$target" --target-dir "$out_dir" "${extra[@]}"
dir=$profile
binary="$out_dir/$target/$dir/$package"

result="$out_dir/callgrind.$package-$profile-$invocations.out"
log="$out_dir/callgrind.$package-$profile-$invocations.log"
taskset -c 0 "$here/target/release/harness" serve --bin "$binary" --invocations "$invocations" \
    --size "$size" --terminate \
    --wrap "valgrind --tool=callgrind --callgrind-out-file=$result --log-file=$log" >/dev/null
echo "# $package ($profile, $target), $invocations invocation(s) of $size bytes: $result"
callgrind_annotate --inclusive=yes "$result" | sed -n '/^Ir/,$p' | sed -n "1,$((top + 2))p" |
    sed -E 's#/rustc/[0-9a-f]+/library/#std:#; s#/root/.cargo/registry/src/[^/]+/##; s#/build/musl-cross-make/[^ ]*src_musl/#musl:#; s# \[[^]]*\]$##'
