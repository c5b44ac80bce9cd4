#!/bin/sh
# Writes a C++ source that holds files' bytes, for a program that serves
# them without reading them at run time (kvcli serve's dashboard). Each
# NAME=FILE defines `absl::string_view NAME()` in shmkv::kvcli, declared in
# HEADER.
#
#   embed_files.sh OUT.cc HEADER NAME=FILE...
set -eu
out=$1
header=$2
shift 2
{
  echo "// Generated at build time by tools/kvcli/embed_files.sh: edit the embedded files instead."
  echo "#include \"$header\""
  echo
  echo "namespace shmkv {"
  echo "namespace kvcli {"
  for pair in "$@"; do
    name=${pair%%=*}
    file=${pair#*=}
    echo
    echo "// $(basename "$file")"
    echo "absl::string_view $name() {"
    echo "  static constexpr char kBytes[] ="
    # Three-digit octal escapes, sixteen bytes a line: any byte, no escaping rules.
    od -An -v -to1 "$file" | sed -e 's/ *\([0-7][0-7][0-7]\)/\\\1/g' -e 's/^.*$/      "&"/'
    echo "      \"\";"
    echo "  return absl::string_view(kBytes, sizeof(kBytes) - 1);"
    echo "}"
  done
  echo
  echo "}  // namespace kvcli"
  echo "}  // namespace shmkv"
} >"$out"
