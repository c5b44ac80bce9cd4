#!/usr/bin/env bash
# kvcli serve's dashboard in a real browser: headless Chromium driven by
# Selenium (tests/dashboard_browser.py) loads the page with no console
# errors, lists the store, a chart's latest point moves after a short kvbench
# run writes to it, and the per-stripe fill axis fits a store that is nearly
# empty; the largest entries' key names are hidden without --show-keys and
# shown with it. With SCREENSHOT=FILE set, also saves the README's screenshot.
#
#   kvcli_dashboard_test.sh IPC_GUARD KVCLI HELPER BROWSER_SCRIPT KVBENCH
set -uo pipefail

if [[ -z "${DASHBOARD_SCRIPT:-}" ]]; then
  [[ "${4:-}" == *dashboard_browser.py && "${5:-}" == *kvbench ]] ||
    { echo "usage: $0 IPC_GUARD KVCLI HELPER BROWSER_SCRIPT KVBENCH" >&2; exit 2; }
  DASHBOARD_SCRIPT=$(realpath "$4")
  DASHBOARD_KVBENCH=$(realpath "$5")
  export DASHBOARD_SCRIPT DASHBOARD_KVBENCH
fi
# shellcheck source=tests/kvcli_lib.sh
source "$(dirname "$0")/kvcli_lib.sh" "${@:1:3}"

mapfile -t KEYS < <("$GUARD" keys 2 kvcli_dashboard_test.sh)
if ((${#KEYS[@]} != 2)); then
  echo "FAIL: could not find free System V keys" >&2
  exit 1
fi
S=${KEYS[0]}
OTHER=${KEYS[1]}

run 0 create --key="$S" --capacity=64MiB --stripes=4
run 0 create --key="$OTHER" --capacity=1MiB
for i in $(seq 8); do run 0 put --key="$S" "secret:key$i" "$(head -c $((i * 300)) /dev/zero | tr '\0' v)"; done
run 0 get --key="$S" secret:key1 >/dev/null

# start_serve NAME [FLAGS]: a kvcli serve on a free port; its URL in $TMP/NAME.url.
start_serve() {
  local name=$1 pid url=""
  shift
  "$KVCLI" serve --listen=127.0.0.1:0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  pid=$!
  BG_PIDS+=("$pid")
  echo "$pid" >"$TMP/$name.pid"
  for _ in $(seq 200); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$TMP/$name.out" | head -1)
    [[ -n "$url" ]] && break
    sleep 0.05
  done
  CHECKS=$((CHECKS + 1))
  [[ -n "$url" ]] || fail "kvcli serve $* did not start: $(cat "$TMP/$name.err")"
  [[ -z "$url" ]] || echo "$url" >"$TMP/$name.url"
}

start_serve hidden --sizes-every=10s
start_serve shown --show-keys --sizes-every=10s
[[ -s "$TMP/hidden.url" && -s "$TMP/shown.url" ]] || report_and_exit kvcli_dashboard_test
CHECKS=$((CHECKS + 1))
result=$(/usr/bin/python3 "$DASHBOARD_SCRIPT" "$S" "$DASHBOARD_KVBENCH" "$(cat "$TMP/hidden.url")" \
  "$(cat "$TMP/shown.url")" "${SCREENSHOT:-}" 2>&1)
[[ "$result" == ok ]] || fail "dashboard in Chromium: $result"
for name in hidden shown; do
  kill -TERM "$(cat "$TMP/$name.pid")"
  wait "$(cat "$TMP/$name.pid")" || fail "kvcli serve ($name) did not stop cleanly"
done
report_and_exit kvcli_dashboard_test
