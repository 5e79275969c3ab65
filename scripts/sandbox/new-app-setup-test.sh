#!/usr/bin/env bash
# The new-app-setup pipeline's end-to-end test (run by scripts/test.sh): `scripts/sandbox.sh up`
# in a temporary SANDBOX_DIR on free ports, a second app (`sprout`, a copy of the example app with
# its own name, domain and container, on a new remote without .sops.yaml and .env.sops), then
# `runner run new-app-setup app=sprout` through the binary with the generated inventory, and the
# world checked: the app directory and clone, .sops.yaml and a .env.sops that the team's key opens
# to .env.example's values, the network, the site with its flags (200, 503), the backup set, the
# deploy hook. Then the same setup again: exit 0, every step ok, no file touched. Then hello (set
# up by `up` as new-app-setup would write it): its site is left as it is. Then the team commits the
# two files and deploys; a site that nginx rejects is taken back; a clone of another remote refuses.
# Needs root, a Docker engine and a built runner (RUNNER, else .build/debug/runner). Deploys the
# example app: run it under `flock /tmp/sgos-hello.lock` when others may deploy hello too.
set -uo pipefail
cd "$(dirname "$0")/../.."

test_name="new-app-setup test"
. scripts/sandbox/lib.sh
require_sandbox_test_prerequisites

app=sprout
# The app's image outlives the sandbox: removed once its container is gone (down runs again after).
test_cleanup() {
  scripts/sandbox.sh down --purge >/dev/null 2>&1
  docker image rm -f "sgos-$app-app:latest" >/dev/null 2>&1
}
start_test_sandbox setup-test
app_dir=$SANDBOX_APPS_ROOT/sgos-$app
site=$SANDBOX_PROXY_SITES/sgos-$app.conf
hook=$SANDBOX_HOOKS_DIR/deploy-sgos-$app.yml
remote=$SANDBOX_GIT_BASE/sgos-$app.git
get() { curl -s --max-time 5 -H "Host: $1" -w '\n%{http_code}' "$SANDBOX_PROXY_URL${2:-/}"; }
# runner's JSON lines of one run go to the file $1; the rest are the run's params.
setup() { local events=$1; shift; "$RUNNER" run new-app-setup "$@" --inventory "$SANDBOX_INVENTORY" --output json >"$events" 2>&1; }
# "<step id> <status>" of every step the run finished (nested deploy's steps included).
statuses() { python3 -c 'import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "step_finished": print(e.get("step_id") or e["step"], e["status"])' "$1"; }
# The first: the first deploy's own steps (deploy.yml has a `secrets` too) come after ours.
step_status() { statuses "$1" | awk -v id="$2" '$1 == id { print $2; exit }'; }
# The run's counts of changed steps, and the summary of its last step.
changed_count() { python3 -c 'import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "run_finished": print(e["counts"]["changed"])' "$1"; }
run_summary() { python3 -c 'import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "step_finished" and e.get("step_id") == "done": print(e["outputs"]["summary"])' "$1"; }

# The second app: the example app under another name, domain and container, on its own remote,
# with .env.example but without .sops.yaml and .env.sops (new-app-setup makes them).
work=$SANDBOX_DIR/work
mkdir -p "$work" && cp -a scripts/sandbox/app/. "$work/" && cp /bin/busybox "$work/busybox" &&
  grep -rlZ hello "$work" --exclude=busybox | xargs -0 sed -i "s/sgos-hello/sgos-$app/g; s/hello\.localhost/$app.localhost/g" &&
  sed -i "s|@REPOSITORY@|$remote|" "$work/app.json" &&
  git init -q --bare -b main "$remote" && git -C "$work" init -q -b main && git -C "$work" add -A &&
  git -C "$work" -c user.name=test -c user.email=test@localhost commit -qm "sgos-$app 1.0.0" &&
  git -C "$work" push -q "$remote" main && as_deploy git config --global --add safe.directory "$remote" ||
  { fail "push the second app to $remote"; exit 1; }
check "the second app has .env.example and no .env.sops" test -f "$work/.env.example" -a ! -e "$work/.env.sops"

# Bad params: refused before anything runs.
for bad in "app=Sprout" "app=$app domain=sprout_localhost" "app=$app domain=-x.localhost" "app=$app repo=--upload-pack=x"; do
  # shellcheck disable=SC2086
  out=$("$RUNNER" run new-app-setup $bad --inventory "$SANDBOX_INVENTORY" 2>&1); status=$?
  [ "$status" -eq 2 ] && grep -q "does not match pattern" <<<"$out" && pass "$bad is refused (exit 2)" ||
    fail "$bad is refused (exit 2)" "exit $status: $out"
done
check "nothing ran for bad params" test ! -e "$app_dir"

# 1. The setup.
events1=$SANDBOX_DIR/setup-1.json
setup "$events1" app=$app; status=$?
[ "$status" -eq 0 ] && pass "new-app-setup app=$app exits 0" || fail "new-app-setup app=$app exits 0" "$(tail -n 30 "$events1")"
for id in dirs clone link secrets site backup_set hook deploy; do
  check "step $id changed" test "$(step_status "$events1" "$id")" = changed
done
for d in "$app_dir" "$app_dir/data" "$app_dir/backups"; do check "${d#"$SANDBOX_APPS_ROOT"/} is a directory of deploy" test -d "$d" -a "$(stat -c %U "$d")" = deploy; done
check "docker-compose.yml links to src/docker-compose.yml" test "$(readlink "$app_dir/docker-compose.yml")" = src/docker-compose.yml
check "src is a clone of the remote" test "$(as_deploy git -C "$app_dir/src" remote get-url origin)" = "$remote"
check "src is at main" test "$(as_deploy git -C "$app_dir/src" rev-parse HEAD)" = "$(git --git-dir="$remote" rev-parse main)"
check ".sops.yaml names the team's age recipient" grep -qxF "    age: $SANDBOX_AGE_RECIPIENT" "$app_dir/src/.sops.yaml"
cat >"$SANDBOX_DIR/decrypt.yml" <<EOF
name: decrypt-check
steps:
  - uses: sops
    with: { decrypt: $app_dir/src/.env.sops, dest: $SANDBOX_DIR/decrypted.env, key_file: $SANDBOX_AGE_KEY_FILE }
EOF
out=$(RUNNER_STATE_DIR=$SANDBOX_DIR/check-state "$RUNNER" run "$SANDBOX_DIR/decrypt.yml" 2>&1) || fail "the age key opens .env.sops" "$out"
check ".env.sops holds .env.example's values" cmp -s "$SANDBOX_DIR/decrypted.env" "$app_dir/src/.env.example"
check ".env.sops is encrypted" grep -q '^HELLO_SECRET=ENC\[AES256_GCM' "$app_dir/src/.env.sops"
check "git ignores the two uncommitted files in the clone" test -z "$(as_deploy git -C "$app_dir/src" status --porcelain)"
grep -q "commit .sops.yaml and .env.sops" "$events1" || fail "the run says to commit .sops.yaml and .env.sops" "$(grep -i commit "$events1")"
check "the sgos network exists" quiet docker network inspect sgos
check "the app's container is on it" \
  test "$(docker inspect -f '{{ if index .NetworkSettings.Networks "sgos" }}yes{{ end }}' "sgos-$app-app" 2>/dev/null)" = yes
check "the site names the domain" grep -q "server_name $app.localhost;" "$site"
check "the site checks the global flag" grep -qF "if (-f $SANDBOX_PROXY_FLAGS/global.flag) { return 503; }" "$site"
check "the site checks the app's flag" grep -qF "if (-f $SANDBOX_PROXY_FLAGS/sgos-$app.flag) { return 503; }" "$site"
check "the site serves the maintenance page on 503" grep -q "error_page 503 /maintenance.html;" "$site"
answer=$(get "$app.localhost")
check "the proxy answers 200 for $app.localhost" test "$(tail -n1 <<<"$answer")" = 200
grep -q "sgos-$app 1.0.0" <<<"$answer" || fail "the proxy shows sgos-$app 1.0.0" "$answer"
touch "$SANDBOX_PROXY_FLAGS/sgos-$app.flag"
answer=$(get "$app.localhost")
check "the app's flag gives 503" test "$(tail -n1 <<<"$answer")" = 503
grep -q "Down for maintenance" <<<"$answer" || fail "503 shows the maintenance page" "$answer"
rm -f "$SANDBOX_PROXY_FLAGS/sgos-$app.flag"
touch "$SANDBOX_PROXY_FLAGS/global.flag"
check "the global flag gives 503" test "$(get "$app.localhost" | tail -n1)" = 503
rm -f "$SANDBOX_PROXY_FLAGS/global.flag"
check "no flag: 200 again" test "$(get "$app.localhost" | tail -n1)" = 200
check "the backup set lists the app once" test "$(grep -c "^$app " "$SANDBOX_BACKUP_SET" 2>/dev/null)" = 1
check "the backup set's line is '$app hornbill'" grep -qx "$app hornbill" "$SANDBOX_BACKUP_SET"
python3 - "$hook" "$app" "git/sgos-$app" <<'EOF' && pass "the deploy hook file" || fail "the deploy hook file" "$(cat "$hook" 2>&1)"
import sys, yaml
hook, app, repository = yaml.safe_load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
assert hook["id"] == f"deploy-sgos-{app}", hook["id"]
assert hook["provider"] == "github" and hook["events"] == ["push"] and hook["pipeline"] == "deploy", hook
assert hook["secret"] == {"env": "WEBHOOK_SECRET"}, hook["secret"]
assert 'payload.ref == "refs/heads/main"' in hook["filter"], hook["filter"]
assert f'payload.repository.full_name == "{repository}"' in hook["filter"], hook["filter"]
assert hook["params"] == {"app": app, "ref": "${{ payload.after }}"}, hook["params"]
EOF

# 2. The same setup again: nothing changes.
fingerprint() { # what the setup made: bytes, modes and mtimes of its files, the container
  for f in "$site" "$hook" "$SANDBOX_BACKUP_SET" "$app_dir/src/.sops.yaml" "$app_dir/src/.env.sops" "$app_dir/.env" \
    "$app_dir/src/.git/info/exclude" "$app_dir/docker-compose.yml" "$SANDBOX_PROXY_DIR/html/maintenance.html"; do
    printf '%s %s\n' "$(stat -c '%n %a %Y' "$f")" "$(sha256sum <"$f")"
  done
  stat -c '%n %Y' "$app_dir" "$app_dir/data" "$app_dir/backups" "$app_dir/src/.git/HEAD"
  docker inspect -f '{{.Id}} {{.State.StartedAt}}' "sgos-$app-app"
}
before=$(fingerprint)
events2=$SANDBOX_DIR/setup-2.json
setup "$events2" app=$app; status=$?
[ "$status" -eq 0 ] && pass "the second setup exits 0" || fail "the second setup exits 0" "$(tail -n 30 "$events2")"
not_ok=$(statuses "$events2" | awk '$2 != "ok" && !($1 == "deploy" && $2 == "skipped")')
[ -z "$not_ok" ] && [ "$(statuses "$events2" | wc -l)" -ge 15 ] && pass "every step ok (the first deploy skipped)" ||
  fail "every step ok (the first deploy skipped)" "$not_ok"
check "the run counts 0 changed" test "$(changed_count "$events2")" = 0
check "the summary says nothing changed" test "$(run_summary "$events2")" = "nothing changed: sgos-$app was set up already"
after=$(fingerprint)
[ "$before" = "$after" ] && pass "no file, mode or container changed" || fail "no file, mode or container changed" "$(diff <(echo "$before") <(echo "$after"))"

# 2b. The first deploy ran inside the setup's run: a failing deploy right after it still finds
# that release in the run history and rolls itself back to it.
setup_commit=$(git --git-dir="$remote" rev-parse main)
git -C "$work" mv www/health www/ready && git -C "$work" -c user.name=test -c user.email=test@localhost commit -qm "without /health" &&
  git -C "$work" push -q "$remote" HEAD:broken || fail "push a broken release of $app"
out=$("$RUNNER" run deploy app=$app ref=broken health_timeout=30s --inventory "$SANDBOX_INVENTORY" 2>&1); status=$?
check "a failing deploy after the setup exits 1" test "$status" -eq 1
check "it rolled back to the setup's release" test "$(as_deploy git -C "$app_dir/src" rev-parse HEAD)" = "$setup_commit"
check "the rolled-back container is healthy" test "$(docker inspect -f '{{.State.Health.Status}}' "sgos-$app-app" 2>/dev/null)" = healthy
check "the proxy answers 200 on /health for $app.localhost after the rollback (the broken release has none)" test "$(get "$app.localhost" /health | tail -n1)" = 200
check "no flag after the rollback" test ! -e "$SANDBOX_PROXY_FLAGS/sgos-$app.flag"

# 3. hello, whose site `up` wrote: new-app-setup leaves that site as it is.
hello_site=$SANDBOX_PROXY_SITES/sgos-hello.conf
hello_before=$(stat -c '%Y' "$hello_site")$(sha256sum <"$hello_site")
events3=$SANDBOX_DIR/setup-hello.json
setup "$events3" app=hello; status=$?
[ "$status" -eq 0 ] && pass "new-app-setup app=hello exits 0" || fail "new-app-setup app=hello exits 0" "$(tail -n 30 "$events3")"
check "hello's site step is ok, not changed" test "$(step_status "$events3" site)" = ok
check "hello's site file is untouched" test "$(stat -c '%Y' "$hello_site")$(sha256sum <"$hello_site")" = "$hello_before"
check "hello's committed .env.sops is left alone" test "$(step_status "$events3" secrets)" = ok
check "the proxy answers 200 for hello.localhost" test "$(get hello.localhost | tail -n1)" = 200

# 4. The team commits the two files (as the run said); deploy checks that commit out over them.
git clone -q "$remote" "$SANDBOX_DIR/team" && cp "$app_dir/src/.sops.yaml" "$app_dir/src/.env.sops" "$SANDBOX_DIR/team/" &&
  git -C "$SANDBOX_DIR/team" add .sops.yaml .env.sops &&
  git -C "$SANDBOX_DIR/team" -c user.name=test -c user.email=test@localhost commit -qm "secrets of sgos-$app" &&
  git -C "$SANDBOX_DIR/team" push -q origin main || fail "commit the two files to the remote"
out=$("$RUNNER" run deploy app=$app --inventory "$SANDBOX_INVENTORY" 2>&1); status=$?
[ "$status" -eq 0 ] && pass "deploy after the commit exits 0" || fail "deploy after the commit exits 0" "$(tail -n 30 <<<"$out")"
check "src is at the commit with the two files" test "$(as_deploy git -C "$app_dir/src" rev-parse HEAD)" = "$(git --git-dir="$remote" rev-parse main)"
check "git tracks .env.sops now" quiet as_deploy git -C "$app_dir/src" ls-files --error-unmatch .env.sops

# 5. A site nginx rejects (here: another site's broken file, as a hand edit would leave it)
# is taken back: the previous file stays, nothing is reloaded, the proxy goes on serving.
site_before=$(sha256sum <"$site")
printf 'server { listen 80; server_name broken.localhost; proxy_passs http://nowhere; }\n' >"$SANDBOX_PROXY_SITES/zz-broken.conf"
events5=$SANDBOX_DIR/setup-rejected.json
setup "$events5" app=$app port=9090; status=$?
check "a site nginx rejects fails the setup (exit 1)" test "$status" -eq 1
check "the site step failed" test "$(step_status "$events5" site)" = failed
grep -q 'unknown directive \\"proxy_passs\\"' "$events5" || fail "the failure names nginx's complaint" "$(grep '"site"' "$events5")"
check "the previous site is back" test "$(sha256sum <"$site")" = "$site_before"
check "the proxy still answers 200 for $app.localhost" test "$(get "$app.localhost" | tail -n1)" = 200
rm -f "$SANDBOX_PROXY_SITES/zz-broken.conf"

# 6. A clone of another remote is not taken over.
out=$("$RUNNER" run new-app-setup app=$app "repo=$SANDBOX_EXAMPLE_REMOTE" --inventory "$SANDBOX_INVENTORY" 2>&1); status=$?
check "a clone of another remote fails the setup (exit 1)" test "$status" -eq 1
grep -q "is a clone of $remote, not of $SANDBOX_EXAMPLE_REMOTE" <<<"$out" || fail "it names both remotes" "$(tail -n 20 <<<"$out")"
check "the clone still points at its remote" test "$(as_deploy git -C "$app_dir/src" remote get-url origin)" = "$remote"

if ((failures)); then echo "new-app-setup test: $failures failed"; exit 1; fi
echo "new-app-setup test: all passed"
