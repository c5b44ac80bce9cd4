#!/usr/bin/env bash
# Black-box tests of kvcli: runs the real binary against real stores and
# checks exit codes, stdout, the one-line stderr contract and --json output
# (parsed with python3). This part: what kvcli meets besides a healthy store
# of its own: foreign segments, other owners and modes, other layouts, held
# locks, full stores, path names, stores destroyed mid-command. The others
# are listed in kvcli_entries_test.sh; kvcli_lib.sh holds what they share.
#
#   kvcli_hazards_test.sh IPC_GUARD KVCLI HELPER   (bazel test //tests:kvcli_hazards_test)
#
# It runs under the IPC guard (testing/): every store lives at a key
# of the run's range, and whatever is left there when the script ends, however
# it ends, is removed and reported. The EXIT trap removes them too.
set -uo pipefail

# Checks the arguments, re-runs this script under the IPC guard, sets GUARD,
# KVCLI, HELPER and TMP, and defines the checks.
# shellcheck source=tests/kvcli_lib.sh
source "$(dirname "$0")/kvcli_lib.sh" "$@"

take_keys 9
K2=${KEYS[0]}       # no store ever
FOREIGN=${KEYS[1]}  # a segment that is not a store
OWNED=${KEYS[2]}    # a store given to another uid
OLD=${KEYS[3]}      # a store with another layout version
LOCKED=${KEYS[4]}   # a store whose lock is held
FULL=${KEYS[5]}     # a small store that may not evict
SMALLKEY=${KEYS[6]} # a store with short keys
GONE=${KEYS[7]}     # a store destroyed while a command runs
MODED=${KEYS[8]}    # a store whose mode refuses another user

# A snapshot of a small store, for the loads that must be refused.
run 0 create --key="$GONE" --capacity=1MiB
run 0 put --key="$GONE" k v
run 0 dump --key="$GONE" --out="$TMP/a.snap"
run 0 destroy --key="$GONE"

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
  # missing and who can recreate it; this test's other stores stay ok (ls
  # also lists what tests running beside this one have at their keys).
  mine=$(printf "'%s'," "${KEYS[@]}")
  run 0 ls --json && json_check "[(s['status'], 'uid 65534' in s['detail'] and 'kvcli info' in \
    s['detail']) for s in d['stores'] if s['key'] == '$OWNED'] == [('semaphore_missing', True)] \
    and all(s['status'] == 'ok' for s in d['stores'] if s['key'] in [$mine] and s['key'] != '$OWNED')" \
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
# claim_ftok_key FILE PROJ: sets path_key to ftok_key FILE PROJ and adds it
# to KEYS (checked at the end); false, saying the section is skipped, when
# something already holds that key.
claim_ftok_key() {
  path_key=$(ftok_key "$1" "$2")
  KEYS+=("$path_key")
  if [[ "$(ipc_state "$path_key")" != "shm=0 sem=0" ]]; then
    echo "(skipped: ftok key $path_key is in use)" >&2
    return 1
  fi
}
touch "$TMP/pathfile"
if claim_ftok_key "$TMP/pathfile" 7; then
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
if claim_ftok_key "$forged" 9; then
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
  if claim_ftok_key "$forged" 9; then
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
for key in "${KEYS[@]}"; do expect_no_ipc "$key" "end of test"; done

report_and_exit kvcli_hazards_test
