#!/usr/bin/env bash
# Uses shmkv as a user of each way in would (README "Embedding shmkv"):
#  1. installs it into a temporary prefix (bazel run //:install), builds the
#     C and C++ examples there with plain compiler commands and pkg-config,
#     shared and static, and runs them sharing one store with the installed
#     kvcli; builds the near cache's C example (pkg-config shmkv-near) and
#     reads through it from a redis-server kept in step by the installed
#     kvsync, and the README's C++ near-cache example (shmkv/near/*.h)
#     the same way;
#  2. builds examples/downstream, a separate Bazel workspace that depends on
#     @shmkv, and runs its programs on a store kvcli also reads.
# Stores live at keys of an IPC guard range and are removed however the
# script ends. Part of the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [[ -z "${SHMKV_TEST_KEY_RANGE:-}" ]]; then
  bazel build //testing:ipc_guard >/dev/null 2>&1 || bazel build //testing:ipc_guard
  guard=$(mktemp)
  cp bazel-bin/testing/ipc_guard "$guard"
  chmod +x "$guard"
  rc=0
  SHMKV_GUARD="$guard" "$guard" -- bash "$0" "$@" || rc=$?
  rm -f "$guard"
  exit $rc
fi
guard=$SHMKV_GUARD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmkv-embedding.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mapfile -t keys < <("$guard" keys 4 check_embedding)
fail() {
  echo "check_embedding: FAIL: $*" >&2
  exit 1
}
expect() {  # WANT TEXT WHAT
  [[ "$2" == *"$1"* ]] || fail "$3: got '$2', want it to contain '$1'"
}

echo "== install into a temporary prefix" >&2
prefix=$tmp/prefix
bazel run //:install -- --prefix="$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "bazel run //:install"; }
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
kvcli=$prefix/bin/kvcli
for f in include/shmkv/store.h include/shmkv/shmkv.h include/shmkv/near.h \
  include/shmkv/near/near_cache.h include/shmkv/near/sync_state.h lib/libshmkv.a \
  lib/libshmkv_near.a lib/pkgconfig/shmkv.pc lib/pkgconfig/shmkv-static.pc \
  lib/pkgconfig/shmkv-near.pc lib/pkgconfig/shmkv-near-static.pc bin/kvcli bin/kvsync bin/kvbench \
  lib/python3/dist-packages/shmkv.*.so lib/node_modules/shmkv/shmkv.node \
  lib/node_modules/shmkv/index.js lib/node_modules/shmkv/index.d.ts lib/systemd/system/kvcli-serve.service \
  lib/systemd/system/kvsync@.service; do
  compgen -G "$prefix/$f" >/dev/null || fail "not installed: $f"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$prefix/lib/systemd/system/kvcli-serve.service" >"$tmp/units.log" 2>&1 ||
    fail "kvcli-serve.service: $(cat "$tmp/units.log")"
fi
# exports LIB PATTERN: LIB (libNAME.so) links to its soname libNAME.so.0 and
# exports nothing but the symbols PATTERN (an extended regex) matches.
exports() {
  [[ "$(readlink "$prefix/lib/$1")" == "$1.0" ]] || fail "$1 link"
  local soname leaked
  soname=$(readelf -d "$prefix/lib/$1.0" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
  [[ "$soname" == "$1.0" ]] || fail "$1: soname is '$soname'"
  leaked=$(nm -D --defined-only "$prefix/lib/$1.0" | c++filt |
    awk '$2 ~ /[TDRBVW]/ { $1 = ""; $2 = ""; print }' | grep -v -E "^ +($2)" || true)
  [[ -z "$leaked" ]] || fail "$1 exports more than the API: $(echo "$leaked" | head -5)"
}
# Only the C API and the public C++ API.
exports libshmkv.so 'shmkv_|shmkv::(Store|StoreName|Clock|SystemClock)::|shmkv::(ListSegments|ProbeSegment|DestroyStore|SupportedLayoutVersion|PlanStore|SizeBucketOf|MeasureEntrySizes|LargestEntries|IsStoreDestroyed)\(|(typeinfo|typeinfo name|vtable) for shmkv::'
# Only the near cache's C API and its public C++ API (the names of
# packaging/libshmkv_near.lds, none of the Redis client); the store comes
# from libshmkv, and only the near cache needs hiredis.
exports libshmkv_near.so 'shmkv_near_|shmkv::near::(NearCache::|(ReadPathName|SyncPhaseName|MonotonicNowMs|MonotonicNowNs|HostBootId|EvaluateSync|KvsyncMayBeRunning|WrittenByThisProcess|SetThisProcess|ReadSyncState|FormatSyncState|ParseSyncState)(\[abi:cxx11\])?\()'
readelf -d "$prefix/lib/libshmkv_near.so.0" | grep 'NEEDED.*\[libshmkv\.so\.0\]' >/dev/null ||
  fail "libshmkv_near.so does not link libshmkv.so"
! readelf -d "$prefix/lib/libshmkv.so.0" | grep hiredis >/dev/null || fail "libshmkv.so links hiredis"

echo "== build the examples with cc and c++ and pkg-config" >&2
cc -Wall -Wextra -Werror examples/c/counter.c $(pkg-config --cflags --libs shmkv) \
  -o "$tmp/counter"
cc -Wall -Wextra -Werror examples/c/counter.c $(pkg-config --cflags --libs shmkv-static) \
  -o "$tmp/counter_static"
c++ -std=c++17 -Wall -Wextra -Werror examples/cpp/report_cache.cc \
  $(pkg-config --cflags --libs shmkv) -o "$tmp/report_cache"
# (grep without -q reads all it is given: with pipefail, grep -q ending
# early can fail the pipeline by SIGPIPE.)
ldd "$tmp/counter" | grep "libshmkv.so.0 => $prefix/lib/" >/dev/null ||
  fail "counter: not linked to $prefix"
# The C headers need no feature-test macros: the C examples build as strict
# ISO C99 and C11, and as C++.
for std in c99 c11; do
  for example in counter near_reader; do
    pc=shmkv
    [[ $example == near_reader ]] && pc=shmkv-near
    cc -std=$std -pedantic -Wall -Wextra -Werror "examples/c/$example.c" \
      $(pkg-config --cflags --libs $pc) -o "$tmp/${example}_$std" || fail "$example.c as -std=$std"
  done
done
c++ -std=c++17 -pedantic -Wall -Wextra -Werror -x c++ examples/c/counter.c -x none \
  $(pkg-config --cflags --libs shmkv) -o "$tmp/counter_cxx" || fail "counter.c as C++"
# The library says the version pkg-config does (both from kv/version.bzl).
printf '#include <stdio.h>\n#include "shmkv/shmkv.h"\nint main(void) { puts(shmkv_version()); return 0; }\n' \
  >"$tmp/version.c"
cc -Wall -Werror "$tmp/version.c" $(pkg-config --cflags --libs shmkv) -o "$tmp/version"
expect "$(pkg-config --modversion shmkv)" "$("$tmp/version")" "shmkv_version() is the installed version"
! ldd "$tmp/counter_static" | grep libshmkv >/dev/null || fail "counter_static links libshmkv.so"

cc -Wall -Wextra -Werror examples/c/near_reader.c $(pkg-config --cflags --libs shmkv-near) \
  -o "$tmp/near_reader"
ldd "$tmp/near_reader" | grep "libshmkv_near.so.0 => $prefix/lib/" >/dev/null ||
  fail "near_reader: not linked to $prefix"
cc -Wall -Wextra -Werror examples/c/near_reader.c $(pkg-config --cflags --libs shmkv-near-static) \
  -o "$tmp/near_reader_static"
! ldd "$tmp/near_reader_static" | grep libshmkv >/dev/null || fail "near_reader_static links libshmkv"

# The README's C++ near-cache example as written there (its Redis address
# made argv[2]), in a main() that opens the store at argv[1] and prints what
# it read and kvsync's phase (shmkv/near/sync_state.h).
readme_near=$(awk '/^## A near cache in front of Redis/ { s = 1 }
  s && /^```c\+\+$/ { b = 1; next } b && /^```$/ { exit } b { print }' README.md)
[[ "$readme_near" == *NearCache::Create* ]] || fail "README: no C++ near-cache example found"
{
  grep '^#include' <<<"$readme_near"
  printf '%s\n' '#include <cstdio>' '#include "shmkv/near/sync_state.h"' '#include "shmkv/store.h"' \
    'int main(int argc, char** argv) {' \
    '  if (argc != 3) return 2;' \
    '  absl::StatusOr<shmkv::StoreName> name = shmkv::StoreName::ParseKey(argv[1]);' \
    '  if (!name.ok()) return 2;' \
    '  auto opened = shmkv::Store::Open(*name, shmkv::Options(), shmkv::OpenMode::kAttach);' \
    '  if (!opened.ok()) return 3;' \
    '  std::unique_ptr<shmkv::Store> store = *std::move(opened);'
  grep -v '^#include' <<<"$readme_near" | sed 's|"unix:/run/redis/redis.sock"|argv[2]|'
  printf '%s\n' '  if (!cache.ok()) return 3;' \
    '  auto state = shmkv::near::ReadSyncState(*store);' \
    '  std::printf("user:42: %s; kvsync %s\n", user.ok() ? user->c_str() : "not read",' \
    '              state.ok() ? shmkv::near::SyncPhaseName(state->phase) : "has no record");' \
    '  return user.ok() ? 0 : 1;' '}'
} >"$tmp/near_example.cc"
for pc in shmkv-near shmkv-near-static; do
  c++ -std=c++17 -Wall -Wextra -Werror "$tmp/near_example.cc" $(pkg-config --cflags --libs $pc) \
    -o "$tmp/near_example_$pc" || fail "the README's C++ near-cache example with pkg-config $pc"
done
ldd "$tmp/near_example_shmkv-near" | grep "libshmkv_near.so.0 => $prefix/lib/" >/dev/null ||
  fail "the README's C++ near-cache example: not linked to $prefix"
! ldd "$tmp/near_example_shmkv-near-static" | grep libshmkv >/dev/null ||
  fail "the README's C++ near-cache example, static: links libshmkv"

echo "== run them on one store with the installed kvcli" >&2
k=${keys[0]}
expect "runs: 1" "$("$tmp/counter" "$k")" "C, first run"
"$kvcli" put --key="$k" greeting hello >/dev/null
out=$("$tmp/counter_static" "$k")
expect "runs: 2" "$out" "C static, second run"
expect "greeting: hello" "$out" "C static reads what kvcli wrote"
[[ "$("$kvcli" get --key="$k" runs)" == 2 ]] || fail "kvcli reads the C program's counter"
expect "computed here" "$("$tmp/report_cache" "$k")" "C++, first run"
expect "from the store" "$("$tmp/report_cache" "$k")" "C++, second run"
"$kvcli" destroy --key="$k" >/dev/null

echo "== read through the near cache from C, with redis-server and the installed kvsync" >&2
k=${keys[3]}
# In the README's order: the store first (kvsync attaches an existing store).
"$kvcli" create --key="$k" --capacity=64MiB >/dev/null
out=$("$tmp/near_reader" "$k" "unix:$tmp/no-redis.sock" user:1) &&
  fail "near_reader without Redis succeeded: $out"
expect "user:1: UNAVAILABLE" "$out" "near_reader without Redis"
out=$("$tmp/near_reader_static" "$k" "unix:$tmp/no-redis.sock" user:1) &&
  fail "near_reader_static without Redis succeeded: $out"
expect "user:1: UNAVAILABLE" "$out" "near_reader_static without Redis"
socket=$tmp/redis.sock
redis-server --port 0 --unixsocket "$socket" --save "" --appendonly no --dir "$tmp" \
  >"$tmp/redis.log" 2>&1 &
redis_pid=$!
trap 'kill $redis_pid ${kvsync_pid:-} 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
  [[ "$(redis-cli -s "$socket" ping 2>/dev/null)" == PONG ]] && break
  sleep 0.05
done
redis-cli -s "$socket" set user:1 ada >/dev/null || fail "redis-server: $(cat "$tmp/redis.log")"
out=$("$tmp/near_reader" "$k" "unix:$socket" user:1)
expect "user:1: ada (direct: " "$out" "near_reader before kvsync runs"
"$prefix/bin/kvsync" --key="$k" --redis="unix:$socket" --prefix=user: 2>"$tmp/kvsync.log" &
kvsync_pid=$!
for _ in $(seq 100); do
  "$kvcli" info --key="$k" 2>/dev/null | grep -q "kvsync pid $kvsync_pid synced" && break
  sleep 0.05
done
out=$("$tmp/near_reader" "$k" "unix:$socket" user:1 user:1)
expect "user:1: ada (filled)
user:1: ada (hit)" "$out" "near_reader with kvsync (its log: $(cat "$tmp/kvsync.log"))"
redis-cli -s "$socket" set user:42 grace >/dev/null
for pc in shmkv-near shmkv-near-static; do
  expect "user:42: grace; kvsync synced" "$("$tmp/near_example_$pc" "$k" "unix:$socket")" \
    "the README's C++ near-cache example ($pc)"
done
kill "$kvsync_pid" "$redis_pid"
wait "$kvsync_pid" "$redis_pid" || true
"$kvcli" destroy --key="$k" >/dev/null

echo "== Debian's python3 imports the installed module and shares a store with C" >&2
k=${keys[2]}
PYTHONPATH=$prefix/lib/python3/dist-packages /usr/bin/python3 -c "
import shmkv
with shmkv.Store(key=$((k)), create=True, capacity='16MiB') as s:
    s.put(b'greeting', 'from python')
" || fail "python3: import the installed module"
expect "greeting: from python" "$("$tmp/counter" "$k")" "C reads what Python wrote"
[[ "$(PYTHONPATH=$prefix/lib/python3/dist-packages /usr/bin/python3 -c "
import shmkv
print(shmkv.Store(key=$((k)))[b'runs'].decode())")" == 1 ]] || fail "Python reads C's counter"
"$kvcli" destroy --key="$k" >/dev/null
out=$(PYTHONPATH=$prefix/lib/python3/dist-packages /usr/bin/python3 examples/python/workers.py "$k")
expect "(total 20: each report once)" "$out" "examples/python/workers.py"

echo "== npm installs the installed Node.js module; four cluster workers count in a store" >&2
k=${keys[2]}
mkdir "$tmp/node_app"
cp examples/node/cluster_counter.js "$tmp/node_app/"
(cd "$tmp/node_app" && npm install --no-audit --no-fund --loglevel=error \
  "$prefix/lib/node_modules/shmkv" >"$tmp/npm.log" 2>&1) ||
  { cat "$tmp/npm.log" >&2; fail "npm install the installed module"; }
out=$(cd "$tmp/node_app" && node cluster_counter.js "$k" 40) || fail "examples/node/cluster_counter.js"
expect "requests: 40 counted by 4 workers" "$out" "examples/node/cluster_counter.js"
[[ "$("$kvcli" get --key="$k" requests)" == 40 ]] || fail "kvcli reads the Node workers' count"
[[ "$(PYTHONPATH=$prefix/lib/python3/dist-packages /usr/bin/python3 -c "
import shmkv
print(shmkv.Store(key=$((k)))[b'requests'].decode())")" == 40 ]] || fail "Python reads the count"
"$kvcli" destroy --key="$k" >/dev/null

echo "== build examples/downstream, a workspace that depends on @shmkv" >&2
(cd examples/downstream && bazel build //... >"$tmp/downstream.log" 2>&1) ||
  { cat "$tmp/downstream.log" >&2; fail "examples/downstream: bazel build //..."; }
bin=$(cd examples/downstream && bazel info bazel-bin 2>/dev/null)
k=${keys[1]}
expect "greetings so far: 1" "$("$bin/greeter" "$k" hello)" "downstream greeter"
expect "greetings so far: 2" "$("$bin/greeter" "$k" bonjour)" "downstream greeter again"
expect "greeting: bonjour" "$("$bin/greeter_c" "$k")" "downstream C reader"
[[ "$("$kvcli" get --key="$k" greeting)" == bonjour ]] || fail "kvcli reads the downstream store"
"$kvcli" destroy --key="$k" >/dev/null
(cd examples/downstream && bazel shutdown >/dev/null 2>&1) || true
cd "$root"
echo "check_embedding: all passed" >&2
