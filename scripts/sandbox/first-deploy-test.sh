#!/usr/bin/env bash
# docs/first-deploy.md, typed as written: its fenced blocks run in order against a real sshd and
# Docker on this machine, and the world is checked after the deploy, the second release and the
# rollback (the container's health, its page and greeting, .env's mode and owner).
#   ```sh settings       replaced by this test's own values (a free port, a user of its own)
#   ```sh                as "you": a laptop user of the test's own, with a fresh home; the blocks
#                        share the working directory, as when typed in one terminal
#   ```sh server         as root on this machine (the page's server is loopback)
#   ```<lang> file=PATH  written to PATH in the laptop user's working directory
# Other blocks (output shown as ```text) are not run. ssh-copy-id's password prompt is answered by
# SSH_ASKPASS. The page's last block removes the server; the test's cleanup makes sure of it.
# FIRST_DEPLOY_VERBOSE=1 shows what every block printed.
# Needs root, a Docker engine and a built runner (RUNNER, else .build/debug/runner).
set -uo pipefail
cd "$(dirname "$0")/../.."

test_name="first-deploy test"
. scripts/sandbox/lib.sh
[ "$(id -u)" -eq 0 ] || { echo "$test_name: needs root" >&2; exit 1; }
RUNNER=${RUNNER:-$PWD/.build/debug/runner}
[ -x "$RUNNER" ] || { echo "$test_name: no runner at $RUNNER (swift build first)" >&2; exit 1; }
page=${FIRST_DEPLOY_PAGE:-docs/first-deploy.md}

# The page's app name is fixed (greeter-app, /srv/apps/greeter): one run at a time.
exec 9>/tmp/runner-first-deploy.lock
flock 9
if docker container inspect greeter-app >/dev/null 2>&1 || [ -e /srv/apps/greeter ]; then
  echo "$test_name: greeter-app or /srv/apps/greeter exists already (the tutorial followed by hand?)" >&2
  exit 1
fi

made_apps_root=; [ -e /srv/apps ] || made_apps_root=yes
work=$(mktemp -d /tmp/runner-first-deploy.XXXXXX)
chmod 755 "$work"
read -r port < <(free_ports 1)
server_user=fdsrv$$
laptop=fdme$$
settings="SERVER=127.0.0.1
SERVER_PORT=$port
SERVER_USER=$server_user"
cleanup() {
  docker rm -f greeter-app >/dev/null 2>&1
  docker image rm greeter-app:latest >/dev/null 2>&1
  rm -rf /srv/apps/greeter
  [ -f "/var/tmp/sshd-$server_user/sshd.pid" ] && kill "$(cat "/var/tmp/sshd-$server_user/sshd.pid")" 2>/dev/null
  rm -rf "/var/tmp/sshd-$server_user" "/etc/sudoers.d/$server_user"
  userdel -rf "$server_user" >/dev/null 2>&1
  userdel -rf "$laptop" >/dev/null 2>&1
  [ -n "$made_apps_root" ] && rmdir /srv/apps 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# "You": a user with nothing in its home, runner on its PATH.
useradd --create-home --home-dir "$work/home" --shell /bin/bash "$laptop" || { fail "laptop user"; exit 1; }
mkdir -p "$work/bin"
cp "$RUNNER" "$work/bin/runner"
printf '#!/bin/sh\necho try-me-1234\n' >"$work/bin/askpass"
chmod 755 "$work/bin" "$work/bin/runner" "$work/bin/askpass"
echo "$work/home" >"$work/cwd"
chown "$laptop" "$work/cwd"

as_you() { # script
  runuser -u "$laptop" -- env -i HOME="$work/home" USER="$laptop" LOGNAME="$laptop" LANG=C.UTF-8 \
    PATH="$work/bin:/usr/local/bin:/usr/bin:/bin" SSH_ASKPASS="$work/bin/askpass" SSH_ASKPASS_REQUIRE=force \
    bash -c "set -eo pipefail; $settings
cd \"\$(cat '$work/cwd')\"
$1
pwd > '$work/cwd'"  </dev/null
}
as_server_root() { # script
  (cd / && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    bash -c "set -eo pipefail; $settings
$1" </dev/null)
}

# Fenced blocks of the page, as "line<TAB>info" headers followed by their text, NUL-separated.
blocks() {
  awk '
    /^```/ {
      if (inside) { printf "%s", text; printf "%c", 0; inside = 0 }
      else { inside = 1; text = NR "\t" substr($0, 4) "\n" }
      next
    }
    inside { text = text $0 "\n" }
  ' "$page"
}

ran=0
while IFS= read -r -d '' block; do
  header=${block%%$'\n'*}
  body=${block#*$'\n'}
  line=${header%%$'\t'*}
  info=${header#*$'\t'}
  what="$page:$line ($info)"
  case "$info" in
    "sh settings") continue ;;
    sh) out=$(as_you "$body" 2>&1) ;;
    "sh server") out=$(as_server_root "$body" 2>&1) ;;
    *" file="*)
      file=${info##* file=}
      out=$(as_you "cat > '$file' <<'FIRST_DEPLOY_EOF'
${body}FIRST_DEPLOY_EOF" 2>&1) ;;
    *) continue ;;
  esac
  status=$?
  ran=$((ran + 1))
  if [ "$status" -ne 0 ]; then
    fail "$what runs as written" "exit $status" "$(printf '%s\n' "$out" | tail -n 30)"
    exit 1
  fi
  pass "$what"
  [ -n "${FIRST_DEPLOY_VERBOSE:-}" ] && printf '%s\n' "$out" | sed 's/^/    /'
  # The world after the three runs of the page that change it (the blocks of sections 9 and 10).
  case "$body" in
    *"runner run deploy app=greeter"*"wget"*) release=v2 ;;
    *"runner run rollback app=greeter"*) release=v1 ;;
    *"runner run deploy app=greeter"*) release=v1 ;;
    *) continue ;;
  esac
  page_of_app=$(docker exec greeter-app wget -qO- http://127.0.0.1:8080/ 2>&1)
  if [ "$page_of_app" = "greeter $release" ]; then pass "after $what: the app answers 'greeter $release'"
  else fail "after $what: the app answers 'greeter $release'" "it answered: $page_of_app"; fi
  check "after $what: the container is healthy" \
    [ "$(docker inspect -f '{{.State.Health.Status}}' greeter-app 2>&1)" = healthy ]
  check "after $what: the greeting from the decrypted .env" \
    [ "$(docker exec greeter-app cat /www/greeting.txt 2>&1)" = "Hello from the first deploy" ]
  check "after $what: the app directory is the SSH user's (made with sudo)" \
    [ "$(stat -c '%U' /srv/apps/greeter 2>&1)" = "$server_user" ]
  check "after $what: .env is 0600 and the SSH user's" \
    [ "$(stat -c '%a %U' /srv/apps/greeter/.env 2>&1)" = "600 $server_user" ]
done < <(blocks)

check "the page's blocks ran ($ran)" [ "$ran" -ge 15 ]
check "the page cleaned up its server: no container, no sshd" \
  sh -c "! docker container inspect greeter-app >/dev/null 2>&1 && ! id '$server_user' >/dev/null 2>&1"
[ "$failures" -eq 0 ] || { echo "$test_name: $failures failed" >&2; exit 1; }
echo "$test_name: all passed"
