#!/usr/bin/env bash
# Runs the given tests/python/*_test.py files with Debian's python3 and the freshly built
# module, under the IPC guard (so every store the tests make is removed,
# however they end).
#   run_python_tests.sh IPC_GUARD KVCLI IPC_HELPER CXX_RACER KVSYNC MODULE TEST...
set -euo pipefail
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
guard=$(abspath "$1")
[[ -n "${SHMKV_TEST_KEY_RANGE:-}" ]] || exec "$guard" -- bash "$0" "$@"
export SHMKV_GUARD=$guard
export SHMKV_KVCLI=$(abspath "$2")
export SHMKV_IPC_HELPER=$(abspath "$3")
export SHMKV_CXX_RACER=$(abspath "$4")
export SHMKV_KVSYNC=$(abspath "$5")
module=$(abspath "$6")
shift 6
# The module's file name is what `import shmkv` looks for; it may be a
# symlink into the build tree, so point PYTHONPATH at a directory holding it.
moddir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/shmkv-python.XXXXXX")
trap 'rm -rf "$moddir"' EXIT
ln -s "$module" "$moddir/$(basename "$module")"
# testenv.py, beside the tests, is imported by them.
export PYTHONPATH=$moddir:$(dirname "$(abspath "$1")")
for test in "$@"; do
  /usr/bin/python3 "$(abspath "$test")" -v
done
