#!/usr/bin/env bash
# The IPC guard's promises, with real processes: exit statuses pass through;
# a test killed with its store alive fails naming the test and the key, and
# the store is gone afterwards; a test that leaves a process running fails;
# `leaks` and `sweep` tell a dead guard's leftovers from a running one's.
#   ipc_guard_test.sh IPC_GUARD KVCLI
set -uo pipefail
guard=$1
kvcli=$2
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/ipc_guard_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
exists_at() {  # KEY: a segment or semaphore set exists at KEY
  local k=$(($1))
  awk -v k="$k" 'NR > 1 && $1 == k { found = 1 } END { exit !found }' \
    /proc/sysvipc/shm /proc/sysvipc/sem
}

# 1. The program's exit status is the guard's; keys come from the range.
"$guard" -- bash -c 'exit 3'
rc=$?
[[ $rc == 3 ]] || fail "exit 3 came back as $rc"
"$guard" -- bash -c '[[ -n "$SHMKV_TEST_KEY_RANGE" ]] && k=$("$0" keys 2 Owner) &&
  [[ $(echo "$k" | sort -u | wc -l) == 2 ]]' "$guard" || fail "keys: two distinct keys"
"$guard" keys 1 Nobody 2>"$tmp/err" && fail "keys outside a guarded run succeeded"
grep -q "run the test under the IPC guard" "$tmp/err" || fail "keys outside: $(cat "$tmp/err")"

# 2. A test SIGKILLed with a store (segment + semaphore set) alive.
"$guard" -- bash -c 'k=$("$0" keys 1 Suite.DiesWithAStore) &&
  "$1" create --key="$k" --capacity=1MiB >/dev/null && kill -KILL $$' "$guard" "$kvcli" \
  2>"$tmp/err"
rc=$?
[[ $rc == 137 ]] || fail "killed test: status $rc, want 137"
grep -q "killed by signal 9" "$tmp/err" || fail "killed test: no signal named: $(cat "$tmp/err")"
key=$(sed -n 's/.*test Suite.DiesWithAStore left a shared-memory segment at key \(0x[0-9a-f]*\).*/\1/p' \
  "$tmp/err")
[[ -n "$key" ]] || fail "killed test: leaked segment not blamed on its test: $(cat "$tmp/err")"
grep -q "test Suite.DiesWithAStore left a semaphore set at key $key" "$tmp/err" ||
  fail "killed test: leaked semaphore set not reported: $(cat "$tmp/err")"
[[ -n "$key" ]] && exists_at "$key" && fail "killed test: objects still at $key"

# 3. A test that succeeds but leaves a store fails.
"$guard" -- bash -c 'k=$("$0" keys 1 Suite.Forgets) &&
  "$1" create --key="$k" --capacity=1MiB >/dev/null' "$guard" "$kvcli" 2>"$tmp/err"
rc=$?
[[ $rc == 1 ]] || fail "leaky test: status $rc, want 1"
grep -q "test Suite.Forgets left a shared-memory segment" "$tmp/err" ||
  fail "leaky test: $(cat "$tmp/err")"

# 4. A test that leaves a process running fails, and the process is killed.
"$guard" -- bash -c 'sleep 300 & echo $! >"$0"' "$tmp/pid" 2>"$tmp/err"
rc=$?
[[ $rc == 1 ]] || fail "stray process: status $rc, want 1"
grep -q "left 1 process running; killed" "$tmp/err" || fail "stray process: $(cat "$tmp/err")"
kill -0 "$(cat "$tmp/pid")" 2>/dev/null && fail "stray process still alive"

# 4b. A stray process that takes a while to die (it frees 512 MiB it
# touched) is still one process: the guard counts each it killed once.
"$guard" -- bash -c '/usr/bin/python3 -c "import sys, time
b = b\"x\" * (512 << 20)
open(sys.argv[1], \"w\").write(\"ready\")
time.sleep(300)" "$0" &
for _ in $(seq 600); do [[ -s "$0" ]] && break; sleep 0.05; done' "$tmp/big" 2>"$tmp/err"
rc=$?
[[ $rc == 1 ]] || fail "slow-dying stray process: status $rc, want 1"
grep -q "left 1 process running; killed" "$tmp/err" ||
  fail "slow-dying stray process: $(cat "$tmp/err")"

# 5. SIGTERM to the guard (bazel's timeout) ends the test and still cleans up.
"$guard" -- bash -c 'k=$("$0" keys 1 Suite.Hangs) && echo "$k" >"$2" &&
  "$1" create --key="$k" --capacity=1MiB >/dev/null && echo ready >>"$2" && sleep 300' \
  "$guard" "$kvcli" "$tmp/hang" 2>"$tmp/err" &
gpid=$!
for _ in $(seq 200); do grep -q ready "$tmp/hang" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$gpid"
wait "$gpid"
rc=$?
[[ $rc == 137 ]] || fail "SIGTERM: status $rc, want 137 (the test killed)"
key=$(head -n 1 "$tmp/hang" 2>/dev/null)
[[ -n "$key" ]] && exists_at "$key" && fail "SIGTERM: objects still at $key"
grep -q "test Suite.Hangs left" "$tmp/err" || fail "SIGTERM: $(cat "$tmp/err")"

# 6. `leaks` ignores what a running guard holds, and reports what a guard
#    that was SIGKILLed left (its claim set and its test's store).
snapshot() {
  { tail -n +2 /proc/sysvipc/shm | awk '{print "shm key=" $1 " id=" $2}'
    tail -n +2 /proc/sysvipc/sem | awk '{print "sem key=" $1 " id=" $2}'; } | sort
}
snapshot >"$tmp/before"
rm -f "$tmp/live"
"$guard" -- bash -c 'k=$("$0" keys 1 Suite.Runs) && "$1" create --key="$k" --capacity=1MiB \
  >/dev/null && echo "$k" >"$2" && sleep 300' "$guard" "$kvcli" "$tmp/live" 2>/dev/null &
gpid=$!
for _ in $(seq 200); do [[ -s "$tmp/live" ]] && break; sleep 0.05; done
"$guard" leaks "$tmp/before" >"$tmp/leaks" || fail "leaks: a running guard's store reported: $(cat "$tmp/leaks")"
kill -KILL "$gpid"
wait "$gpid" 2>/dev/null
key=$(cat "$tmp/live")
for _ in $(seq 100); do  # the test process dies with its guard (PR_SET_PDEATHSIG)
  pgrep -f "sleep 300" >/dev/null || break
  sleep 0.05
done
"$guard" leaks "$tmp/before" >"$tmp/leaks"
rc=$?
[[ $rc == 1 ]] || fail "leaks after a dead guard: status $rc, want 1"
grep -q "shared-memory segment at key $key (id [0-9]*): in a test key range whose guard is gone" \
  "$tmp/leaks" || fail "leaks: the dead guard's store not reported: $(cat "$tmp/leaks")"
grep -q "semaphore set at key 0x[0-9a-f]*00 " "$tmp/leaks" ||
  fail "leaks: the dead guard's claim not reported: $(cat "$tmp/leaks")"
# 7. `sweep` removes what the dead guard left: its test's store, then its
#    claim; it leaves a running guard's range alone.
claim=$(printf '0x%08x' $(( key & ~0xff )))
"$guard" -- bash -c 'k=$("$0" keys 1 Suite.Lives) && "$1" create --key="$k" --capacity=1MiB \
  >/dev/null && echo "$k" >"$2" && sleep 300' "$guard" "$kvcli" "$tmp/alive" 2>/dev/null &
apid=$!
for _ in $(seq 200); do [[ -s "$tmp/alive" ]] && break; sleep 0.05; done
"$guard" sweep >"$tmp/sweep" 2>&1 || fail "sweep: status $?: $(cat "$tmp/sweep")"
grep -q "removed the shared-memory segment at key $key " "$tmp/sweep" ||
  fail "sweep: the dead guard's store not removed: $(cat "$tmp/sweep")"
grep -q "removed the semaphore set at key $claim " "$tmp/sweep" ||
  fail "sweep: the dead guard's claim not removed: $(cat "$tmp/sweep")"
exists_at "$key" && fail "sweep: objects still at $key"
exists_at "$claim" && fail "sweep: claim still at $claim"
alive=$(cat "$tmp/alive")
exists_at "$alive" || fail "sweep: removed the store of a running guard at $alive"
kill -TERM "$apid"
wait "$apid" 2>/dev/null
# Whatever the sweep failed to remove, so that this test leaves nothing.
"$kvcli" destroy --key="$key" >/dev/null 2>&1
ipcrm -S "$claim" 2>/dev/null

if ((failures > 0)); then
  echo "ipc_guard_test: $failures failed" >&2
  exit 1
fi
echo "ipc_guard_test: all passed"
