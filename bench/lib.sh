# shellcheck shell=bash
# Helpers the bench scripts share (sourced, not run).

# The bytes of a zip holding $1 as `bootstrap` (`zip -9 -X`): what a deployment zip of it weighs.
zip_bytes() {
    local scratch
    scratch="$(mktemp -d)"
    cp "$1" "$scratch/bootstrap"
    (cd "$scratch" && zip -q -9 -X function.zip bootstrap)
    stat -c %s "$scratch/function.zip"
    rm -rf "$scratch"
}
