#!/usr/bin/env bash
# Installs what building and testing shmkv needs, from Debian's archive only.
# Idempotent and quiet when everything is already installed.
#   bash tools/setup.sh            # build + test dependencies
#   bash tools/setup.sh --bench    # also the peer systems bench/run.sh compares against
set -euo pipefail

packages=(
  bazel-bootstrap bazel-rules-cc bazel-rules-java
  clang clang-format libclang-rt-14-dev gcc g++ binutils pkg-config
  libabsl-dev googletest libgtest-dev libbenchmark-dev
  procps util-linux
  python3 python3-dev pybind11-dev
  libhiredis-dev redis-server redis-tools
  libcpp-httplib-dev libjs-chart.js curl
  prometheus chromium chromium-driver python3-selenium
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(liblmdb-dev libboost-dev memcached libmemcached-dev strace
    python3-pymemcache python3-redis)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
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
echo "setup: done" >&2
