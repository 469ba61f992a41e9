#!/usr/bin/env bash
# build.sh: static Lambda `bootstrap` binaries for x86_64 and arm64 in reproducible zips.
# Run `./build.sh --help` for the options. Needs only rustup/cargo, zip/unzip and readelf.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: ./build.sh [--bin NAME]... [--example NAME]... [--arch x86_64|arm64|all]
                  [--profile size|speed|tiny] [--out DIR] [--launcher]
                  [--manifest-path PATH] [--smoke-event JSON] [--no-smoke]

Builds static (musl) Lambda `bootstrap` binaries, zips each one, smoke-tests the zipped
binary by a local invoke, and prints a table: name, arch, bytes, zip bytes, zip sha256.

  --bin NAME          build the crate binary NAME (repeatable)
  --example NAME      build the example NAME (repeatable)
                      Without --bin/--example: every binary of the crate, or every
                      example when the crate has no binary.
  --arch ARCH         x86_64, arm64 or all (default: all)
  --profile PROFILE   size  = cargo profile `size`    (opt-level z, lto, panic abort)
                      speed = cargo profile `release` (opt-level 3, lto)
                      tiny  = the size profile built by nightly with std rebuilt
                              for size (-Z build-std) and panics that abort at once:
                              the smallest binary, but a panic is not reported
                              (Lambda sees the process exit: Runtime.ExitError)
                      (default: size). A crate without these profiles gets those
                      settings from build.sh; all are always stripped.
  --out DIR           output root (default: <cargo target dir>/lambda); artifacts go to
                      DIR/<name>/<arch>/bootstrap and DIR/<name>/<arch>/bootstrap.zip
  --launcher          one zip per arch holding the launcher script `bootstrap` (found
                      next to build.sh) plus every selected binary under its own name;
                      the function's Handler setting names the binary to run.
                      Output: DIR/launcher/<arch>/bootstrap.zip
  --manifest-path P   the Cargo.toml of the crate to build (default: cargo's search from
                      the current directory, so a copy of build.sh works in any crate)
  --smoke-event JSON  the event of the smoke test (default: {"name":"smoke"})
                      (a binary of several handlers, `named`, is invoked with the
                      first handler its init error names as _HANDLER)
  --no-smoke          skip the smoke test
  -h, --help          this text

Zips are byte-identical for identical sources: fixed entry times (SOURCE_DATE_EPOCH,
default 1980-01-01), sorted entries, no local paths inside the binaries.
Environment: CARGO_TARGET_DIR and SOURCE_DATE_EPOCH are honoured.
EOF
}

die() {
    printf 'build.sh: error: %s\n' "$*" >&2
    exit 1
}

# The Lambda architecture names and the Rust targets they are built for.
rust_target() {
    case $1 in
    x86_64) echo x86_64-unknown-linux-musl ;;
    arm64) echo aarch64-unknown-linux-musl ;;
    esac
}

# ---------------------------------------------------------------------------------------
# Options
requested=() # "bin:NAME" or "example:NAME", in the order given
arch_option=all
profile_option=size
out_root=''
launcher=false
manifest_path=''
smoke_event='{"name":"smoke"}'
smoke=true
while (($# > 0)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --bin | --example | --arch | --profile | --out | --manifest-path | --smoke-event)
        (($# >= 2)) || die "$1 needs a value (see --help)"
        case $1 in
        --bin) requested+=("bin:$2") ;;
        --example) requested+=("example:$2") ;;
        --arch) arch_option=$2 ;;
        --profile) profile_option=$2 ;;
        --out) out_root=$2 ;;
        --manifest-path) manifest_path=$2 ;;
        --smoke-event) smoke_event=$2 ;;
        esac
        shift 2
        ;;
    --launcher)
        launcher=true
        shift
        ;;
    --no-smoke)
        smoke=false
        shift
        ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done

case $arch_option in
x86_64 | arm64) arches=("$arch_option") ;;
all) arches=(x86_64 arm64) ;;
*) die "unknown arch '$arch_option': use x86_64, arm64 or all" ;;
esac
toolchain=() # `+nightly` for tiny, else the crate's own toolchain
case $profile_option in
size) cargo_profile=size ;;
speed) cargo_profile=release ;;
tiny) cargo_profile=size toolchain=(+nightly) ;;
*) die "unknown profile '$profile_option': use size, speed or tiny" ;;
esac

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
launcher_script="$script_dir/bootstrap"
if $launcher && [[ ! -f $launcher_script ]]; then
    die "--launcher needs the launcher script next to build.sh ($launcher_script): copy both"
fi

# ---------------------------------------------------------------------------------------
# Tools
command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v rustc >/dev/null || die "rustc not found: install Rust with rustup (https://rustup.rs)"
for tool in zip unzip readelf sha256sum; do
    if ! command -v "$tool" >/dev/null; then
        case $tool in
        zip | unzip) die "$tool not found: install it (Debian/Ubuntu: apt-get install zip unzip)" ;;
        readelf) die "readelf not found: install binutils (Debian/Ubuntu: apt-get install binutils)" ;;
        sha256sum) die "sha256sum not found: install coreutils" ;;
        esac
    fi
done

if [[ -n $manifest_path ]]; then
    [[ -f $manifest_path ]] || die "--manifest-path: no file '$manifest_path'"
    manifest_path=$(cd "$(dirname "$manifest_path")" && pwd)/$(basename "$manifest_path")
else
    manifest_path=$(cargo locate-project --message-format plain 2>/dev/null) ||
        die "no Cargo.toml in $(pwd) or above: run build.sh in your crate or pass --manifest-path"
fi
# rustup picks the toolchain (rust-toolchain.toml) from the current directory: use the crate's.
cd "$(dirname "$manifest_path")"

# ---------------------------------------------------------------------------------------
# The crate: workspace root, target dir, and its binaries and examples.
metadata=$(cargo metadata --no-deps --format-version 1 --manifest-path "$manifest_path") ||
    die "cargo metadata failed for $manifest_path (its output is above)"
json_string_field() { # $1 = field name; the first "field":"value" of $metadata
    local match
    match=$(grep -o "\"$1\":\"[^\"]*\"" <<<"$metadata" | head -n 1) || true
    match=${match#*:\"}
    printf '%s' "${match%\"}"
}
workspace_root=$(json_string_field workspace_root)
target_dir=$(json_string_field target_directory)
# tiny builds std itself with another compiler: its own folder keeps the other profiles cached.
build_dir=$target_dir
[[ $profile_option == tiny ]] && build_dir=$target_dir/tiny
[[ -n $workspace_root && -n $target_dir ]] || die "cannot read cargo metadata of $manifest_path"
# Each target is {"kind":[..],"crate_types":[..],"name":"..",...}; keep binaries and examples.
known_bins=()
known_examples=()
while IFS= read -r line; do
    name=${line##*\"name\":\"}
    name=${name%\"}
    case $line in
    '"kind":["bin"]'*) known_bins+=("$name") ;;
    '"kind":["example"],"crate_types":["bin"]'*) known_examples+=("$name") ;;
    esac
done < <(grep -o '"kind":\["[a-z-]*"\],"crate_types":\[[^]]*\],"name":"[^"]*"' <<<"$metadata" || true)

contains() { # $1 = word, rest = list
    local word=$1 item
    shift
    for item in "$@"; do [[ $item == "$word" ]] && return 0; done
    return 1
}
joined() { # the arguments, comma-separated, or "none"
    if (($# == 0)); then echo none; else
        local IFS=,
        echo "$*"
    fi
}

if ((${#requested[@]} == 0)); then
    if ((${#known_bins[@]} > 0)); then
        for name in "${known_bins[@]}"; do requested+=("bin:$name"); done
    elif ((${#known_examples[@]} > 0)); then
        for name in "${known_examples[@]}"; do requested+=("example:$name"); done
    else
        die "the crate at $manifest_path has no binary and no example to build"
    fi
fi
names=() # the selected names, each once
for item in "${requested[@]}"; do
    kind=${item%%:*}
    name=${item#*:}
    if [[ $kind == bin ]] && ! contains "$name" "${known_bins[@]}"; then
        die "unknown binary '$name'; known binaries: $(joined "${known_bins[@]}")" \
            "(examples: $(joined "${known_examples[@]}"))"
    fi
    if [[ $kind == example ]] && ! contains "$name" "${known_examples[@]}"; then
        die "unknown example '$name'; known examples: $(joined "${known_examples[@]}")" \
            "(binaries: $(joined "${known_bins[@]}"))"
    fi
    contains "$name" "${names[@]}" && die "'$name' is selected twice (as a binary and an example?)"
    names+=("$name")
done
if $launcher && contains bootstrap "${names[@]}"; then
    die "--launcher: a binary named 'bootstrap' would clash with the launcher script"
fi
out_root=${out_root:-$target_dir/lambda}
mkdir -p "$out_root"
out_root=$(cd "$out_root" && pwd)

# ---------------------------------------------------------------------------------------
# Rust targets and the linker: rust-lld (shipped with rustup's toolchains) links both musl
# targets with their self-contained C runtime, so no cross C toolchain is needed.
if [[ $profile_option == tiny ]]; then
    command -v rustup >/dev/null || die "--profile tiny needs rustup and its nightly toolchain"
    rustup toolchain list | grep -q '^nightly' ||
        die "--profile tiny needs the nightly toolchain: rustup toolchain install nightly"
    if ! rustup +nightly component list --installed | grep -q '^rust-src'; then
        echo "build.sh: adding rust-src to nightly (-Z build-std rebuilds std from it)" >&2
        rustup +nightly component add rust-src >&2 || die "rustup +nightly component add rust-src failed"
    fi
fi
sysroot=$(rustc "${toolchain[@]}" --print sysroot)
host_triple=$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')
if [[ ! -x $sysroot/lib/rustlib/$host_triple/bin/rust-lld ]]; then
    die "rust-lld not found in $sysroot: use a rustup toolchain (https://rustup.rs)"
fi
for arch in "${arches[@]}"; do
    triple=$(rust_target "$arch")
    [[ -d $sysroot/lib/rustlib/$triple/lib ]] && continue
    command -v rustup >/dev/null ||
        die "Rust target $triple missing and rustup not found: install rustup (https://rustup.rs)"
    echo "build.sh: adding the Rust target $triple" >&2
    rustup "${toolchain[@]}" target add "$triple" >&2 ||
        die "rustup ${toolchain[*]} target add $triple failed (a nightly may lack a target's std: try --arch x86_64, or another nightly)"
done

# Flags for the Lambda targets only (cargo does not apply them to build scripts with
# --target). Static non-PIE executables: no PT_INTERP, no dynamic section, nothing to
# relocate at start. Local paths are remapped, longest last so the most specific wins.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
remap_list=("$sysroot=/rustc-sysroot" "$cargo_home=/cargo" "$workspace_root=/src"
    "$target_dir=/target")
# Path dependencies outside the workspace (`lambda-loop = { path = "../lambda-loop" }`):
# each becomes /path-dependency/<its directory name>.
all_metadata=$(cargo metadata --format-version 1 --manifest-path "$manifest_path") ||
    die "cargo metadata failed for $manifest_path (its output is above)"
while IFS= read -r url; do
    printf -v dependency_dir '%b' "${url//%/\\x}" # file URLs percent-encode
    [[ $dependency_dir == "$workspace_root" || $dependency_dir == "$workspace_root"/* ]] && continue
    remap_list+=("$dependency_dir=/path-dependency/${dependency_dir##*/}")
done < <(grep -o 'path+file://[^"#) ]*' <<<"$all_metadata" | sed 's|^path+file://||' | sort -u)
remaps=$(printf '%s\n' "${remap_list[@]}" | awk '{ print length($0) "\t" $0 }' |
    sort -n | cut -f2-)
target_flags=(-C relocation-model=static -C target-feature=+crt-static)
build_std=() # tiny: std rebuilt for size, panics abort at once (no unwinding, no hook)
if [[ $profile_option == tiny ]]; then
    target_flags+=(-Zunstable-options -Cpanic=immediate-abort -Clink-self-contained=yes)
    build_std=(-Z 'build-std=std,panic_abort' -Z build-std-features=optimize_for_size)
fi
while IFS= read -r remap; do target_flags+=("--remap-path-prefix=$remap"); done <<<"$remaps"
# CARGO_ENCODED_RUSTFLAGS wins over RUSTFLAGS: keep the user's flags, add ours.
user_flags=()
if [[ -n ${CARGO_ENCODED_RUSTFLAGS:-} ]]; then
    IFS=$'\x1f' read -r -a user_flags <<<"$CARGO_ENCODED_RUSTFLAGS"
elif [[ -n ${RUSTFLAGS:-} ]]; then
    read -r -a user_flags <<<"$RUSTFLAGS"
fi
all_flags=("${user_flags[@]}" "${target_flags[@]}")
encoded_flags=$(
    IFS=$'\x1f'
    echo "${all_flags[*]}"
)

# The profile: the crate's own if its workspace manifest defines it, else the settings of
# --help. Stripping is always on: the zip carries no symbols.
profile_config=(--config "profile.$cargo_profile.strip=true")
if ! grep -q "^\[profile\.$cargo_profile\]" "$workspace_root/Cargo.toml"; then
    profile_config+=(--config "profile.$cargo_profile.lto=true"
        --config "profile.$cargo_profile.codegen-units=1")
    if [[ $cargo_profile == size ]]; then
        profile_config+=(--config 'profile.size.inherits="release"'
            --config 'profile.size.opt-level="z"' --config 'profile.size.panic="abort"')
    else
        profile_config+=(--config 'profile.release.opt-level=3')
    fi
fi

# ---------------------------------------------------------------------------------------
# Build: one cargo run per arch for all the selected names.
cargo_selection=()
for item in "${requested[@]}"; do cargo_selection+=("--${item%%:*}" "${item#*:}"); done
for arch in "${arches[@]}"; do
    triple=$(rust_target "$arch")
    triple_env=$(tr 'a-z-' 'A-Z_' <<<"$triple")
    echo "build.sh: building $(joined "${names[@]}") for $arch ($triple, profile $profile_option)" >&2
    if ! env -u RUSTFLAGS CARGO_ENCODED_RUSTFLAGS="$encoded_flags" \
        "CARGO_TARGET_${triple_env}_LINKER=rust-lld" \
        cargo "${toolchain[@]}" build --manifest-path "$manifest_path" --target "$triple" \
        --target-dir "$build_dir" "${build_std[@]}" \
        --profile "$cargo_profile" "${profile_config[@]}" "${cargo_selection[@]}" >&2; then
        die "cargo build failed for $arch (cargo's output is above)"
    fi
done

# ---------------------------------------------------------------------------------------
# Package: each binary checked static and stripped, zipped with fixed times and modes.
entry_epoch=${SOURCE_DATE_EPOCH:-315532800}
((entry_epoch >= 315532800)) || entry_epoch=315532800 # zip cannot store times before 1980

built_binary() { # $1 = arch, $2 = name: cargo's output file
    local dir
    dir="$build_dir/$(rust_target "$1")/$cargo_profile"
    if contains "bin:$2" "${requested[@]}"; then echo "$dir/$2"; else echo "$dir/examples/$2"; fi
}

check_static() { # $1 = binary, $2 = label
    local program_headers dynamic sections
    program_headers=$(readelf -lW "$1") || die "$2: readelf cannot read $1"
    dynamic=$(readelf -dW "$1")
    sections=$(readelf -SW "$1")
    grep -q 'INTERP' <<<"$program_headers" && die "$2: not static (PT_INTERP present in $1)"
    grep -q 'There is no dynamic section' <<<"$dynamic" ||
        die "$2: not static (dynamic section present in $1)"
    grep -qE '\.symtab' <<<"$sections" && die "$2: not stripped (.symtab present in $1)"
    return 0
}

# $1 = zip file to write, $2 = staging dir; entries = every file of the staging dir, sorted.
make_zip() {
    local zip_file=$1 staging=$2 entries
    find "$staging" -type f -exec touch -h -d "@$entry_epoch" {} +
    entries=$(cd "$staging" && find . -type f -printf '%P\n' | LC_ALL=C sort)
    rm -f "$zip_file"
    # -X: no uid/gid or extra time fields; -D: no directory entries; TZ: DOS times are local.
    (cd "$staging" && TZ=UTC zip -X -D -9 -q "$zip_file" -@ <<<"$entries") ||
        die "zip failed for $zip_file"
}

rows=() # name, arch, binary bytes, zip bytes, zip sha256, smoke result: tab-separated
host_arch=$(uname -m)
[[ $host_arch == aarch64 ]] && host_arch=arm64

# How to run a binary of $1's arch here: nothing (native), qemu, or not at all.
runner_for() {
    local arch=$1 qemu
    [[ $arch == "$host_arch" ]] && return 0
    local qemu_arch=$arch
    [[ $arch == arm64 ]] && qemu_arch=aarch64
    for qemu in "qemu-$qemu_arch" "qemu-$qemu_arch-static"; do
        command -v "$qemu" >/dev/null && {
            echo "$qemu"
            return 0
        }
    done
    return 1
}

# Runs one packaged binary by a local invoke. $1 = arch, $2 = label, rest = the command.
# Prints the table's smoke cell.
smoke_run() {
    local arch=$1 label=$2 runner output_file status
    shift 2
    if ! runner=$(runner_for "$arch"); then
        echo "skipped (no qemu-${arch/arm64/aarch64})"
        return 0
    fi
    output_file=$(mktemp)
    local handler_env=() handler
    while true; do
        status=0
        # shellcheck disable=SC2086 # $runner is empty or one word
        printf '%s' "$smoke_event" | env -u AWS_LAMBDA_RUNTIME_API "${handler_env[@]}" \
            timeout 30 $runner "$@" >"$output_file" 2>"$output_file.err" || status=$?
        # A binary of several handlers (`named`) needs a Handler setting, and its init error
        # names the handlers it has: smoke-test the first of them.
        if ((status == 0 || ${#handler_env[@]} > 0)) || [[ -n ${_HANDLER:-} ]]; then
            break
        fi
        grep -q '"errorType":"Runtime.HandlerNotFound"' "$output_file.err" || break
        handler=$(grep -o 'one of: \\"[^\\"]*' "$output_file.err" | head -n 1 | sed 's/^one of: \\"//')
        [[ -n $handler ]] || break
        handler_env=("_HANDLER=$handler")
    done
    if ((status == 0)); then
        # The start of the response, printable, so the table shows what the binary answered.
        local response
        response=$(LC_ALL=C tr -c '[:print:]' '?' <"$output_file" | head -c 40)
        echo "ok${runner:+ ($runner)}${handler_env[0]:+ (${handler_env[0]})}: $response"
    else
        {
            echo "build.sh: smoke test of $label failed (exit $status); its output:"
            head -c 2000 "$output_file.err"
            echo
        } >&2
        echo "FAILED (exit $status)"
    fi
    rm -f "$output_file" "$output_file.err"
}

smoke_zip() { # $1 = arch, $2 = zip, $3 = label, rest = the binaries to invoke
    local arch=$1 zip_file=$2 label=$3 unpacked results=() binary
    shift 3
    local binaries=("$@")
    unpacked=$(mktemp -d)
    unzip -q "$zip_file" -d "$unpacked" || die "unzip failed for $zip_file"
    for binary in "$@"; do
        if $launcher && [[ $arch == "$host_arch" ]]; then
            # Through the launcher, as Lambda runs it: the Handler names the binary.
            results+=("$(LAMBDA_TASK_ROOT=$unpacked _HANDLER=$binary \
                smoke_run "$arch" "$label: $binary" "$unpacked/bootstrap")")
        elif $launcher; then
            # Foreign arch: bash would need binfmt_misc to exec it, so qemu runs it directly.
            results+=("$(smoke_run "$arch" "$label: $binary" "$unpacked/$binary")")
        else
            results+=("$(smoke_run "$arch" "$label" "$unpacked/bootstrap")")
        fi
    done
    rm -rf "$unpacked"
    local IFS=' '
    if (($# == 1)); then echo "${results[0]}"; else
        local index summary=()
        for index in "${!results[@]}"; do summary+=("${binaries[index]}=${results[index]}"); done
        echo "${summary[*]}"
    fi
}

for arch in "${arches[@]}"; do
    if $launcher; then
        bundles=(launcher)
    else
        bundles=("${names[@]}")
    fi
    for bundle in "${bundles[@]}"; do
        out_dir="$out_root/$bundle/$arch"
        mkdir -p "$out_dir"
        staging=$(mktemp -d "$out_dir/.staging.XXXXXX")
        binary_bytes=0
        if $launcher; then
            members=("${names[@]}")
            install -m 0755 "$launcher_script" "$staging/bootstrap"
        else
            members=("$bundle")
        fi
        for name in "${members[@]}"; do
            binary=$(built_binary "$arch" "$name")
            [[ -f $binary ]] || die "cargo reported success but $binary is missing"
            check_static "$binary" "$name ($arch)"
            entry=bootstrap
            $launcher && entry=$name
            install -m 0755 "$binary" "$staging/$entry"
            binary_bytes=$((binary_bytes + $(wc -c <"$binary")))
        done
        make_zip "$out_dir/bootstrap.zip.partial" "$staging"
        mv -f "$out_dir/bootstrap.zip.partial" "$out_dir/bootstrap.zip"
        if ! $launcher; then
            install -m 0755 "$staging/bootstrap" "$out_dir/bootstrap"
        else
            # The unzipped layout, as Lambda sees it in LAMBDA_TASK_ROOT.
            find "$staging" -type f -exec install -m 0755 -t "$out_dir" {} +
        fi
        rm -rf "$staging"

        zip_file="$out_dir/bootstrap.zip"
        zip_bytes=$(wc -c <"$zip_file")
        zip_sha256=$(sha256sum "$zip_file" | cut -d ' ' -f 1)
        label=$bundle
        $launcher && label="launcher($(joined "${names[@]}"))"
        if $smoke; then
            smoke_result=$(smoke_zip "$arch" "$zip_file" "$label ($arch)" "${members[@]}")
        else
            smoke_result='not run (--no-smoke)'
        fi
        rows+=("$label"$'\t'"$arch"$'\t'"$binary_bytes"$'\t'"$zip_bytes"$'\t'"$zip_sha256"$'\t'"$smoke_result")
    done
done

# ---------------------------------------------------------------------------------------
# Report
print_table() { # the tab-separated rows of "$@", columns padded to their widest cell
    local row cells widths=() index
    for row in "$@"; do
        IFS=$'\t' read -r -a cells <<<"$row"
        for index in "${!cells[@]}"; do
            ((${#cells[index]} > ${widths[index]:-0})) && widths[index]=${#cells[index]}
        done
    done
    for row in "$@"; do
        IFS=$'\t' read -r -a cells <<<"$row"
        for index in "${!cells[@]}"; do
            if ((index + 1 < ${#cells[@]})); then
                printf '%-*s  ' "${widths[index]}" "${cells[index]}"
            else
                printf '%s\n' "${cells[index]}"
            fi
        done
    done
}
print_table $'name\tarch\tbinary bytes\tzip bytes\tzip sha256\tsmoke test' "${rows[@]}"
echo "Artifacts: $out_root/<name>/<arch>/bootstrap.zip (profile $profile_option)"
if printf '%s\n' "${rows[@]}" | grep -q FAILED; then
    die "smoke test failed (see above)"
fi
