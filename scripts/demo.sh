#!/usr/bin/env bash
# Sets up a new machine and runs the main job for real: pipelines/deploy.yml deploys the example
# app sgos-hello over SSH into the sandbox (docs/sandbox.md), through the runner binary.
#
#   1. scripts/setup.sh            packages (Debian 12), dockerd, runner's build
#   2. scripts/sandbox.sh up       the app host (sshd, user deploy), proxy, git remote, age key, restic
#   3. runner run new-app-setup.yml app=hello   directories, clone, secrets, network, proxy site,
#                                  backup set, deploy hook, first deploy (nothing changes the 2nd time)
#   4. runner run deploy.yml app=hello    flag on, checkout, .env, compose up behind the health gate,
#                                         flag off, probe through the proxy, summary
#   5. runner runs, and the app's URL answering through the proxy
#
# Run it again at any time: every step checks before it changes anything, and the deploy deploys
# again. The sandbox needs root (it creates a user and starts sshd): run as root, or as a user who
# may sudo (it asks for the password for step 2; everything else runs as that user). Settings:
# SANDBOX_DIR (default ./.sandbox; every directory above it must be readable by other users, so
# not under /root), SANDBOX_SSH_PORT, SANDBOX_PROXY_PORT (docs/sandbox.md). Remove it all with
# `scripts/sandbox.sh down --purge` (with the same SANDBOX_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
show() { printf '+ %s\n' "$*"; "$@"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

step "1. packages and runner's build (scripts/setup.sh)"
scripts/setup.sh
runner=$PWD/.build/${RUNNER_BUILD_CONFIG:-debug}/runner
export SANDBOX_DIR=${SANDBOX_DIR:-$PWD/.sandbox}

step "2. the sandbox (scripts/sandbox.sh up)"
as_root env SANDBOX_DIR="$SANDBOX_DIR" RUNNER="$runner" \
  ${SANDBOX_SSH_PORT:+SANDBOX_SSH_PORT="$SANDBOX_SSH_PORT"} ${SANDBOX_PROXY_PORT:+SANDBOX_PROXY_PORT="$SANDBOX_PROXY_PORT"} \
  scripts/sandbox.sh up
set -a; . "$SANDBOX_DIR/settings.env"; set +a

step "3. the example app set up (pipelines/new-app-setup.yml)"
show "$runner" run new-app-setup.yml app=hello --inventory "$SANDBOX_INVENTORY"

step "4. the deploy (pipelines/deploy.yml)"
show "$runner" run deploy.yml app=hello --inventory "$SANDBOX_INVENTORY"

step "5. the run history, and the app through the proxy"
show "$runner" runs --limit 5
show curl -sS --max-time 10 --resolve "hello.localhost:${SANDBOX_PROXY_URL##*:}:127.0.0.1" "$SANDBOX_EXAMPLE_URL"
cat <<EOF

The app answers at $SANDBOX_EXAMPLE_URL (through the sandbox's nginx proxy).
Deploy again, roll back, back up, or look around (docs/pipelines/):
  set -a; . $SANDBOX_DIR/settings.env; set +a
  $runner run deploy.yml app=hello --inventory \$SANDBOX_INVENTORY
  $runner run rollback.yml app=hello --inventory \$SANDBOX_INVENTORY
  $runner run backup.yml --inventory \$SANDBOX_INVENTORY
  $runner show last --log
  scripts/sandbox.sh status
EOF
