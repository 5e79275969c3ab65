#!/usr/bin/env bash
# The deploy pipeline's end-to-end test (run by scripts/test.sh after the sandbox's test):
# `scripts/sandbox.sh up` in a temporary SANDBOX_DIR on free ports, the example app set up as
# new-app-setup leaves it (directory and clone, as deploy), then `runner run deploy app=hello`
# through the binary with the generated inventory, and the world checked: the flag during the
# compose step and not after, .env, the container's health, the proxy's answer, the run history.
# Then a broken commit on the remote: the deploy fails its health gate and rolls itself back; a
# breaking migration that fails; Ctrl-C in the compose step; the SSH connection to the app host
# dropped in the compose step (the run fails naming hornbill and the lost connection, rolls back
# over a new connection, and leaves no flag).
# Needs root, a Docker engine and a built runner (RUNNER, else .build/debug/runner).
set -uo pipefail
cd "$(dirname "$0")/../.."

test_name="deploy test"
. scripts/sandbox/lib.sh
require_sandbox_test_prerequisites

watcher= hook=
test_cleanup() {
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
  [ -n "$hook" ] && kill "$hook" 2>/dev/null
}
start_test_sandbox deploy-test
read -r hook_port < <(free_ports 1)
app_dir=$SANDBOX_APPS_ROOT/sgos-hello
flag=$SANDBOX_PROXY_FLAGS/sgos-hello.flag

# What new-app-setup leaves behind: the app's directory with the clone and the compose link.
out=$(set_up_example_app 2>&1) && [ -d "$app_dir/src/.git" ] && [ -L "$app_dir/docker-compose.yml" ] ||
  { fail "the app set up as new-app-setup would" "$out"; exit 1; }

# While a deploy runs, records what it sees every 50 ms: whether the app's flag exists, and when
# the app's container started (Docker's StartedAt). No clocks are compared: a container started
# under the flag is one whose StartedAt was first seen while the flag existed.
watch_flag() { # file to append to
  local on started
  while :; do
    [ -e "$flag" ] && on=flag || on=none
    started=$(docker inspect -f '{{.State.StartedAt}}' sgos-hello-app 2>/dev/null) || started=none
    printf '%s %s\n' "$on" "$started" >>"$1"
    sleep 0.05
  done
}
# The running container was started while the flag was on: the first look that saw its
# StartedAt also saw the flag (and the flag was seen at all).
started_under_flag() { # observations file
  local started seen
  started=$(docker inspect -f '{{.State.StartedAt}}' sgos-hello-app) || return 1
  seen=$(grep -m1 " $started\$" "$1" | cut -d' ' -f1)
  [ "$seen" = flag ] || { echo "    container started $started; first seen with: ${seen:-never}; flag seen $(grep -c '^flag' "$1") times"; return 1; }
}
get() { curl -s --max-time 5 -H "Host: hello.localhost" -w '\n%{http_code}' "$SANDBOX_PROXY_URL$1"; }
deploy() { "$RUNNER" run deploy "$@" --inventory "$SANDBOX_INVENTORY" 2>&1; }

# Three releases on branches of the remote: 1.0.1 without /health (it builds, then fails the
# health gate), 2.0.0 the same with a breaking migration, and 1.0.2 whose image build sleeps
# (a window in which the SSH connection is cut while `docker compose up --build` runs). Its
# RUN line names this test's directory, so no build cache of an earlier run skips the sleep.
slow_build=slow-build-of-${SANDBOX_DIR##*/}
work=$SANDBOX_DIR/work
commit_as_test() { git -C "$work" -c user.name=test -c user.email=test@localhost commit -qam "$1"; }
git clone -q "$SANDBOX_EXAMPLE_REMOTE" "$work" &&
  sed -i 's/"version": "1.0.0"/"version": "1.0.1"/' "$work/app.json" &&
  git -C "$work" mv www/health www/ready && commit_as_test "1.0.1 without /health" &&
  git -C "$work" push -q origin HEAD:broken &&
  sed -i 's/"version": "1.0.1"/"version": "2.0.0"/; s/"migration": "none"/"migration": "breaking"/' "$work/app.json" &&
  commit_as_test "2.0.0: breaking migration, without /health" && git -C "$work" push -q origin HEAD:breaking &&
  git -C "$work" checkout -q --detach origin/main &&
  sed -i 's/"version": "1.0.0"/"version": "1.0.2"/' "$work/app.json" &&
  sed -i "/^RUN \\[\"\\/bin\\/busybox\", \"--install\"/a RUN sleep 297 # $slow_build" "$work/Dockerfile" &&
  grep -q "$slow_build" "$work/Dockerfile" && commit_as_test "1.0.2: a slow build" &&
  git -C "$work" push -q origin HEAD:refs/heads/slow ||
  { fail "push the test releases"; exit 1; }
broken=$(git --git-dir="$SANDBOX_EXAMPLE_REMOTE" rev-parse broken)
breaking=$(git --git-dir="$SANDBOX_EXAMPLE_REMOTE" rev-parse breaking)

# A Google Chat stand-in: every POST body, one a line.
hook_token=hook-token-$RANDOM$RANDOM
start_gchat_stand_in "$hook_port" "$SANDBOX_DIR/hook.log"
hook=$!
webhook=gchat_webhook=http://127.0.0.1:$hook_port/v1/spaces/test/messages?key=$hook_token

# 0. A failed deploy with nothing to roll back to: it says so, leaves no flag, and notifies.
out=$(deploy app=hello ref=broken health_timeout=40s "$webhook"); status=$?
check "a failed first deploy exits 1" test "$status" -eq 1
grep -q "no earlier successful deploy of sgos-hello" <<<"$out" || fail "it says there is nothing to roll back to" "$(tail -n 40 <<<"$out")"
check "no flag after it" test ! -e "$flag"
grep -q "deploy of sgos-hello (broken) failed; NOT rolled back" "$SANDBOX_DIR/hook.log" 2>/dev/null ||
  fail "the webhook got the failure" "$(cat "$SANDBOX_DIR/hook.log" 2>&1)"
grep -q "$hook_token" <<<"$out$("$RUNNER" show last --log 2>&1)" && fail "the webhook URL (a secret) stays out of the log and the run record" ||
  pass "the webhook URL (a secret) stays out of the log and the run record"

# 1. A deploy of main.
times=$SANDBOX_DIR/flag-times-1; : >"$times"
watch_flag "$times" & watcher=$!
out=$(deploy app=hello health_timeout=60s); status=$?
kill "$watcher"; wait "$watcher" 2>/dev/null; watcher=
[ "$status" -eq 0 ] && pass "deploy app=hello exits 0" || fail "deploy app=hello exits 0" "$(tail -n 40 <<<"$out")"
check "the flag was on when the container started" started_under_flag "$times"
check "no flag after the deploy" test ! -e "$flag"
check ".env has mode 0600" test "$(stat -c %a "$app_dir/.env" 2>/dev/null)" = 600
check ".env holds the decrypted secret" grep -q '^HELLO_SECRET=[0-9a-f]\{32\}$' "$app_dir/.env"
check "the container is healthy" test "$(docker inspect -f '{{.State.Health.Status}}' sgos-hello-app 2>/dev/null)" = healthy
first=$(git --git-dir="$SANDBOX_EXAMPLE_REMOTE" rev-parse main)
check "src is at main's commit" test "$(as_deploy git -C "$app_dir/src" rev-parse HEAD)" = "$first"
answer=$(get /)
check "the proxy answers 200" test "$(tail -n1 <<<"$answer")" = 200
grep -q "sgos-hello 1.0.0" <<<"$answer" || fail "the proxy shows version 1.0.0" "$answer"
grep -q "postdeploy of sgos-hello done" <<<"$out" || fail "scripts.postdeploy ran" "$out"
shown=$("$RUNNER" show last 2>&1)
grep -q "$first" <<<"$shown" || fail "runner show last has the deployed commit" "$shown"
secret=$(sed -n 's/^HELLO_SECRET=//p' "$app_dir/.env")
[ -n "$secret" ] && ! grep -qF "$secret" <<<"$out$("$RUNNER" show last 2>&1)$("$RUNNER" show last --log 2>&1)" &&
  pass "the decrypted secret stays out of the output and the run record" ||
  fail "the decrypted secret stays out of the output and the run record"
grep -q "sha256:" <<<"$shown" || fail "runner show last has the image id" "$shown"

# 1b. A ref that names nothing fails before the flag goes up: nothing to put back, nothing changed.
before=$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' sgos-hello-app 2>/dev/null); flags_now
out=$(deploy app=hello ref=no-such-branch "$webhook"); status=$?
check "a ref that names nothing exits 1" test "$status" -eq 1
grep -q "origin has no branch no-such-branch" <<<"$out" || fail "it says the ref names nothing" "$(tail -n 30 <<<"$out")"
check "a ref that names nothing: the flag never went up" never_flagged
check "a ref that names nothing: the container is untouched" test "$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' sgos-hello-app 2>/dev/null)" = "$before"
check "a ref that names nothing: src stays at main's commit" test "$(as_deploy git -C "$app_dir/src" rev-parse HEAD)" = "$first"
grep -q "deploy of sgos-hello (no-such-branch) failed; nothing was changed" "$SANDBOX_DIR/hook.log" ||
  fail "the webhook says nothing was changed" "$(cat "$SANDBOX_DIR/hook.log")"

# 2. A broken release: 1.0.1 without /health. The health gate fails; the deploy puts 1.0.0 back.
git --git-dir="$SANDBOX_EXAMPLE_REMOTE" update-ref refs/heads/main "$broken" || { fail "push the broken release to main"; exit 1; }
times=$SANDBOX_DIR/flag-times-2; : >"$times"
watch_flag "$times" & watcher=$!
out=$(deploy app=hello health_timeout=40s "$webhook"); status=$?
kill "$watcher"; wait "$watcher" 2>/dev/null; watcher=
check "the broken deploy exits 1" test "$status" -eq 1
grep -q "sgos-hello-app is unhealthy\|did not become healthy\|unhealthy" <<<"$out" || fail "the broken deploy failed at the health gate" "$(tail -n 60 <<<"$out")"
grep -q "rolled back to $first" <<<"$out" || fail "the run says it rolled back to $first" "$(tail -n 40 <<<"$out")"
check "src is back at the previous commit" test "$(as_deploy git -C "$app_dir/src" rev-parse HEAD)" = "$first"
check "the rolled-back container is healthy" test "$(docker inspect -f '{{.State.Health.Status}}' sgos-hello-app 2>/dev/null)" = healthy
check "the rollback started the container under the flag" started_under_flag "$times"
check "no flag after the failed deploy" test ! -e "$flag"
answer=$(get /)
check "the proxy answers 200 again" test "$(tail -n1 <<<"$answer")" = 200
grep -q "sgos-hello 1.0.0" <<<"$answer" || fail "the proxy shows the old version 1.0.0" "$answer"

grep -q "rolled back to the previous release" "$SANDBOX_DIR/hook.log" || fail "the webhook got the rollback" "$(cat "$SANDBOX_DIR/hook.log")"

# 3. A breaking migration that fails: no rollback by itself (the database must be restored).
out=$(deploy app=hello ref=breaking health_timeout=40s "$webhook"); status=$?
check "the failed breaking deploy exits 1" test "$status" -eq 1
grep -q "has a breaking migration: not rolled back by itself" <<<"$out" || fail "it says a database restore is needed" "$(tail -n 40 <<<"$out")"
check "src stays at the breaking release" test "$(as_deploy git -C "$app_dir/src" rev-parse HEAD)" = "$breaking"
check "no flag after it" test ! -e "$flag"
grep -q "breaking migration: restore the database" "$SANDBOX_DIR/hook.log" || fail "the webhook got the restore notice" "$(cat "$SANDBOX_DIR/hook.log")"

# 4. Ctrl-C (SIGINT to runner) during the compose step's health gate: exit 130, no flag left.
log=$SANDBOX_DIR/interrupted.log
"$RUNNER" run deploy app=hello ref=broken health_timeout=60s --inventory "$SANDBOX_INVENTORY" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q "waiting up to" "$log" && break; sleep 0.1; done
if grep -q "waiting up to" "$log" && [ -e "$flag" ] && [ "$(cat /proc/$pid/comm 2>/dev/null)" = runner ]; then
  pass "the deploy waits in the health gate under the flag"
else
  fail "the deploy waits in the health gate under the flag" "$(tail -n 20 "$log")"
fi
kill -INT "$pid"; wait "$pid"; status=$?
check "Ctrl-C in the compose step exits 130" test "$status" -eq 130
check "no flag after Ctrl-C" test ! -e "$flag"

# 5. The SSH connection to hornbill dropped while `docker compose up --build` runs: every process
# of the sandbox sshd's sessions is killed (the listener stays, so a new connection works), which
# closes the TCP connection under the running command. The session's own commands go too, as on a
# host whose sshd died with its children: an orphaned compose would finish the build later and
# replace the container the rollback starts. The run fails naming the host and the lost
# connection; on_failure and finally connect again: rolled back to 1.0.0, no flag left.
descendants() { local child; for child in $(ps -o pid= --ppid "$1"); do echo "$child"; descendants "$child"; done; }
building() { docker ps --no-trunc --format '{{.Command}}' | grep -q "sleep 297 # $slow_build"; }
log=$SANDBOX_DIR/dropped.log
"$RUNNER" run deploy app=hello ref=slow health_timeout=60s --inventory "$SANDBOX_INVENTORY" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do building && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if building && [ -e "$flag" ]; then
  pass "the deploy builds the slow release under the flag"
  sessions=$(descendants "$(cat "$SANDBOX_DIR/run/sshd.pid")")
  # shellcheck disable=SC2086
  [ -n "$sessions" ] && kill -KILL $sessions
else
  fail "the deploy builds the slow release under the flag" "$(tail -n 20 "$log")"
fi
wait "$pid"; status=$?
out=$(cat "$log")
check "the run with the dropped connection exits 1" test "$status" -eq 1
grep -q "hornbill.*connection lost" <<<"$out" || fail "the run names hornbill and the lost connection" "$(tail -n 40 <<<"$out")"
grep -q "rolled back to $first" <<<"$out" || fail "it rolled back to $first over a new connection" "$(tail -n 40 <<<"$out")"
check "no flag after the dropped connection" test ! -e "$flag"
check "src is back at the previous commit" test "$(as_deploy git -C "$app_dir/src" rev-parse HEAD)" = "$first"
answer=$(get /)
check "the proxy answers 200 after the dropped connection" test "$(tail -n1 <<<"$answer")" = 200
grep -q "sgos-hello 1.0.0" <<<"$answer" || fail "the proxy shows 1.0.0 after the dropped connection" "$answer"
check "no build of the slow release is left running" eventually sh -c "! docker ps --no-trunc --format '{{.Command}}' | grep -q 'sleep 297 # $slow_build'"

if ((failures)); then echo "deploy test: $failures failed"; exit 1; fi
echo "deploy test: all passed"
