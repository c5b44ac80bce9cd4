#!/usr/bin/env bash
# Black-box tests of kvcli: runs the real binary against real stores and
# checks exit codes, stdout, the one-line stderr contract and --json output
# (parsed with python3). This part: help, usage errors and commands on a
# missing store. The others are listed in kvcli_entries_test.sh;
# kvcli_lib.sh holds what they share.
#
#   kvcli_usage_test.sh IPC_GUARD KVCLI HELPER   (bazel test //tests:kvcli_usage_test)
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
K=${KEYS[0]}  # a key with no store (usage errors must not create one)
K2=${KEYS[1]} # no store ever

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


section "help create states the entry overhead"
run 0 help create && out_has "28-byte header each" "help create: the header is 28 bytes"
grep -q "32 bytes each" "$TMP/out" && fail "help create still says 32 bytes each"

# -------------------------------------------------------------- cleanup ---
section "cleanup"
for key in "${KEYS[@]}"; do expect_no_ipc "$key" "end of test"; done

report_and_exit kvcli_usage_test
