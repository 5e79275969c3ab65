#!/usr/bin/env bash
# The sandbox's test (run by scripts/test.sh): `scripts/sandbox.sh up` in a temporary SANDBOX_DIR
# on free ports, then checks the world it made: SSH as deploy through runner with the generated
# inventory, the git remote, the example app built and healthy behind the proxy, maintenance flags,
# restic (local and S3), `up` again changing nothing, and `down` leaving nothing running.
# Needs root, a Docker engine and a built runner (RUNNER, else .build/debug/runner).
set -uo pipefail
cd "$(dirname "$0")/../.."

test_name="sandbox test"
. scripts/sandbox/lib.sh
require_sandbox_test_prerequisites

SANDBOX_DIR=$(mktemp -d /tmp/runner-sandbox-test.XXXXXX)
chmod 755 "$SANDBOX_DIR"
export SANDBOX_DIR SANDBOX_S3=1
read -r SANDBOX_SSH_PORT SANDBOX_PROXY_PORT SANDBOX_S3_PORT < <(free_ports 3)
export SANDBOX_SSH_PORT SANDBOX_PROXY_PORT SANDBOX_S3_PORT
export SANDBOX_PROXY_NAME=sgos-proxy-test-$$
sandbox() { scripts/sandbox.sh "$@"; }
cleanup() { sandbox down --purge >/dev/null 2>&1; }
trap cleanup EXIT

out=$(sandbox up 2>&1) || { fail "sandbox up" "$out"; exit 1; }
pass "sandbox up"
set -a; . "$SANDBOX_DIR/settings.env"; set +a
apps=$SANDBOX_APPS_ROOT
for key in apps_root proxy_dir proxy_url git_base restic_repository restic_password_file age_key_file staging_dir status_file; do
  grep -q "^$key=/\|^$key=http" "$SANDBOX_DIR/params" || fail "params has $key" "$(cat "$SANDBOX_DIR/params")"
done

# As deploy on hornbill, through runner and the generated inventory: who am I, clone the remote,
# decrypt .env.sops with the team's age key, build and start the example app (health gate).
cat >"$SANDBOX_DIR/check.yml" <<EOF
name: sandbox-check
steps:
  - on: hornbill
    run: id -un > \${{ host.labels.apps_root }}/whoami
  - on: hornbill
    run: git clone -q $SANDBOX_EXAMPLE_REMOTE $apps/sgos-hello/src && ln -s src/docker-compose.yml $apps/sgos-hello/docker-compose.yml
  - on: hornbill
    uses: sops
    with: { decrypt: $apps/sgos-hello/src/.env.sops, dest: $apps/sgos-hello/.env }
  - on: hornbill
    uses: docker
    with: { compose: up, dir: $apps/sgos-hello, build: true, wait_healthy: sgos-hello-app, timeout: 90s }
  # What new-app-setup and deploy do to the proxy, as deploy without sudo: a site, a flag.
  - on: hornbill
    uses: nginx
    with:
      site: \${{ host.labels.proxy_dir }}/sites/sgos-other.conf
      content: "server { listen 80; server_name other.localhost; return 200 other; }\\n"
      container: \${{ host.labels.proxy_container }}
  - on: hornbill
    uses: nginx
    with: { maintenance: "on", flag: "\${{ host.labels.proxy_dir }}/flags/sgos-hello.flag" }
EOF
cat >"$SANDBOX_DIR/flag-off.yml" <<EOF
name: sandbox-flag-off
steps:
  - on: hornbill
    uses: nginx
    with: { maintenance: "off", flag: "\${{ host.labels.proxy_dir }}/flags/sgos-hello.flag" }
EOF
if out=$("$RUNNER" run "$SANDBOX_DIR/check.yml" --inventory "$SANDBOX_INVENTORY" 2>&1); then pass "runner runs on hornbill"
else fail "runner runs on hornbill" "$out"; fi
check "steps on hornbill run as deploy" test "$(cat "$apps/whoami" 2>/dev/null)" = deploy
check "deploy's clone has the example app" test -f "$apps/sgos-hello/src/app.json"
check "the clone's app.json names sgos-hello with a backup script" \
  grep -q '"backup": "./backup.sh"' "$apps/sgos-hello/src/app.json"
check ".env decrypted with mode 0600" test "$(stat -c %a "$apps/sgos-hello/.env" 2>/dev/null)" = 600
check ".env holds the secret" grep -q '^HELLO_SECRET=[0-9a-f]\{32\}$' "$apps/sgos-hello/.env"
check "the container is healthy" test "$(docker inspect -f '{{.State.Health.Status}}' sgos-hello-app 2>/dev/null)" = healthy
check "the container is on the sgos network" \
  test "$(docker inspect -f '{{ if index .NetworkSettings.Networks "sgos" }}yes{{ end }}' sgos-hello-app 2>/dev/null)" = yes

get() { curl -s --max-time 5 -H "Host: hello.localhost" -w '\n%{http_code}' "$SANDBOX_PROXY_URL$1"; }
answer=$(get /)
check "the app's flag (nginx plugin as deploy) gives 503" test "$(tail -n1 <<<"$answer")" = 503
grep -q "Down for maintenance" <<<"$answer" || fail "503 shows the maintenance page" "$answer"
other() { test "$(curl -s --max-time 5 -H "Host: other.localhost" "$SANDBOX_PROXY_URL/")" = other; }
check "the site installed by the nginx plugin as deploy answers" eventually other
out=$("$RUNNER" run "$SANDBOX_DIR/flag-off.yml" --inventory "$SANDBOX_INVENTORY" 2>&1) || fail "maintenance off as deploy" "$out"
answer=$(get /)
check "the proxy answers 200 with the app's version" test "$(tail -n1 <<<"$answer")" = 200
grep -q "sgos-hello 1.0.0" <<<"$answer" || fail "the front page shows the version" "$answer"
check "the proxy answers 200 on /health" test "$(get /health | tail -n1)" = 200
touch "$SANDBOX_PROXY_FLAGS/global.flag"
check "the global flag gives 503" test "$(get / | tail -n1)" = 503
rm -f "$SANDBOX_PROXY_FLAGS/global.flag"
check "no flag, 200 again" test "$(get / | tail -n1)" = 200
check "the reload form of the pipelines works" quiet docker exec "$SANDBOX_PROXY_CONTAINER" nginx -s reload

# The app's backup script as deploy, then restic on the local and the S3 repository.
if dump=$(cd "$apps/sgos-hello/src" && runuser -u deploy -- ./backup.sh 2>&1) && [ -s "$dump" ]; then pass "backup.sh writes a dump"
else fail "backup.sh writes a dump" "$dump"; fi
backup_and_count() { # repository, then env for restic
  restic backup -q --repo "$1" --password-file "$SANDBOX_RESTIC_PASSWORD_FILE" "$apps/sgos-hello/backups" >/dev/null &&
    restic snapshots --json --repo "$1" --password-file "$SANDBOX_RESTIC_PASSWORD_FILE" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
check "restic backup and snapshots on the local repository" test "$(backup_and_count "$SANDBOX_RESTIC_REPOSITORY")" = 1
check "restic backup and snapshots on S3 (moto)" test "$( (set -a; . "$SANDBOX_S3_ENV"; backup_and_count "$SANDBOX_RESTIC_S3_REPOSITORY") )" = 1

check "status says everything runs" quiet sandbox status
status=$(sandbox status)
grep -q "sgos-hello-app running (healthy)" <<<"$status" || fail "status lists the app" "$status"

# up again: nothing changes, nothing restarts.
sshd_pid=$(cat "$SANDBOX_DIR/run/sshd.pid"); proxy_id=$(docker inspect -f '{{.Id}}' "$SANDBOX_PROXY_CONTAINER")
sums() { find "$SANDBOX_DIR" -path "$SANDBOX_DIR/hornbill/srv/apps" -prune -o -path "$SANDBOX_DIR/state" -prune -o -name '*.log' -prune -o -type f -newer "$SANDBOX_DIR/check.yml" -print; }
touch "$SANDBOX_DIR/check.yml"
out=$(sandbox up 2>&1)
grep -q "nothing to change" <<<"$out" || fail "a second up changes nothing" "$out"
written=$(sums)
[ -z "$written" ] && pass "a second up writes no file" || fail "a second up writes no file" "$written"
check "a second up keeps sshd" test "$(cat "$SANDBOX_DIR/run/sshd.pid")" = "$sshd_pid"
check "a second up keeps the proxy" test "$(docker inspect -f '{{.Id}}' "$SANDBOX_PROXY_CONTAINER")" = "$proxy_id"

# down: containers, network (when up created it) and processes go.
moto_pid=$(cat "$SANDBOX_DIR/run/moto.pid")
out=$(sandbox down 2>&1) || fail "sandbox down" "$out"
check "down removes the app's container" bash -c '! docker container inspect sgos-hello-app >/dev/null 2>&1'
check "down removes the proxy" bash -c "! docker container inspect $SANDBOX_PROXY_CONTAINER >/dev/null 2>&1"
check "down stops sshd" bash -c "! kill -0 $sshd_pid 2>/dev/null"
check "down stops moto" bash -c "! kill -0 $moto_pid 2>/dev/null"
check "nothing listens on the sandbox's ports" bash -c \
  "! (exec 3<>/dev/tcp/127.0.0.1/$SANDBOX_SSH_PORT) 2>/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/$SANDBOX_PROXY_PORT) 2>/dev/null"
check "status after down says stopped" bash -c '! scripts/sandbox.sh status >/dev/null'

# up after down comes back; twice is a no-op.
out=$(sandbox up 2>&1) && grep -q "started sshd" <<<"$out" || fail "up after down starts again" "$out"
out=$(sandbox up 2>&1) && grep -q "nothing to change" <<<"$out" || fail "up twice after down changes nothing" "$out"
check "the proxy answers again after up (502: no app deployed now)" test "$(get / | tail -n1)" = 502

out=$(sandbox down --purge 2>&1) || fail "down --purge" "$out"
check "down --purge removes the directory" test ! -e "$SANDBOX_DIR"
trusted=$(runuser -u deploy -- env HOME="$(getent passwd deploy | cut -d: -f6)" git config --global --get-all safe.directory)
grep -qF "$SANDBOX_DIR/" <<<"$trusted" && fail "down --purge forgets deploy's trust in its remotes" "$trusted" ||
  pass "down --purge forgets deploy's trust in its remotes"

if ((failures)); then echo "sandbox test: $failures failed"; exit 1; fi
echo "sandbox test: all passed"
