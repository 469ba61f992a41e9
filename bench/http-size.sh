#!/usr/bin/env bash
# Binary size of an HTTP function: lambda-loop's `http` feature (functions/ll-http-hello, the
# same code as examples/http_hello.rs) against the official lambda_http
# (functions/official-http-hello), built in the same run with the same profiles. Prints one
# markdown table: stripped binary bytes, `zip -9 -X` bytes, crates in the normal dependency
# tree. Usage: bench/http-size.sh [TARGET...] (default: the musl targets that are installed,
# else the host target).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
command -v zip >/dev/null || { echo "http-size.sh needs zip" >&2; exit 1; }

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
        if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
            targets+=("$target")
        fi
    done
fi
if [ "${#targets[@]}" -eq 0 ]; then
    targets=("$(rustc -vV | awk '/^host:/{print $2}')")
fi

packages=(ll-http-hello official-http-hello)
crates() {
    cargo tree -q -p "$1" -e normal --prefix none | sed 's/ (\*)$//' | sort -u | wc -l
}

# The first column is the row's label ("function target profile"), the others one word each,
# so that documents can quote a cell by column and row (tests/figures.rs).
echo "| figure | bytes | zip | crates |"
echo "|---|---:|---:|---:|"
for target in "${targets[@]}"; do
    linker=()
    if [ "$target" = aarch64-unknown-linux-musl ]; then
        linker=(--config "target.$target.linker=\"rust-lld\"")
    fi
    for profile in size release; do
        for package in "${packages[@]}"; do
            cargo build -q "${linker[@]}" -p "$package" --profile "$profile" --target "$target"
            binary="target/$target/$profile/$package"
            printf '| %s %s %s | %s | %s | %s |\n' "$package" "$target" "$profile" \
                "$(stat -c %s "$binary")" "$(zip_bytes "$binary")" "$(crates "$package")"
        done
    done
done
echo
echo "$(rustc -V); lambda_http $(cargo tree -q -p official-http-hello -e normal --depth 1 --prefix none | awk '/^lambda_http /{print $2}'); $(date -u +%Y-%m-%d)"
