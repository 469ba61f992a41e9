#!/usr/bin/env bash
# The cost of the launcher (`bootstrap` script): one bash start before the handler binary.
# Compares, pinned to CPU 0: a program run directly, `bash -c 'exec program'` (the floor of
# any bash launcher), and the launcher exec'ing the same program via _HANDLER.
# Needs hyperfine and taskset. Usage: bench/launcher-cost.sh [runs]
set -euo pipefail
runs=${1:-2000}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
task_root=$(mktemp -d)
trap 'rm -rf "$task_root"' EXIT
cp "$repo/bootstrap" "$task_root/bootstrap"
cp "$(command -v true)" "$task_root/true"
LAMBDA_TASK_ROOT=$task_root _HANDLER=true taskset -c 0 \
    hyperfine -N --warmup 100 --runs "$runs" \
    "$task_root/true" "bash -c 'exec $task_root/true'" "$task_root/bootstrap"
