#!/usr/bin/env bash
# The long crash-torture run: four writers, one SIGKILLed at a random instant
# and restarted, at least ROUNDS times (default 5000) and, while SECONDS
# (default 600) last, up to 4 x ROUNDS,
# then the integrity, durability and space checks of
# tests/reliability/crash_torture_test.cc. The suite runs a short version.
#   bash tools/torture.sh [ROUNDS] [SECONDS] [bazel flags, e.g. --config=asan]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5000}"
seconds="${2:-600}"
shift $(( $# >= 2 ? 2 : $# ))
bash tools/setup.sh
bazel test "$@" //tests/reliability:crash_torture_test --nocache_test_results \
  --test_output=all --test_timeout=$((seconds + 300)) \
  --test_env=TORTURE_ROUNDS="$rounds" --test_env=TORTURE_SECONDS="$seconds"
