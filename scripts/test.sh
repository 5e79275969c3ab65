#!/usr/bin/env bash
# Runs every test on a fresh machine: installs system packages, builds, runs the sandbox's test
# (scripts/sandbox/test.sh: scripts/sandbox.sh up/down against the real world) and the pipelines'
# end-to-end tests (scripts/sandbox/*-test.sh: runner run <pipeline> against a sandbox of their
# own), then `swift test`, whose summary stays the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> sandbox test (scripts/sandbox/test.sh)"
status=0
scripts/sandbox/test.sh || status=1
for pipeline_test in scripts/sandbox/*-test.sh; do
  echo "==> $(basename "$pipeline_test" .sh) ($pipeline_test)"
  "$pipeline_test" || status=1
done
echo "==> swift test"
log=$(mktemp)
set +e
swift test >"$log" 2>&1
swift_status=$?
set -e
# The full log is long: name every failed test first, since the tail below may not reach back to it.
if grep -q "✘" "$log"; then echo "==> failed tests"; grep "✘" "$log" | head -n 60; fi
tail -n 400 "$log"
rm -f "$log"
if [ "$status" -ne 0 ]; then echo "a sandbox test failed (see above)" >&2; fi
[ "$swift_status" -ne 0 ] && exit "$swift_status"
exit "$status"
