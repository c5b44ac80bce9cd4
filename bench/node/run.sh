#!/usr/bin/env bash
# Per-op cost of get/put from Node (bench/node/bench.js): shmkv against Map,
# lru-cache, Redis through ioredis and node-redis on a unix socket, and LMDB
# (lmdb-js on /dev/shm); one process, then four cluster workers at once.
# The peers come from the npm registry (npm ci here, pinned by
# package-lock.json); redis-server from Debian (tools/setup.sh).
#   bash bench/node/run.sh [--ops=N]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/setup.sh
(cd bench/node && npm ci --no-audit --no-fund --loglevel=error)
bazel build -c opt //kv/node:addon //bench/node:floors_addon //tools/kvcli 2>/dev/null
bin=$(bazel info -c opt bazel-bin 2>/dev/null)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmkv-node-bench.XXXXXX")
lmdb=/dev/shm/shmkv-bench-node.$$
key=0x6b6f0001
redis_pid=""
cleanup() {
  [[ -n "$redis_pid" ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  "$bin/tools/kvcli/kvcli" destroy --key=$key >/dev/null 2>&1 || true
  rm -rf "$tmp" "$lmdb" "$lmdb-lock"  # lmdb-js keeps its lock beside the file
}
trap cleanup EXIT

mkdir -p "$tmp/node_modules/shmkv"
cp kv/node/index.js kv/node/index.d.ts kv/node/package.json "$tmp/node_modules/shmkv/"
cp "$bin/kv/node/shmkv.node" "$tmp/node_modules/shmkv/"
redis-server --port 0 --unixsocket "$tmp/redis.sock" --save '' --appendonly no --dir "$tmp" \
  >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do [[ -S "$tmp/redis.sock" ]] && break; sleep 0.05; done

common=(--key=$key --redis="$tmp/redis.sock" --lmdb="$lmdb" "$@")
NODE_PATH=$tmp/node_modules node bench/node/bench.js "${common[@]}"
echo
NODE_PATH=$tmp/node_modules node bench/node/bench.js "${common[@]}" --workers=4
echo
NODE_PATH=$tmp/node_modules node bench/node/floors.js --key=$key --floors="$bin/bench/node/floors.node"
