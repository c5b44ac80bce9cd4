#!/usr/bin/env bash
# Black-box tests of kvcli's snapshots and checks: dump and load (binary and
# JSON lines, files and pipes, bad input, snapshots that do not fit), then
# check and check --repair of a damaged index. Real binary, real stores; the
# other kvcli suites are listed in kvcli_entries_test.sh.
#
#   kvcli_snapshot_test.sh IPC_GUARD KVCLI HELPER
#                                  (bazel test //tests:kvcli_snapshot_test)
#
# It runs under the IPC guard (testing/): every store lives at a key
# of the run's range, and whatever is left there when the script ends, however
# it ends, is removed and reported. The EXIT trap removes them too.
set -uo pipefail

# Checks the arguments, re-runs this script under the IPC guard, sets GUARD,
# KVCLI, HELPER and TMP, and defines the checks.
# shellcheck source=tests/kvcli_lib.sh
source "$(dirname "$0")/kvcli_lib.sh" "$@"

take_keys 2
K=${KEYS[0]}  # the main store
K2=${KEYS[1]} # a store made and destroyed by single checks

# A store with an entry of each kind a snapshot must carry: the default TTL
# (1h), no TTL and flags, a binary value of every byte, an empty value, a key
# with bytes that are not text.
section "a store with entries of every kind"
run 0 create --key="$K" --capacity=8MiB --max-value=256KiB --default-ttl=1h
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 64 + b"\n\r\x00")' >"$TMP/bin"
run 0 put --key="$K" greeting hello
run 0 put --key="$K" flagged v --flags=7 --ttl=none
run_stdin "$TMP/bin" 0 put --key="$K" binary -
run_stdin /dev/null 0 put --key="$K" empty -
run 0 put --key="$K" --escaped 'odd\x01\xff\\key' v1
items=5

# ---------------------------------------------------------- dump, load ---
section "dump and load"
run 0 put --key="$K" ttl-entry ttl-value --ttl=2h --flags=42
run 0 dump --key="$K" --out="$TMP/a.snap" && out_has "^dumped [0-9]* entries" "dump binary"
run 0 dump --key="$K" --out="$TMP/a.jsonl" --format=jsonl
run 0 dump --key="$K" --out=- >/dev/null
cp "$TMP/out" "$TMP/piped.snap"
err_has "^dumped" "dump --out=- reports on stderr"
cmp -s <(head -c 8 "$TMP/piped.snap") <(printf 'SHMKVSNP') || fail "dump --out=- is not binary"
ls "$TMP" | grep -q kvcli-tmp && fail "dump left a temporary file"
cp "$TMP/a.jsonl" "$TMP/out"
json_check "len(docs) == $items + 1 and all(set(x) >= {'key_b64', 'value_b64', 'version', 'flags', \
  'ttl_ms'} for x in docs)" "dump jsonl"

# same_entries FILE1 FILE2: the JSON-lines dumps hold the same keys, values
# and flags; TTLs survive (never stays never, a TTL stays positive and does
# not grow; the slack covers the time between the binary and the JSON-lines
# dump of the original store, since the copy was loaded from the binary one).
same_entries() {
  CHECKS=$((CHECKS + 1))
  python3 - "$1" "$2" <<'PY' || fail "entries differ between $1 and $2"
import json, sys
def read(path):
    with open(path) as f:
        return {x["key_b64"]: x for x in map(json.loads, filter(None, f.read().split("\n")))}
a, b = read(sys.argv[1]), read(sys.argv[2])
ok = set(a) == set(b)
for k in a:
    if not ok:
        break
    x, y = a[k], b[k]
    ok = x["value_b64"] == y["value_b64"] and x["flags"] == y["flags"] and (
        (x["ttl_ms"] == -1 and y["ttl_ms"] == -1) or (0 < y["ttl_ms"] <= x["ttl_ms"] + 10000))
    if not ok:
        print("differs:", x, y, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

run 0 destroy --key="$K" && out_has "destroyed the store at key $K" "destroy"
run 3 info --key="$K"
expect_no_ipc "$K" "destroy"
run 0 load --key="$K" --in="$TMP/a.snap" --create --capacity=8MiB --max-value=256KiB
out_has "^loaded $((items + 1)) entries from .*a.snap (binary)" "load binary"
run 0 dump --key="$K" --out="$TMP/b.jsonl" --format=jsonl
same_entries "$TMP/a.jsonl" "$TMP/b.jsonl"
run 0 get --key="$K" binary
cmp -s "$TMP/bin" "$TMP/out" || fail "binary value changed through dump/load (binary)"
run 0 destroy --key="$K"
run 0 load --key="$K" --in="$TMP/a.jsonl" --create --capacity=8MiB --max-value=256KiB
out_has "(jsonl)" "load jsonl"
run 0 dump --key="$K" --out="$TMP/c.jsonl" --format=jsonl
same_entries "$TMP/a.jsonl" "$TMP/c.jsonl"
run 0 get --key="$K" --escaped 'odd\x01\xff\\key' && out_is "v1" "odd key through jsonl"
run 0 get --key="$K" ttl-entry --meta && err_has "flags=42" "flags through dump/load"
run 0 flush --key="$K" && out_has "^flushed $((items + 1)) entries" "flush"
run_stdin "$TMP/piped.snap" 0 load --key="$K" --in=- && out_has "from stdin (binary)" "load from stdin"
run 0 dump --key="$K" --out="$TMP/d.jsonl" --format=jsonl
same_entries "$TMP/a.jsonl" "$TMP/d.jsonl"
run 3 load --key="$K" --in="$TMP/a.snap" --create && err_has "already exists" "load --create on a store"
head -c 200 "$TMP/a.snap" >"$TMP/cut.snap"
run 0 flush --key="$K"
run 3 load --key="$K" --in="$TMP/cut.snap" && err_has "nothing was loaded" "truncated snapshot"
run 0 stats --key="$K" --json && json_check "d['items'] == 0" "a bad snapshot loads nothing"
{ head -n 2 "$TMP/a.jsonl"; echo '{"key_b64":"eA==","value_b64":"!!"}'; } >"$TMP/bad.jsonl"
run 3 load --key="$K" --in="$TMP/bad.jsonl" && err_has "line 3" "bad jsonl line"
echo 'not a snapshot' >"$TMP/junk"
run 3 load --key="$K" --in="$TMP/junk" && err_has "not a kvcli snapshot" "junk input"
run 3 load --key="$K" --in="$TMP/missing-file" && err_has "cannot open" "missing input"
printf '%s\n' '{"key":"gone","value_b64":"eA==","ttl_ms":0}' '{"key":"kept","value_b64":"eQ==","ttl_ms":-1,"flags":3}' >"$TMP/exp.jsonl"
run 0 load --key="$K" --in="$TMP/exp.jsonl" && out_has "loaded 1 entry .*skipped 1 that had expired" "expired records"
run 0 get --key="$K" kept && out_is "y" "hand-written jsonl"
run 3 load --key="$K2" --in="$TMP/a.snap" --create --capacity=1MiB --max-value=1KiB &&
  err_has "the new store was removed" "load --create of values over the limit"
expect_no_ipc "$K2" "load --create that does not fit"
run 0 create --key="$K2" --capacity=1MiB --max-key=8
run 3 load --key="$K2" --in="$TMP/a.snap" && err_has "nothing was loaded" "load of keys over the limit"
run 0 stats --key="$K2" --json && json_check "d['items'] == 0" "a snapshot that does not fit loads nothing"
run 0 destroy --key="$K2"
run 3 dump --key="$K" --out="$TMP/no/such/dir/x.snap" && err_has "cannot write --out=" "dump to a bad path"

# ---------------------------------------------------------------- check ---
section "check"
run 0 load --key="$K" --in="$TMP/a.snap"
run 0 check --key="$K" && out_has "no problems found" "check"
run 0 check --key="$K" --json && json_check "d['ok'] and d['clean'] and d['problems'] == [] \
  and d['entries_checked'] == $items + 2" "check --json"
"$HELPER" zero-index "$K" || fail "helper zero-index"
run 3 check --key="$K" && err_has "check --repair" "check of a damaged index"
out_has "^problem: " "check lists problems"
run 3 check --key="$K" --json && json_check "not d['ok'] and not d['clean'] and len(d['problems']) > 0 \
  and d['remaining_problems'] == d['problems']" "check --json of a damaged index"
run 0 check --key="$K" --repair && out_has "all repaired" "check --repair"
run 0 check --key="$K" --json && json_check "d['clean']" "check after repair"
run 0 get --key="$K" greeting && out_is "hello" "get after repair"

# -------------------------------------------------------------- cleanup ---
section "cleanup"
run 0 destroy --key="$K"
for key in "${KEYS[@]}"; do expect_no_ipc "$key" "end of test"; done

report_and_exit kvcli_snapshot_test
