#!/usr/bin/env bash
# kvbench end to end: a short forked run succeeds and reports JSON, also in
# batches (--batch), and the store it created is gone afterwards, also after
# SIGTERM; a store destroyed and re-created under it is reported as replaced,
# not as its own; a gets-only run reports the lock waits of its measurement.
#   kvbench_smoke_test.sh IPC_GUARD KVBENCH KVCLI
set -euo pipefail
guard="$1"
kvbench="$2"
kvcli="$3"
# Under the IPC guard, the stores live at keys of this run's range.
[[ -n "${SHMKV_TEST_KEY_RANGE:-}" ]] || exec "$guard" -- bash "$0" "$@"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
mapfile -t keys < <("$guard" keys 3 kvbench_smoke_test)

store_key() { sed -n 's/.*created a .* store at key \(0x[0-9a-f]*\);.*/\1/p' "$1"; }
exists() { awk -v k="$(( $1 ))" 'NR > 1 && $1 == k { found = 1 } END { exit !found }' /proc/sysvipc/shm; }

# 1. A short run: exact op count, JSON last line, no errors, store removed.
"$kvbench" --create-key="${keys[0]}" --procs=2 --threads=2 --keys=2000 --ops=20000 --warmup=0 --value-size=10-200 \
  --dist=zipf:0.99 --read-pct=80 --json >"$tmp/out" 2>"$tmp/err"
tail -n 1 "$tmp/out" | grep -q '"system":"shmkv"' || { echo "no JSON line"; cat "$tmp/out" "$tmp/err"; exit 1; }
tail -n 1 "$tmp/out" | grep -q '"ops":20000,' || { echo "wrong op count"; cat "$tmp/out"; exit 1; }
tail -n 1 "$tmp/out" | grep -q '"errors":0,' || { echo "errors"; cat "$tmp/out"; exit 1; }
tail -n 1 "$tmp/out" | grep -q '"batch":1,"requests":20000,' || { echo "not one key per request"; cat "$tmp/out"; exit 1; }
key=$(store_key "$tmp/err")
[[ "$key" == "${keys[0]}" ]] || { echo "store not at --create-key"; cat "$tmp/err"; exit 1; }
if exists "$key"; then echo "store $key left behind"; exit 1; fi

# 2. --batch=16: the same exact op count, in keys; 4 threads of 5000 keys
#    make 312 requests of 16 and one of 8 each. A bad --batch is refused.
"$kvbench" --create-key="${keys[0]}" --procs=2 --threads=2 --keys=2000 --ops=20000 --warmup=0 --batch=16 \
  --dist=zipf:0.99 --read-pct=80 --json >"$tmp/out3" 2>"$tmp/err3"
last=$(tail -n 1 "$tmp/out3")
for want in '"batch":16,"requests":1252,' '"ops":20000,' '"errors":0,' '"hit_ratio":1.0000,'; do
  grep -qF "$want" <<<"$last" || { echo "--batch=16: no $want"; cat "$tmp/out3" "$tmp/err3"; exit 1; }
done
if exists "${keys[0]}"; then echo "store ${keys[0]} left behind by --batch=16"; exit 1; fi
for bad in 0 1025 x; do
  rc=0
  "$kvbench" --batch="$bad" --keys=10 --ops=10 >"$tmp/out4" 2>"$tmp/err4" || rc=$?
  [[ $rc == 2 ]] || { echo "--batch=$bad: exit $rc, want 2"; cat "$tmp/err4"; exit 1; }
  grep -q -- '--batch' "$tmp/err4" || { echo "--batch=$bad: message does not name --batch"; cat "$tmp/err4"; exit 1; }
done

# 3. SIGTERM during the measurement: exit 143, store removed.
"$kvbench" --create-key="${keys[1]}" --procs=2 --keys=2000 --duration=60s --warmup=0 >"$tmp/out2" 2>"$tmp/err2" &
pid=$!
for _ in $(seq 100); do
  grep -q 'created a' "$tmp/err2" 2>/dev/null && break
  sleep 0.1
done
key=$(store_key "$tmp/err2")
[[ -n "$key" ]] || { kill -KILL "$pid"; echo "no store key printed"; cat "$tmp/err2"; exit 1; }
sleep 1
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[[ $rc == 143 ]] || { echo "exit $rc after SIGTERM, want 143"; cat "$tmp/err2"; exit 1; }
if exists "$key"; then echo "store $key left behind after SIGTERM"; exit 1; fi

# 4. The store kvbench attached to is destroyed and re-created mid-run: the
# new store's counters are not reported as the run's. kvbench's own process
# (not its clients) is stopped from the start of the measurement until the
# store is back, so the replacement happens before it reports, however slow
# the machine.
"$kvcli" create --key="${keys[2]}" --capacity=16MiB >/dev/null
"$kvbench" --key="${keys[2]}" --procs=1 --keys=2000 --duration=4s --warmup=0 --json >"$tmp/out5" 2>"$tmp/err5" &
pid=$!
until grep -q 'preloaded' "$tmp/err5" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "kvbench ended before measuring"; cat "$tmp/err5"; exit 1; }
  sleep 0.05
done
kill -STOP "$pid"
"$kvcli" destroy --key="${keys[2]}" >/dev/null
"$kvcli" create --key="${keys[2]}" --capacity=16MiB >/dev/null
kill -CONT "$pid"
rc=0
wait "$pid" || rc=$?
"$kvcli" destroy --key="${keys[2]}" >/dev/null
[[ $rc == 1 ]] || { echo "exit $rc after the store was replaced, want 1 (errors)"; cat "$tmp/err5"; exit 1; }
tail -n 1 "$tmp/out5" | grep -q '"store_replaced":true' || { echo "replaced store not reported"; cat "$tmp/out5"; exit 1; }
if tail -n 1 "$tmp/out5" | grep -q '"evictions":'; then echo "the new store's counters reported"; cat "$tmp/out5"; exit 1; fi
grep -q 'destroyed during the run and re-created' "$tmp/err5" || { echo "no warning"; cat "$tmp/err5"; exit 1; }
# 5. The hot-read shape (bench/run.sh W7: gets only, zipf 0.99, 2 processes):
#    every get hits, no put, and the report gives the lock waits of the
#    measured phase alone, at most those counted since the store was made.
"$kvbench" --create-key="${keys[0]}" --procs=2 --keys=2000 --ops=20000 --warmup=0 --value-size=100 \
  --read-pct=100 --dist=zipf:0.99 --json >"$tmp/out6" 2>"$tmp/err6"
last=$(tail -n 1 "$tmp/out6")
for want in '"ops":20000,' '"puts":0,' '"errors":0,' '"hit_ratio":1.0000,'; do
  grep -qF "$want" <<<"$last" || { echo "hot reads: no $want"; cat "$tmp/out6" "$tmp/err6"; exit 1; }
done
measured=$(sed -n 's/.*"lock_waits_measured":\([0-9]*\).*/\1/p' <<<"$last")
total=$(sed -n 's/.*"lock_waits":\([0-9]*\).*/\1/p' <<<"$last")
[[ -n "$measured" && -n "$total" ]] || { echo "hot reads: lock waits not reported"; echo "$last"; exit 1; }
((measured <= total)) || { echo "hot reads: $measured measured lock waits > $total in all"; exit 1; }
if exists "${keys[0]}"; then echo "store ${keys[0]} left behind by the hot-read run"; exit 1; fi
echo "kvbench smoke test: 5 passed, 0 failed"
