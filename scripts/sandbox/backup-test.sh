#!/usr/bin/env bash
# The backup pipeline's end-to-end test (run by scripts/test.sh): a sandbox of its own with S3,
# the example app deployed by runner, and a backup set of four apps: sgos-broken (its
# scripts.backup fails), sgos-hello, sgos-quiet (no scripts.backup) on hornbill, and sgos-ghost
# on a host the inventory does not know. Then
# `runner run backup.yml` through the binary, and the world checked: restic snapshots and what
# they hold, the staging directory, status.json, the exit code, the Google Chat stand-in; a second
# run applies retention; a third backs hello up to the S3 repository (moto).
# Needs root, a Docker engine and a built runner (RUNNER, else .build/debug/runner). It deploys
# the example app: run it under `flock /tmp/sgos-hello.lock`.
set -uo pipefail
cd "$(dirname "$0")/../.."

test_name="backup test"
. scripts/sandbox/lib.sh
require_sandbox_test_prerequisites

export SANDBOX_S3=1
hook=
test_cleanup() { [ -n "$hook" ] && kill "$hook" 2>/dev/null; }
start_test_sandbox backup-test
read -r hook_port < <(free_ports 1)
staging=$SANDBOX_STAGING_DIR
status_file=$SANDBOX_STATUS_FILE
restic_local() { restic --repo "$SANDBOX_RESTIC_REPOSITORY" --password-file "$SANDBOX_RESTIC_PASSWORD_FILE" "$@"; }
restic_s3() { (set -a; . "$SANDBOX_S3_ENV"; restic --password-file "$SANDBOX_RESTIC_PASSWORD_FILE" "$@"); }
snapshot_ids() { # restic function, tag: the short ids of that tag's snapshots, one a line
  "$1" snapshots --json --tag "$2" | jq -r '.[].short_id'
}
status() { jq -r "$1" "$status_file" 2>/dev/null; }

# sgos-hello as deploy leaves it: set up as new-app-setup would, then `runner run deploy`.
hello=$SANDBOX_APPS_ROOT/sgos-hello
as_deploy mkdir -p "$hello" &&
  as_deploy git clone -q "$SANDBOX_EXAMPLE_REMOTE" "$hello/src" &&
  as_deploy ln -s src/docker-compose.yml "$hello/docker-compose.yml" ||
  { fail "sgos-hello set up as new-app-setup would"; exit 1; }
out=$("$RUNNER" run deploy app=hello health_timeout=90s --inventory "$SANDBOX_INVENTORY" 2>&1) ||
  { fail "deploy app=hello" "$(tail -n 30 <<<"$out")"; exit 1; }
pass "deploy app=hello"
# A line only this test wrote, in the app's "database", so the dump is known to be fresh.
marker=backup-test-$RANDOM$RANDOM
docker exec sgos-hello-app sh -c "echo $marker >> /data/greetings.txt" || fail "write a marker into /data/greetings.txt"
database=$(docker exec sgos-hello-app cat /data/greetings.txt)

# sgos-broken: a clone of its own remote, whose scripts.backup fails (as pg_dump would without
# its database). It is never deployed: backup.yml only needs src/app.json and the script.
work=$SANDBOX_DIR/work-broken
broken_remote=$SANDBOX_GIT_BASE/sgos-broken.git
mkdir -p "$work" && cat >"$work/app.json" <<'EOF' && cat >"$work/backup.sh" <<'EOF2' || fail "write sgos-broken"
{
  "name": "sgos-broken",
  "version": "0.1.0",
  "migration": "none",
  "scripts": { "backup": "./backup.sh" },
  "sgos": { "domain": "broken.localhost", "backup": { "output": "backups" } }
}
EOF
#!/bin/sh
echo "pg_dump: error: connection to server on socket failed: No such file or directory" >&2
exit 3
EOF2
chmod +x "$work/backup.sh"
git init -q --bare -b main "$broken_remote" && git -C "$work" init -q -b main && git -C "$work" add -A &&
  git -C "$work" -c user.name=test -c user.email=test@localhost commit -qm "sgos-broken 0.1.0" &&
  git -C "$work" push -q "$broken_remote" main &&
  as_deploy git config --global --add safe.directory "$broken_remote" &&
  as_deploy mkdir -p "$SANDBOX_APPS_ROOT/sgos-broken" &&
  as_deploy git clone -q "$broken_remote" "$SANDBOX_APPS_ROOT/sgos-broken/src" ||
  { fail "sgos-broken cloned from its remote"; exit 1; }
# sgos-quiet: an app in the set whose app.json declares no scripts.backup (nothing to back up).
as_deploy mkdir -p "$SANDBOX_APPS_ROOT/sgos-quiet/src" &&
  printf '{ "name": "sgos-quiet", "version": "1.0.0", "scripts": {} }\n' | as_deploy tee "$SANDBOX_APPS_ROOT/sgos-quiet/src/app.json" >/dev/null ||
  fail "write sgos-quiet's app.json"

# The backup set, as new-app-setup writes it (the failing app first: it must not stop the others).
cat >"$SANDBOX_BACKUP_SET" <<'EOF'
# <app> <host>: the apps the nightly backup covers
broken hornbill
hello hornbill

quiet   hornbill   # no scripts.backup
ghost nowhere      # a host the inventory does not know
EOF

# A Google Chat stand-in: every POST body, one a line.
hook_token=hook-token-$RANDOM$RANDOM
start_gchat_stand_in "$hook_port" "$SANDBOX_DIR/hook.log"
hook=$!
webhook=gchat_webhook=http://127.0.0.1:$hook_port/v1/spaces/test/messages?key=$hook_token
password=$(cat "$SANDBOX_RESTIC_PASSWORD_FILE")
s3_secret=$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$SANDBOX_S3_ENV")
no_secrets() { # what, text: neither the restic password, the S3 secret nor the webhook's key in it
  if grep -qF -e "$password" -e "$s3_secret" -e "$hook_token" <<<"$2"; then fail "no secret in $1"; else pass "no secret in $1"; fi
}
backup() { "$RUNNER" run backup.yml "$@" 2>&1; }

# 1. The nightly run: broken fails, hello is backed up, quiet is skipped; the run fails and notifies.
out=$(backup --inventory "$SANDBOX_INVENTORY" "$webhook"); code=$?
check "the run with a failing app exits 1" test "$code" -eq 1
grep -q "sgos-broken" <<<"$out" && grep -q "sgos-hello" <<<"$out" || fail "the console names the apps" "$(tail -n 40 <<<"$out")"
mapfile -t ids < <(snapshot_ids restic_local sgos-hello)
check "one snapshot tagged sgos-hello" test "${#ids[@]}" -eq 1
first=${ids[0]:-none}
dump=$(cd "$staging/sgos-hello" 2>/dev/null && ls greetings-*.dump 2>/dev/null | tail -n 1)
check "staging holds hello's dump" test -n "$dump"
check "the staged dump is the app's database" test "$(cat "$staging/sgos-hello/$dump" 2>/dev/null)" = "$database"
check "the snapshot holds the dump, with the marker" \
  test "$(restic_local dump "$first" "$staging/sgos-hello/$dump" 2>/dev/null)" = "$database"
check "no snapshot tagged sgos-broken" test -z "$(snapshot_ids restic_local sgos-broken)"
check "status.json: sgos-hello succeeded" test "$(status .apps.hello.result)" = success
check "status.json: hello's snapshot" test "$(status .apps.hello.snapshot)" = "$first"
check "status.json: hello's size is the staged bytes" test "$(status .apps.hello.size)" = "$(find "$staging/sgos-hello" -type f -printf '%s\n' | awk '{ b += $1 } END { print b + 0 }')"
check "status.json: hello's time" grep -q '^20[0-9-]*T[0-9:]*Z$' <<<"$(status .apps.hello.time)"
check "status.json: sgos-broken failed" test "$(status .apps.broken.result)" = failed
status_error=$(status .apps.broken.error)
grep -q "scripts.backup: exit code 3: pg_dump: error: connection to server" <<<"$status_error" ||
  fail "status.json: broken's error is its script's" "$status_error"
check "status.json: sgos-quiet skipped" test "$(status .apps.quiet.result)" = skipped
check "status.json: sgos-ghost failed" test "$(status .apps.ghost.result)" = failed
grep -q "unknown host 'nowhere'" <<<"$(status .apps.ghost.error)" || fail "status.json: ghost's error names its host" "$(status .apps.ghost.error)"
check "status.json: the run failed" test "$(status .result)" = failed
check "status.json: restic check ran" test "$(status .repository.check)" = ok
grep -q "Nightly backup failed.*sgos-broken (scripts.backup: exit code 3" "$SANDBOX_DIR/hook.log" 2>/dev/null ||
  fail "Google Chat got the failure" "$(cat "$SANDBOX_DIR/hook.log" 2>&1)"
check "no packed output left on the host" test ! -e "$hello/.sgos-backup.tar.gz"
check "no tarball left in staging" test -z "$(ls -A "$staging" | grep '\.tar\.gz$')"
no_secrets "the output" "$out"
no_secrets "status.json" "$(cat "$status_file")"
no_secrets "the run record" "$("$RUNNER" show last --log 2>&1)"

# 2. Again, the same day: a new snapshot of hello, and retention (keep-daily 7 keeps one
# snapshot a day per app) forgets the first.
out=$(backup --inventory "$SANDBOX_INVENTORY"); code=$?
check "the second run exits 1 (broken still fails)" test "$code" -eq 1
mapfile -t ids < <(snapshot_ids restic_local sgos-hello)
check "retention left one snapshot of today tagged sgos-hello" test "${#ids[@]}" -eq 1
check "it is the new one" test "${ids[0]:-none}" != "$first" -a "${ids[0]:-none}" = "$(status .apps.hello.snapshot)"
check "status.json: retention and check ran" test "$(status .repository.forget)/$(status .repository.check)" = changed/ok

# 3. To S3 (moto) for hello alone, with the S3 inventory `up` wrote: the repository from the
# inventory, the credentials from a file restic reads itself (AWS_SHARED_CREDENTIALS_FILE);
# status.json keeps the other apps' entries.
check "the S3 credentials file is 0600" test "$(stat -c %a "$(dirname "$SANDBOX_RESTIC_PASSWORD_FILE")/s3-credentials" 2>/dev/null)" = 600
out=$(backup apps=hello --inventory "$SANDBOX_S3_INVENTORY"); code=$?
check "the S3 run of hello exits 0" test "$code" -eq 0 || echo "$out" | tail -n 30 | sed 's/^/    /'
mapfile -t ids < <(snapshot_ids restic_s3 sgos-hello)
check "one snapshot tagged sgos-hello on S3" test "${#ids[@]}" -eq 1
check "status.json: hello's snapshot is the S3 one" test "$(status .apps.hello.snapshot)" = "${ids[0]:-none}"
check "status.json keeps broken's entry" test "$(status .apps.broken.result)" = failed
no_secrets "the S3 run's output" "$out"

if ((failures)); then echo "backup test: $failures failed"; exit 1; fi
echo "backup test: all passed"
