#!/usr/bin/env bash
# Python get/put per second: shmkv, multiprocessing.Manager().dict(),
# pymemcache and redis-py on unix sockets, and a plain dict (bench/RESULTS.md, "Python").
#   bash bench/peers/python_bench.sh          (PYBENCH_KEYS, PYBENCH_OPS to change)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/setup.sh --bench
bazel build -c opt //kv/python:shmkv_module >/dev/null 2>&1 || bazel build -c opt //kv/python:shmkv_module
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmkv-pybench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
memcached -s "$tmp/memcached.sock" -m 256 -u "$(id -un)" &
pids+=($!)
redis-server --port 0 --unixsocket "$tmp/redis.sock" --save '' --appendonly no --dir "$tmp" \
  >/dev/null &
pids+=($!)
for _ in $(seq 100); do [[ -S "$tmp/memcached.sock" && -S "$tmp/redis.sock" ]] && break; sleep 0.05; done
mkdir "$tmp/module"
ln -s "$(bazel info -c opt bazel-bin 2>/dev/null)/kv/python/"shmkv.*.so "$tmp/module/"
PYTHONPATH=$tmp/module PYBENCH_MEMCACHED=$tmp/memcached.sock PYBENCH_REDIS=$tmp/redis.sock \
  /usr/bin/python3 bench/peers/python_bench.py
