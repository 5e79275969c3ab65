#!/usr/bin/env bash
# Runs every test on a fresh machine: installs system packages, builds, runs `swift test`, then
# the sandbox's test (scripts/sandbox/test.sh: scripts/sandbox.sh up/down against the real world).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> swift test"
set +e
swift test 2>&1 | tail -n 400
status=${PIPESTATUS[0]}
set -e
echo "==> sandbox test (scripts/sandbox/test.sh)"
scripts/sandbox/test.sh || status=1
exit "$status"
