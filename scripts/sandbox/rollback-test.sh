#!/usr/bin/env bash
# The rollback pipeline's end-to-end test (run by scripts/test.sh): `scripts/sandbox.sh up` in a
# temporary SANDBOX_DIR on free ports, the example app set up as new-app-setup leaves it, then
# deploys and rollbacks through the `runner` binary, and the world checked (the checkout, the
# container, the proxy's answer, the app's data, the flag, the run history), not the log:
#   1.0.0 deployed and backed up (restic snapshots in the backup pipeline's layout), 2.0.0 with a
#   breaking migration that changes the data; a rollback refuses without restore_db (nothing
#   changes), restores the backup with it; 2.1.0 (safe) rolls back without a restore to the
#   release the previous rollback made; to=<commit>, to=<run id>; a `to` that names nothing;
#   and a failing deploy that rolls itself back to the release a rollback made.
# Needs root, a Docker engine and a built runner (RUNNER, else .build/debug/runner). Deploys the
# example app (container sgos-hello-app): run it under `flock /tmp/sgos-hello.lock`.
set -uo pipefail
cd "$(dirname "$0")/../.."

test_name="rollback test"
. scripts/sandbox/lib.sh
require_sandbox_test_prerequisites

# The restore's temporary directories (toucan's and hornbill's) are made in /tmp here.
unset TMPDIR
watcher=
test_cleanup() { [ -n "$watcher" ] && kill "$watcher" 2>/dev/null; }
start_test_sandbox rollback-test
set_up_example_app >/dev/null || { fail "the example app set up (directory, clone, compose link)"; exit 1; }
app_dir=$SANDBOX_APPS_ROOT/sgos-hello
data=$app_dir/data/greetings.txt
flag=$SANDBOX_PROXY_FLAGS/sgos-hello.flag
remote=$SANDBOX_EXAMPLE_REMOTE

# Releases on branches of the remote, each an app.json change (python keeps the JSON valid):
#   v2     2.0.0, migration breaking; its postdeploy migrates the data (adds a line)
#   v21    2.1.0 on top of it, migration safe, no data change
#   broken 1.0.1 on top of main without /health (fails the health gate), migration none
work=$SANDBOX_DIR/work
release() { # version migration postdeploy message [restore]
  python3 - "$work/app.json" "$1" "$2" "$3" "${5:-./restore.sh}" <<'EOF' && git -C "$work" -c user.name=test -c user.email=test@localhost commit -qam "$4"
import json, sys
path, version, migration, postdeploy, restore = sys.argv[1:]
app = json.load(open(path))
app.update(version=version, migration=migration)
app["scripts"].update(postdeploy=postdeploy, restore=restore)
json.dump(app, open(path, "w"), indent=2)
EOF
}
# 2.0.0's scripts.restore also writes down whether the flag was up when it ran.
flag_at_restore=$app_dir/flag-at-restore
restore_v2="if [ -e $flag ]; then echo on; else echo off; fi > $flag_at_restore && ./restore.sh"
git clone -q "$remote" "$work" &&
  release 2.0.0 breaking "docker exec sgos-hello-app sh -c 'echo migrated to 2.0.0 >> /data/greetings.txt'" "2.0.0: breaking migration" "$restore_v2" &&
  git -C "$work" push -q origin HEAD:v2 &&
  release 2.1.0 safe "echo postdeploy of sgos-hello done" "2.1.0: safe migration" &&
  git -C "$work" push -q origin HEAD:v21 &&
  git -C "$work" checkout -q main &&
  git -C "$work" mv www/health www/ready && release 1.0.1 none "echo postdeploy of sgos-hello done" "1.0.1 without /health" &&
  git -C "$work" push -q origin HEAD:broken ||
  { fail "push the releases"; exit 1; }
c1=$(git --git-dir="$remote" rev-parse main)
c2=$(git --git-dir="$remote" rev-parse v2)
c21=$(git --git-dir="$remote" rev-parse v21)

deploy() { "$RUNNER" run deploy "$@" --inventory "$SANDBOX_INVENTORY" 2>&1; }
rollback() { "$RUNNER" run rollback "$@" --inventory "$SANDBOX_INVENTORY" 2>&1; }
get() { curl -s --max-time 5 -H "Host: hello.localhost" -w '\n%{http_code}' "$SANDBOX_PROXY_URL$1"; }
at() { test "$(as_deploy git -C "$app_dir/src" rev-parse HEAD)" = "$1"; }
container() { docker inspect -f '{{.Id}} {{.State.StartedAt}}' sgos-hello-app 2>/dev/null; }
last_run() { "$RUNNER" runs --pipeline "$1" --limit 1 | awk 'NR == 2 { print $1 }'; }
# The proxy answers 200 with this version, and the container is healthy.
serves() { # version
  local answer
  answer=$(get /)
  [ "$(tail -n1 <<<"$answer")" = 200 ] && grep -q "sgos-hello $1)" <<<"$answer" &&
    [ "$(docker inspect -f '{{.State.Health.Status}}' sgos-hello-app 2>/dev/null)" = healthy ] ||
    { echo "    the proxy: $answer"; return 1; }
}

# While a run goes on, records every 50 ms whether the flag exists and the container's StartedAt.
# Without comparing clocks: the container was started under the flag when the first look that saw
# its StartedAt also saw the flag. The flag is looked at before and after `docker inspect` (which
# takes a while): `flag` when both saw it, `edge` when one did.
watch() { # file
  local before after on started
  while :; do
    [ -e "$flag" ] && before=1 || before=0
    started=$(docker inspect -f '{{.State.StartedAt}}' sgos-hello-app 2>/dev/null) || started=none
    [ -e "$flag" ] && after=1 || after=0
    case $before$after in 11) on=flag ;; 00) on=none ;; *) on=edge ;; esac
    printf '%s %s\n' "$on" "$started" >>"$1"
    sleep 0.05
  done
}
watching() { observed=$SANDBOX_DIR/observed-$1; : >"$observed"; watch "$observed" & watcher=$!; }
stop_watching() { kill "$watcher"; wait "$watcher" 2>/dev/null; watcher=; }
started_under_flag() {
  local started seen
  started=$(docker inspect -f '{{.State.StartedAt}}' sgos-hello-app) || return 1
  seen=$(awk -v v="$started" '$2 == v { print $1; exit }' "$observed")
  [ "$seen" = flag ] || { echo "    first seen with: ${seen:-never}"; return 1; }
}

# 1. 1.0.0, and its backup in the backup pipeline's layout: backup.sh's output pulled to
# <staging_dir>/sgos-hello/, one snapshot tagged sgos-hello. Around it two snapshots the rollback
# must not take: an older one of sgos-hello and a newer one of another app.
out=$(deploy app=hello health_timeout=60s); status=$?
[ "$status" -eq 0 ] && serves 1.0.0 && pass "deploy 1.0.0" || { fail "deploy 1.0.0" "$(tail -n 40 <<<"$out")"; exit 1; }
backed_up=$(cat "$data")
snapshot() { # app (the staging tree sgos-<app> as it is)
  restic backup -q --repo "$SANDBOX_RESTIC_REPOSITORY" --password-file "$SANDBOX_RESTIC_PASSWORD_FILE" \
    --tag "sgos-$1" "$SANDBOX_STAGING_DIR/sgos-$1" >/dev/null
}
staged=$SANDBOX_STAGING_DIR/sgos-hello
mkdir -p "$staged" && echo "a stale greeting" >"$staged/greetings-20000101T000000Z.dump" && snapshot hello &&
  out=$(cd "$app_dir/src" && as_deploy ./backup.sh) &&
  rm -rf "$staged" && cp -r "$app_dir/backups" "$staged" && snapshot hello &&
  mkdir -p "$SANDBOX_STAGING_DIR/sgos-other" && echo "another app" >"$SANDBOX_STAGING_DIR/sgos-other/greetings-29990101T000000Z.dump" &&
  snapshot other && pass "backups of 1.0.0 in restic" || { fail "backups of 1.0.0 in restic" "$out"; exit 1; }

# 2. 2.0.0: a breaking migration that changes the data.
out=$(deploy app=hello ref=v2 health_timeout=60s); status=$?
[ "$status" -eq 0 ] && serves 2.0.0 && at "$c2" && grep -q "migrated to 2.0.0" "$data" &&
  pass "deploy 2.0.0, which migrates the data" || { fail "deploy 2.0.0, which migrates the data" "$(tail -n 40 <<<"$out")"; exit 1; }
migrated=$(cat "$data")

# 3. Leaving a breaking migration without restore_db: refused before anything changes; the same
# through the pipeline's path.
for form in rollback pipelines/rollback.yml; do
  before=$(container); flags_now
  out=$("$RUNNER" run "$form" app=hello --inventory "$SANDBOX_INVENTORY" 2>&1); status=$?
  check "$form without restore_db exits 1" test "$status" -eq 1
  grep -q "has migration: breaking.*Run again with restore_db=true" <<<"$out" ||
    fail "$form says the database must be restored" "$(tail -n 30 <<<"$out")"
  check "$form: the flag never went up" never_flagged
  check "$form: the container is untouched" test "$(container)" = "$before"
  check "$form: src stays at 2.0.0" at "$c2"
  check "$form: the data stays migrated" test "$(cat "$data")" = "$migrated"
  check "$form: the proxy still serves 2.0.0" serves 2.0.0
done

# 4. With restore_db=true: the backup is back in the database, then 1.0.0 runs.
restore_dirs() { ls -d /tmp/sgos-restore.* 2>/dev/null; }
dirs_before=$(restore_dirs)
watching restore
out=$(rollback app=hello restore_db=true health_timeout=60s); status=$?
stop_watching
[ "$status" -eq 0 ] && pass "rollback restore_db=true exits 0" || fail "rollback restore_db=true exits 0" "$(tail -n 60 <<<"$out")"
check "the data is the backed-up content again" test "$(cat "$data")" = "$backed_up"
check "scripts.restore ran under the flag" test "$(cat "$flag_at_restore" 2>/dev/null)" = on
check "the container was started under the flag" started_under_flag
check "src is at 1.0.0" at "$c1"
check "the proxy serves 1.0.0" serves 1.0.0
check "no flag after the rollback" test ! -e "$flag"
check "no copy of the backup left in temporary directories" test "$(restore_dirs)" = "$dirs_before"
restored_run=$(last_run rollback)
shown=$("$RUNNER" show "$restored_run" 2>&1)
grep -q "succeeded" <<<"$shown" && grep -q "$c1" <<<"$shown" || fail "the run history has the rollback and its commit" "$shown"

# 5. 2.1.0 (migration safe) rolls back without a restore, to the newest release that is not the
# one checked out: the one the rollback above made (the newest deploy other than 2.1.0 is 2.0.0).
out=$(deploy app=hello ref=v21 health_timeout=60s); status=$?
[ "$status" -eq 0 ] && serves 2.1.0 || fail "deploy 2.1.0" "$(tail -n 40 <<<"$out")"
before_data=$(cat "$data")
out=$(rollback app=hello health_timeout=60s); status=$?
[ "$status" -eq 0 ] && pass "leaving a safe migration: rollback exits 0" || fail "leaving a safe migration: rollback exits 0" "$(tail -n 40 <<<"$out")"
check "back at 1.0.0, the release the previous rollback made" at "$c1"
check "the proxy serves 1.0.0" serves 1.0.0
check "the data was not restored" test "$(cat "$data")" = "$before_data"

# 6. to=<commit> (abbreviated) and to=<run id>.
out=$(rollback app=hello to="${c21:0:10}" health_timeout=60s); status=$?
[ "$status" -eq 0 ] && at "$c21" && serves 2.1.0 && pass "to=<commit> rolls to that commit" ||
  fail "to=<commit> rolls to that commit" "$(tail -n 40 <<<"$out")"
out=$(rollback app=hello to="$restored_run" health_timeout=60s); status=$?
[ "$status" -eq 0 ] && at "$c1" && serves 1.0.0 && pass "to=<run id> rolls to that run's release" ||
  fail "to=<run id> rolls to that run's release" "$(tail -n 40 <<<"$out")"

# 7. A `to` that names nothing fails before the flag goes up.
before=$(container); flags_now
out=$(rollback app=hello to=no-such-release); status=$?
check "to=<nothing> exits 1" test "$status" -eq 1
grep -q "commit no-such-release names no commit" <<<"$out" || fail "to=<nothing> says so" "$(tail -n 30 <<<"$out")"
check "to=<nothing>: the flag never went up" never_flagged
check "to=<nothing>: the container is untouched" test "$(container)" = "$before"

# 8. A failing deploy rolls itself back to what runs: the release the last rollback made (1.0.0),
# not the last successful deploy (2.1.0).
out=$(deploy app=hello ref=broken health_timeout=30s); status=$?
check "the broken deploy exits 1" test "$status" -eq 1
check "deploy's own rollback returns to the rollback's release" at "$c1"
check "the proxy serves 1.0.0 again" serves 1.0.0
check "no flag after it" test ! -e "$flag"

# 9. Ctrl-C (SIGINT to runner) while a rollback waits in the health gate: exit 130, no flag left.
log=$SANDBOX_DIR/interrupted.log
"$RUNNER" run rollback app=hello to="$(git --git-dir="$remote" rev-parse broken)" health_timeout=60s --inventory "$SANDBOX_INVENTORY" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -qs "waiting up to" "$log" && break; sleep 0.1; done
if grep -q "waiting up to" "$log" && [ -e "$flag" ]; then pass "the rollback waits in the health gate under the flag"
else fail "the rollback waits in the health gate under the flag" "$(tail -n 20 "$log")"; fi
kill -INT "$pid"; wait "$pid"; status=$?
check "Ctrl-C in the rollback's compose step exits 130" test "$status" -eq 130
check "no flag after Ctrl-C" test ! -e "$flag"

if ((failures)); then echo "rollback test: $failures failed"; exit 1; fi
echo "rollback test: all passed"
