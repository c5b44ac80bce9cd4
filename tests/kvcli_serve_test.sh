#!/usr/bin/env bash
# kvcli serve, the HTTP endpoint for the host's stores: /metrics in the
# Prometheus text format (checked strictly), the JSON API, the dashboard's
# files, bad requests, a burst of concurrent scrapes, stores created,
# corrupted and destroyed while it serves, and a clean stop on SIGTERM and
# SIGINT. Real binary, real stores, real HTTP.
#
#   kvcli_serve_test.sh IPC_GUARD KVCLI HELPER CLIENT KVBENCH
set -uo pipefail

# The client and kvbench come through the environment: kvcli_lib.sh re-runs
# this script under the IPC guard with its own three arguments.
if [[ -z "${SERVE_CLIENT:-}" ]]; then
  [[ "${4:-}" == *serve_client.py && "${5:-}" == *kvbench ]] ||
    { echo "usage: $0 IPC_GUARD KVCLI HELPER CLIENT KVBENCH" >&2; exit 2; }
  SERVE_CLIENT=$(realpath "$4")
  SERVE_KVBENCH=$(realpath "$5")
  export SERVE_CLIENT SERVE_KVBENCH
fi
CLIENT=$SERVE_CLIENT
# shellcheck source=tests/kvcli_lib.sh
source "$(dirname "$0")/kvcli_lib.sh" "${@:1:3}"

mapfile -t KEYS < <("$GUARD" keys 7 kvcli_serve_test.sh)
if ((${#KEYS[@]} != 7)); then
  echo "FAIL: could not find free System V keys" >&2
  exit 1
fi
A=${KEYS[0]}     # a store named by key, written to
LATE=${KEYS[1]}  # created and destroyed while serving
BAD=${KEYS[2]}   # corrupted while serving
NONE=${KEYS[3]}  # never a store
LOAD=${KEYS[4]}  # written by a kvbench run
GONE=("${KEYS[5]}" "${KEYS[6]}")  # removed while a process stays attached

client() { /usr/bin/python3 "$CLIENT" "$@"; }

# start_serve NAME ARGS...: kvcli serve on a free loopback port; sets URL and
# SERVE_PID (also in BG_PIDS, stopped at exit).
start_serve() {
  local name=$1
  shift
  "$KVCLI" serve --listen=127.0.0.1:0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  SERVE_PID=$!
  BG_PIDS+=("$SERVE_PID")
  URL=""
  for _ in $(seq 200); do  # until it prints where it listens (or exits)
    URL=$(grep -o 'http://127.0.0.1:[0-9]*/' "$TMP/$name.out" | head -1)
    [[ -n "$URL" ]] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.05
  done
  fail "kvcli serve $* did not start: $(cat "$TMP/$name.err")"
  return 1
}

# get WANT_STATUS PATH: GET into $TMP/out.
get() {
  local status
  CHECKS=$((CHECKS + 1))
  status=$(curl -s -g -o "$TMP/out" -w '%{http_code}' "$URL$2")
  [[ "$status" == "$1" ]] || fail "GET $2: status $status, want $1: $(head -c 300 "$TMP/out")"
}
# metric_value NAME LABELS: the sample's value in $TMP/out, or "absent".
metric_value() {
  awk -v series="$1$2" '$1 == series {print $2; found = 1} END {if (!found) print "absent"}' "$TMP/out"
}

# ------------------------------------------------------------ usage ---
section "help and usage errors"
run 0 serve --help && out_has "^usage: kvcli serve " "serve --help"
run 0 help && out_has "^  serve " "overview lists serve"
run 2 serve --listen=9309 && err_has "HOST:PORT" "--listen without a host"
run 2 serve --listen=127.0.0.1:http && err_has "port from 0 to 65535" "--listen with a port name"
run 2 serve --listen=127.0.0.1:70000 && err_has "port from 0 to 65535" "--listen port too large"
run 2 serve --listen=::1:9309 && err_has "in brackets" "--listen IPv6 without brackets"
run 2 serve --lock-timeout=0 && err_has "must be positive" "serve --lock-timeout=0"
run 2 serve --sizes-every=soon && err_has "sizes-every" "serve --sizes-every=soon"
run 2 serve extra && err_has "takes only flags" "serve with an argument"
run 2 serve --key="$A" && err_has "key" "serve takes no store"

# ------------------------------------------------------------ stores ---
section "two stores, one named by a path"
run 0 create --key="$A" --capacity=64MiB --stripes=4
for i in $(seq 12); do
  head -c $((i * 100)) /dev/zero | tr '\0' v >"$TMP/value"
  run_stdin "$TMP/value" 0 put --key="$A" "secret:key$i" -
done
run 0 get --key="$A" secret:key1 >/dev/null
run 1 get --key="$A" absent
: >"$TMP/pathfile"
run 0 create --path="$TMP/pathfile" --proj=3 --capacity=1MiB
run 0 info --path="$TMP/pathfile" --proj=3 --json
P=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$TMP/out")
KEYS+=("$P")  # removed at exit
run 0 create --key="$BAD" --capacity=1MiB

start_serve serve --sizes-every=10s || report_and_exit kvcli_serve_test
grep -q "warning" "$TMP/serve.err" && fail "loopback serve warned: $(cat "$TMP/serve.err")"

section "GET /metrics"
get 200 metrics && cp "$TMP/out" "$TMP/metrics1"
CHECKS=$((CHECKS + 1))
if ! reason=$(client check-metrics "$TMP/out"); then fail "/metrics breaks the text format: $reason"; fi
if command -v promtool >/dev/null; then
  CHECKS=$((CHECKS + 1))
  promtool check metrics <"$TMP/out" >"$TMP/promtool" 2>&1 ||
    fail "promtool check metrics: $(head -c 1000 "$TMP/promtool")"
fi
[[ "$(metric_value shmkv_puts_total "{store=\"$A\"}")" == 12 ]] ||
  fail "shmkv_puts_total of $A: $(metric_value shmkv_puts_total "{store=\"$A\"}")"
[[ "$(metric_value shmkv_hits_total "{store=\"$A\"}")" == 1 ]] || fail "shmkv_hits_total of $A"
[[ "$(metric_value shmkv_misses_total "{store=\"$A\"}")" == 1 ]] || fail "shmkv_misses_total of $A"
[[ "$(metric_value shmkv_items "{store=\"$P\",path=\"$TMP/pathfile\"}")" == 0 ]] ||
  fail "the path store's series carry its path: $(grep "$P" "$TMP/out" | head -3)"
[[ "$(metric_value shmkv_store_up "{store=\"$A\",status=\"ok\"}")" == 1 ]] || fail "shmkv_store_up of $A"
for s in 0 1 2 3; do
  [[ "$(metric_value shmkv_stripe_lock_waits_total "{store=\"$A\",stripe=\"$s\"}")" == 0 ]] ||
    fail "per-stripe lock waits of stripe $s"
done
[[ "$(metric_value shmkv_value_size_bytes_count "{store=\"$A\"}")" == 12 ]] ||
  fail "value-size histogram count"
[[ "$(metric_value shmkv_value_size_bytes_sum "{store=\"$A\"}")" == 7800 ]] ||
  fail "value-size histogram sum"
# 100..1200 bytes: 100 in 64-127, 200 in 128-255, 300-400 in 256-511, 500-1000 in 512-1023.
[[ "$(metric_value shmkv_value_size_bytes_bucket "{store=\"$A\",le=\"255\"}")" == 2 ]] ||
  fail "value-size bucket le=255"
[[ "$(metric_value shmkv_value_size_bytes_bucket "{store=\"$A\",le=\"1023\"}")" == 10 ]] ||
  fail "value-size bucket le=1023"
[[ "$(metric_value shmkv_value_size_bytes_bucket "{store=\"$A\",le=\"+Inf\"}")" == 12 ]] ||
  fail "value-size bucket le=+Inf"
DOC="$(dirname "$0")/../doc/metrics.md"
for name in $(awk '$1 == "#" && $2 == "TYPE" {print $3}' "$TMP/out"); do
  CHECKS=$((CHECKS + 1))
  grep -q "\`$name\`" "$DOC" || fail "doc/metrics.md does not document $name"
done
grep -q '^shmkv_scrape_duration_seconds [0-9.e-]*$' "$TMP/out" || fail "scrape duration"
grep -q '^shmkv_scrape_errors_total [0-9]*$' "$TMP/out" || fail "scrape errors"
grep -q '^shmkv_exporter_build_info{version="[0-9][0-9.]*",layout_version="[0-9]*"} 1$' "$TMP/out" ||
  fail "build info: $(grep build_info "$TMP/out")"

section "GET /healthz"
get 200 healthz && out_has "^ok$" "/healthz answers ok"
get 400 "healthz?verbose" && out_has "takes no query parameters" "/healthz with a query string"

section "metrics move as a store is written"
for i in $(seq 5); do run 0 put --key="$A" "more$i" x; done
sleep 0.6 # past the reuse window of the last scrape
get 200 metrics
[[ "$(metric_value shmkv_puts_total "{store=\"$A\"}")" == 17 ]] ||
  fail "puts after five more: $(metric_value shmkv_puts_total "{store=\"$A\"}")"

section "metrics move as a kvbench run writes"
run 0 create --key="$LOAD" --capacity=4MiB
"$SERVE_KVBENCH" --key="$LOAD" --keys=200 --read-pct=50 --ops=4000 --warmup=0s --no-preload \
  --json >"$TMP/kvbench.json" 2>"$TMP/kvbench.err" || fail "kvbench: $(cat "$TMP/kvbench.err")"
sleep 0.6 # past the reuse window of the last scrape
get 200 metrics
# kvbench's count of its measured operations: the store counted at least
# those (kvbench's clients may go on past the measured count).
read -r bench_gets bench_puts < <(/usr/bin/python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(d["gets"], d["puts"])' "$TMP/kvbench.json")
puts=$(metric_value shmkv_puts_total "{store=\"$LOAD\"}")
hits=$(metric_value shmkv_hits_total "{store=\"$LOAD\"}")
misses=$(metric_value shmkv_misses_total "{store=\"$LOAD\"}")
CHECKS=$((CHECKS + 1))
[[ "$bench_puts" -gt 0 && "$puts" -ge "$bench_puts" && $((hits + misses)) -ge "$bench_gets" ]] ||
  fail "after kvbench ($bench_gets gets, $bench_puts puts): puts $puts, hits $hits, misses $misses"
run 0 destroy --key="$LOAD"

section "GET /api/stores and /api/stores/KEY"
get 200 api/stores
json_check "any(s['key'] == '$A' and s['status'] == 'ok' and s['stats']['puts'] == 17 for s in d['stores']) \
  and any(s['key'] == '$P' and s['path'] == '$TMP/pathfile' for s in d['stores']) \
  and d['listing_error'] is None" "/api/stores lists both stores"
get 200 "api/stores/$A"
json_check "d['store']['key'] == '$A' and d['info']['lock_stripes'] == 4 and len(d['stripes']) == 4 \
  and sum(s['puts'] for s in d['stripes']) == 17 and d['sizes']['values']['count'] in (12, 17) \
  and d['largest']['keys_shown'] is False and len(d['largest']['entries']) == 10 \
  and all(e['key'] is None for e in d['largest']['entries']) \
  and d['largest']['entries'][0]['value_size'] == 1200" "/api/stores/KEY, keys hidden"
grep -q "secret:" "$TMP/out" && fail "a key name appears without --show-keys"
get 200 "api/stores/$((A))"  # decimal, as ls --json's key_decimal
json_check "d['store']['key'] == '$A'" "/api/stores/DECIMAL"

section "the dashboard's files"
get 200 "" && out_has "<canvas id=\"chart-ops\">" "dashboard page" && out_has "/chart.min.js" "page loads Chart.js"
grep -q "https\?://" "$TMP/out" && fail "the page loads something from another host"
get 200 dashboard.js && out_has "/api/stores" "dashboard.js reads the API"
get 200 chart.min.js && out_has "Chart" "Chart.js is served"

section "bad requests"
get 404 nowhere && out_has "kvcli serve answers GET /" "unknown path"
get 404 "api/stores/$NONE" && out_has "no store at key $NONE" "missing store"
get 400 "api/stores/zebra" && out_has "not a store key" "malformed key"
get 400 "api/stores/0x1ffffffff" && out_has "not a store key" "key out of range"
get 400 "metrics?format=json" && out_has "takes no query parameters" "query string"
get 400 "api/stores?%zz" && out_has "takes no query parameters" "malformed query string"
get 414 "$(head -c 10000 /dev/zero | tr '\0' a)" && out_has "URI too long" "very long URL"
for method in POST PUT DELETE; do
  CHECKS=$((CHECKS + 1))
  status=$(curl -s -X "$method" --data "" -o "$TMP/out" -w '%{http_code}' "${URL}api/stores/$A")
  [[ "$status" == 405 ]] || fail "$method: status $status, want 405"
done
out_has "read-only" "a write method is refused as read-only"
run 0 get --key="$A" secret:key1 >/dev/null  # still there, still serving
get 200 metrics

section "1,000 concurrent scrapes"
CHECKS=$((CHECKS + 1))
burst=$(client burst "${URL}metrics" 1000)
[[ "$burst" == "200:1000" ]] || fail "1,000 concurrent scrapes: $burst"
get 200 api/stores

section "a store created, corrupted and destroyed while serving"
run 0 create --key="$LATE" --capacity=1MiB
sleep 0.6
get 200 api/stores && json_check "any(s['key'] == '$LATE' for s in d['stores'])" "a new store appears"
get 200 "api/stores/$LATE"
"$HELPER" scribble-header "$BAD" >/dev/null || fail "scribble-header $BAD"
run 0 destroy --key="$LATE"
sleep 0.6
get 200 metrics && cp "$TMP/out" "$TMP/metrics2"
[[ "$(metric_value shmkv_store_up "{store=\"$BAD\",status=\"incompatible\"}")" == 0 ]] ||
  fail "a corrupt store is reported down: $(grep "$BAD" "$TMP/out" | head -3)"
[[ "$(metric_value shmkv_items "{store=\"$BAD\"}")" == absent ]] || fail "a corrupt store's counters"
grep -q "store=\"$LATE\"" "$TMP/out" && fail "a destroyed store is still in /metrics"
[[ "$(metric_value shmkv_puts_total "{store=\"$A\"}")" == 17 ]] || fail "the other stores go on"
CHECKS=$((CHECKS + 1))
if ! reason=$(client check-metrics "$TMP/out"); then fail "/metrics with a corrupt store: $reason"; fi
get 200 api/stores && json_check "[s['status'] for s in d['stores'] if s['key'] == '$BAD'] == ['incompatible'] \
  and all(s['key'] != '$LATE' for s in d['stores'])" "/api/stores reports the corrupt store"
get 404 "api/stores/$LATE"
get 200 "api/stores/$BAD" && json_check "d['store']['status'] == 'incompatible' and d['store']['detail'] \
  and d['stats'] is None if 'stats' in d else d['store']['stats'] is None" "/api/stores/KEY of a corrupt store"
"$HELPER" remove "$BAD" >/dev/null

section "two stores removed while processes stay attached"
# Both lose their key (0x00000000): each is still its own series.
removed_ids=()
for key in "${GONE[@]}"; do
  run 0 create --key="$key" --capacity=1MiB
  run 0 info --key="$key" --json
  removed_ids+=("$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["shm_id"])' "$TMP/out")")
  "$HELPER" hold-stripe "$key" >"$TMP/held-$key" 2>&1 &
  BG_PIDS+=($!)
  for _ in $(seq 200); do grep -q held "$TMP/held-$key" && break; sleep 0.05; done
done
for id in "${removed_ids[@]}"; do ipcrm -m "$id" || fail "ipcrm -m $id"; done
sleep 0.6 # past the reuse window of the last scrape
get 200 metrics
CHECKS=$((CHECKS + 1))
if ! reason=$(client check-metrics "$TMP/out"); then fail "/metrics with two removed stores: $reason"; fi
for id in "${removed_ids[@]}"; do
  [[ "$(metric_value shmkv_store_up "{store=\"0x00000000\",shm_id=\"$id\",status=\"removed\"}")" == 0 ]] ||
    fail "the removed store $id: $(grep 'status="removed"' "$TMP/out")"
done
for pid in "${BG_PIDS[@]: -2}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
for key in "${GONE[@]}"; do "$HELPER" remove "$key" >/dev/null; done

section "SIGTERM stops it cleanly"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
rc=$?
CHECKS=$((CHECKS + 1))
((rc == 0)) || fail "kvcli serve exit status after SIGTERM: $rc; $(cat "$TMP/serve.err")"
run 0 info --key="$A" --json && json_check "d['attached_processes'] == 0" "serve detached from every store"

section "--show-keys, SIGINT, no --sizes-every, another address"
start_serve keys --show-keys --sizes-every=10s || report_and_exit kvcli_serve_test
get 200 "api/stores/$A"
json_check "d['largest']['keys_shown'] and d['largest']['entries'][0]['key'] == 'secret:key12'" \
  "--show-keys shows key names"
grep -q '"value"' "$TMP/out" && fail "values must never be served"
kill -INT "$SERVE_PID"
wait "$SERVE_PID"
rc=$?
CHECKS=$((CHECKS + 1))
((rc == 0)) || fail "kvcli serve exit status after SIGINT: $rc"
start_serve nowalk || report_and_exit kvcli_serve_test  # no walk without --sizes-every
get 200 "api/stores/$A"
json_check "d['sizes'] is None and d['largest'] is None and d['store']['stats']['puts'] == 17" \
  "without --sizes-every: no sizes or largest entries"
get 200 metrics
grep -q "^shmkv_[a-z]*_size_bytes_" "$TMP/out" && fail "without --sizes-every: size histograms"
[[ "$(metric_value shmkv_puts_total "{store=\"$A\"}")" == 17 ]] || fail "without --sizes-every: counters"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
"$KVCLI" serve --listen=0.0.0.0:0 >"$TMP/any.out" 2>"$TMP/any.err" &
pid=$!
BG_PIDS+=("$pid")
for _ in $(seq 200); do grep -q "serving" "$TMP/any.out" && break; sleep 0.05; done
CHECKS=$((CHECKS + 1))
grep -q "^kvcli: warning: listening on 0.0.0.0, not loopback" "$TMP/any.err" ||
  fail "no warning for a non-loopback address: $(cat "$TMP/any.err")"
kill -TERM "$pid"
wait "$pid"
start_serve taken || report_and_exit kvcli_serve_test
port=${URL##*:}
port=${port%/}
run 3 serve --listen="127.0.0.1:$port" && err_has "cannot listen on 127.0.0.1:$port" "a port in use"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"

run 0 destroy --path="$TMP/pathfile" --proj=3
run 0 destroy --key="$A"
for key in "$A" "$LATE" "$BAD" "$P"; do expect_no_ipc "$key" "nothing left at $key"; done
report_and_exit kvcli_serve_test
