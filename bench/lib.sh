# shellcheck shell=bash
# Helpers the bench scripts share (sourced, not run).

# lambda-loop's size rows get the size profile that build.sh and the crate's own Cargo.toml
# give a function: opt-level "s" for the dependencies (lambda-loop, ureq, ...), "z" for the
# function's crate.
# shellcheck disable=SC2034 # used by the scripts that source this file
ll_size_config=(--config 'profile.size.package."*".opt-level="s"')

# The bytes of a zip holding $1 as `bootstrap` (`zip -9 -X`): what a deployment zip of it weighs.
zip_bytes() {
    local scratch
    scratch="$(mktemp -d)"
    cp "$1" "$scratch/bootstrap"
    (cd "$scratch" && zip -q -9 -X function.zip bootstrap)
    stat -c %s "$scratch/function.zip"
    rm -rf "$scratch"
}

# Builds the AWS SDK example's rows (sdk/: ll-s3 and official-s3, profile size, x86_64 musl)
# into target/sdk. The SDK's TLS (rustls on aws-lc-rs) compiles C, which for musl needs
# musl-gcc: installed with apt-get when run as root. Fails with a line when it cannot be had.
build_sdk_rows() { # name of the calling script, for its lines
    local x86=x86_64-unknown-linux-musl package bench
    bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    if ! command -v musl-gcc >/dev/null; then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            echo "$1: installing musl-tools (musl-gcc, for aws-lc-sys)" >&2
            apt-get update -qq && apt-get install -y -qq musl-tools >/dev/null
        else
            echo "$1: musl-gcc missing: install musl-tools (aws-lc-sys compiles C for $x86)" >&2
            return 1
        fi
    fi
    for package in ll-s3 official-s3; do
        echo "$1: building $package (size profile, $x86)" >&2
        (cd "$bench/sdk" && CC_x86_64_unknown_linux_musl="${CC_x86_64_unknown_linux_musl:-musl-gcc}" \
            CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build -q -p "$package" --profile size \
            --target "$x86" --target-dir "$bench/target/sdk") || return 1
    done
}
