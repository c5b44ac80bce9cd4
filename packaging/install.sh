#!/usr/bin/env bash
# Installs shmkv: headers, libshmkv.so (with its soname links), libshmkv.a,
# the near cache's C and C++ APIs libshmkv_near.so and .a (headers
# shmkv/near.h and shmkv/near/*.h), the pkg-config files
# shmkv.pc (shared), shmkv-static.pc, shmkv-near.pc and shmkv-near-static.pc,
# the programs (kvcli, kvsync, kvbench), the Python module (lib/python3/dist-packages)
# the Node.js module (lib/node_modules/shmkv: npm install that folder) and
# example systemd units for kvcli serve and kvsync (lib/systemd/system).
#
#   bazel run //:install -- --prefix=DIR     (default prefix /usr/local)
#
# Then:  cc app.c $(pkg-config --cflags --libs shmkv)  (or shmkv-static, shmkv-near)
#        with PKG_CONFIG_PATH=DIR/lib/pkgconfig (unless DIR is a system prefix).
# Bazel passes the built files first, as NAME=PATH pairs (a bare PATH adds
# to the list of the NAME before it), then "--".
set -euo pipefail

declare -A built=()
name=""
while (($# > 0)) && [[ "$1" != "--" ]]; do
  if [[ "$1" == *=* ]]; then
    name=${1%%=*}
    built[$name]=${1#*=}
  else
    built[$name]+=" $1"
  fi
  shift
done
(($# > 0)) && shift

prefix=/usr/local
for arg in "$@"; do
  case "$arg" in
    --prefix=?*) prefix=${arg#--prefix=} ;;
    -h | --help)
      echo "usage: bazel run //:install -- [--prefix=DIR]   (default /usr/local)"
      exit 0
      ;;
    *)
      echo "install: unknown argument '$arg'; usage: bazel run //:install -- [--prefix=DIR]" >&2
      exit 2
      ;;
  esac
done
# `bazel run` starts in the runfiles tree: a relative prefix means the
# directory the command was typed in.
if [[ "$prefix" != /* ]]; then
  prefix="${BUILD_WORKING_DIRECTORY:-$PWD}/$prefix"
fi

version=${built[version]}
mkdir -p "$prefix/include/shmkv" "$prefix/lib/pkgconfig" "$prefix/bin"
for header in ${built[headers]}; do
  install -m 0644 "$header" "$prefix/include/shmkv/$(basename "$header")"
done
mkdir -p "$prefix/include/shmkv/near"
for header in ${built[near_headers]}; do
  install -m 0644 "$header" "$prefix/include/shmkv/near/$(basename "$header")"
done
# lib/libNAME.so.VERSION, with the links libNAME.so.MAJOR (the soname) and
# libNAME.so (what -lNAME finds).
for shared in ${built[shared]}; do
  lib=$(basename "$shared")
  install -m 0755 "$shared" "$prefix/lib/$lib.$version"
  ln -sfn "$lib.$version" "$prefix/lib/$lib.${version%%.*}"
  ln -sfn "$lib.${version%%.*}" "$prefix/lib/$lib"
done
for static in ${built[static]}; do
  install -m 0644 "$static" "$prefix/lib/$(basename "$static")"
done
install -m 0755 "${built[kvcli]}" "$prefix/bin/kvcli"
install -m 0755 "${built[kvsync]}" "$prefix/bin/kvsync"
install -m 0755 "${built[kvbench]}" "$prefix/bin/kvbench"
# Debian's python3 imports it with PYTHONPATH=$prefix/lib/python3/dist-packages.
mkdir -p "$prefix/lib/python3/dist-packages"
install -m 0644 "${built[python]}" "$prefix/lib/python3/dist-packages/$(basename "${built[python]}")"
# The Node.js module as npm lays out a package: `npm install
# $prefix/lib/node_modules/shmkv` in an application, or NODE_PATH.
mkdir -p "$prefix/lib/node_modules/shmkv"
install -m 0755 "${built[node]%% *}" "$prefix/lib/node_modules/shmkv/shmkv.node"
# Beside it, the near-cache addon (shmkv_near.node: require('shmkv/near')).
for file in ${built[node]#* }; do
  mode=0644
  [[ $file == *.node ]] && mode=0755
  install -m "$mode" "$file" "$prefix/lib/node_modules/shmkv/$(basename "$file")"
done
for pc in ${built[pc]}; do
  out="$prefix/lib/pkgconfig/$(basename "$pc" .in)"
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$pc" >"$out"
  chmod 0644 "$out"
done
# Example systemd units (not enabled): copy them to /etc/systemd/system.
mkdir -p "$prefix/lib/systemd/system"
for unit in ${built[units]}; do
  out="$prefix/lib/systemd/system/$(basename "$unit" .in)"
  sed -e "s|@PREFIX@|$prefix|g" "$unit" >"$out"
  chmod 0644 "$out"
done
echo "install: shmkv $version installed under $prefix"
echo "install: build with: PKG_CONFIG_PATH=$prefix/lib/pkgconfig cc app.c \$(pkg-config --cflags --libs shmkv)"
