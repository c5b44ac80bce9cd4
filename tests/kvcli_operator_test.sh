#!/usr/bin/env bash
# Black-box tests of what a careless or hostile operator hits with kvcli:
# each section checks a promise that `kvcli help <command>` and
# doc/ make, with the real binary against real stores.
#
#   kvcli_operator_test.sh IPC_GUARD KVCLI HELPER   (bazel test //tests:kvcli_operator_test)
set -uo pipefail

# Checks the arguments, re-runs this script under the IPC guard, sets GUARD,
# KVCLI, HELPER and TMP, and defines the checks.
# shellcheck source=tests/kvcli_lib.sh
source "$(dirname "$0")/kvcli_lib.sh" "$@"

take_keys 10
A=${KEYS[0]} # a small evicting store
B=${KEYS[1]} # a second store
C=${KEYS[2]} # created and destroyed by single sections

# ------------------------------------------------ arguments like flags ---
section "a KEY or VALUE that looks like a flag"
run 0 create --key="$A" --capacity=1MiB
run 0 help put && out_has "refused as a" "help put: flag-like arguments"
run 2 put --key="$A" k -ttl=30s && err_has "put -- before it" "put k -ttl=30s"
run 1 get --key="$A" k
run 2 put --key="$A" -k v && err_has "starts with - like a flag" "put -k v"
run 0 put --key="$A" -- k -ttl=30s
run 0 get --key="$A" k && out_is "-ttl=30s" "value after --"
run 0 put --key="$A" -- -k v
run 0 get --key="$A" -- -k && out_is "v" "key after --"
run 0 incr --key="$A" n -3 && out_is "-3" "a negative DELTA is no flag"
run 0 destroy --key="$A"

# ------------------------------------------------------- huge TTLs ---
section "snapshot TTLs near INT64_MAX"
run 0 create --key="$A" --capacity=1MiB
run 0 help load && out_has "never expires" "help load: huge TTLs"
printf '%s\n' '{"key":"far","value_b64":"eA==","ttl_ms":9223372036854775000}' \
  '{"key":"max","value_b64":"eQ==","ttl_ms":9223372036854775807}' >"$TMP/far.jsonl"
run 0 load --key="$A" --in="$TMP/far.jsonl" && out_has "^loaded 2 entries" "load of huge TTLs"
# The expiry saturates at the end of int64 milliseconds (in some 292 million
# years): present, and not expiring in any lifetime.
run 0 get --key="$A" far --json && json_check "d['ttl_ms'] > 10**18" "a TTL past int64 ms saturates"
run 0 get --key="$A" max && out_is "y" "TTL of INT64_MAX ms"
run 0 destroy --key="$A"

# ------------------------------------------------------ empty input ---
section "an empty file is no snapshot"
run 0 create --key="$A" --capacity=1MiB
run 0 help load && out_has "allow-empty" "help load: empty files"
: >"$TMP/empty"
printf '\n  \n' >"$TMP/blank"
run 3 load --key="$A" --in="$TMP/empty" && err_has "allow-empty" "load of an empty file"
run 3 load --key="$A" --in=/dev/null && err_has "holds no entries" "load of /dev/null"
run_stdin "$TMP/blank" 3 load --key="$A" --in=- && err_has "allow-empty" "load of blank stdin"
run 3 load --key="$B" --in="$TMP/empty" --create && err_has "allow-empty" "load --create of an empty file"
expect_no_ipc "$B" "load --create of an empty file creates nothing"
run 0 load --key="$A" --in="$TMP/empty" --allow-empty && out_has "^loaded 0 entries" "--allow-empty"
run 0 dump --key="$A" --out="$TMP/empty.snap"
run 0 load --key="$A" --in="$TMP/empty.snap" && out_has "^loaded 0 entries" "binary dump of an empty store"
run 0 destroy --key="$A"

# ---------------------------------------------- what check promises ---
section "check verifies structure, not value bytes"
run 0 help check && out_has "not the value bytes" "help check says what it does not verify"

# ------------------------------------------------- check and a lock ---
section "check while a stopped process holds a stripe lock"
run 0 create --key="$A" --capacity=1MiB --stripes=1
run 0 put --key="$A" k v
run 0 help check && out_has "not damage" "help check: lock timeouts"
"$HELPER" hold-stripe "$A" >"$TMP/stripe-held" 2>&1 &
holder=$!
BG_PIDS+=("$holder")
for _ in $(seq 200); do grep -q held "$TMP/stripe-held" && break; sleep 0.05; done
kill -STOP "$holder"
run 3 check --key="$A" --lock-timeout=300ms && err_has "held by pid $holder" "check names the holder"
grep -q "repair\|destroy" "$TMP/err" && fail "check advises repair or destroy for a lock timeout: $(cat "$TMP/err")"
[[ -s "$TMP/out" ]] && grep -q "^problem" "$TMP/out" && fail "check reports a lock timeout as a problem"
run 3 check --key="$A" --lock-timeout=300ms --repair && err_has "no damage" "check --repair and a lock"
grep -q "destroy" "$TMP/err" && fail "check --repair advises destroy for a lock timeout: $(cat "$TMP/err")"
kill -KILL "$holder"
wait "$holder" 2>/dev/null
run 0 check --key="$A" && out_has "no problems found" "check once the holder died"
run 0 get --key="$A" k && out_is "v" "entries survive"
run 0 destroy --key="$A"

section "check of a store destroyed while it runs"
run 0 create --key="$A" --capacity=1MiB --stripes=4
run 0 put --key="$A" k v
"$HELPER" hold-stripe "$A" >"$TMP/stripe-held" 2>&1 &
holder=$!
BG_PIDS+=("$holder")
for _ in $(seq 200); do grep -q held "$TMP/stripe-held" && break; sleep 0.05; done
# The check waits for stripe 0; another process may open the store meanwhile.
"$KVCLI" check --key="$A" --lock-timeout=20s >"$TMP/check-out" 2>"$TMP/check-err" &
checker=$!
BG_PIDS+=("$checker")
for _ in $(seq 200); do [[ "$(cut -d' ' -f3 "/proc/$checker/stat" 2>/dev/null)" == S ]] && break; sleep 0.05; done
run 0 info --key="$A" --lock-timeout=300ms
run 0 destroy --key="$A"
kill -KILL "$holder"
wait "$holder" 2>/dev/null
check_rc=0
wait "$checker" || check_rc=$?
[[ "$check_rc" == 3 ]] || fail "check of a destroyed store: exit $check_rc, want 3"
grep -q "destroyed" "$TMP/check-err" || fail "check does not say the store was destroyed: $(cat "$TMP/check-err")"
grep -q "^problem\|repair" "$TMP/check-out" "$TMP/check-err" &&
  fail "check reports a destroyed store as problems: $(cat "$TMP/check-out" "$TMP/check-err")"

# --------------------------------------------- salvage and repair ---
section "one damaged record costs only itself: dump --salvage, then check --repair"
run 0 help dump && out_has "salvage" "help dump: --salvage"
python3 - "$TMP/fifty.jsonl" <<'PY'
import base64, json, sys
with open(sys.argv[1], "w") as f:
    for i in range(1, 51):
        f.write(json.dumps({"key": "k%d" % i, "value_b64": base64.b64encode(b"value%d" % i).decode()}) + "\n")
PY
# keys_of FILE: the keys of a jsonl snapshot, sorted, one a line.
keys_of() { python3 -c 'import json,sys; print("\n".join(sorted(json.loads(l)["key"] for l in open(sys.argv[1]) if l.strip())))' "$1"; }
for damage in damage-record damage-head; do
  run 0 load --key="$A" --in="$TMP/fifty.jsonl" --create --capacity=1MiB --stripes=1
  "$HELPER" "$damage" "$A" >"$TMP/damaged" || fail "$damage: the helper failed"
  lost=$(cat "$TMP/damaged")
  keys_of "$TMP/fifty.jsonl" | grep -vx -- "${lost:-none}" >"$TMP/want"
  want=$(wc -l <"$TMP/want")
  if [[ -n $lost ]]; then
    run 3 dump --key="$A" --out="$TMP/plain.snap" && err_has "no file was written" "$damage: a plain dump fails"
  fi
  run 0 dump --key="$A" --out="$TMP/salvaged.jsonl" --format=jsonl --salvage &&
    out_has "^dumped $want entries" "$damage: dump --salvage writes all but the damaged record"
  [[ -n $lost ]] && err_has "skipped 1 damaged record" "$damage: dump --salvage reports the damage"
  run 3 check --key="$A" && err_has "dump --salvage" "$damage: check advises dump --salvage"
  run 0 check --key="$A" --repair
  run 0 dump --key="$A" --out="$TMP/repaired.jsonl" --format=jsonl
  keys_of "$TMP/repaired.jsonl" | cmp -s - "$TMP/want" || fail "$damage: repair kept other keys than every one but the damaged: $(keys_of "$TMP/repaired.jsonl" | tr '\n' ' ')"
  cmp -s "$TMP/repaired.jsonl" "$TMP/salvaged.jsonl" 2>/dev/null || keys_of "$TMP/salvaged.jsonl" | cmp -s - "$TMP/want" || fail "$damage: the salvaged dump lacks entries"
  run 0 get --key="$A" k50 && out_is "value50" "$damage: a value after the damage survives"
  run 0 destroy --key="$A"
done

# ---------------------------------------------------- load that does not fit ---
section "load of a snapshot the store cannot hold"
# 12 entries of 100 KiB: more than a 1 MiB store holds.
python3 - "$TMP/big.jsonl" <<'PY'
import base64, json, sys
with open(sys.argv[1], "w") as f:
    for i in range(12):
        f.write(json.dumps({"key": "big%d" % i, "value_b64": base64.b64encode(bytes([i]) * 102400).decode()}) + "\n")
PY
run 0 help load && out_has "allow-evict" "help load: no eviction"
for mode in evict no-evict; do
  flag=(); [[ $mode == no-evict ]] && flag=(--no-evict)
  run 0 create --key="$A" --capacity=1MiB "${flag[@]}"
  for i in 1 2 3; do run 0 put --key="$A" "keep$i" "value$i"; done
  run 3 load --key="$A" --in="$TMP/big.jsonl" && err_has "nothing was loaded" "$mode: load that does not fit"
  if [[ $mode == evict ]]; then
    err_has "allow-evict" "$mode: the message names --allow-evict"
  elif grep -q -- "allow-evict" "$TMP/err"; then
    fail "$mode: the message advises --allow-evict, which a no-evict store refuses"
  fi
  run 0 stats --key="$A" --json && json_check "d['items'] == 3 and d['evictions'] == 0" "$mode: nothing loaded, nothing evicted"
  for i in 1 2 3; do run 0 get --key="$A" "keep$i" && out_is "value$i" "$mode: keep$i survives"; done
  run 0 destroy --key="$A"
done
run 0 create --key="$A" --capacity=1MiB
run 0 put --key="$A" keep1 value1
run 0 load --key="$A" --in="$TMP/big.jsonl" --allow-evict && err_has "evicted" "--allow-evict evicts, with a warning"
run 0 destroy --key="$A"
run 3 load --key="$B" --in="$TMP/big.jsonl" --create --capacity=1MiB && err_has "create it with --capacity=" "load --create too small"
expect_no_ipc "$B" "load --create that does not fit"
capacity=$(sed -n 's/.*--capacity=\([0-9]*MiB\).*/\1/p' "$TMP/err")
run 0 load --key="$B" --in="$TMP/big.jsonl" --create --capacity="$capacity" && out_has "^loaded 12 entries" "the suggested capacity holds it"
run 0 stats --key="$B" --json && json_check "d['items'] == 12 and d['evictions'] == 0" "suggested capacity: nothing evicted"
run 0 destroy --key="$B"

# ------------------------------------------- load fits stripe by stripe ---
section "a load checks each lock stripe it lands in: all or nothing"
# snapshot_of FILE KEYS...: a jsonl snapshot of 150 KiB values at KEYS.
snapshot_of() {
  python3 - "$@" <<'PY'
import base64, json, sys
with open(sys.argv[1], "w") as f:
    for i, key in enumerate(sys.argv[2:]):
        f.write(json.dumps({"key": key, "value_b64": base64.b64encode(bytes([i]) * 153600).decode()}) + "\n")
PY
}
# Two stripes of 1 MiB. Without eviction a stripe keeps three times its
# largest entry free, so it takes 3 such entries, and 5 fit the store as a
# whole; with eviction a stripe evicts past 15/16 of its share, so 8 in one
# stripe evict although the store as a whole holds 11.
for mode in no-evict evict; do
  flag=(); count=8
  [[ $mode == no-evict ]] && flag=(--no-evict) && count=5
  run 0 create --key="$C" --capacity=2MiB --stripes=2 --max-value=200KiB "${flag[@]}"
  run 0 info --key="$C" --json && json_check "d['lock_stripes'] == 2" "$mode: two stripes"
  # N keys of stripe 0, found by writing each candidate and seeing which
  # stripe grew (the helper does it in one process); the store is left empty.
  mapfile -t crowded < <("$HELPER" keys-in-stripe0 "$C" "$count")
  ((${#crowded[@]} == count)) || fail "$mode: found only ${#crowded[@]} keys of stripe 0"
  snapshot_of "$TMP/stripe0.jsonl" "${crowded[@]}"
  run 0 put --key="$C" keep value
  run 3 load --key="$C" --in="$TMP/stripe0.jsonl" && err_has "nothing was loaded" "$mode: one stripe overflows"
  err_has "stripe 0 of 2 would need" "$mode: the message names the stripe"
  run 0 stats --key="$C" --json && json_check "d['items'] == 1 and d['evictions'] == 0" "$mode: a stripe that overflows loads nothing"
  run 0 get --key="$C" keep && out_is "value" "$mode: the store's entry stays"
  run 0 destroy --key="$C"
done
# A no-evict store refuses --allow-evict before writing anything.
run 0 create --key="$C" --capacity=1MiB --no-evict
run 0 put --key="$C" keep value
run 3 load --key="$C" --in="$TMP/big.jsonl" --allow-evict && err_has "does not evict" "--allow-evict into a no-evict store"
err_has "nothing was loaded" "--allow-evict into a no-evict store: nothing loaded"
run 0 stats --key="$C" --json && json_check "d['items'] == 1" "--allow-evict into a no-evict store: nothing written"
run 0 destroy --key="$C"
run 2 load --key="$C" --in="$TMP/big.jsonl" --create --capacity=1MiB --no-evict --allow-evict && err_has "drop one of them" "--allow-evict with --create --no-evict"
expect_no_ipc "$C" "--allow-evict with --no-evict creates nothing"

# -------------------------------------------------- misleading settings ---
section "create settings that cannot be honoured are refused"
run 2 create --key="$C" --capacity=64KiB --max-value=1MiB && err_has "values can be up to [0-9]* bytes" "an explicit --max-value over what fits"
err_has "raise --capacity or lower --max-value" "--max-value: what to do"
expect_no_ipc "$C" "a refused --max-value creates nothing"
run 0 create --key="$C" --capacity=64KiB && out_has "values up to [0-9]* bytes (" "create prints the exact value limit"
run 0 info --key="$C" && out_has "values up to [0-9]* bytes" "info prints the exact value limit"
run 0 destroy --key="$C"
run 2 create --key="$C" --capacity=1000 && err_has "use at least [0-9]* bytes" "a capacity too small"
smallest=$(sed -n 's/.*use at least \([0-9]*\) bytes.*/\1/p' "$TMP/err")
run 0 create --key="$C" --capacity="$smallest" && out_has "created" "the suggested smallest capacity"
run 0 put --key="$C" k "$(printf 'v%.0s' {1..64})"
run 0 destroy --key="$C"
run 2 create --key="$C" --capacity=1MiB --items=1000000000000 && err_has "more than a capacity of" "an --items beyond the capacity"
expect_no_ipc "$C" "a refused --items creates nothing"
run 2 create --key="$C" --capacity=1000000000000000000 && err_has "32 GiB" "a capacity beyond the limit is a usage error"
run 2 create --key="$C" --capacity=32GiB && err_has "needs a segment of more than" "--capacity=32GiB: the segment is what is over the limit"
err_has "kernel.shmmax is" "--capacity=32GiB: the message names shmmax"
expect_no_ipc "$C" "a refused --capacity=32GiB creates nothing"
run 2 create --key="$C" --capacity=1MiB --default-ttl=0 && err_has "default-ttl=none" "--default-ttl=0 is refused like --ttl=0"
run 0 create --key="$C" --capacity=1MiB --default-ttl=none
run 0 info --key="$C" --json && json_check "d['default_ttl_ms'] == 0" "--default-ttl=none: no default TTL"
run 0 destroy --key="$C"

# ------------------------------------------------------ unbounded stdin ---
section "load --in=- does not spool without bound"
run 0 help load && out_has "16 times" "help load: the stdin bound"
run 0 create --key="$C" --capacity=64KiB
# A 64 KiB store's snapshot is at most 16 * 64 KiB + 1 MiB = 2 MiB.
head -c 3000000 /dev/zero | tr '\0' '{' >"$TMP/huge"
run_stdin "$TMP/huge" 3 load --key="$C" --in=- && err_has "more than 2097152 bytes" "stdin over the bound"
err_has "nothing was loaded" "stdin over the bound: nothing loaded"
run 0 stats --key="$C" --json && json_check "d['items'] == 0" "stdin over the bound: the store is untouched"
run 0 destroy --key="$C"

# --------------------------------------------- removed while attached ---
section "ls lists a store removed (ipcrm -m) while a process is attached"
run 0 create --key="$C" --capacity=1MiB
run 0 info --key="$C" --json
removed_id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["shm_id"])' "$TMP/out")
"$HELPER" hold-stripe "$C" >"$TMP/removed-held" 2>&1 &
holder=$!
BG_PIDS+=("$holder")
for _ in $(seq 200); do grep -q held "$TMP/removed-held" && break; sleep 0.05; done
ipcrm -m "$removed_id" || fail "ipcrm -m $removed_id"
# Listers of other tests on this host (kvcli ls, kvcli serve's scrapes) open
# every store for a moment, this one too; once it is removed no open can
# reach it, so wait until those have detached and only the holder is left.
for _ in $(seq 200); do
  [[ $(awk -v id="$removed_id" '$2 == id { print $7 }' /proc/sysvipc/shm) == 1 ]] && break
  sleep 0.05
done
run 0 ls --json && json_check "[(s['key'], s['status'], s['attached_processes']) for s in \
  d['stores'] if s['shm_id'] == $removed_id] == [('0x00000000', 'removed', 1)]" \
  "ls lists the removed store by shm id, with its attachment"
json_check "'until the last of them detaches' in [s for s in d['stores'] \
  if s['shm_id'] == $removed_id][0]['detail']" "ls says how long the removed store lives"
run 0 ls && out_has "^0x00000000  *$removed_id " "ls's table lists the removed store"
out_has "^shm id $removed_id: removed .*1 process was attached" "ls's line about the removed store"
run 3 info --key="$C" && err_has "no shmkv store" "info by key finds no removed store"
kill -KILL "$holder"
wait "$holder" 2>/dev/null
run 0 ls --json && json_check "not any(s['shm_id'] == $removed_id for s in d['stores'])" \
  "the removed store is gone once its last process detached"
"$HELPER" remove "$C" >/dev/null
expect_no_ipc "$C" "a store removed while attached"

report_and_exit kvcli_operator_test
