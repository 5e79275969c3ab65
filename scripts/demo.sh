#!/usr/bin/env bash
# Sets everything up on a new machine and runs the main job: the local release pipeline
# (maintenance flag on, build a release, switch it in atomically, health check, flag off).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export RUNNER_STATE_DIR="${RUNNER_STATE_DIR:-$PWD/.state}"
demo_root="${DEMO_ROOT:-$PWD/.state/demo}"
.build/debug/runner validate pipelines
.build/debug/runner run local-release app=phone root="$demo_root" "$@"
.build/debug/runner runs --limit 3
