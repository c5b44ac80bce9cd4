#!/usr/bin/env bash
# Installs what building and testing shmkv needs, from Debian's archive, and
# the one piece of the Node.js module Debian cannot give next to any nodejs:
# node-addon-api, from the npm registry at the version kv/node's
# package-lock.json pins (`npm ci`). Idempotent and quiet when everything is
# already installed.
#   bash tools/setup.sh            # build + test dependencies
#   bash tools/setup.sh --bench    # also the peer systems bench/run.sh compares against
set -euo pipefail

packages=(
  bazel-bootstrap bazel-rules-cc bazel-rules-java
  clang clang-format libclang-rt-14-dev gcc g++ binutils pkg-config
  libabsl-dev googletest libgtest-dev libbenchmark-dev
  procps util-linux
  python3 python3-dev pybind11-dev
  libhiredis-dev redis-server redis-sentinel redis-tools
  libcpp-httplib-dev libjs-chart.js curl
  prometheus chromium chromium-driver python3-selenium
)
# Node and its headers (/usr/include/node): Debian's Node 18, unless a Node
# with headers is installed already (e.g. NodeSource's nodejs, Node 20).
if [[ ! -e /usr/include/node/node_api.h ]]; then
  packages+=(nodejs libnode-dev npm)
fi
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(liblmdb-dev libboost-dev memcached libmemcached-dev strace
    python3-pymemcache python3-redis)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
node_addon_api() {
  local dir
  dir="$(dirname "$0")/../kv/node"
  [[ -e "$dir/node_modules/node-addon-api/napi.h" && -e "$dir/node_modules/typescript/bin/tsc" ]] &&
    return 0
  echo "setup: npm ci in kv/node (node-addon-api, TypeScript for the typings' test)" >&2
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
}
if ((${#missing[@]} == 0)); then
  node_addon_api
  exit 0
fi

sudo_cmd=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq >/dev/null
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
node_addon_api
echo "setup: done" >&2
