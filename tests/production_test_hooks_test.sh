#!/usr/bin/env bash
# Test hooks compile to nothing in production (tests/README.md, "Test
# hooks"): the installed library and kvcli carry no symbol of the crash
# points or of the scan-hold hook.
#   production_test_hooks_test.sh LIBSHMKV_SO KVCLI
set -euo pipefail
status=0
for binary in "$@"; do
  found=$(nm -C "$binary" | grep -E 'ScanHold|CrashPoint|hold_observer' || true)
  if [[ -n "$found" ]]; then
    echo "FAIL: $binary carries test hooks; build them only into the *_test_hooks twins:" >&2
    echo "$found" >&2
    status=1
  fi
done
exit $status
