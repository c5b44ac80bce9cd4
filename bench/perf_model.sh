#!/usr/bin/env bash
# Checks the inputs of doc/performance.md's model at 1 and 2 cores: kvbench
# runs of W1, W2 (W1 with 2 processes) and W7 with 1 and 2 processes, each
# under `perf stat`, and the cache-line probe.
#
#   bash bench/perf_model.sh [--repeats=5] [--ops=2000000] [--keys=1000000] [--rt-probe]
#
# Per run of a workload, kvbench runs twice under perf stat with no warmup:
# --ops=OPS/10 and --ops=OPS. Both pay the same setup (creating the store,
# preloading every key, forking, mapping pages in), so the difference of
# their counts over the difference of their operations is the cost of an
# operation alone, on CPU time (task-clock), which a busy machine disturbs
# less than wall time. Hardware counters (cycles, instructions, cache
# misses) are asked for too; a virtual machine without a virtual PMU answers
# "not supported", and the table says n/a. ops/s is the larger run's. Each
# line is the median over the repeats (min-max after it); the load average
# at the start and the end is printed: figures taken under load are not
# comparable with an idle machine's. --rt-probe (as root) runs the probe,
# half a second, under `chrt -f 10`, so that its two processes run at once
# on a busy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=5 ops=2000000 keys=1000000 rt=()
for arg in "$@"; do
  case "$arg" in
    --repeats=*) repeats=${arg#*=} ;;
    --ops=*) ops=${arg#*=} ;;
    --keys=*) keys=${arg#*=} ;;
    --rt-probe) rt=(chrt -f 10) ;;
    *) echo "usage: bash bench/perf_model.sh [--repeats=N] [--ops=N] [--keys=N] [--rt-probe]" >&2; exit 2 ;;
  esac
done
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
bazel build -c opt //bench:kvbench //bench/micro:line_transfer_probe 2>&1 |
  { grep -vE '^(Loading|Analyzing|INFO|\[)' || true; } >&2
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmkv-perf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
events=task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions,cache-misses,LLC-loads

# One count from perf stat's CSV (-x,): count FILE EVENT; empty when unsupported.
count() { awk -F, -v e="$2" '$3 == e && $1 ~ /^[0-9.]+$/ { print $1 }' "$1"; }
jget() { sed -n "s/.*\"$2\":\\(\"[^\"]*\"\\|[^,}]*\\).*/\\1/p" <<<"$1" | tr -d '"'; }
# (a1 - a0) / (b1 - b0) * scale, or "n/a" when a count is missing.
per_op() {
  awk -v a0="$1" -v a1="$2" -v b0="$3" -v b1="$4" -v k="$5" 'BEGIN {
    if (a0 == "" || a1 == "" || b1 <= b0) print "n/a"; else printf "%.3f", (a1 - a0) / (b1 - b0) * k }'
}
# median (min-max) of the numbers on stdin, or n/a.
summary() {
  sort -g | awk '/^[0-9.]+$/ { v[n++] = $1 } END {
    if (n == 0) { print "n/a"; exit }
    printf "%.1f (%.1f-%.1f)", (n % 2 ? v[(n-1)/2] : (v[n/2-1] + v[n/2]) / 2), v[0], v[n-1] }'
}

# run NAME PROCS ARGS...: one measured pair; appends a line to $tmp/NAME.
run() {
  local name=$1 procs=$2 small=$((ops / 10)) n line0 line1 ops0 ops1
  shift 2
  for n in "$small" "$ops"; do
    perf stat -x, -e "$events" -o "$tmp/perf.$n" -- "$bin/bench/kvbench" --procs="$procs" \
      --keys="$keys" --key-size=16 --value-size=100 --ops="$n" --warmup=0s --json --quiet "$@" \
      >"$tmp/out.$n" 2>"$tmp/err.$n" || { cat "$tmp/err.$n" >&2; return 1; }
  done
  line0=$(tail -1 "$tmp/out.$small") line1=$(tail -1 "$tmp/out.$ops")
  ops0=$(jget "$line0" ops) ops1=$(jget "$line1" ops)
  local f0="$tmp/perf.$small" f1="$tmp/perf.$ops" e vals=()
  for e in task-clock context-switches cycles instructions cache-misses LLC-loads; do
    # task-clock is in ms: ns per op; the other counts per op (switches per 1000 ops).
    local scale=1
    [[ $e == task-clock ]] && scale=1000000
    [[ $e == context-switches ]] && scale=1000
    vals+=("$(per_op "$(count "$f0" "$e")" "$(count "$f1" "$e")" "$ops0" "$ops1" "$scale")")
  done
  echo "$(jget "$line1" ops_per_sec) ${vals[*]} $(jget "$line1" lock_waits_measured)" >>"$tmp/$name"
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
for ((r = 1; r <= repeats; ++r)); do
  echo "repeat $r of $repeats ..." >&2
  run W1 1 --read-pct=95 --dist=uniform
  run W2 2 --read-pct=95 --dist=uniform
  run W7.1 1 --read-pct=100 --dist=zipf:0.99
  run W7.2 2 --read-pct=100 --dist=zipf:0.99
done
printf "%-6s %-30s %-26s %-22s %-14s %-14s %s\n" run "ops/s" "CPU ns/op (task-clock)" \
  "switches/1000 ops" "cycles/op" "instr/op" "lock waits"
for name in W1 W2 W7.1 W7.2; do
  col() { awk -v c="$1" '{ print $c }' "$tmp/$name" | summary; }
  printf "%-6s %-30s %-26s %-22s %-14s %-14s %s\n" "$name" "$(col 1)" "$(col 2)" "$(col 3)" \
    "$(col 4)" "$(col 5)" "$(col 8)"
done
echo "cache-misses/op: $(awk '{ print $6 }' "$tmp/W1" | summary); LLC-loads/op: $(awk '{ print $7 }' "$tmp/W1" | summary) (W1)"
echo "perf c2c: $(perf c2c record -o "$tmp/c2c.data" -- true 2>&1 | tail -1)"
echo
"${rt[@]}" "$bin/bench/micro/line_transfer_probe" --trials=15 --ops=200000
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
