#!/usr/bin/env bash
# Black-box tests of kvcli's selections of keys: keys --cursor/--count pages,
# --match globs, del --prefix/--match/--dry-run and dump --match/--prefix.
# Real binary, real stores; the other kvcli suites are listed in
# kvcli_entries_test.sh.
#
#   kvcli_scan_test.sh IPC_GUARD KVCLI HELPER   (bazel test //tests:kvcli_scan_test)
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
SCANK=${KEYS[0]}

# ------------------------------------------------- scans and bulk del ---
section "keys --cursor/--match, del --prefix/--match, dump --match"
run 0 create --key="$SCANK" --capacity=1MiB
# The keys to select from, written by one load (kvcli_entries_test checks
# put): s:00 to s:29 (values v00 to v29), and other:1, other:2, other:3, a*b
# and aXb (values v).
python3 - "$TMP/keys.jsonl" <<'PY'
import base64, json, sys
entries = [("s:%02d" % i, "v%02d" % i) for i in range(30)]
entries += [(k, "v") for k in ["other:1", "other:2", "other:3", "a*b", "aXb"]]
with open(sys.argv[1], "w") as f:
    for key, value in entries:
        f.write(json.dumps({"key": key, "value_b64": base64.b64encode(value.encode()).decode()}) + "\n")
PY
run 0 load --key="$SCANK" --in="$TMP/keys.jsonl" && out_has "^loaded 35 entries" "load of the keys"
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
for key in "${KEYS[@]}"; do expect_no_ipc "$key" "end of test"; done

report_and_exit kvcli_scan_test
