#!/usr/bin/env bash
# Runs the given tests/node/*_test.js files with node --test and the freshly
# built addon, under the IPC guard ($SHMKV_GUARD), so every store the tests
# make is removed, however they end.
#   run_node_tests.sh ADDON NEAR_ADDON TEST...
set -euo pipefail
[[ -n "${SHMKV_TEST_KEY_RANGE:-}" ]] || exec "$SHMKV_GUARD" -- bash "$0" "$@"
addon=$1
near_addon=$2
shift 2
# The module as npm installs it: its JavaScript files beside the addon (in
# the runfiles tree, kv/node's sources share the addon's directory).
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/shmkv-node.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/shmkv" "$tmp/python"
for f in index.js index.d.ts near.js near.d.ts package.json installed.test.js; do
  cp "$(dirname "$addon")/$f" "$tmp/shmkv/"
done
cp "$addon" "$tmp/shmkv/shmkv.node"
cp "$near_addon" "$tmp/shmkv/shmkv_near.node"
export SHMKV_NODE_MODULE=$tmp/shmkv
# Python imports the module by its file name: a directory holding it.
ln -s "$PWD/$SHMKV_PYTHON_MODULE" "$tmp/python/$(basename "$SHMKV_PYTHON_MODULE")"
export SHMKV_PYTHONPATH=$tmp/python
node --test "$@"
# What a user runs in the installed module's folder (its own check, with a
# key of the guard's range).
(cd "$tmp/shmkv" && SHMKV_TEST_KEY=$("$SHMKV_GUARD" keys 1 installed_test) node --test)
