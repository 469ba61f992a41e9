#!/usr/bin/env bash
# build.sh: static Lambda `bootstrap` binaries for x86_64 and arm64 in reproducible zips.
# Run `./build.sh --help` for the options. Needs only rustup/cargo, zip/unzip and readelf.
set -euo pipefail

# The steps, each a function below; `main "$@"` at the end runs them.
main() {
    read_options "$@"    # the options, checked
    find_tools_and_crate # cargo, zip, readelf; the crate's manifest (and cd to its directory)
    read_crate           # its metadata: binaries and examples, what to build, where to put it
    prepare_targets      # the musl targets; for tiny, the nightly and its musl C runtime
    choose_flags         # static non-PIE, local paths remapped, the profile's settings
    build_binaries       # one cargo build per arch and set of features
    prepare_smoke_test   # the fake Runtime API's program compiled, each binary's event
    package_binaries     # each binary checked static, zipped, smoke-tested: one row per zip
    report               # the table; fails when a smoke test failed
}

usage() {
    cat <<'EOF'
Usage: ./build.sh [--bin NAME]... [--example NAME]... [--arch x86_64|arm64|all]
                  [--profile size|speed|tiny] [--panic immediate-abort|abort]
                  [--features LIST] [--all-features] [--out DIR] [--launcher]
                  [--manifest-path PATH] [--smoke-event [NAME=]JSON]...
                  [--smoke-event-file [NAME=]PATH]...
                  [--no-smoke]

Builds static (musl) Lambda `bootstrap` binaries, zips each one, smoke-tests the zipped
binary against a fake Runtime API on 127.0.0.1, and prints a table: name, arch, bytes, zip
bytes, zip sha256, smoke test.

  --bin NAME          build the crate binary NAME (repeatable)
  --example NAME      build the example NAME (repeatable)
                      Without --bin/--example: every binary of the crate, or every
                      example when the crate has no binary.
  --features LIST     cargo features to turn on (comma- or space-separated,
                      repeatable), for every selected binary. A target's own
                      `required-features` are always turned on for it, so
                      `./build.sh` alone builds every example of this crate
  --all-features      every feature of the crate, for every selected binary
  --arch ARCH         x86_64, arm64 or all (default: all)
  --profile PROFILE   size  = cargo profile `size`    (opt-level z, lto, panic abort)
                      speed = cargo profile `release` (opt-level 3, lto)
                      tiny  = the size profile built by nightly with std rebuilt
                              for size (-Z build-std), no unwind tables, and by default
                              panics that abort at once (see --panic): the smallest
                              binary. arm64 needs no nightly rust-std: without one, the
                              musl C runtime objects come from the crate's own
                              toolchain (same musl version required)
                      (default: size). A crate without these profiles gets those
                      settings from build.sh; all are always stripped.
  --panic MODE        tiny only: immediate-abort (default) = -Cpanic=immediate-abort:
                      a panic is not reported, Lambda sees only the process exit
                      (Runtime.ExitError) and the log no message; abort = the
                      runtime's panic hook reports the panic (Runtime.Panic with its
                      message and location) before the process ends, for about
                      half again as many bytes
  --out DIR           output root (default: <cargo target dir>/lambda for the size
                      profile, <cargo target dir>/lambda-speed, .../lambda-tiny and
                      .../lambda-tiny-panic-abort for the others, so no build overwrites
                      another's zips); artifacts go to
                      DIR/<name>/<arch>/bootstrap and DIR/<name>/<arch>/bootstrap.zip
  --launcher          one zip per arch holding the launcher script `bootstrap` (found
                      next to build.sh) plus every selected binary under its own name;
                      the function's Handler setting names the binary to run.
                      Output: DIR/launcher/<arch>/bootstrap.zip
  --manifest-path P   the Cargo.toml of the crate to build (default: cargo's search from
                      the current directory, so a copy of build.sh works in any crate)
  --smoke-event [NAME=]JSON
                      the event of the smoke test, which must then be answered with a
                      response (an error post fails the build); with NAME=, for the
                      binary NAME only (repeatable: one event per binary)
  --smoke-event-file [NAME=]PATH
                      the same, the event read from the file PATH
  --no-smoke          skip the smoke test
                      The smoke test starts the zipped binary (arm64 under qemu-aarch64,
                      from the qemu-user package, when installed; skipped otherwise) with
                      AWS_LAMBDA_RUNTIME_API pointing at a fake Runtime API on
                      127.0.0.1, which build.sh compiles once with rustc. The binary must
                      reach `next`, answer the event, and ask for the next one. With
                      the default event {"name":"smoke"}, an error post (say, a typed
                      handler that cannot parse it) passes too: it proves the runtime,
                      not the handler. A binary of several handlers (`named`) is
                      invoked with the first handler its init error names as _HANDLER.
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
read_options() {
    requested=() # "bin:NAME" or "example:NAME", in the order given
    arch_option=all
    profile_option=size
    panic_option='' # tiny only: immediate-abort (default) or abort
    out_root=''
    launcher=false
    manifest_path=''
    # The smoke events, by binary name (%all: for every binary); each an event (JSON) or a file.
    # An event given by the user must get a response; the default one may get an error.
    declare -gA smoke_events=() smoke_event_files=()
    smoke=true
    features=()         # --features, each list as given
    all_features=false
    while (($# > 0)); do
        case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --bin | --example | --arch | --profile | --panic | --out | --manifest-path | --smoke-event | \
            --smoke-event-file | --features)
            (($# >= 2)) || die "$1 needs a value (see --help)"
            case $1 in
            --bin) requested+=("bin:$2") ;;
            --example) requested+=("example:$2") ;;
            --arch) arch_option=$2 ;;
            --features) features+=("$2") ;;
            --profile) profile_option=$2 ;;
            --panic) panic_option=$2 ;;
            --out) out_root=$2 ;;
            --manifest-path) manifest_path=$2 ;;
            --smoke-event | --smoke-event-file)
                # NAME=VALUE gives binary NAME its own event (JSON never starts with NAME=).
                for_name=%all value=$2 # %: in no binary's name
                if [[ $2 =~ ^([A-Za-z0-9_-]+)=(.*)$ ]]; then
                    for_name=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
                fi
                if [[ $1 == --smoke-event ]]; then
                    smoke_events[$for_name]=$value
                else
                    [[ -f $value && -r $value ]] || die "--smoke-event-file: cannot read '$value'"
                    smoke_event_files[$for_name]=$(cd "$(dirname "$value")" && pwd)/$(basename "$value")
                fi
                ;;
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
        --all-features)
            all_features=true
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
    if [[ -n $panic_option && $profile_option != tiny ]]; then
        die "--panic is for --profile tiny (the size profile aborts with the panic reported, speed unwinds)"
    fi
    case ${panic_option:=immediate-abort} in
    immediate-abort | abort) ;;
    *) die "unknown --panic '$panic_option': use immediate-abort (smallest, a panic is not reported) or abort (the panic is reported)" ;;
    esac

    script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    launcher_script="$script_dir/bootstrap"
    if $launcher && [[ ! -f $launcher_script ]]; then
        die "--launcher needs the launcher script next to build.sh ($launcher_script): copy both"
    fi
}

# ---------------------------------------------------------------------------------------
# Tools
find_tools_and_crate() {
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
}

# ---------------------------------------------------------------------------------------
# The crate: workspace root, target dir, and its binaries and examples.
json_string_field() { # $1 = field name; the first "field":"value" of $metadata
    local match
    match=$(grep -o "\"$1\":\"[^\"]*\"" <<<"$metadata" | head -n 1) || true
    match=${match#*:\"}
    printf '%s' "${match%\"}"
}

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
read_crate() {
    # Without the user's RUSTFLAGS: metadata needs none, and nightly-only ones (with --profile
    # tiny) would stop the crate's own cargo here.
    no_rustflags=(env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS)
    metadata=$("${no_rustflags[@]}" cargo metadata --no-deps --format-version 1 --manifest-path "$manifest_path") ||
        die "cargo metadata failed for $manifest_path (its output is above)"
    workspace_root=$(json_string_field workspace_root)
    target_dir=$(json_string_field target_directory)
    # tiny builds std itself with another compiler: its own folder keeps the other profiles cached.
    build_dir=$target_dir
    [[ $profile_option == tiny ]] && build_dir=$target_dir/tiny
    [[ -n $workspace_root && -n $target_dir ]] || die "cannot read cargo metadata of $manifest_path"
    # Each target is {"kind":[..],"crate_types":[..],"name":"..",...,"required-features":[..],...};
    # keep binaries and examples, and the features each one requires.
    known_bins=()
    known_examples=()
    declare -gA required_features=() # "bin:NAME" or "example:NAME" -> its required-features, comma-separated
    while IFS= read -r line; do
        name=${line#*\"name\":\"}
        name=${name%%\"*}
        case $line in
        '{"kind":["bin"]'*) known_bins+=("$name") kind=bin ;;
        '{"kind":["example"],"crate_types":["bin"]'*) known_examples+=("$name") kind=example ;;
        *) continue ;;
        esac
        if [[ $line == *'"required-features":['* ]]; then
            required=${line#*\"required-features\":[}
            required=${required%%]*}
            required=${required//\"/}
            required_features[$kind:$name]=$required
        fi
    done < <(grep -o '{"kind":\["[a-z-]*"\],"crate_types":\[[^]]*\],"name":"[^"]*"[^{}]*}' <<<"$metadata" || true)


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
    for for_name in "${!smoke_events[@]}" "${!smoke_event_files[@]}"; do
        [[ $for_name == %all ]] || contains "$for_name" "${names[@]}" ||
            die "--smoke-event(-file) $for_name=...: '$for_name' is not a selected binary ($(joined "${names[@]}"))"
        [[ -z ${smoke_events[$for_name]+set} || -z ${smoke_event_files[$for_name]+set} ]] ||
            die "--smoke-event and --smoke-event-file both given for ${for_name/#%all/every binary}: give one"
    done
    if $launcher && contains bootstrap "${names[@]}"; then
        die "--launcher: a binary named 'bootstrap' would clash with the launcher script"
    fi
    # One output root per profile (and per panic mode of tiny): no build overwrites another's zips.
    if [[ -z $out_root ]]; then
        out_root=$target_dir/lambda
        [[ $profile_option != size ]] && out_root=$target_dir/lambda-$profile_option
        [[ $profile_option == tiny && $panic_option == abort ]] && out_root=$target_dir/lambda-tiny-panic-abort
    fi
    mkdir -p "$out_root"
    out_root=$(cd "$out_root" && pwd)
}

# ---------------------------------------------------------------------------------------
# Rust targets and the linker: rust-lld (shipped with rustup's toolchains) links both musl
# targets with their self-contained C runtime, so no cross C toolchain is needed.

# The musl version of a self-contained libc.a (musl's version.lo holds it), or nothing.
musl_version() {
    ar p "$1" version.lo 2>/dev/null | tr -c '[:print:]' '\n' |
        grep -m 1 -E '^[0-9]+\.[0-9]+\.[0-9]+$' || true
}

borrow_crt_objects() { # $1 = arch, $2 = triple
    local arch=$1 triple=$2 own_sysroot dir ours theirs reference
    command -v ar >/dev/null || die "ar not found: install binutils (Debian/Ubuntu: apt-get install binutils)"
    own_sysroot=$(rustc --print sysroot)
    [[ $own_sysroot != "$sysroot" ]] ||
        die "rustup +nightly target add $triple failed, and the crate's own toolchain is that nightly: try --arch x86_64, or another nightly"
    dir=$own_sysroot/lib/rustlib/$triple/lib/self-contained
    if [[ ! -f $dir/libc.a ]]; then
        echo "build.sh: adding the Rust target $triple to the crate's toolchain ($own_sysroot) for its musl C runtime" >&2
        rustup target add "$triple" >&2 || die "rustup target add $triple failed"
    fi
    [[ -f $dir/crt1.o && -f $dir/libc.a ]] || die "no musl C runtime for $triple in $dir"
    theirs=$(musl_version "$dir/libc.a")
    [[ -n $theirs ]] || die "cannot read the musl version of $dir/libc.a"
    # The nightly's own musl, from any musl target it has (rustc bundles one musl for all).
    for reference in "$sysroot"/lib/rustlib/*-musl*/lib/self-contained/libc.a; do
        [[ -f $reference ]] || continue
        ours=$(musl_version "$reference")
        [[ -n $ours ]] && break
    done
    if [[ -z ${ours:-} ]]; then
        echo "build.sh: warning: the nightly has no musl target to compare with; using musl $theirs from $dir" >&2
    elif [[ $ours != "$theirs" ]]; then
        die "the nightly bundles musl $ours but $dir has musl $theirs: install a nightly whose rust-std for $triple exists, or use --arch x86_64"
    fi
    echo "build.sh: the nightly has no rust-std for $triple; linking with the musl $theirs C runtime of $dir" >&2
    crt_dirs[$arch]=$dir
}
prepare_targets() {
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
    # tiny rebuilds std from source (-Z build-std), so of a target's rust-std it needs only musl's
    # C runtime: crt1.o, crti.o, crtn.o, crtbegin/end.o, libc.a and libunwind.a, in
    # lib/rustlib/<triple>/lib/self-contained. When the nightly's rust-std of a target cannot be
    # installed (rustup finds none for that nightly), the link takes them from the crate's own
    # toolchain instead, read in place through `-L native=` (rustc looks for its crt objects on
    # those paths too); no toolchain directory is changed. The musl versions must match.
    declare -gA crt_dirs=() # arch -> the self-contained directory borrowed for it
    for arch in "${arches[@]}"; do
        triple=$(rust_target "$arch")
        [[ -d $sysroot/lib/rustlib/$triple/lib ]] && continue
        command -v rustup >/dev/null ||
            die "Rust target $triple missing and rustup not found: install rustup (https://rustup.rs)"
        echo "build.sh: adding the Rust target $triple" >&2
        rustup "${toolchain[@]}" target add "$triple" >&2 && continue
        [[ $profile_option == tiny ]] || die "rustup target add $triple failed"
        borrow_crt_objects "$arch" "$triple"
    done
}

# ---------------------------------------------------------------------------------------
# Flags for the Lambda targets only (cargo does not apply them to build scripts with
# --target). Static non-PIE executables: no PT_INTERP, no dynamic section, nothing to
# relocate at start. Local paths are remapped, longest last so the most specific wins.
choose_flags() {
    cargo_home=${CARGO_HOME:-$HOME/.cargo}
    remap_list=("$sysroot=/rustc-sysroot" "$cargo_home=/cargo" "$workspace_root=/src"
        "$target_dir=/target")
    # Path dependencies outside the workspace (`lambda-loop = { path = "../lambda-loop" }`):
    # each becomes /path-dependency/<its directory name>.
    all_metadata=$("${no_rustflags[@]}" cargo metadata --format-version 1 --manifest-path "$manifest_path") ||
        die "cargo metadata failed for $manifest_path (its output is above)"
    while IFS= read -r url; do
        printf -v dependency_dir '%b' "${url//%/\\x}" # file URLs percent-encode
        [[ $dependency_dir == "$workspace_root" || $dependency_dir == "$workspace_root"/* ]] && continue
        remap_list+=("$dependency_dir=/path-dependency/${dependency_dir##*/}")
    done < <(grep -o 'path+file://[^"#) ]*' <<<"$all_metadata" | sed 's|^path+file://||' | sort -u)
    remaps=$(printf '%s\n' "${remap_list[@]}" | awk '{ print length($0) "\t" $0 }' |
        sort -n | cut -f2-)
    target_flags=()
    # tiny: nothing ever unwinds, so no unwind tables either (.eh_frame, about 58 KB of echo).
    [[ $profile_option == tiny ]] && target_flags+=(-Cforce-unwind-tables=no)
    target_flags+=(-C relocation-model=static -C target-feature=+crt-static)
    build_std=() # tiny: std rebuilt for size, without unwinding
    if [[ $profile_option == tiny ]]; then
        target_flags+=(-Clink-self-contained=yes)
        # immediate-abort: no panic machinery at all, no hook, no message; abort: the profile's
        # panic=abort, so the runtime's panic hook reports the panic before the process ends.
        [[ $panic_option == immediate-abort ]] && target_flags+=(-Zunstable-options -Cpanic=immediate-abort)
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
                --config 'profile.size.opt-level="z"' --config 'profile.size.panic="abort"'
                --config 'profile.size.package."*".opt-level="s"')
        else
            profile_config+=(--config 'profile.release.opt-level=3')
        fi
    fi
    # tiny is for the fewest bytes: every package at opt-level "z", also the dependencies that
    # the size profile builds at "s" for speed.
    if [[ $profile_option == tiny ]]; then
        profile_config+=(--config 'profile.size.package."*".opt-level="z"')
        if grep -q '^\[profile\.size\.package\.lambda-loop\]' "$workspace_root/Cargo.toml"; then
            profile_config+=(--config 'profile.size.package.lambda-loop.opt-level="z"')
        fi
    fi
}

# ---------------------------------------------------------------------------------------
# Build: one cargo run per arch and per set of features. Each selected target gets the
# features given (--features, --all-features) and its own required-features; targets with the
# same set are built together, and a target that needs no feature is built without any, so its
# binary is the same as when it is built alone.
build_binaries() {
    declare -gA feature_sets=() # "+" and the features of a build (sorted, comma-separated) -> its selection
    feature_set_order=()        # the keys, in the order first needed ("+" alone: no feature)
    for item in "${requested[@]}"; do
        wanted=+$(printf '%s\n' "${features[@]}" "${required_features[$item]:-}" | tr -s ', ' '\n' |
            grep -v '^$' | LC_ALL=C sort -u | paste -s -d, -) || true
        [[ -n ${feature_sets[$wanted]+set} ]] || feature_set_order+=("$wanted")
        feature_sets[$wanted]+=" --${item%%:*} ${item#*:}"
    done
    for arch in "${arches[@]}"; do
        triple=$(rust_target "$arch")
        triple_env=$(tr 'a-z-' 'A-Z_' <<<"$triple")
        arch_flags=$encoded_flags
        [[ -n ${crt_dirs[$arch]:-} ]] && arch_flags+=$'\x1f'"-Lnative=${crt_dirs[$arch]}"
        # Crates that compile C (ring, under the durable feature) need a C compiler for the
        # target, which cc-rs looks for as <arch>-linux-musl-gcc: a fresh machine has none.
        # For the host's own arch, musl-gcc when installed, else the host's cc (ring's C needs
        # only the compiler's own headers); for arm64 on another host, Debian's aarch64 cross
        # gcc when it is there. The link stays rust-lld's, static. CC_<triple> wins.
        target_cc=()
        cc_variable=CC_${triple//-/_}
        if [[ -z ${!cc_variable:-} ]] && ! command -v "${triple%%-*}-linux-musl-gcc" >/dev/null; then
            if [[ ${triple%%-*} == "${host_triple%%-*}" ]]; then
                target_cc=("$cc_variable=$(command -v musl-gcc || echo cc)" "AR_${triple//-/_}=ar")
            elif [[ $triple == aarch64-unknown-linux-musl ]] && command -v aarch64-linux-gnu-gcc >/dev/null; then
                target_cc=(CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
                    AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar)
            fi
        fi
        for key in "${feature_set_order[@]}"; do
            read -r -a cargo_selection <<<"${feature_sets[$key]}"
            wanted=${key#+}
            feature_args=()
            $all_features && feature_args+=(--all-features)
            [[ -n $wanted ]] && feature_args+=(--features "$wanted")
            selected_names=()
            for ((index = 1; index < ${#cargo_selection[@]}; index += 2)); do
                selected_names+=("${cargo_selection[index]}")
            done
            echo "build.sh: building $(joined "${selected_names[@]}") for $arch ($triple, profile" \
                "$profile_option${wanted:+, features $wanted}$($all_features && echo ', all features'))" >&2
            if ! env -u RUSTFLAGS "${target_cc[@]}" CARGO_ENCODED_RUSTFLAGS="$arch_flags" \
                "CARGO_TARGET_${triple_env}_LINKER=rust-lld" \
                cargo "${toolchain[@]}" build --manifest-path "$manifest_path" --target "$triple" \
                --target-dir "$build_dir" "${build_std[@]}" \
                --profile "$cargo_profile" "${profile_config[@]}" "${feature_args[@]}" \
                "${cargo_selection[@]}" >&2; then
                [[ ${#target_cc[@]} -gt 0 || $triple != aarch64-* || $host_triple == aarch64-* ]] ||
                    echo "build.sh: a dependency that compiles C for $triple (ring, under lambda-loop's durable feature) needs a C cross compiler: apt-get install gcc-aarch64-linux-gnu" >&2
                die "cargo build failed for $arch (cargo's output is above)"
            fi
        done
    done
}

# ---------------------------------------------------------------------------------------
# Package: each binary checked static and stripped, zipped with fixed times and modes.
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

# ---------------------------------------------------------------------------------------
# The smoke test: its program, and each binary's event as a file: its own (NAME=...), else
# the one for every binary, else the default {"name":"smoke"}, which may be answered with an
# error.
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

# The smoke test's fake Runtime API: lambda-loop's own (lambda_loop::testing), in a small
# std-only program, src/testing/smoke_api.rs, that rustc compiles alone, once per source and
# rustc version, into the target dir. It starts the command it is given with
# AWS_LAMBDA_RUNTIME_API pointing at the fake, hands it the event on its first `next`, and
# prints one tab-separated line: how the event was answered (response, error or fail), a
# detail, what the process did then (next, exit: STATUS or timeout: ...), and the handler it
# chose for a binary of several handlers.
smoke_api_source() { # the program's main file: in the crate's lambda-loop, or beside build.sh
    local lib
    # lambda-loop in the crate's graph (the crate itself, or the version it depends on), else
    # the checkout build.sh is in.
    for lib in "$(lambda_loop_lib "$all_metadata")" "$script_dir/src/lib.rs"; do
        if [[ -n $lib && -f $(dirname "$lib")/testing/smoke_api.rs ]]; then
            echo "$(dirname "$lib")/testing/smoke_api.rs"
            return 0
        fi
    done
    die "the smoke test needs lambda-loop's src/testing/smoke_api.rs, found neither in the" \
        "crate's lambda-loop dependency nor next to build.sh: depend on a newer lambda-loop," \
        "run build.sh from a lambda-loop checkout, or pass --no-smoke"
}
lambda_loop_lib() { # $1 = cargo metadata: the src_path of the lambda_loop library, or nothing
    local match
    match=$(grep -o '"kind":\["lib"\],"crate_types":\[[^]]*\],"name":"lambda_loop","src_path":"[^"]*"' \
        <<<"$1" | head -n 1) || true
    match=${match##*\"src_path\":\"}
    printf '%s' "${match%\"}"
}

smoke_api_build() {
    local source key dir
    source=$(smoke_api_source)
    key=$( (
        cat "$(dirname "$source")"/{smoke_api,fake_api,wire}.rs
        rustc -vV
    ) | sha256sum | cut -c1-16)
    dir=$target_dir/lambda-smoke-api/$key
    smoke_api=$dir/smoke-api
    [[ -x $smoke_api ]] && return 0
    mkdir -p "$dir"
    # Two build.sh runs at once may both compile: each writes its own file, then renames it.
    rustc --edition 2021 -O -o "$dir/smoke-api.$$" "$source" >&2 ||
        die "rustc could not compile the smoke test's fake Runtime API ($source)"
    mv -f "$dir/smoke-api.$$" "$smoke_api"
}

# Runs one packaged binary against the fake Runtime API. $1 = arch, $2 = label, $3 = the
# binary's name (which picks its event), rest = the command. Prints the table's smoke cell.
smoke_run() {
    local arch=$1 label=$2 event_path=${smoke_event_paths[$3]} strict=${smoke_strict[$3]} \
        runner log kind detail after chosen
    shift 3
    if ! runner=$(runner_for "$arch"); then
        echo "skipped (no qemu-${arch/arm64/aarch64}: install the qemu-user package)"
        return 0
    fi
    log=$(mktemp)
    # shellcheck disable=SC2086 # $runner is empty or one word
    IFS=$'\t' read -r kind detail after chosen < <(
        env -u AWS_LAMBDA_RUNTIME_API "$smoke_api" "$event_path" "$log" $runner "$@"
    ) || true
    local note=${runner:+ ($runner)}${chosen:+ (_HANDLER=$chosen)} failure=''
    case $kind:$after in
    response:next) echo "ok$note: $detail" ;;
    response:*) failure="it answered, then did not ask for the next event ($after)" ;;
    error:next | error:exit*)
        if $strict; then
            failure="the event was answered with an error, $detail (a given smoke event must get a response)"
        else
            # The default event proves the runtime; a typed handler may well reject it.
            local ended=''
            [[ $after == next ]] || ended="; then $after"
            echo "ok$note (error post): $detail$ended"
        fi
        ;;
    error:*) failure="it posted an error ($detail), then did not ask for the next event ($after)" ;;
    fail:*) failure=$detail ;;
    *) failure="the fake Runtime API gave no result" ;;
    esac
    if [[ -n $failure ]]; then
        {
            echo "build.sh: smoke test of $label failed: $failure; its output:"
            head -c 2000 "$log"
            echo
        } >&2
        echo "FAILED ($failure)"
    fi
    rm -f "$log"
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
                smoke_run "$arch" "$label: $binary" "$binary" "$unpacked/bootstrap")")
        elif $launcher; then
            # Foreign arch: bash would need binfmt_misc to exec it, so qemu runs it directly.
            results+=("$(smoke_run "$arch" "$label: $binary" "$binary" "$unpacked/$binary")")
        else
            results+=("$(smoke_run "$arch" "$label" "$binary" "$unpacked/bootstrap")")
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

prepare_smoke_test() {
    smoke_api='' # the compiled program, once smoke_api_build has run
    declare -gA smoke_event_paths=() smoke_strict=()
    if $smoke; then
        smoke_api_build
        event_dir=$(mktemp -d "$target_dir/lambda-smoke-api.events.XXXXXX")
        trap 'rm -rf "$event_dir"' EXIT
        printf '%s' '{"name":"smoke"}' >"$event_dir/default"
        for name in "${names[@]}"; do
            smoke_strict[$name]=true
            if [[ -n ${smoke_event_files[$name]+set} ]]; then
                smoke_event_paths[$name]=${smoke_event_files[$name]}
            elif [[ -n ${smoke_events[$name]+set} ]]; then
                printf '%s' "${smoke_events[$name]}" >"$event_dir/$name"
                smoke_event_paths[$name]=$event_dir/$name
            elif [[ -n ${smoke_event_files[%all]+set} ]]; then
                smoke_event_paths[$name]=${smoke_event_files[%all]}
            elif [[ -n ${smoke_events[%all]+set} ]]; then
                printf '%s' "${smoke_events[%all]}" >"$event_dir/all"
                smoke_event_paths[$name]=$event_dir/all
            else
                smoke_event_paths[$name]=$event_dir/default
                smoke_strict[$name]=false
            fi
        done
    fi
}

# ---------------------------------------------------------------------------------------
# Package: the zips, one row each (name, arch, binary bytes, zip bytes, zip sha256, smoke
# result: tab-separated).
package_binaries() {
    entry_epoch=${SOURCE_DATE_EPOCH:-315532800}
    ((entry_epoch >= 315532800)) || entry_epoch=315532800 # zip cannot store times before 1980
    host_arch=$(uname -m)
    [[ $host_arch == aarch64 ]] && host_arch=arm64
    rows=()
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
}

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
report() {
    print_table $'name\tarch\tbinary bytes\tzip bytes\tzip sha256\tsmoke test' "${rows[@]}"
    echo "Artifacts: $out_root/<name>/<arch>/bootstrap.zip (profile $profile_option)"
    if printf '%s\n' "${rows[@]}" | grep -q FAILED; then
        die "smoke test failed (see above)"
    fi
}

main "$@"
