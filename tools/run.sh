#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bazel build -c opt //tools:toolchain_check
bazel-bin/tools/toolchain_check
