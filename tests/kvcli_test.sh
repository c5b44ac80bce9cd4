#!/usr/bin/env bash
# Black-box tests of kvcli: runs the real binary against real stores and
# checks exit codes, stdout, the one-line stderr contract and --json output
# (parsed with python3). This part: the commands on one store, section after
# section: create and info, entries, keys, stats, dump and load, scans,
# check, flush, ls. The others: kvcli_usage_test.sh, kvcli_test.sh,
# kvcli_hazards_test.sh, kvcli_operator_test.sh, kvcli_stats_test.sh;
# kvcli_lib.sh holds what they share.
#
#   kvcli_test.sh IPC_GUARD KVCLI HELPER   (bazel test //tests:kvcli_test)
#
# It runs under the IPC guard (testing/): every store lives at a key
# of the run's range, and whatever is left there when the script ends, however
# it ends, is removed and reported. The EXIT trap removes them too.
set -uo pipefail

# Checks the arguments, re-runs this script under the IPC guard, sets GUARD,
# KVCLI, HELPER and TMP, and defines the checks.
# shellcheck source=tests/kvcli_lib.sh
source "$(dirname "$0")/kvcli_lib.sh" "$@"

mapfile -t FREE < <("$GUARD" keys 3 kvcli_test.sh)
if ((${#FREE[@]} != 3)); then
  echo "FAIL: could not find free System V keys" >&2
  exit 1
fi
KEYS=("${FREE[@]}")
K=${FREE[0]}  # the main store
K2=${FREE[1]} # a store made and destroyed by single checks

# -------------------------------------------------------- create, info ---
section "create and info"
run 0 create --key="$K" --capacity=8MiB --max-value=256KiB --mode=0640 --default-ttl=1h \
  --stripes=4 --items=1000 && out_has "^created key $K" "create"
run 3 create --key="$K" && err_has "already exists" "create twice"
run 0 info --key="$K" --json
json_check "d['key'] == '$K' and d['key_decimal'] == $((K)) and d['layout_version'] == 4 \
  and d['capacity'] == 8 * 2**20 and d['max_value_size'] == 256 * 1024 and d['mode'] == '0640' \
  and d['default_ttl_ms'] == 3600000 and d['evict'] is True and 1 <= d['lock_stripes'] <= 4 \
  and d['items'] == 0 and d['attached_processes'] == 0 and d['removed'] is False \
  and d['shm_id'] >= 0 and d['sem_id'] >= 0 and d['segment_bytes'] > d['capacity'] \
  and d['created_at_ms'] > 0 and d['created_at'].endswith('Z') and isinstance(d['warnings'], list) \
  and d['name'] == 'key $K' and d['max_key_size'] == 4096 and d['index_slots'] >= 1000 \
  and d['buckets'] == d['index_slots']" "info --json"
run 0 info --key="$((K))" && out_has "mode 0640" "info by decimal key"
out_has "attached .*not counting this kvcli" "info attached"

# ------------------------------------------------------------- entries ---
section "get, put, del, incr, touch"
run 0 put --key="$K" greeting hello && out_empty "put"
run 0 get --key="$K" greeting && out_is "hello" "get"
[[ "$(wc -c <"$TMP/out")" == 5 ]] || fail "get added bytes to the value"
run 0 put --key="$K" flagged v --flags=7 --ttl=none
run 0 get --key="$K" flagged --meta && err_has "flags=7" "get --meta" && err_has "ttl=none" "get --meta ttl"
run 0 get --key="$K" greeting --json
json_check "d['key'] == 'greeting' and b64(d['value_b64']) == b'hello' and d['value'] == 'hello' \
  and d['size'] == 5 and d['flags'] == 0 and 3500000 < d['ttl_ms'] <= 3600000 \
  and d['version'] > 0" "get --json (default TTL of 1h)"
run 1 get --key="$K" nosuchkey && err_has "no key \"nosuchkey\"" "get of a missing key"
out_empty "get of a missing key"
run 1 put --key="$K" greeting other --if-absent && err_has "already exists" "--if-absent"
run 0 get --key="$K" greeting && out_is "hello" "--if-absent kept the value"
run 0 put --key="$K" fresh 1 --if-absent
run 1 put --key="$K" absent v --if-present && err_has "if-present" "--if-present"
run 0 put --key="$K" fresh 2 --if-present
run 0 get --key="$K" fresh --json
version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$TMP/out")
run 0 put --key="$K" fresh 3 --cas="$version"
run 1 put --key="$K" fresh 4 --cas="$version" && err_has "version mismatch" "--cas mismatch"
run 1 put --key="$K" absent 4 --cas=1
run 0 get --key="$K" fresh && out_is "3" "--cas stored"
# Expiry without waiting for it: the shim (tests/near/wall_clock_step_shim.cc)
# shows one kvcli a wall clock 30 s ahead, so the test depends on no
# process's start-up time however loaded the machine is.
run 0 put --key="$K" short v --ttl=10s
run 0 get --key="$K" short && out_is "v" "before expiry"
echo 30 >"$TMP/ahead"
SHMKV_TEST_WALL_CLOCK_SHIFT_FILE="$TMP/ahead" \
  KVCLI_PRELOAD="$TEST_SRCDIR/$TEST_WORKSPACE/tests/near/wall_clock_step_shim.so" \
  run 1 get --key="$K" short
run 0 touch --key="$K" greeting --ttl=10m && out_empty "touch"
run 0 get --key="$K" greeting --json && json_check "0 < d['ttl_ms'] <= 600000" "touch --ttl=10m"
run 0 touch --key="$K" greeting --ttl=none
run 0 get --key="$K" greeting --json && json_check "d['ttl_ms'] == -1" "touch --ttl=none"
run 1 touch --key="$K" absent --ttl=1s
run 0 incr --key="$K" counter && out_is "1" "incr creates"
run 0 incr --key="$K" counter 5 && out_is "6" "incr 5"
run 0 incr --key="$K" counter -10 && out_is "-4" "incr -10"
run 0 incr --key="$K" stock 1 --init=100 && out_is "101" "incr --init"
run 1 incr --key="$K" greeting && err_has "not a decimal integer" "incr of text"
run 0 del --key="$K" fresh && out_empty "del"
run 1 del --key="$K" fresh && err_has "no key" "del twice"

section "binary values and odd keys"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 64 + b"\n\r\x00")' >"$TMP/bin"
run_stdin "$TMP/bin" 0 put --key="$K" binary - && out_empty "put -"
run 0 get --key="$K" binary
cmp -s "$TMP/bin" "$TMP/out" || fail "binary value changed in the round trip"
run_stdin /dev/null 0 put --key="$K" empty -
run 0 get --key="$K" empty && out_empty "empty value"
head -c 300000 /dev/zero >"$TMP/big"
run_stdin "$TMP/big" 3 put --key="$K" big - && err_has "maximum" "value over --max-value"
run 0 put --key="$K" --escaped 'odd\x01\xff\\key' v1
run 0 get --key="$K" --escaped 'odd\x01\xff\\key' && out_is "v1" "escaped key"
run 0 put --key="$K" 'back\slash' v2
run 0 get --key="$K" 'back\slash' && out_is "v2" "literal backslash key"
run 0 put --key="$K" -- --dashes v3
run 0 get --key="$K" -- --dashes && out_is "v3" "key after --"
run 0 keys --key="$K" --prefix=odd && out_is 'odd\x01\xff\\key' "keys escapes odd keys"

section "get with several keys"
run 0 put --key="$K" two 'a b'
run 0 put --key="$K" line $'x\ty\n'
run 0 get --key="$K" greeting two line greeting
out_is $'greeting\thello\ntwo\ta b\nline\tx\\x09y\\x0a\ngreeting\thello' "get of several keys"
run 1 get --key="$K" greeting nosuchkey two && err_has "no key \"nosuchkey\"" "several keys, one missing"
out_is $'greeting\thello\ntwo\ta b' "several keys: the others still printed"
run 1 get --key="$K" nosuchkey greeting --json
json_check "len(docs) == 2 and docs[0] == {'key': 'nosuchkey', 'key_b64': 'bm9zdWNoa2V5', \
  'found': False} and docs[1]['found'] and docs[1]['value'] == 'hello' \
  and b64(docs[1]['value_b64']) == b'hello' and docs[1]['version'] > 0" "get --json of several keys"
run 0 get --key="$K" --escaped 'odd\x01\xff\\key' two --json
json_check "b64(docs[0]['key_b64']) == b'odd\\x01\\xff\\\\key' and docs[0]['value'] == 'v1' \
  and docs[1]['value'] == 'a b'" "get --escaped of several keys"
run 2 get --key="$K" greeting two --meta && err_has "one KEY" "--meta with several keys"
run 0 get --key="$K" binary binary
python3 - "$TMP/out" "$TMP/bin" <<'PY' || fail "get of several keys: binary value not escaped faithfully"
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
want = open(sys.argv[2], "rb").read()
def unescape(s):
    out, i = bytearray(), 0
    while i < len(s):
        if s[i:i + 2] == b"\\\\":
            out += b"\\"; i += 2
        elif s[i:i + 2] == b"\\x":
            out.append(int(s[i + 2:i + 4], 16)); i += 4
        else:
            out.append(s[i]); i += 1
    return bytes(out)
assert lines[-1] == b"" and len(lines) == 3, len(lines)
for line in lines[:2]:
    key, value = line.split(b"\t")
    assert key == b"binary" and unescape(value) == want
PY

run 0 keys --key="$K" --prefix=odd --escaped && out_is 'odd\x01\xff\\key' "keys --escaped prefix"
run 0 keys --key="$K" --prefix='back' && out_is 'back\\slash' "keys escapes backslashes"

section "keys"
for i in 1 2 3 4 5; do run 0 put --key="$K" "user:$i" "value-$i" --flags="$i"; done
run 0 keys --key="$K" --prefix=user:
[[ "$(sort "$TMP/out" | tr '\n' ' ')" == "user:1 user:2 user:3 user:4 user:5 " ]] ||
  fail "keys --prefix: $(cat "$TMP/out")"
run 0 keys --key="$K" --prefix=user: --limit=2
[[ "$(wc -l <"$TMP/out")" == 2 ]] || fail "keys --limit=2 printed $(wc -l <"$TMP/out") lines"
run 0 keys --key="$K" --prefix=user: --long
out_has "SIZE.*TTL.*VERSION.*FLAGS.*KEY" "keys --long header"
[[ "$(wc -l <"$TMP/out")" == 6 ]] || fail "keys --long: $(cat "$TMP/out")"
run 0 keys --key="$K" --json
json_check "len(docs) >= 13 and all(set(x) >= {'key', 'key_b64', 'key_escaped', 'size', 'ttl_ms', \
  'version', 'flags'} for x in docs) and sorted(b64(x['key_b64']) for x in docs \
  if x['key'].startswith('user:')) == [b'user:%d' % i for i in range(1, 6)] \
  and all(x['flags'] == int(x['key'][5:]) and x['size'] == 7 for x in docs \
  if x['key'].startswith('user:')) and any(b64(x['key_b64']) == b'odd\\x01\\xff\\\\key' for x in docs)" \
  "keys --json"

# --------------------------------------------------------------- stats ---
section "stats"
run 0 stats --key="$K" --json
json_check "all(isinstance(d[f], int) for f in ['items', 'hits', 'misses', 'puts', 'deletes', \
  'evictions', 'expirations', 'bytes_used', 'capacity', 'key_bytes', 'value_bytes', 'lock_waits', \
  'owner_deaths_recovered', 'index_entries', 'index_limit']) and d['hits'] > 0 and d['misses'] > 0 and d['puts'] > 0 \
  and d['deletes'] >= 1 and d['capacity'] == 8 * 2**20 and 0 < d['bytes_used'] <= d['capacity'] \
  and 0 < d['hit_ratio'] < 1 and d['index_entries'] == d['items'] \
  and d['items'] < d['index_limit']" "stats --json"
items=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"])' "$TMP/out")
run 0 stats --key="$K" && out_has "hit ratio" "stats" && out_has "^entries  *$items" "stats entries" \
  && out_has "^hash index  *$items of [0-9]* entries" "stats index"
run 0 stats --key="$K" --watch=100ms --count=3
[[ "$(grep -c 'per second' "$TMP/out")" == 3 ]] || fail "stats --watch --count=3: $(cat "$TMP/out")"
run 0 stats --key="$K" --watch=100ms --count=2 --json
json_check "len(docs) == 2 and docs[0]['ops_per_sec'] is None and docs[1]['ops_per_sec'] is not None \
  and docs[1]['interval_ms'] > 0 and docs[1]['items'] == $items" "stats --watch --json"
# Ctrl-C ends --watch cleanly.
"$KVCLI" stats --key="$K" --watch=100ms >"$TMP/watch" 2>"$TMP/watch.err" &
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

# ------------------------------------------------- scans and bulk del ---
section "keys --cursor/--match, del --prefix/--match, dump --match"
SCANK=${FREE[2]}
run 0 create --key="$SCANK" --capacity=1MiB
for i in $(seq -w 0 29); do run 0 put --key="$SCANK" "s:$i" "v$i"; done
for k in other:1 other:2 other:3 'a*b' aXb; do run 0 put --key="$SCANK" "$k" v; done
# Page through with --cursor/--count: every key exactly once, pages of at
# most --count keys, the last line the next cursor.
cursor=0
pages=0
: >"$TMP/paged"
while :; do
  run 0 keys --key="$SCANK" --cursor="$cursor" --count=7 || break
  last=$(tail -n 1 "$TMP/out")
  [[ "$last" =~ ^next\ cursor:\ ([0-9]+)$ ]] || { fail "keys --cursor: last line '$last'"; break; }
  cursor=${BASH_REMATCH[1]}
  lines=$(($(wc -l <"$TMP/out") - 1))
  ((lines <= 7)) || fail "keys --count=7 printed a page of $lines keys"
  head -n "$lines" "$TMP/out" >>"$TMP/paged"
  pages=$((pages + 1))
  [[ "$cursor" == 0 ]] && break
  ((pages < 100)) || { fail "keys --cursor never returned cursor 0"; break; }
done
((pages >= 5)) || fail "35 keys in pages of 7 took $pages pages"
[[ "$(sort "$TMP/paged" | uniq | wc -l)" == 35 && "$(wc -l <"$TMP/paged")" == 35 ]] ||
  fail "keys --cursor pages did not hold each key once: $(sort "$TMP/paged" | tr '\n' ' ')"
run 0 keys --key="$SCANK" --cursor=0 --count=1000 --json
json_check "docs[-1] == {'next_cursor': '0'} and len(docs) == 36 \
  and all('key' in x and 'size' in x for x in docs[:-1])" "keys --cursor --json"
run 0 keys --key="$SCANK" --cursor=0 --count=3 --json --prefix=s:
json_check "len(docs) == 4 and set(docs[-1]) == {'next_cursor'} and docs[-1]['next_cursor'] != '0' \
  and all(x['key'].startswith('s:') for x in docs[:-1])" "keys --cursor --json first page"
run 0 keys --key="$SCANK" --match='s:1?'
[[ "$(sort "$TMP/out" | tr '\n' ' ')" == "s:10 s:11 s:12 s:13 s:14 s:15 s:16 s:17 s:18 s:19 " ]] ||
  fail "keys --match='s:1?': $(cat "$TMP/out")"
run 0 keys --key="$SCANK" --match='a\*b' && out_is 'a*b' "keys --match with an escaped *"
run 0 keys --key="$SCANK" --prefix=s: --match='*[05]' --long
[[ "$(wc -l <"$TMP/out")" == 7 ]] || fail "keys --prefix --match --long: $(cat "$TMP/out")"
run 0 keys --key="$SCANK" --match='nothing*' && out_empty "keys --match with no match"
run 2 keys --key="$SCANK" --cursor=abc && err_has "give 0 to start" "keys --cursor=abc"
run 2 keys --key="$SCANK" --cursor=12345 && err_has "cursor 0" "keys with a made-up cursor"
run 2 keys --key="$SCANK" --count=5 && err_has "add --cursor=0" "keys --count without --cursor"
run 2 keys --key="$SCANK" --cursor=0 --count=0 && err_has "at least 1" "keys --count=0"
run 2 keys --key="$SCANK" --cursor=0 --limit=3 && err_has "do not go together" "keys --cursor --limit"
run 2 keys --key="$SCANK" --match= && err_has "glob" "keys --match="
# del by prefix and glob.
run 0 del --key="$SCANK" --prefix=other: --dry-run
[[ "$(head -n 3 "$TMP/out" | sort | tr '\n' ' ')" == "other:1 other:2 other:3 " ]] ||
  fail "del --dry-run listing: $(cat "$TMP/out")"
out_has "^would delete 3 entries" "del --dry-run summary"
run 0 keys --key="$SCANK" --prefix=other: && [[ "$(wc -l <"$TMP/out")" == 3 ]] ||
  fail "del --dry-run deleted something"
run 0 del --key="$SCANK" --prefix=other: && out_is "deleted 3 entries" "del --prefix"
run 0 keys --key="$SCANK" --prefix=other: && out_empty "keys after del --prefix"
run 0 del --key="$SCANK" --prefix=other: && out_is "deleted 0 entries" "del --prefix again"
run 0 del --key="$SCANK" --match='s:2?' && out_is "deleted 10 entries" "del --match"
run 0 del --key="$SCANK" --prefix=s: --match='*9' && out_is "deleted 2 entries" "del --prefix --match"
run 0 keys --key="$SCANK"
[[ "$(wc -l <"$TMP/out")" == 20 ]] || fail "keys after the deletes: $(sort "$TMP/out" | tr '\n' ' ')"
run 0 get --key="$SCANK" s:05 && out_is "v05" "del --match left other keys"
run 2 del --key="$SCANK" --prefix= && err_has "kvcli flush" "del --prefix= (everything)"
run 2 del --key="$SCANK" s:05 --prefix=s: && err_has "not both" "del KEY --prefix"
run 2 del --key="$SCANK" s:05 --dry-run && err_has "goes with --prefix" "del KEY --dry-run"
run 2 del --key="$SCANK" && err_has "missing KEY" "del without KEY or selection"
run 0 get --key="$SCANK" s:05 && out_is "v05" "refused dels deleted nothing"
# dump of a selection.
run 0 dump --key="$SCANK" --out=- --format=jsonl --match='s:1*'
json_check "sorted(x['key'] for x in docs) == ['s:%d' % i for i in range(10, 19)]" "dump --match"
run 0 dump --key="$SCANK" --out="$TMP/sel.snap" --prefix=s:0 && out_has "dumped 9 entries" "dump --prefix"
run 0 destroy --key="$SCANK"

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

# ---------------------------------------------------------------- flush ---
section "flush"
run 0 put --key="$K" brief x --ttl=100ms
sleep 0.5
run 0 flush --key="$K" --expired && out_has "^flushed 1 expired entry" "flush --expired"
run 0 flush --key="$K" && out_has "^flushed [0-9]* entries" "flush"
run 0 keys --key="$K" && out_empty "keys after flush"

# ------------------------------------------------------------------- ls ---
section "ls"
run 0 ls && out_has "^$K " "ls shows the store"
run 0 ls --json && json_check "[s['items'] for s in d['stores'] if s['key'] == '$K'] == [0] \
  and 'others' not in d and isinstance(d['others_count'], int) \
  and all(set(s) >= {'key', 'shm_id', 'segment_bytes', 'items', 'attached_processes', 'owner', \
  'mode', 'capacity', 'name'} for s in d['stores'])" "ls --json"

# -------------------------------------------------------------- cleanup ---
section "cleanup"
run 0 destroy --key="$K"
for key in "${KEYS[@]}"; do expect_no_ipc "$key" "end of test"; done

report_and_exit kvcli_test
