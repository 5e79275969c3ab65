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
set +e
swift test 2>&1 | tail -n 400
swift_status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then echo "a sandbox test failed (see above)" >&2; fi
[ "$swift_status" -ne 0 ] && exit "$swift_status"
exit "$status"
