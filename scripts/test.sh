#!/usr/bin/env bash
# Runs every test on a fresh machine: installs system packages, builds, runs the sandbox's test
# (scripts/sandbox/test.sh: scripts/sandbox.sh up/down against the real world) and the deploy
# pipeline's (scripts/sandbox/deploy-test.sh: runner run deploy against a sandbox), then `swift test`,
# whose summary stays the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> sandbox test (scripts/sandbox/test.sh)"
status=0
scripts/sandbox/test.sh || status=1
echo "==> deploy test (scripts/sandbox/deploy-test.sh)"
scripts/sandbox/deploy-test.sh || status=1
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
