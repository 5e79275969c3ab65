#!/usr/bin/env bash
# Runs every test on a fresh machine: installs system packages, builds, runs `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> swift test"
swift test 2>&1 | tail -n 400
exit "${PIPESTATUS[0]}"
