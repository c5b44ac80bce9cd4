#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs every test
# (plain, then under AddressSanitizer and UndefinedBehaviorSanitizer together,
# then under ThreadSanitizer), installs shmkv into a temporary prefix and
# builds the examples against it with plain compilers and from a downstream
# Bazel workspace (tools/check_embedding.sh), runs each libFuzzer target for
# FUZZ_SECONDS (default 15; longer runs: bash tools/run_fuzzers.sh SECONDS),
# and fails if the run left System V segments or semaphore sets behind.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

before=$(mktemp); after=$(mktemp)
trap 'rm -f "$before" "$after" "${guard_bin:-}" "${summary:-}"' EXIT
bash tools/ipc_snapshot.sh >"$before"

status=0
failed_steps=()
# Each failing step is named again at the end, with the last lines of each
# failing test's log: whoever reads only the tail of this run's output (a CI
# page) still sees what failed and why.
summary=$(mktemp)
run() {
  echo "==> $*" >&2
  "$@" || { status=1; failed_steps+=("$*"); }
}
# A `bazel test` step: as run, plus the failing tests' log tails kept for the
# summary (the next step's configuration replaces bazel-testlogs).
run_tests() {
  local out
  out=$(mktemp)
  echo "==> bazel test $*" >&2
  if ! bazel test "$@" 2>&1 | tee "$out" >&2; then
    status=1
    failed_steps+=("bazel test $*")
  fi
  local target log
  for target in $(grep -oE '^//[^ ]+ +(FAILED|TIMEOUT|NO STATUS|FLAKY)' "$out" |
    awk '{print $1}'); do
    log="bazel-testlogs/$(sed -e 's|^//||' -e 's|:|/|' <<<"$target")/test.log"
    {
      echo "--- $target ($*): last lines of its log"
      tail -n 40 "$log" 2>/dev/null || echo "(no log)"
    } >>"$summary"
  done
  rm -f "$out"
}
run bash tools/check_format.sh
run bazel build //...
# The leak check at the end uses the guard's `leaks`, which tells this run's
# leftovers from what another run beside it still holds.
guard_bin=$(mktemp)
if cp bazel-bin/testing/ipc_guard "$guard_bin" 2>/dev/null; then
  chmod +x "$guard_bin"  # mktemp made it 0600, and cp keeps that
else
  : >"$guard_bin"
fi
# A guard that was SIGKILLed (an interrupted earlier run) could not clean up:
# remove what it left in the test key ranges, so it is neither in the way nor
# on the machine any more.
if [[ -s "$guard_bin" ]]; then "$guard_bin" sweep >&2 || true; fi
# Every test runs: a result cached from an earlier run (Bazel's own cache, or
# a --disk_cache a developer set up) proves nothing about this tree's run.
run_tests --cache_test_results=no //...
run bash tools/check_embedding.sh
# One instrumented build for both: ASan and UBSan combine, and a second
# sanitizer pass over every suite would cost minutes of the time budget.
# --build_tests_only: the instrumented builds compile what the tests run,
# not the benchmarks and peers' drivers the plain build already checked.
run_tests --cache_test_results=no --build_tests_only --config=asan --config=ubsan //...
run_tests --cache_test_results=no --build_tests_only --config=tsan //...
run bash tools/run_fuzzers.sh "${FUZZ_SECONDS:-15}"

if [[ -s "$guard_bin" ]]; then
  leaked=$("$guard_bin" leaks "$before" || true)
else
  bash tools/ipc_snapshot.sh >"$after"
  leaked=$(comm -13 "$before" "$after" || true)
fi
if [[ -n "$leaked" ]]; then
  echo "test: the run left System V IPC objects behind:" >&2
  echo "$leaked" >&2
  status=1
  failed_steps+=("the check for System V IPC left behind")
fi
if ((status == 0)); then
  echo "test: all passed" >&2
else
  cat "$summary" >&2
  echo "test: FAILED; the steps that failed:" >&2
  printf '  %s\n' "${failed_steps[@]}" >&2
fi
exit $status
