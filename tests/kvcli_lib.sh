# Shared by the kvcli black-box tests (kvcli_*_test.sh here and in tests/near):
# sourced first, with the script's arguments IPC_GUARD KVCLI HELPER. Re-runs
# the script under the IPC guard (testing/) unless it already is; sets
# GUARD, KVCLI and HELPER; sets up TMP (removed at exit, with every store at a
# key in KEYS and every process in BG_PIDS); and defines the checks: run,
# out_is, out_has, err_has, json_check, expect_no_ipc, report_and_exit...
if (($# != 3)); then
  echo "usage: $0 IPC_GUARD KVCLI HELPER" >&2
  exit 2
fi
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
GUARD=$(abspath "$1")
[[ -n "${SHMKV_TEST_KEY_RANGE:-}" ]] || exec "$GUARD" -- bash "$0" "$@"
KVCLI=$(abspath "$2")
HELPER=$(abspath "$3")

TMP=$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/${0##*/}.XXXXXX")
KEYS=()
BG_PIDS=()
cleanup() {
  local pid key
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  for key in "${KEYS[@]}"; do "$HELPER" remove "$key" >/dev/null 2>&1; done
  rm -rf "$TMP"
}
trap cleanup EXIT

FAILURES=0
CHECKS=0
fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}
# Each section says when it starts, in seconds since the suite started: a
# slow suite shows where its time goes.
section() { echo "--- $* (at ${SECONDS}s)" >&2; }

# Checks kvcli's stderr contract for a finished run: a failure is one line
# starting "kvcli: ", and a usage error (2) adds one "usage: " line.
check_stderr() {
  local what=$1 lines
  ((RC == 0)) && return 0
  lines=$(wc -l <"$TMP/err")
  if [[ "$(head -c 7 "$TMP/err")" != "kvcli: " ]]; then
    fail "$what: stderr does not start with 'kvcli: ': $(head -c 500 "$TMP/err")"
  elif ((RC == 2)); then
    if ((lines != 2)) || ! sed -n 2p "$TMP/err" | grep -q '^usage: kvcli'; then
      fail "$what: a usage error must be one error line plus a usage line: $(cat "$TMP/err")"
    fi
  elif ((lines != 1)); then
    fail "$what: an error must be one line, got $lines: $(cat "$TMP/err")"
  fi
}

# run WANT_RC ARGS...: runs kvcli with stdin from $STDIN (default /dev/null);
# stdout goes to $TMP/out, stderr to $TMP/err, the status to RC. With
# KVCLI_PRELOAD set, that library is preloaded into kvcli alone, never into
# the tools the checks run (a sanitizer build's library cannot load there).
STDIN=/dev/null
run() {
  local want=$1
  shift
  CHECKS=$((CHECKS + 1))
  if [[ -n "${KVCLI_PRELOAD:-}" ]]; then
    LD_PRELOAD="$KVCLI_PRELOAD" "$KVCLI" "$@" <"$STDIN" >"$TMP/out" 2>"$TMP/err"
  else
    "$KVCLI" "$@" <"$STDIN" >"$TMP/out" 2>"$TMP/err"
  fi
  RC=$?
  if [[ "$RC" != "$want" ]]; then
    fail "kvcli $* exited $RC, want $want; stderr: $(head -c 1000 "$TMP/err")"
    return 1
  fi
  check_stderr "kvcli $*"
  return 0
}
run_stdin() {
  local input=$1
  shift
  STDIN=$input run "$@"
}

out_is() { [[ "$(cat "$TMP/out")" == "$1" ]] || fail "$2: stdout is '$(head -c 500 "$TMP/out")', want '$1'"; }
out_has() { grep -q -- "$1" "$TMP/out" || fail "$2: stdout lacks '$1': $(head -c 1000 "$TMP/out")"; }
err_has() { grep -q -- "$1" "$TMP/err" || fail "$2: stderr lacks '$1': $(head -c 1000 "$TMP/err")"; }
out_empty() { [[ ! -s "$TMP/out" ]] || fail "$1: stdout should be empty: $(head -c 500 "$TMP/out")"; }

# json_check EXPR WHAT: parses $TMP/out (one JSON document a line) and
# evaluates the Python expression EXPR with d = the only document (or None),
# docs = all of them, b64 = base64 decoding to bytes.
json_check() {
  CHECKS=$((CHECKS + 1))
  if ! python3 - "$1" "$TMP/out" <<'PY'; then
import base64, json, sys
expr, path = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    text = f.read().decode("utf-8")
docs = [json.loads(line) for line in text.split("\n") if line]
d = docs[0] if len(docs) == 1 else None
ok = eval(expr, {"d": d, "docs": docs, "b64": base64.b64decode})
sys.exit(0 if ok else 1)
PY
    fail "$2: JSON check failed: $1; output: $(head -c 2000 "$TMP/out")"
  fi
}

ipc_state() { "$HELPER" exists "$1"; }
expect_no_ipc() {
  local state
  state=$(ipc_state "$1")
  [[ "$state" == "shm=0 sem=0" ]] || fail "$2: IPC objects left at key $1: $state"
}


# report_and_exit NAME: the closing line; exit 1 if any check failed.
report_and_exit() {
  if ((FAILURES > 0)); then
    echo "$1: $FAILURES of $CHECKS checks failed" >&2
    exit 1
  fi
  echo "$1: all $CHECKS checks passed" >&2
  exit 0
}
