#!/usr/bin/env bash
# Installs the system packages runner builds and tests against (Debian 12), then builds it.
# Safe to run again: packages already present are not reinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  liblua5.4-dev libyaml-dev libssh-dev   # linked by runner (Lua 5.4, LibYAML, libssh)
  libsqlite3-dev pkg-config              # run store (GRDB), C library discovery
  util-linux procps                      # flock(1) and pkill(1), used by the lock tests
  curl                                   # runner.http.request runs curl on the target
  python3                                # the tests' local HTTP server (Tests/Support)
  openssh-server openssh-client          # the SSH tests' sshd on loopback; ssh for bench/ssh.sh
  sudo openssl                           # sudo: steps (tests); openssl passwd for the test user
  age restic                             # round trips with the real age CLI; the restic plugin
  docker.io docker-compose               # the docker plugin's engine and Compose v1 (Debian has no v2 plugin)
  nginx busybox-static                   # the nginx plugin's tests; busybox for the test images (FROM scratch)
  hyperfine                              # bench/
  git                                    # scripts/sandbox.sh: the example app's remote, clones as deploy
  jq                                     # backup-test.sh and SecretLeakTests read JSON (status.json, events)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The docker and nginx tests drive a real Docker engine: start dockerd when none answers.
if ! docker info >/dev/null 2>&1; then
  echo "==> starting dockerd"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo sh -c 'nohup dockerd </dev/null >/var/log/dockerd.log 2>&1 &'
  for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "warning: dockerd did not start (the docker tests will fail):" >&2; tail -n 20 /var/log/dockerd.log >&2; }
fi

# The restic tests' S3-compatible endpoint on loopback (moto's server, from PyPI).
if ! python3 -c "import moto.server, flask" 2>/dev/null; then
  echo "==> installing moto[server] (S3 endpoint for the restic tests)"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' 2>&1 | grep -v "Running pip as the 'root' user" || true
fi

echo "==> building runner"
swift build -c "${RUNNER_BUILD_CONFIG:-debug}" 2>&1 | grep -v "^\[" || true
test -x ".build/${RUNNER_BUILD_CONFIG:-debug}/runner"
