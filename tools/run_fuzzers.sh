#!/usr/bin/env bash
# Builds the libFuzzer targets under AddressSanitizer and runs each for
# SECONDS (default 60). Fails if any target crashes, leaks, times out on an
# input or breaks one of its invariants; the log and the offending input are
# kept and their paths printed.
#
#   bash tools/run_fuzzers.sh [SECONDS]
#
# Environment:
#   FUZZ_WORKDIR  where corpora, logs and crash inputs go (default: a new
#                 temporary directory, removed after a clean run). Point it at
#                 a lasting directory to grow the corpora across runs.
# A directory <package>/<target>_corpus, if present, is read as seed inputs.
set -euo pipefail

# The fuzz targets: cc_binary rules tagged "fuzzer" and "manual", built with
# -fsanitize=fuzzer. Add new ones here.
FUZZ_TARGETS=(
  //kv/util:parse_fuzzer
  //kv/util:glob_fuzzer
  //kv/snapshot:snapshot_fuzzer
  //tests/fuzz:segment_fuzzer
  //tests/fuzz:c_api_fuzzer
  //tools/kvcli:kvcli_fuzzer
)

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: $0 [SECONDS]  (a whole number of seconds, default 60)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."

# -fsanitize=fuzzer-no-link gives the code under test the coverage
# instrumentation libFuzzer steers by; the targets themselves add
# -fsanitize=fuzzer, which also links libFuzzer's main().
bazel build --config=asan --copt=-fsanitize=fuzzer-no-link "${FUZZ_TARGETS[@]}"

keep_workdir=1
if [[ -z "${FUZZ_WORKDIR:-}" ]]; then
  FUZZ_WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/shmkv-fuzz.XXXXXX")
  keep_workdir=0
fi
mkdir -p "$FUZZ_WORKDIR"

# "//a/b:c" -> "a/b" and "c"; "//a/b" -> "a/b" and "b".
package_of() { local p=${1#//}; echo "${p%%:*}"; }
name_of() { local p=${1#//}; if [[ $p == *:* ]]; then echo "${p##*:}"; else echo "${p##*/}"; fi; }

# Copy the binaries out right away: a later bazel build (someone else's, with
# other flags) rewrites bazel-bin.
for label in "${FUZZ_TARGETS[@]}"; do
  pkg=$(package_of "$label"); name=$(name_of "$label")
  dir="$FUZZ_WORKDIR/${pkg//\//_}_$name"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -f "bazel-bin/$pkg/$name" "$dir/$name"
done

status=0
for label in "${FUZZ_TARGETS[@]}"; do
  pkg=$(package_of "$label"); name=$(name_of "$label")
  dir="$FUZZ_WORKDIR/${pkg//\//_}_$name"
  corpora=("$dir/corpus")
  if [[ -d "$pkg/${name}_corpus" ]]; then corpora+=("$pkg/${name}_corpus"); fi
  echo "==> $label for ${seconds}s" >&2
  # -print_funcs=0: naming each newly covered function starts llvm-symbolizer
  # as a child of the fuzzing process; it outlives that process by a moment,
  # and a target that runs under the IPC guard then fails as having left a
  # process running. A crash report still names its functions.
  if ASAN_OPTIONS="detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    "$dir/$name" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 -print_funcs=0 \
    -artifact_prefix="$dir/artifacts/" "${corpora[@]}" >"$dir/log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
    echo "    ok: ${runs:-?} inputs run, corpus $(find "$dir/corpus" -type f | wc -l) files" >&2
  else
    status=1
    keep_workdir=1
    tail -n 40 "$dir/log" >&2
    echo "    FAILED: $label; log $dir/log, failing input in $dir/artifacts/" >&2
  fi
done

if ((keep_workdir == 0)); then rm -rf "$FUZZ_WORKDIR"; fi
if ((status == 0)); then echo "run_fuzzers: all clean" >&2; else echo "run_fuzzers: FAILED" >&2; fi
exit $status
