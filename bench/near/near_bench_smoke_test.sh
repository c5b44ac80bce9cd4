#!/usr/bin/env bash
# near_bench end to end, tiny: a private redis-server on a unix socket and a
# kvsync on a fresh store; both modes report their JSON fields and no errors,
# and near refuses to run without kvsync, saying how to start it. With
# TOPOLOGY cluster (three primaries) or sentinel (a primary, its replica and
# three sentinels, bench/near/redis_topology.sh) instead of one server, the
# same, and the direct run's commands, summed over the primaries, are one
# per operation (the check without kvsync is made against one server only).
#   near_bench_smoke_test.sh IPC_GUARD NEAR_BENCH KVCLI KVSYNC [TOPOLOGY_SH server|cluster|sentinel]
set -euo pipefail
guard="$1"
near_bench="$2"
kvcli="$3"
kvsync="$4"
topology_sh="${5:-}"
topology="${6:-server}"
# Under the IPC guard, the store lives at a key of this run's range.
[[ -n "${SHMKV_TEST_KEY_RANGE:-}" ]] || exec "$guard" -- bash "$0" "$@"
command -v redis-server >/dev/null || { echo "redis-server missing: apt-get install redis-server"; exit 1; }
# A unix socket path must fit in 108 bytes: Bazel's TEST_TMPDIR may not.
base=${TEST_TMPDIR:-/tmp}
((${#base} < 60)) || base=/tmp
tmp=$(mktemp -d "$base/near_bench.XXXXXX")
mapfile -t keys < <("$guard" keys 1 near_bench_smoke_test)
key=${keys[0]}

redis_pid=""
kvsync_pid=""
topo_stop() { :; }
cleanup() {
  [[ -z "$kvsync_pid" ]] || { kill "$kvsync_pid" 2>/dev/null || true; wait "$kvsync_pid" 2>/dev/null || true; }
  [[ -z "$redis_pid" ]] || { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; }
  topo_stop
  "$kvcli" destroy --key="$key" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

if [[ $topology == server ]]; then
  redis-server --port 0 --unixsocket "$tmp/redis.sock" --unixsocketperm 700 --save "" \
    --appendonly no --daemonize no --dir "$tmp" --logfile "$tmp/redis.log" &
  redis_pid=$!
  redis="unix:$tmp/redis.sock"
  common=(--redis="$redis" --procs=2 --keys=2000 --duration=1s --warmup=200ms --json --quiet)
else
  source "$topology_sh"
  "topo_start_$topology" "$tmp" || { echo "FAIL: could not start the $topology"; exit 1; }
  redis=$topo_target
  common=(--redis="$redis" --procs=2 --keys=500 --duration=500ms --warmup=100ms --json --quiet)
fi

fail() { echo "FAIL: $*"; for f in "$tmp"/*.out "$tmp"/*.err "$tmp"/kvsync.log; do [[ -f $f ]] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
has() { grep -q "\"$2\":" <<<"$1" || fail "no \"$2\" in: $1"; }
jget() { sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p" <<<"$1"; }

# 1. direct: one GET per get op (it also preloads the keys into Redis).
"$near_bench" --system=direct "${common[@]}" >"$tmp/direct.out" 2>"$tmp/direct.err" || fail "direct exited $?"
line=$(tail -n 1 "$tmp/direct.out")
grep -q '"system":"redis_direct"' <<<"$line" || fail "no direct JSON line"
grep -q '"errors":0,' <<<"$line" || fail "direct reported errors"
for f in ops_per_sec p50_us p99_us redis_commands_per_op redis_gets_per_op; do has "$line" "$f"; done
if [[ $topology != server ]]; then
  primaries=$([[ $topology == cluster ]] && echo 3 || echo 1)
  grep -q "\"redis_primaries\":$primaries," <<<"$line" || fail "not $primaries primaries: $line"
  # One command per operation, summed over the primaries (the 1% above: the
  # sentinels' and kvsync's own).
  awk -v c="$(jget "$line" redis_commands_per_op)" 'BEGIN { exit !(c >= 0.99 && c < 1.2) }' ||
    fail "direct commands per op not about 1: $line"
fi

# 2. near without kvsync: refused with what to do (after waiting 5 s for
# one: checked against one server only).
"$kvcli" create --key="$key" --capacity=16MiB >/dev/null
if [[ $topology == server ]]; then
  rc=0
  "$near_bench" --system=near --key="$key" "${common[@]}" --no-preload >"$tmp/nokvsync.out" 2>"$tmp/nokvsync.err" || rc=$?
  ((rc != 0)) || fail "near ran without kvsync"
  grep -q 'kvsync --key=' "$tmp/nokvsync.err" || fail "no hint to start kvsync"
fi

# 3. near with kvsync: errors 0, staleness measured, no probe timeouts.
"$kvsync" --key="$key" --redis="$redis" --prefix=kvb: 2>"$tmp/kvsync.log" &
kvsync_pid=$!
"$near_bench" --system=near --key="$key" "${common[@]}" --no-preload >"$tmp/near.out" 2>"$tmp/near.err" || fail "near exited $?"
line=$(tail -n 1 "$tmp/near.out")
grep -q '"system":"near"' <<<"$line" || fail "no near JSON line"
grep -q '"errors":0,' <<<"$line" || fail "near reported errors"
grep -q '"staleness_timeouts":0,' <<<"$line" || fail "invalidations took over 2 s"
for f in ops_per_sec p50_us p99_us redis_commands_per_op redis_gets_per_op near_hit_ratio \
  first_reads_per_host first_reads_per_process redis_gets_per_first_read_per_host staleness_p99_us; do
  has "$line" "$f"
done
grep -q '"staleness_p99_us":null' <<<"$line" && fail "no staleness sample"
echo "near_bench smoke test ($topology): passed"
