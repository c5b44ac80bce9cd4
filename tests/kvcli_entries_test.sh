#!/usr/bin/env bash
# Black-box tests of kvcli: runs the real binary against real stores and
# checks exit codes, stdout, the one-line stderr contract and --json output
# (parsed with python3). This part: a store's life and its entries: create
# and info, get, put, del, incr, touch, binary values and odd keys, get of
# several keys, keys, flush, ls, destroy. The others: kvcli_usage_test.sh,
# kvcli_snapshot_test.sh (dump, load, check), kvcli_scan_test.sh (keys
# --cursor/--match and bulk deletes), kvcli_stats_test.sh,
# kvcli_hazards_test.sh, kvcli_operator_test.sh; kvcli_lib.sh holds what
# they share.
#
#   kvcli_entries_test.sh IPC_GUARD KVCLI HELPER
#                                  (bazel test //tests:kvcli_entries_test)
#
# It runs under the IPC guard (testing/): every store lives at a key
# of the run's range, and whatever is left there when the script ends, however
# it ends, is removed and reported. The EXIT trap removes them too.
set -uo pipefail

# Checks the arguments, re-runs this script under the IPC guard, sets GUARD,
# KVCLI, HELPER and TMP, and defines the checks.
# shellcheck source=tests/kvcli_lib.sh
source "$(dirname "$0")/kvcli_lib.sh" "$@"

take_keys 1
K=${KEYS[0]} # the store

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

report_and_exit kvcli_entries_test
