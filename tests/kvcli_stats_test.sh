#!/usr/bin/env bash
# Black-box tests of kvcli's views of a store: its counters (stats, --json,
# --watch, Ctrl-C), stats --sizes, --stripes, --reset, --format=prometheus,
# the per-interval figures of --watch, and bigkeys. Real binary, real stores.
#
#   kvcli_stats_test.sh IPC_GUARD KVCLI HELPER   (bazel test //tests:kvcli_stats_test)
set -uo pipefail

# Checks the arguments, re-runs this script under the IPC guard, sets GUARD,
# KVCLI, HELPER and TMP, and defines the checks.
# shellcheck source=tests/kvcli_lib.sh
source "$(dirname "$0")/kvcli_lib.sh" "$@"

take_keys 3
S=${KEYS[0]}    # the store
NONE=${KEYS[1]} # no store ever

# ---------------------------------------------------------- usage errors ---
section "help and usage errors"
run 0 bigkeys --help && out_has "^usage: kvcli bigkeys " "bigkeys --help"
run 0 help bigkeys && out_has "largest values" "help bigkeys"
run 0 help && out_has "^  bigkeys " "overview lists bigkeys"
run 0 help stats && out_has "prometheus" "help stats" && out_has "^  --stripes  " "help stats --stripes"
run 0 help create && out_has "^  --stripes=N " "help create --stripes=N"
run 0 help json && out_has "bigkeys --json" "help json"
run 2 stats --key="$S" --format=xml && err_has "text (the default) or prometheus" "--format=xml"
run 2 stats --key="$S" --format= && err_has "not a stats format" "empty --format"
run 2 stats --key="$S" --sizes --stripes && err_has "one of --sizes" "two views"
run 2 stats --key="$S" --sizes --reset && err_has "one of --sizes" "sizes and reset"
run 2 stats --key="$S" --stripes=3 && err_has "takes no value" "stats --stripes=3"
run 2 stats --key="$S" --stripes 3 && err_has "takes no value" "stats --stripes 3"
run 2 stats --key="$S" --watch --sizes && err_has "leave out --sizes" "--watch --sizes"
run 2 stats --key="$S" --format=prometheus --json && err_has "not both" "prometheus and json"
run 2 stats --key="$S" --format=prometheus --watch && err_has "watch" "prometheus and watch"
run 2 stats --key="$S" --format=prometheus --stripes && err_has "does not go with" "prometheus --stripes"
run 2 stats --key="$S" --reset --json && err_has "leave out --json" "--reset --json"
run 2 stats --key="$S" --top=3 && err_has "does not apply to stats" "--top on stats"
run 2 stats --key="$S" --prefix=a && err_has "go with --sizes" "--prefix without --sizes"
run 2 stats --key="$S" --sizes --prefix='\q' --escaped && err_has "escaped" "stats bad escaped prefix"
run 2 bigkeys --key="$S" --top=0 && err_has "at least 1" "--top=0"
run 2 bigkeys --key="$S" --top=many && err_has "whole number" "--top=many"
run 2 bigkeys --key="$S" --top && err_has "needs a value" "--top without a value"
run 2 bigkeys --key="$S" --prefix='a\q' --escaped && err_has "escaped" "bad escaped prefix"
run 2 bigkeys --key="$S" extra && err_has "takes only flags" "bigkeys argument"
run 2 create --key="$S" --stripes && err_has "needs a value" "create --stripes without a value"
expect_no_ipc "$S" "usage errors create nothing"

section "no store"
for args in "stats --sizes" "stats --stripes" "stats --reset" "stats --format=prometheus" "bigkeys"; do
  # shellcheck disable=SC2086
  run 3 $args --key="$NONE" && err_has "kvcli create --key=$NONE" "$args on a missing store"
done
expect_no_ipc "$NONE" "commands on a missing store"

# ------------------------------------------------------------- counters ---
section "stats: the counters, --watch and Ctrl-C"
C=${KEYS[2]} # a store with a hit, a miss, puts and a delete
run 0 create --key="$C" --capacity=8MiB
run 0 put --key="$C" kept v
run 0 put --key="$C" gone v
run 0 get --key="$C" kept
run 1 get --key="$C" nosuchkey
run 0 del --key="$C" gone
run 0 stats --key="$C" --json
json_check "all(isinstance(d[f], int) for f in ['items', 'hits', 'misses', 'puts', 'deletes', \
  'evictions', 'expirations', 'bytes_used', 'capacity', 'key_bytes', 'value_bytes', 'lock_waits', \
  'owner_deaths_recovered', 'index_entries', 'index_limit']) and d['hits'] > 0 and d['misses'] > 0 and d['puts'] > 0 \
  and d['deletes'] >= 1 and d['capacity'] == 8 * 2**20 and 0 < d['bytes_used'] <= d['capacity'] \
  and 0 < d['hit_ratio'] < 1 and d['index_entries'] == d['items'] \
  and d['items'] < d['index_limit']" "stats --json"
items=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"])' "$TMP/out")
run 0 stats --key="$C" && out_has "hit ratio" "stats" && out_has "^entries  *$items" "stats entries" \
  && out_has "^hash index  *$items of [0-9]* entries" "stats index"
run 0 stats --key="$C" --watch=100ms --count=3
[[ "$(grep -c 'per second' "$TMP/out")" == 3 ]] || fail "stats --watch --count=3: $(cat "$TMP/out")"
run 0 stats --key="$C" --watch=100ms --count=2 --json
json_check "len(docs) == 2 and docs[0]['ops_per_sec'] is None and docs[1]['ops_per_sec'] is not None \
  and docs[1]['interval_ms'] > 0 and docs[1]['items'] == $items" "stats --watch --json"
# Ctrl-C ends --watch cleanly.
"$KVCLI" stats --key="$C" --watch=100ms >"$TMP/watch" 2>"$TMP/watch.err" &
watch_pid=$!
BG_PIDS+=("$watch_pid")
# A background job of a script starts with SIGINT ignored: kvcli's handler
# is in place once it has printed its first sample (it installs it before
# the loop), so wait for that instead of a fixed time.
for _ in $(seq 400); do [[ -s "$TMP/watch" ]] && break; sleep 0.05; done
[[ -s "$TMP/watch" ]] || fail "stats --watch printed nothing in 20 s"
kill -INT "$watch_pid"
for _ in $(seq 100); do kill -0 "$watch_pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$watch_pid" 2>/dev/null; then
  fail "stats --watch still runs 5s after SIGINT"
  kill -KILL "$watch_pid"
fi
wait "$watch_pid"
rc=$?
CHECKS=$((CHECKS + 1))
[[ "$rc" == 0 ]] || fail "stats --watch after SIGINT exited $rc: $(cat "$TMP/watch.err")"
grep -q "per second" "$TMP/watch" || fail "stats --watch printed nothing before SIGINT"
[[ ! -s "$TMP/watch.err" ]] || fail "stats --watch wrote to stderr: $(cat "$TMP/watch.err")"
run 0 destroy --key="$C"

# ------------------------------------------------------------- entries ---
section "a store with known sizes"
# The space form of create's --stripes still takes the number.
run 0 create --key="$S" --capacity=64MiB --stripes 8 --max-value=64KiB
run 0 info --key="$S" --json && json_check "d['lock_stripes'] == 8" "create --stripes 8"
put_size() { # put_size KEY BYTES
  head -c "$2" /dev/zero | tr '\0' v >"$TMP/value"
  run_stdin "$TMP/value" 0 put --key="$S" "$1" -
}
put_size a1 1
put_size a3 3
put_size a4 4
put_size a100 100
put_size big:one 5000
put_size big:two 5000
put_size img:huge 40000
run 0 put --key="$S" ttl:e "$(head -c 2000 /dev/zero | tr '\0' t)" --ttl=1h

# ----------------------------------------------------------------- sizes ---
section "stats --sizes"
run 0 stats --key="$S" --sizes --json
json_check "d['entries'] == 8 and d['values']['count'] == 8 \
  and d['values']['bytes'] == 1 + 3 + 4 + 100 + 5000 + 5000 + 40000 + 2000 \
  and d['values']['largest'] == 40000 and len(d['values']['buckets']) == 17 \
  and [b['count'] for b in d['values']['buckets']] == [0,1,1,1,0,0,0,1,0,0,0,1,0,2,0,0,1] \
  and all(b['min_size'] <= b['max_size'] for b in d['values']['buckets']) \
  and d['values']['buckets'][13] == {'min_size': 4096, 'max_size': 8191, 'count': 2, 'bytes': 10000} \
  and d['keys']['count'] == 8 and d['keys']['bytes'] == 2 + 2 + 2 + 4 + 7 + 7 + 8 + 5 \
  and [b['count'] for b in d['keys']['buckets']] == [0, 0, 3, 4, 1]" "stats --sizes --json"
run 0 stats --key="$S" --sizes --prefix=big: --json
json_check "d['entries'] == 2 and d['values']['bytes'] == 10000 and d['keys']['bytes'] == 14" \
  "stats --sizes --prefix"
run 0 stats --key="$S" --sizes --prefix='big\x3a' --escaped --json
json_check "d['entries'] == 2" "stats --sizes --prefix --escaped"
run 0 stats --key="$S" --sizes && out_has "^values: 8 entries" "sizes text: values" \
  && out_has "^  4096-8191  *2 " "sizes text: a bucket line" && out_has "^keys: 8 entries" "sizes text: keys"

# ------------------------------------------------------------- bigkeys ---
section "bigkeys"
run 0 bigkeys --key="$S" --top=3
[[ "$(awk 'NR > 1 {print $4}' "$TMP/out" | tr '\n' ' ')" == "img:huge big:one big:two " ]] ||
  fail "bigkeys --top=3 order: $(cat "$TMP/out")"
out_has "^ *40000  *8  *none  img:huge$" "bigkeys line"
run 0 bigkeys --key="$S" --json
json_check "len(docs) == 8 and [x['key'] for x in docs[:4]] == ['img:huge', 'big:one', 'big:two', 'ttl:e'] \
  and docs[3]['value_size'] == 2000 and 3500000 < docs[3]['ttl_ms'] <= 3600000 \
  and docs[0]['ttl_ms'] == -1 and docs[0]['key_size'] == 8 and b64(docs[0]['key_b64']) == b'img:huge' \
  and [x['value_size'] for x in docs] == sorted([x['value_size'] for x in docs], reverse=True)" \
  "bigkeys --json"
run 0 bigkeys --key="$S" --prefix=a --top=2 --json
json_check "[x['key'] for x in docs] == ['a100', 'a4']" "bigkeys --prefix"
run 0 bigkeys --key="$S" --prefix='\x61' --escaped --top=1 --json
json_check "[x['key'] for x in docs] == ['a100']" "bigkeys --prefix --escaped"
if run 0 bigkeys --key="$S" --prefix=nothing: && [[ "$(wc -l <"$TMP/out")" != 1 ]]; then
  fail "bigkeys of no entries prints the heading only: $(cat "$TMP/out")"
fi

section "keys --top (the same view)"
run 0 keys --key="$S" --top=3 --by=size
[[ "$(awk 'NR > 1 {print $4}' "$TMP/out" | tr '\n' ' ')" == "img:huge big:one big:two " ]] ||
  fail "keys --top=3 order: $(cat "$TMP/out")"
run 0 keys --key="$S" --top=2 --prefix=a --json
json_check "[x['key'] for x in docs] == ['a100', 'a4']" "keys --top --prefix"
run 2 keys --key="$S" --top=2 --by=age && err_has "use --by=size" "keys --by=age"
run 2 keys --key="$S" --by=size && err_has "add --top=N" "keys --by without --top"
run 2 keys --key="$S" --top=2 --cursor=0 && err_has "does not go with --top" "keys --top --cursor"
run 2 keys --key="$S" --top=0 && err_has "at least 1" "keys --top=0"

# ------------------------------------------------------------- stripes ---
section "stats --stripes"
for i in $(seq 20); do run 0 get --key="$S" big:one >/dev/null; done
for i in $(seq 6); do run 0 put --key="$S" big:one v$i >/dev/null; done
run 1 get --key="$S" missing
run 0 stats --key="$S" --json && cp "$TMP/out" "$TMP/totals.json"
run 0 stats --key="$S" --stripes --json && cp "$TMP/out" "$TMP/stripes.json"
CHECKS=$((CHECKS + 1))
python3 - "$TMP/totals.json" "$TMP/stripes.json" <<'PY' || fail "stats --stripes --json does not add up"
import json, sys
totals = json.load(open(sys.argv[1]))
stripes = json.load(open(sys.argv[2]))
assert isinstance(stripes, list) and len(stripes) == 8, stripes
assert [s["stripe"] for s in stripes] == list(range(8))
for field in ["items", "puts", "deletes", "evictions", "lock_waits",
              "value_bytes", "bytes_used", "capacity", "index_limit"]:
    total = sum(s[field] for s in stripes)
    assert total == totals[field], (field, total, totals[field])
# Reads are counted per CPU, not per stripe: the store's totals only.
assert all(s["hits"] == 0 and s["misses"] == 0 for s in stripes)
assert totals["items"] == 8 and totals["hits"] >= 20 and totals["misses"] >= 1
PY
run 0 stats --key="$S" --stripes
[[ "$(grep -c '^ *[0-9]' "$TMP/out")" == 8 ]] || fail "stats --stripes: 8 stripe lines: $(cat "$TMP/out")"
# The most written stripe is big:one's: 7 puts against a handful elsewhere.
hot=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
ops = [x["puts"] + x["deletes"] for x in s]
print(ops.index(max(ops)))' "$TMP/stripes.json")
out_has "^most written: stripe $hot (" "stats --stripes names the most written stripe"
out_has "most crowded: stripe [0-7] (" "stats --stripes names the most crowded stripe"

# ---------------------------------------------------------- prometheus ---
section "stats --format=prometheus"
run 0 stats --key="$S" --json && cp "$TMP/out" "$TMP/totals.json"
run 0 stats --key="$S" --format=prometheus && cp "$TMP/out" "$TMP/metrics.prom"
CHECKS=$((CHECKS + 1))
python3 - "$TMP/metrics.prom" "$TMP/totals.json" "$S" <<'PY' || fail "prometheus output is not valid"
import json, re, sys
text = open(sys.argv[1]).read()
totals = json.load(open(sys.argv[2]))
store = sys.argv[3]
name_re = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$')
label_re = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"$')
assert text.endswith("\n"), "no final newline"
helps, types, samples = {}, {}, {}
for line in text.split("\n")[:-1]:
    if line.startswith("# HELP "):
        name, _, doc = line[7:].partition(" ")
        assert name_re.match(name) and doc and name not in helps, line
        helps[name] = doc
    elif line.startswith("# TYPE "):
        name, _, kind = line[7:].partition(" ")
        assert name_re.match(name) and kind in ("counter", "gauge") and name not in types, line
        assert name in helps, "TYPE before HELP: " + line
        types[name] = kind
    else:
        m = sample_re.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.groups()
        assert name in helps and name in types, "sample without HELP and TYPE: " + line
        assert label_re.match(labels), labels
        assert labels == 'store="%s"' % store, labels
        assert name not in samples, "two samples of " + name
        samples[name] = float(value)
        assert samples[name] >= 0 and samples[name] == int(value), line
assert set(helps) == set(types) == set(samples), "families without samples"
for name, kind in types.items():
    assert name.startswith("shmkv_")
    assert (kind == "counter") == name.endswith("_total"), name
want = {"shmkv_hits_total": "hits", "shmkv_misses_total": "misses", "shmkv_puts_total": "puts",
        "shmkv_deletes_total": "deletes", "shmkv_evictions_total": "evictions",
        "shmkv_expirations_total": "expirations", "shmkv_lock_waits_total": "lock_waits",
        "shmkv_owner_deaths_recovered_total": "owner_deaths_recovered", "shmkv_items": "items",
        "shmkv_key_bytes": "key_bytes", "shmkv_value_bytes": "value_bytes",
        "shmkv_used_bytes": "bytes_used", "shmkv_capacity_bytes": "capacity",
        "shmkv_index_entries": "index_entries", "shmkv_index_limit": "index_limit"}
for name, field in want.items():
    assert samples[name] == totals[field], (name, samples[name], totals[field])
assert "shmkv_log_bytes" in samples
PY
# Every family is documented.
DOC="$(dirname "$0")/../doc/metrics.md"
[[ -f "$DOC" ]] || fail "doc/metrics.md is not in the test's data"
while read -r _ _ name _; do
  CHECKS=$((CHECKS + 1))
  grep -q "\`$name\`" "$DOC" || fail "doc/metrics.md does not document $name"
done < <(grep '^# TYPE ' "$TMP/metrics.prom")

# --------------------------------------------------------------- reset ---
section "stats --reset"
run 0 stats --key="$S" --json
json_check "d['hits'] > 0 and d['puts'] > 0 and d['misses'] > 0" "counters before the reset"
cp "$TMP/out" "$TMP/before.json"
run 0 stats --key="$S" --reset && out_has "entries and bytes are unchanged" "reset message"
run 0 stats --key="$S" --json
before=$(cat "$TMP/before.json")
json_check "d['hits'] == 0 and d['misses'] == 0 and d['puts'] == 0 and d['deletes'] == 0 \
  and d['evictions'] == 0 and d['expirations'] == 0 and d['lock_waits'] == 0 \
  and d['owner_deaths_recovered'] == 0 and d['hit_ratio'] is None \
  and all(d[f] == ${before}[f] for f in ['items', 'key_bytes', 'value_bytes', 'bytes_used', \
  'index_entries'])" "stats after --reset"
run 0 stats --key="$S" --stripes && out_has "^most written: none (" "stats --stripes after --reset"
run 0 get --key="$S" a4 && out_is "vvvv" "entries survive --reset"
run 0 stats --key="$S" --format=prometheus && out_has '^shmkv_hits_total{store="'"$S"'"} 1$' \
  "counting restarts after --reset"

# A writer keeps going while the counters are reset: it writes w0..w9 over
# and over until the resets are done (a count of puts bounded by the resets'
# time, not a fixed count of processes, which is slow under a sanitizer).
(
  i=0
  until [[ -e "$TMP/resets-done" && $i -ge 10 ]]; do
    "$KVCLI" put --key="$S" "w$((i % 10))" "value$i" || exit 1
    i=$((i + 1))
  done
  echo "$i" >"$TMP/writer-puts"
) &
writer=$!
BG_PIDS+=("$writer")
for _ in $(seq 10); do run 0 stats --key="$S" --reset >/dev/null; done
: >"$TMP/resets-done"
wait "$writer" || fail "a writer failed while the counters were reset"
run 0 check --key="$S"
run 0 stats --key="$S" --json && json_check "d['items'] == 18 and \
  d['puts'] <= $(cat "$TMP/writer-puts")" "entries after resets during writes"

# ---------------------------------------------------- watch, last interval ---
section "stats --watch figures are per interval"
run 1 get --key="$S" missing
run 1 get --key="$S" missing
"$KVCLI" stats --key="$S" --watch=400ms --count=6 --json >"$TMP/watch" 2>"$TMP/watch.err" &
watch_pid=$!
BG_PIDS+=("$watch_pid")
for _ in $(seq 400); do [[ -s "$TMP/watch" ]] && break; sleep 0.05; done
while kill -0 "$watch_pid" 2>/dev/null; do "$KVCLI" get --key="$S" a1 >/dev/null; done
wait "$watch_pid" || fail "stats --watch --count=6 failed: $(cat "$TMP/watch.err")"
cp "$TMP/watch" "$TMP/out"
# Since the reset there were misses, so the ratio since creation is under 1,
# while each interval after the first line saw hits only.
json_check "len(docs) == 6 and docs[0]['gets_per_sec'] is None \
  and all(x['hit_ratio'] < 1 for x in docs) \
  and any(x['gets_per_sec'] and x['gets_per_sec'] > 0 and x['interval_hit_ratio'] == 1.0 \
          for x in docs[1:]) \
  and all(x['interval_hit_ratio'] in (None, 1.0) for x in docs[1:]) \
  and all(x['puts_per_sec'] == 0 and x['evictions_per_sec'] == 0 for x in docs[1:])" \
  "stats --watch: rates and hit ratio of the last interval"
run 0 stats --key="$S" --watch=200ms --count=2
out_has "last interval" "stats --watch text shows the interval hit ratio"
grep -q "^evictions  *[0-9]*  *[0-9.]*$" "$TMP/out" || fail "stats --watch text: evictions per second"

# ----------------------------------------------- watch, wall-clock step ---
section "stats --watch measures its interval on CLOCK_MONOTONIC"
# The shim (tests/near/wall_clock_step_shim.cc) steps kvcli's wall clock an
# hour forward once the first frame is out: the interval still lasts about
# 1 s and is reported so, while time_ms shows the step.
SHIM="$TEST_SRCDIR/$TEST_WORKSPACE/tests/near/wall_clock_step_shim.so"
SHMKV_TEST_WALL_CLOCK_SHIFT_FILE="$TMP/shift" LD_PRELOAD="$SHIM" \
  "$KVCLI" stats --key="$S" --watch=1s --count=2 --json >"$TMP/watch" 2>"$TMP/watch.err" &
watch_pid=$!
BG_PIDS+=("$watch_pid")
for _ in $(seq 400); do [[ -s "$TMP/watch" ]] && break; sleep 0.01; done
echo 3600 >"$TMP/shift.next" && mv "$TMP/shift.next" "$TMP/shift"
wait "$watch_pid" || fail "stats --watch with a stepped clock failed: $(cat "$TMP/watch.err")"
cp "$TMP/watch" "$TMP/out"
json_check "len(docs) == 2 and 900 <= docs[1]['interval_ms'] < 5000 \
  and docs[1]['time_ms'] - docs[0]['time_ms'] > 3600 * 1000" \
  "stats --watch: the interval across a wall-clock step"

# ------------------------------------------------------------- cleanup ---
section "cleanup"
run 0 destroy --key="$S"
for key in "${KEYS[@]}"; do expect_no_ipc "$key" "end of test"; done

report_and_exit kvcli_stats_test
