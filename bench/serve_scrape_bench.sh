#!/usr/bin/env bash
# What a scrape of kvcli serve costs the writers of a store: kvbench writes
# (every operation a Put) to one store, alone and then with one of these
# beside it, and prints its latency p99, p99.9 and max for each:
#
#   serve, no walk     kvcli serve --sizes-every=0, /metrics fetched every 0.1 s
#   serve, walk        kvcli serve --sizes-every=1ms: every scrape (one per
#                      0.5 s, the reuse window) also walks the store's keys
#   kvcli stats        `kvcli stats` run in a loop
#
# The cases take turns, --rounds times, so a change in the machine's load
# spreads over all of them (bench/RESULTS.md, "kvcli serve and the writers").
#
#   bash bench/serve_scrape_bench.sh [--keys=N] [--duration=T] [--rounds=N]
set -euo pipefail
cd "$(dirname "$0")/.."

keys=1000000
duration=5s
rounds=3
for arg in "$@"; do
  case "$arg" in
    --keys=*) keys=${arg#--keys=} ;;
    --duration=*) duration=${arg#--duration=} ;;
    --rounds=*) rounds=${arg#--rounds=} ;;
    *)
      echo "usage: $0 [--keys=N] [--duration=T] [--rounds=N]" >&2
      exit 2
      ;;
  esac
done

bazel build -c opt //tools/kvcli //bench:kvbench 2>&1 | { grep -vE '^(Loading|Analyzing|INFO|\[)' || true; } >&2
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
kvcli=$bin/tools/kvcli/kvcli
kvbench=$bin/bench/kvbench
key=0x6b62fe20 # in kvbench's range (bench/README.md)
tmp=$(mktemp -d)
side=""
cleanup() {
  [[ -z "$side" ]] || kill "$side" 2>/dev/null || true
  "$kvcli" destroy --key="$key" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$kvcli" create --key="$key" --capacity=$((keys * 320 + 64 * 1024 * 1024)) >/dev/null
"$kvbench" --key="$key" --keys="$keys" --read-pct=0 --duration=1s --warmup=0s >/dev/null 2>&1

# scrape_loop FLAGS: kvcli serve with FLAGS, fetched every 0.1 s until killed.
scrape_loop() {
  "$kvcli" serve --listen=127.0.0.1:0 "$@" >"$tmp/serve.out" 2>&1 &
  local pid=$! url=""
  trap 'kill $pid 2>/dev/null; wait $pid; exit 0' TERM
  for _ in $(seq 100); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/serve.out" | head -1 || true)
    [[ -n "$url" ]] && break
    sleep 0.05
  done
  while true; do
    curl -s "${url}metrics" >"$tmp/metrics" || true
    sleep 0.1
  done
}
stats_loop() {
  while true; do "$kvcli" stats --key="$key" >/dev/null; done
}

# run_case NAME [SIDE_COMMAND...]: one kvbench run with SIDE_COMMAND beside it.
run_case() {
  local name=$1
  shift
  side=""
  if (($# > 0)); then
    "$@" &
    side=$!
    sleep 1
  fi
  "$kvbench" --key="$key" --keys="$keys" --no-preload --read-pct=0 --duration="$duration" \
    --warmup=1s --json 2>/dev/null | tail -1 >"$tmp/result.json"
  local scrape="-"
  if [[ -n "$side" ]]; then
    [[ -s "$tmp/metrics" ]] &&
      scrape=$(awk '$1 == "shmkv_scrape_duration_seconds" {printf "%.1f", $2 * 1000}' "$tmp/metrics")
    kill "$side"
    wait "$side" 2>/dev/null || true
    side=""
    rm -f "$tmp/metrics"
  fi
  /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("| %s | %s | %.0f | %.1f | %.1f | %.0f | %s |" % (sys.argv[2], sys.argv[3], r["ops_per_sec"],
      r["p99_us"], r["p999_us"], r["max_us"], sys.argv[4]))' "$tmp/result.json" "$name" "$round" "$scrape"
}

echo "store: $keys keys of 100 B values; kvbench: 1 process, Put only, $duration per run"
echo
echo "| case | round | puts/s | p99 us | p99.9 us | max us | last scrape ms |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for round in $(seq "$rounds"); do
  run_case "alone"
  run_case "serve, no walk" scrape_loop --sizes-every=0
  run_case "serve, walk" scrape_loop --sizes-every=1ms
  run_case "kvcli stats" stats_loop
done
