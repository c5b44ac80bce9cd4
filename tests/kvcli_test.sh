#!/usr/bin/env bash
# Black-box tests of kvcli: runs the real binary against real stores and
# checks exit codes, stdout, the one-line stderr contract and --json output
# (parsed with python3).
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

mapfile -t FREE < <("$GUARD" keys 12 kvcli_test.sh)
if ((${#FREE[@]} != 12)); then
  echo "FAIL: could not find free System V keys" >&2
  exit 1
fi
KEYS=("${FREE[@]}")
K=${FREE[0]}        # the main store
K2=${FREE[1]}       # no store ever
FOREIGN=${FREE[2]}  # a segment that is not a store
OWNED=${FREE[3]}    # a store given to another uid
OLD=${FREE[4]}      # a store with another layout version
LOCKED=${FREE[5]}   # a store whose lock is held
FULL=${FREE[6]}     # a small store that may not evict
SMALLKEY=${FREE[7]} # a store with short keys
MODED=${FREE[9]}    # a store whose mode refuses another user

# --------------------------------------------------------------- help ---
section "help and usage errors"
run 0 help && out_has "Commands:" "help"
run 0 --help && out_has "Exit status" "--help"
run 0 help json && out_has "bytes_used" "help json"
for cmd in create info stats get put del incr touch keys dump load check flush destroy ls; do
  run 0 "$cmd" --help && out_has "^usage: kvcli $cmd " "$cmd --help"
  run 0 help "$cmd" && out_has "^usage: kvcli $cmd " "help $cmd"
done
run 2
run 2 frobnicate && err_has "unknown command" "unknown command"
run 2 set --key="$K" a b && err_has "did you mean kvcli put" "alias suggestion"
run 2 help nosuchtopic
run 2 get --key="$K" k --nope && err_has "unknown flag --nope" "unknown flag"
run 2 get --key="$K" k --ttl=5s && err_has "does not apply to get" "flag of another command"
run 2 get --key="$K" && err_has "missing KEY" "missing KEY"
run 2 put --key="$K" k && err_has "missing VALUE" "missing VALUE"
run 2 info && err_has "which store" "no store flag"
run 2 info --key=0 && err_has "key" "key 0"
run 2 info --key=banana && err_has "key" "bad key"
run 2 info --key="$K" --path=/ && err_has "not both" "key and path"
run 2 create --key="$K" --capacity=12XB && err_has "capacity" "bad size"
run 2 create --key="$K" --capacity=64MB && err_has "capacity" "decimal size unit"
run 2 create --key="$K" --mode=0999 && err_has "mode" "bad mode"
run 2 put --key="$K" k v --ttl=0 && err_has "ttl=none" "zero TTL"
run 2 put --key="$K" k v --ttl=soon && err_has "ttl" "bad duration"
run 2 put --key="$K" k v --if-absent --if-present && err_has "at most one" "two conditions"
run 2 put --key="$K" k v --cas=-1 && err_has "cas" "bad version"
run 2 stats --key="$K" --count=2 && err_has "goes with --watch" "count without watch"
run 2 stats --key="$K" --watch=0 && err_has "watch" "zero interval"
run 2 keys --key="$K" --limit=0
run 2 dump --key="$K" && err_has "missing --out" "dump without --out"
run 2 dump --key="$K" --out=x --format=xml && err_has "format" "bad format"
run 2 load --key="$K" --in=x --capacity=1MiB && err_has "add --create" "create flag without --create"
run 2 incr --key="$K" n 1.5 && err_has "DELTA" "bad delta"
run 2 touch --key="$K" n && err_has "missing --ttl" "touch without ttl"
run 2 get --key="$K" --escaped 'bad\q' && err_has "escaped" "bad escape"
run 2 ls --key="$K" && err_has "does not apply to ls" "ls takes no store"
expect_no_ipc "$K" "usage errors"

# ------------------------------------------------------- missing store ---
section "no store at the key"
for args in "info" "stats" "get k" "put k v" "del k" "incr k" "touch k --ttl=1s" "keys" \
  "dump --out=$TMP/never.snap" "load --in=$TMP/never.snap" "check" "flush" "flush --expired"; do
  # shellcheck disable=SC2086
  run 3 $args --key="$K2" && err_has "kvcli create --key=$K2" "$args on a missing store"
done
[[ ! -e "$TMP/never.snap" ]] || fail "dump of a missing store wrote a file"
run 3 load --key="$K2" --in="$TMP/never.snap" && err_has "add --create" "load hint"
run 3 destroy --key="$K2" && err_has "nothing to destroy" "destroy of a missing store"
expect_no_ipc "$K2" "commands on a missing store"

# -------------------------------------------------------- create, info ---
section "create and info"
run 0 create --key="$K" --capacity=8MiB --max-value=256KiB --mode=0640 --default-ttl=1h \
  --stripes=4 --items=1000 && out_has "^created key $K" "create"
run 3 create --key="$K" && err_has "already exists" "create twice"
run 0 info --key="$K" --json
json_check "d['key'] == '$K' and d['key_decimal'] == $((K)) and d['layout_version'] == 3 \
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
SCANK=${FREE[11]}
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

# --------------------------------------------------- foreign segments ---
section "a foreign segment at the key"
"$HELPER" foreign "$FOREIGN" 8192 >/dev/null || fail "helper foreign"
for args in "info" "stats" "get k" "put k v" "keys" "check" "dump --out=$TMP/f.snap" "load --in=$TMP/a.snap"; do
  # shellcheck disable=SC2086
  run 3 $args --key="$FOREIGN" && err_has "not a shmkv store" "$args on a foreign segment"
done
run 3 create --key="$FOREIGN" && err_has "already exists" "create on a foreign segment"
err_has "no shmkv header" "create on a foreign segment says why it is not a store"
err_has "ipcrm -m [0-9]" "create on a foreign segment names ipcrm, not kvcli destroy"
run 3 load --key="$FOREIGN" --in="$TMP/a.snap" --create && err_has "already exists" "load --create on a foreign segment"
run 3 destroy --key="$FOREIGN" && err_has "not a shmkv store" "destroy of a foreign segment"
err_has "ipcrm -m [0-9]" "destroy of a foreign segment names ipcrm"
[[ "$(ipc_state "$FOREIGN")" == "shm=1 sem=0" ]] ||
  fail "kvcli changed IPC objects at a foreign key: $(ipc_state "$FOREIGN")"
run 0 ls --json && json_check "all(s['key'] != '$FOREIGN' for s in d['stores']) and 'others' not in d" \
  "ls hides foreign segments"
run 0 ls --all --json && json_check "[o['status'] for o in d['others'] if o['key'] == '$FOREIGN'] \
  == ['not_shmkv']" "ls --all shows foreign segments"
run 0 ls --all && out_has "^$FOREIGN .*not_shmkv" "ls --all table"
"$HELPER" remove "$FOREIGN" >/dev/null
# In an IPC namespace of its own (root only), the foreign segment is the one
# other segment on the "host": ls counts it in the singular.
if unshare --ipc true 2>/dev/null; then
  unshare --ipc bash -c '"$1" foreign "$2" 8192 >/dev/null && "$1" foreign "$3" 8192 >/dev/null &&
    "$4" ls >"$5/out1" && "$1" remove "$3" >/dev/null && "$4" ls >"$5/out"' _ \
    "$HELPER" "$FOREIGN" "$K2" "$KVCLI" "$TMP" || fail "ls in an IPC namespace of its own"
  grep -q "^(2 other segments are not shmkv stores or not readable" "$TMP/out1" ||
    fail "ls with two other segments: $(cat "$TMP/out1")"
  out_has "^(1 other segment is not a shmkv store or not readable" "ls with one other segment"
fi

section "a store owned by another user"
"$HELPER" create-as 65534 "$OWNED"
owner_rc=$?
if ((owner_rc == 77)); then
  echo "(skipped: creating a store as another user needs root)" >&2
elif ((owner_rc != 0)); then
  fail "helper create-as exited $owner_rc"
else
  run 3 info --key="$OWNED" && err_has "pass --allow-foreign-owner" "foreign owner refused"
  run 3 put --key="$OWNED" k v && err_has "allow-foreign-owner" "foreign owner refused (put)"
  run 0 info --key="$OWNED" --allow-foreign-owner --json && json_check "d['owner_uid'] == 65534 \
    and d['creator_uid'] == 65534 and d['mode'] == '0666'" "--allow-foreign-owner"
  # systemd-logind removes a user's IPC objects only where it runs; its
  # program installed in a container that does not run it removes nothing.
  if ! grep -qx systemd-logind /proc/[0-9]*/comm 2>/dev/null; then
    json_check "not any('RemoveIPC' in w for w in d['warnings'])" \
      "no RemoveIPC warning where systemd-logind does not run"
  fi
  run 0 put --key="$OWNED" k v --allow-foreign-owner
  run 0 get --key="$OWNED" k --allow-foreign-owner && out_is "v" "get from a foreign store"
  run 0 ls --json && json_check "[(s['owner_uid'], s['items']) for s in d['stores'] \
    if s['key'] == '$OWNED'] == [(65534, 1)]" "ls shows others' stores"
  # Other uids run kvcli from a copy they can reach (the test's own tree
  # may be private to root).
  USER_BIN=$(mktemp -d /tmp/kvcli-users.XXXXXX)
  chmod 755 "$USER_BIN" && cp "$KVCLI" "$USER_BIN/kvcli" && chmod 755 "$USER_BIN/kvcli"
  USER_KVCLI=$USER_BIN/kvcli
  # A third user may write the 0666 store but not remove it: refused, and
  # nothing changes for the owner.
  setpriv --reuid=65533 --regid=65533 --clear-groups "$USER_KVCLI" destroy --key="$OWNED" \
    --allow-foreign-owner >"$TMP/out" 2>"$TMP/err" && fail "a user who may not remove the store destroyed it"
  err_has "nothing was changed" "destroy by a user who may not remove"
  setpriv --reuid=65534 --regid=65534 --clear-groups "$USER_KVCLI" get --key="$OWNED" k >"$TMP/out" 2>"$TMP/err" ||
    fail "the owner cannot read after a refused destroy: $(head -c 500 "$TMP/err")"
  out_is "v" "the owner reads after a refused destroy"
  # The owner lost the semaphore set: root's ls and info create none (a set
  # of root's would lock the owner out), and the owner still writes.
  ipcrm -S "$OWNED" || fail "ipcrm -S $OWNED"
  # It is still a store: ls lists it among the stores, saying what is
  # missing and who can recreate it.
  run 0 ls --json && json_check "[(s['status'], 'uid 65534' in s['detail'] and 'kvcli info' in \
    s['detail']) for s in d['stores'] if s['key'] == '$OWNED'] == [('semaphore_missing', True)] \
    and all(s['status'] == 'ok' for s in d['stores'] if s['key'] != '$OWNED')" \
    "ls lists a store whose semaphore set is missing"
  run 0 ls && out_has "^$OWNED " "ls lists a store whose semaphore set is missing (table)"
  out_has "^$OWNED: its semaphore set is missing.*uid 65534.*kvcli info --key=$OWNED" \
    "ls says who can recreate a missing semaphore set"
  run 3 info --key="$OWNED" --allow-foreign-owner && err_has "kvcli info" "info names who recreates the set"
  [[ "$(ipc_state "$OWNED")" == "shm=1 sem=0" ]] ||
    fail "ls or info as root created IPC objects: $(ipc_state "$OWNED")"
  setpriv --reuid=65534 --regid=65534 --clear-groups "$USER_KVCLI" put --key="$OWNED" k2 v2 \
    >"$TMP/out" 2>"$TMP/err" || fail "the owner cannot write after root's ls: $(head -c 500 "$TMP/err")"
  # A mode that refuses another user says what the mode allows, whose set
  # it is and what to do.
  for mode in 0644 0000; do
    run 0 create --key="$MODED" --capacity=64KiB --mode="$mode"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$USER_KVCLI" get --key="$MODED" k \
      --allow-foreign-owner >"$TMP/out" 2>"$TMP/err" && fail "mode $mode let another user in"
    err_has "mode $mode" "the refused user is told the set's mode ($mode)"
    err_has "owner uid 0" "mode $mode: the set's owner"
    err_has "ipcs -s -i" "mode $mode: how to look at the set"
    err_has "--mode" "mode $mode: how to recreate the store"
    if [[ $mode == 0644 ]]; then
      err_has "others may only read" "mode 0644: what it allows"
    else
      err_has "others may not even read" "mode 0000: what it allows"
    fi
    run 0 destroy --key="$MODED"
  done
  rm -rf "$USER_BIN"
  run 3 destroy --key="$OWNED" && err_has "allow-foreign-owner" "destroy of a foreign store"
  run 0 destroy --key="$OWNED" --allow-foreign-owner
fi
expect_no_ipc "$OWNED" "foreign-owned store"
expect_no_ipc "$MODED" "stores with modes that refuse another user"

section "help create states the entry overhead"
run 0 help create && out_has "28-byte header each" "help create: the header is 28 bytes"
grep -q "32 bytes each" "$TMP/out" && fail "help create still says 32 bytes each"

section "another layout version"
run 0 create --key="$OLD" --capacity=1MiB
"$HELPER" set-layout "$OLD" 99 || fail "helper set-layout"
run 3 info --key="$OLD" && err_has "layout version 99" "incompatible layout"
run 0 ls --all --json && json_check "[o['status'] for o in d['others'] if o['key'] == '$OLD'] \
  == ['incompatible']" "ls --all: other layout version"
run 0 destroy --key="$OLD"
expect_no_ipc "$OLD" "destroy of an incompatible store"

section "lock timeout"
run 0 create --key="$LOCKED" --capacity=1MiB
"$HELPER" hold-lock "$LOCKED" 4000 >"$TMP/held" 2>&1 &
holder=$!
BG_PIDS+=("$holder")
for _ in $(seq 100); do grep -q held "$TMP/held" && break; sleep 0.05; done
run 3 info --key="$LOCKED" --lock-timeout=200ms && err_has "timed out" "lock timeout"
wait "$holder"
run 0 info --key="$LOCKED"
run 0 destroy --key="$LOCKED"

section "full store and small limits"
run 0 create --key="$FULL" --capacity=64KiB --max-value=1KiB --no-evict
run 0 info --key="$FULL" --json && json_check "d['evict'] is False" "--no-evict"
run 3 put --key="$FULL" big "$(head -c 2000 /dev/zero | tr '\0' x)" && err_has "maximum" "argument over --max-value"
value=$(head -c 1000 /dev/zero | tr '\0' v)
full_rc=0
for i in $(seq 200); do
  "$KVCLI" put --key="$FULL" "k$i" "$value" >"$TMP/out" 2>"$TMP/err"
  full_rc=$?
  ((full_rc == 0)) || break
done
RC=$full_rc
[[ "$full_rc" == 3 ]] || fail "filling a --no-evict store: exit $full_rc, want 3"
check_stderr "put into a full store"
run 0 destroy --key="$FULL"
run 0 create --key="$SMALLKEY" --capacity=1MiB --max-key=16
run 2 put --key="$SMALLKEY" 01234567890123456 v && err_has "maximum of 16" "key over --max-key"
run 0 destroy --key="$SMALLKEY"

section "--path naming"
# ftok_key FILE PROJ: the key ftok(3) makes of FILE and PROJ.
ftok_key() {
  local dev ino
  read -r dev ino < <(stat -c '%d %i' "$1")
  printf '0x%08x' $((($2 << 24) | ((dev & 0xff) << 16) | (ino & 0xffff)))
}
touch "$TMP/pathfile"
path_key=$(ftok_key "$TMP/pathfile" 7)
KEYS+=("$path_key")
if [[ "$(ipc_state "$path_key")" != "shm=0 sem=0" ]]; then
  echo "(skipped: ftok key $path_key is in use)" >&2
else
  run 0 create --path="$TMP/pathfile" --proj=7 --capacity=1MiB
  run 0 put --path="$TMP/pathfile" --proj=7 k v
  run 0 get --key="$path_key" k && out_is "v" "--path names the ftok key"
  run 0 info --path="$TMP/pathfile" --proj=7 --json &&
    json_check "d['key'] == '$path_key' and d['name'].startswith('path ')" "info of a --path store"
  run 0 destroy --path="$TMP/pathfile" --proj=7
  expect_no_ipc "$path_key" "--path store"
fi
run 3 info --path="$TMP/no-such-file" && err_has "touch" "--path to a missing file"

section "a file name cannot forge ls or info output"
forged="$TMP/name"$'\n''0x00000001  99999  1.0 MiB  7 forged'
touch "$forged"
path_key=$(ftok_key "$forged" 9)
KEYS+=("$path_key")
if [[ "$(ipc_state "$path_key")" != "shm=0 sem=0" ]]; then
  echo "(skipped: ftok key $path_key is in use)" >&2
else
  run 0 create --path="$forged" --proj=9 --capacity=1MiB
  run 0 info --key="$path_key" && out_has 'name\\x0a0x00000001' "info escapes a newline in the path"
  grep -q '^0x00000001' "$TMP/out" && fail "info: a newline in the path starts a line of its own"
  run 0 ls && out_has 'name\\x0a0x00000001' "ls escapes a newline in the path"
  grep -q '^0x00000001' "$TMP/out" && fail "ls: a newline in the path fakes a row"
  run 0 info --key="$path_key" --json && json_check "'\\n' in d['name']" "info --json keeps the name as it is"
  run 0 destroy --key="$path_key"
  expect_no_ipc "$path_key" "store named by a path with a newline"
fi

section "a refused destroy escapes the file name in its message as ls does"
if ((EUID != 0)); then
  echo "(skipped: destroying as another user needs root)" >&2
else
  # Another user must reach the file (ftok) and kvcli: both in a directory
  # of its own under /tmp, readable by all.
  NAMES_DIR=$(mktemp -d /tmp/kvcli-names.XXXXXX)
  chmod 755 "$NAMES_DIR" && cp "$KVCLI" "$NAMES_DIR/kvcli" && chmod 755 "$NAMES_DIR/kvcli"
  # A byte above 0x7e, then a backslash that would read as an escape.
  forged="$NAMES_DIR/name"$'\xff''\x0akvcli: forged'
  touch "$forged"
  path_key=$(ftok_key "$forged" 9)
  KEYS+=("$path_key")
  if [[ "$(ipc_state "$path_key")" != "shm=0 sem=0" ]]; then
    echo "(skipped: ftok key $path_key is in use)" >&2
  else
    run 0 create --path="$forged" --proj=9 --capacity=1MiB --mode=0666
    setpriv --reuid=65533 --regid=65533 --clear-groups "$NAMES_DIR/kvcli" destroy \
      --path="$forged" --proj=9 --allow-foreign-owner >"$TMP/out" 2>"$TMP/err" &&
      fail "a user who may not remove the store destroyed it"
    err_has "nothing was changed" "destroy refused to a user who may not remove"
    grep -qF 'name\xff\\x0akvcli: forged proj 9' "$TMP/err" ||
      fail "a refused destroy does not escape the path as ls does: $(head -c 500 "$TMP/err")"
    run 0 destroy --path="$forged" --proj=9
    expect_no_ipc "$path_key" "store named by a path with odd bytes, destroyed by its owner"
  fi
  rm -rf "$NAMES_DIR"
fi

# ---------------------------------------------- destroyed mid-command ---
section "a store destroyed while a command runs"
# put --cas reads its value from stdin after opening the store; the store is
# destroyed meanwhile. That is neither a version mismatch (exit 1) nor
# anything the user got wrong: exit 3, saying what happened.
GONE=${FREE[8]}
run 0 create --key="$GONE" --capacity=1MiB
run 0 put --key="$GONE" k v
mkfifo "$TMP/value"
exec 7<>"$TMP/value"
"$KVCLI" put --key="$GONE" --cas=1 k - <"$TMP/value" >"$TMP/gone.out" 2>"$TMP/gone.err" 7>&- &
gone_pid=$!
for _ in $(seq 500); do  # until kvcli is attached (and waits for its value)
  "$KVCLI" info --key="$GONE" --json 2>/dev/null | grep -q '"attached_processes": *1' && break
  sleep 0.01
done
run 0 destroy --key="$GONE"
echo new >&7
exec 7>&-
wait "$gone_pid"
gone_rc=$?
CHECKS=$((CHECKS + 1))
[[ $gone_rc == 3 ]] || fail "put --cas on a store destroyed meanwhile exited $gone_rc, want 3"
grep -q "was destroyed while this command ran" "$TMP/gone.err" ||
  fail "put --cas on a destroyed store: stderr is '$(cat "$TMP/gone.err")'"
rm -f "$TMP/value"

# -------------------------------------------------------------- cleanup ---
section "cleanup"
run 0 destroy --key="$K"
for key in "${KEYS[@]}"; do expect_no_ipc "$key" "end of test"; done

report_and_exit kvcli_test
