#!/usr/bin/env bash
# kvcli info and stats, and kvcli serve's /metrics, show kvsync's sync state
# (phase, whether readers serve from the store, heartbeat age, invalidations
# applied), and get --through reads through the near cache, with a real
# redis-server on a unix socket in a temporary directory and a real kvsync.
#
#   kvcli_near_test.sh IPC_GUARD KVCLI HELPER KVSYNC
set -uo pipefail
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
if [[ -z "${SHMKV_KVSYNC:-}" ]]; then
  (($# == 4)) || { echo "usage: $0 IPC_GUARD KVCLI HELPER KVSYNC" >&2; exit 2; }
  SHMKV_KVSYNC=$(abspath "$4")
  export SHMKV_KVSYNC
  set -- "$1" "$2" "$3"
fi
# shellcheck source=tests/kvcli_lib.sh
source "$(dirname "$0")/../kvcli_lib.sh" "$@"

mapfile -t KEYS < <("$GUARD" keys 2 kvcli_near_test.sh)
A=${KEYS[0]}
B=${KEYS[1]}
redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/kvnear.XXXXXX") # a unix socket path must be short
socket="$redis_dir/redis.sock"
redis-server --port 0 --unixsocket "$socket" --save "" --appendonly no --dir "$redis_dir" \
  >"$redis_dir/redis.log" 2>&1 &
BG_PIDS+=($!)
trap 'cleanup; rm -rf "$redis_dir"' EXIT
for _ in $(seq 100); do
  [[ "$(redis-cli -s "$socket" ping 2>/dev/null)" == PONG ]] && break
  sleep 0.1
done
[[ "$(redis-cli -s "$socket" ping 2>/dev/null)" == PONG ]] || {
  echo "FAIL: redis-server did not come up: $(cat "$redis_dir/redis.log")" >&2
  exit 1
}

# wait_json WHAT PYTHON_CONDITION: polls stats --json of store $A (or
# $WAIT_KEY) until it holds (5 s).
wait_json() {
  for _ in $(seq 100); do
    "$KVCLI" stats --key="${WAIT_KEY:-$A}" --json >"$TMP/out" 2>"$TMP/err" &&
      python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$TMP/out" &&
      return 0
    sleep 0.05
  done
  fail "$1: stats --json never met $2: $(cat "$TMP/out")"
}

section "no kvsync has run"
run 0 create --key="$A" --capacity=1MiB
run 0 info --key="$A" --json && json_check "d['near_sync'] is None" "info --json: near_sync null"
run 0 info --key="$A"
if grep -q "near cache" "$TMP/out"; then fail "info shows a near cache row with no kvsync"; fi

section "kvsync synced"
"$SHMKV_KVSYNC" --key="$A" --redis="unix:$socket" --prefix=p: 2>"$TMP/kvsync.log" &
kvsync_pid=$!
BG_PIDS+=("$kvsync_pid")
wait_json "kvsync syncs" "d['near_sync'] and d['near_sync']['phase'] == 'synced'"
run 0 info --key="$A" && out_has "near cache *kvsync pid $kvsync_pid synced, readers serve from the store" "info: synced"
out_has "prefixes p:" "info: the prefixes"
run 0 info --key="$A" --json && json_check "d['near_sync']['serving'] and d['near_sync']['heartbeat_age_ms'] < 1000 and len(d['near_sync']['redis_run_id']) == 40" "info --json: serving, fresh heartbeat, the run_id of kvsync's Redis"

section "an invalidation from Redis is applied and counted"
run 0 put --key="$A" p:a cached && err_has "warning: key p:a is under a prefix kvsync" "put under a tracked prefix warns"
redis-cli -s "$socket" set p:a changed >/dev/null
wait_json "the invalidation is applied" "d['near_sync']['invalidations'] >= 1"
run 1 get --key="$A" p:a
run 0 stats --key="$A" && out_has "near cache *kvsync pid $kvsync_pid synced.*1 invalidation" "stats: the invalidation"

section "get --through reads through the near cache"
redis-cli -s "$socket" set p:r one >/dev/null
run 0 get --key="$A" --through="unix:$socket" p:r --json && json_check "d['path'] == 'filled' and b64(d['value_b64']) == b'one'" "first read fills"
run 0 get --key="$A" p:r && out_is "one" "the fill is in the store"
run 0 get --key="$A" --through="unix:$socket" p:r && out_is "one" "get --through prints the value"
run 0 get --key="$A" --through="unix:$socket" p:r --json && json_check "d['path'] == 'hit'" "second read hits"
redis-cli -s "$socket" set p:r two >/dev/null
wait_json "the write is invalidated" "d['near_sync']['invalidations'] >= 2"
run 0 get --key="$A" --through="unix:$socket" p:r && out_is "two" "a write in Redis is seen"
redis-cli -s "$socket" set q:outside x >/dev/null
run 0 get --key="$A" --through="unix:$socket" q:outside --json && json_check "d['path'] == 'direct' and 'prefixes' in d['bypass_reason']" "a key outside the prefixes is read directly"
run 1 get --key="$A" --through="unix:$socket" p:none && err_has "not found in Redis" "a key Redis lacks"
run 1 get --key="$A" --through="unix:$socket" p:r p:none && out_has "^p:r	two$" "several keys: the found one is printed"
run 2 get --key="$A" --through="nonsense" p:r && err_has "through" "a bad address"
run 2 get --key="$A" --through="unix:$socket" --meta p:r && err_has "does not go with --through" "--meta with --through"

section "a heartbeat from before a suspend is as old as the suspend"
# The shim (tests/near/wall_clock_step_shim.cc) shows kvcli CLOCK_BOOTTIME an
# hour ahead, as after an hour of suspend; CLOCK_MONOTONIC, which stops
# during suspend, is unchanged. kvsync's last heartbeat is then an hour old.
SHIM="$TEST_SRCDIR/$TEST_WORKSPACE/tests/near/wall_clock_step_shim.so"
echo 3600 >"$TMP/suspend"
SHMKV_TEST_SUSPEND_FILE="$TMP/suspend" KVCLI_PRELOAD="$SHIM" \
  run 0 get --key="$A" --through="unix:$socket" p:r --json &&
  json_check "d['path'] == 'direct' and 'last beat 1h' in d['bypass_reason']" "after a suspend, reads go to Redis"
run 0 get --key="$A" --through="unix:$socket" p:r --json && json_check "d['path'] == 'hit'" "without the suspend, the same read hits"

section "get --through another Redis than kvsync's reads it directly"
other="$redis_dir/other.sock"
redis-server --port 0 --unixsocket "$other" --save "" --appendonly no --dir "$redis_dir" \
  --dbfilename other.rdb >"$redis_dir/other.log" 2>&1 &
BG_PIDS+=($!)
for _ in $(seq 100); do
  [[ "$(redis-cli -s "$other" ping 2>/dev/null)" == PONG ]] && break
  sleep 0.1
done
redis-cli -s "$other" set p:o first >/dev/null
run 0 get --key="$A" --through="unix:$other" p:o --json && json_check "d['path'] == 'direct' and 'another Redis server' in d['bypass_reason'] and b64(d['value_b64']) == b'first'" "another server: read directly, and why"
redis-cli -s "$other" set p:o second >/dev/null
run 0 get --key="$A" --through="unix:$other" p:o && out_is "second" "a value the other server replaced is not served"
redis-cli -s "$other" shutdown nosave >/dev/null 2>&1

section "a loaded dump restores no near-cache value and leaves kvsync running"
redis-cli -s "$socket" set p:d old >/dev/null
run 0 put --key="$A" plain value
run 0 get --key="$A" --through="unix:$socket" p:d --json && json_check "d['path'] == 'filled'" "p:d is filled"
run 0 dump --key="$A" --out="$TMP/near.snap"
before=$("$KVCLI" stats --key="$A" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['near_sync']['invalidations'])")
redis-cli -s "$socket" set p:d new >/dev/null
wait_json "the change is invalidated" "d['near_sync']['invalidations'] > $before"
run 0 load --key="$A" --in="$TMP/near.snap" && out_has "skipped 3 of the near cache" "load counts what it skipped (the record, p:r, p:d)"
run 0 get --key="$A" plain && out_is "value" "a plain entry is loaded"
run 0 incr --key="$A" p:n && err_has "this incr changes only this host's copy" "incr under a tracked prefix warns"
run 0 touch --key="$A" --ttl=none p:n && err_has "warning: .*write the key in Redis" "touch under a tracked prefix warns"
run 0 put --key="$A" q:plain x
[[ -s "$TMP/err" ]] && fail "put outside the tracked prefixes warned: $(cat "$TMP/err")"
run 0 get --key="$A" --through="unix:$socket" p:d && out_is "new" "the dumped value is not brought back"
redis-cli -s "$socket" set p:after x >/dev/null
wait_json "kvsync still beats after the load" "d['near_sync']['pid'] == $kvsync_pid and d['near_sync']['invalidations'] > $before + 1"
kill -0 "$kvsync_pid" 2>/dev/null || fail "kvsync exited after the load: $(cat "$TMP/kvsync.log")"

section "a near-cache dump loaded into a store with its own kvsync leaves that kvsync running"
run 0 create --key="$B" --capacity=1MiB
"$SHMKV_KVSYNC" --key="$B" --redis="unix:$socket" --prefix=p: 2>"$TMP/kvsync_b.log" &
kvsync_b=$!
BG_PIDS+=("$kvsync_b")
WAIT_KEY=$B wait_json "the second kvsync syncs" "d['near_sync'] and d['near_sync']['phase'] == 'synced'"
run 0 load --key="$B" --in="$TMP/near.snap" && out_has "loaded 1 entry" "only the plain entry is loaded"
redis-cli -s "$socket" set p:after y >/dev/null
WAIT_KEY=$B wait_json "the second kvsync still beats after the load" "d['near_sync']['pid'] == $kvsync_b and d['near_sync']['invalidations'] >= 1"
kill -0 "$kvsync_b" 2>/dev/null || fail "the second kvsync exited after the load: $(cat "$TMP/kvsync_b.log")"
run 0 get --key="$B" --through="unix:$socket" p:d && out_is "new" "the dumped value is not served from the second store"
kill -TERM "$kvsync_b"
wait "$kvsync_b" || fail "the second kvsync exited $? after SIGTERM: $(cat "$TMP/kvsync_b.log")"
run 0 destroy --key="$B"

section "kvcli serve's /metrics carries kvsync's state and counters, and they move"
"$KVCLI" serve --listen=127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
serve_pid=$!
BG_PIDS+=("$serve_pid")
url=""
for _ in $(seq 200); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$TMP/serve.out" | head -1)
  [[ -n "$url" ]] && break
  sleep 0.05
done
[[ -n "$url" ]] || fail "kvcli serve did not start: $(cat "$TMP/serve.err")"
# series NAME: the value of NAME{store="$A"} in a fresh scrape, or "absent".
series() {
  curl -s -o "$TMP/metrics" "${url}metrics"
  awk -v s="$1{store=\"$A\"}" '$1 == s {print $2; f = 1} END {if (!f) print "absent"}' "$TMP/metrics"
}
# wait_series NAME AWK_CONDITION_ON_V: scrapes until it holds (5 s).
wait_series() {
  local v deadline=$((SECONDS + 5))
  while ((SECONDS < deadline)); do
    v=$(series "$1")
    [[ "$v" != absent ]] && awk -v v="$v" "BEGIN {exit !($2)}" && return 0
    sleep 0.05
  done
  fail "$1 of $A never met $2: $v; $(grep "near_sync.*$A" "$TMP/metrics")"
}
before=$("$KVCLI" stats --key="$A" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['near_sync']['invalidations'])")
wait_series shmkv_near_sync_invalidations_total "v == $before"
grep -q "^shmkv_near_sync_info{store=\"$A\",phase=\"synced\",redis=\"[^\"]*\"} 1$" "$TMP/metrics" ||
  fail "shmkv_near_sync_info: $(grep "^shmkv_near_sync_info" "$TMP/metrics")"
[[ "$(series shmkv_near_sync_serving)" == 1 ]] || fail "shmkv_near_sync_serving while synced"
wait_series shmkv_near_sync_heartbeat_age_seconds "v < 2"
[[ "$(series shmkv_near_sync_flushes_total)" == 0 ]] || fail "shmkv_near_sync_flushes_total"
[[ "$(series shmkv_near_sync_resyncs_total)" =~ ^[0-9]+$ ]] || fail "shmkv_near_sync_resyncs_total"
run 0 put --key="$A" p:m cached 2>/dev/null
redis-cli -s "$socket" set p:m changed >/dev/null
wait_series shmkv_near_sync_invalidations_total "v == $before + 1"
redis-cli -s "$socket" del p:m >/dev/null

section "kvsync stopped"
kill -TERM "$kvsync_pid"
wait "$kvsync_pid"
rc=$?
((rc == 0)) || fail "kvsync exited $rc after SIGTERM: $(cat "$TMP/kvsync.log")"
run 0 info --key="$A" && out_has "kvsync pid $kvsync_pid stopped, readers go to Redis" "info: stopped"
run 0 stats --key="$A" --json && json_check "d['near_sync']['phase'] == 'stopped' and not d['near_sync']['serving']" "stats --json: stopped"
wait_series shmkv_near_sync_serving "v == 0"
grep -q "^shmkv_near_sync_info{store=\"$A\",phase=\"stopped\"," "$TMP/metrics" ||
  fail "shmkv_near_sync_info once kvsync stopped: $(grep "^shmkv_near_sync_info" "$TMP/metrics")"
kill -TERM "$serve_pid"
wait "$serve_pid" || fail "kvcli serve did not stop cleanly: $(cat "$TMP/serve.err")"
run 0 get --key="$A" --through="unix:$socket" p:r --json && json_check "d['path'] == 'direct' and b64(d['value_b64']) == b'two'" "with kvsync stopped, reads go to Redis"
run 0 destroy --key="$A"

report_and_exit kvcli_near_test
