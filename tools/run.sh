#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and shows shmkv
# doing its job — worker processes sharing expensive results through one
# store — then looks inside the store with kvcli.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
# Quiet when it works; on failure show the whole build output and stop (the
# binaries in bazel-bin would be stale).
if ! build_log=$(bazel build -c opt //tools/kvcli //examples:shared_cache 2>&1); then
  printf '%s\n' "$build_log" >&2
  exit 1
fi
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
kvcli="$bin/tools/kvcli/kvcli"
key=${SHMKV_DEMO_KEY:-0x5f3e0042}

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

"$kvcli" destroy --key="$key" 2>/dev/null || true
say "1. Create a store: one System V segment of 16 MiB at key $key"
echo "\$ kvcli create --key=$key --capacity=16MiB --max-value=64KiB"
"$kvcli" create --key="$key" --capacity=16MiB --max-value=64KiB

say "2. Four worker processes share it as a cache"
echo "Each answers 250,000 requests \"how many primes are below N?\" for 16 popular N."
echo "An answer is computed once, by whichever process misses first; everyone else hits."
"$bin/examples/shared_cache" --key="$key" --workers=4 --requests=250000 --keep

say "3. What is inside (kvcli info)"
"$kvcli" info --key="$key"
say "kvcli stats"
"$kvcli" stats --key="$key"
say "kvcli keys --long"
"$kvcli" keys --key="$key" --long

say "The store outlives the workers. Try (kvcli is bazel-bin/tools/kvcli/kvcli):"
kvcli=bazel-bin/tools/kvcli/kvcli
cat <<EOF2
  $kvcli get --key=$key primes-below:300000
  $kvcli stats --key=$key --watch
  $kvcli ls
  $kvcli destroy --key=$key        # remove it (segment and semaphore set)
EOF2
