#!/usr/bin/env bash
# The sandbox: the two servers of the team's documents (hornbill for apps, toucan for control and
# backups) on this one machine, for running deploy, rollback, backup and new-app-setup for real.
#
#   scripts/sandbox.sh up       # start everything (idempotent: a second `up` changes nothing)
#   scripts/sandbox.sh status   # what runs, where things are
#   scripts/sandbox.sh down     # stop and remove what `up` started (files stay; --purge removes them)
#
# Everything lives under $SANDBOX_DIR (default ./.sandbox). docs/sandbox.md describes the layout.
# Settings (environment):
#   SANDBOX_DIR          where everything lives                       (default: $PWD/.sandbox)
#   SANDBOX_SSH_PORT     the app host's sshd on 127.0.0.1             (default: 2222)
#   SANDBOX_PROXY_PORT   the proxy (sgos-proxy) on 127.0.0.1          (default: 8480)
#   SANDBOX_S3=1         also an S3 endpoint (moto) with a restic repo (default: off)
#   SANDBOX_S3_PORT      its port on 127.0.0.1                        (default: 9480)
#   SANDBOX_USER         the app host's unprivileged user             (default: deploy)
#   SANDBOX_PROXY_NAME   the proxy container's name                   (default: sgos-proxy)
#   RUNNER               the runner binary (creates .env.sops)        (default: .build/{debug,release}/runner)
set -euo pipefail
shopt -s lastpipe   # `… | write_file` counts its change in this shell

repo_root=$(cd "$(dirname "$0")/.." && pwd)

D=${SANDBOX_DIR:-$PWD/.sandbox}
case $D in /*) ;; *) D=$PWD/$D ;; esac
D=${D%/}
SSH_PORT=${SANDBOX_SSH_PORT:-2222}
PROXY_PORT=${SANDBOX_PROXY_PORT:-8480}
S3=${SANDBOX_S3:-0}
S3_PORT=${SANDBOX_S3_PORT:-9480}
DEPLOY_USER=${SANDBOX_USER:-deploy}
PROXY_NAME=${SANDBOX_PROXY_NAME:-sgos-proxy}
NETWORK=sgos
APP=hello
PROXY_IMAGE=sgos-sandbox-proxy:1
# The user who will run runner against the sandbox: the one who called sudo, else root.
OWNER=${SUDO_USER:-root}

# Layout: the stand-ins for the production paths of the documents.
SSH_DIR=$D/ssh                                   # sshd config, host key, deploy's key, known_hosts
APPS_ROOT=$D/hornbill/srv/apps                   # /srv/apps on hornbill
PROXY_DIR=$D/hornbill/srv/proxy/hornbill         # /srv/proxy/hornbill on hornbill
BACKUPS_DIR=$D/toucan/srv/backups                # /srv/backups on toucan
STAGING_DIR=$BACKUPS_DIR/staging
STATUS_FILE=$BACKUPS_DIR/status.json
SERVICES_DIR=$D/toucan/srv/services/backups      # /srv/services/backups on toucan (credentials)
RESTIC_REPO=$D/restic/repo                       # stand-in for the R2 bucket
RESTIC_PASSWORD_FILE=$SERVICES_DIR/restic-password
S3_ENV=$SERVICES_DIR/s3.env
S3_CREDENTIALS=$SERVICES_DIR/s3-credentials      # the same keys as an AWS credentials file (restic_credentials_file)
BACKUP_SET=$SERVICES_DIR/apps.txt                # the apps the nightly backup covers (new-app-setup adds)
HOOKS_DIR=$D/toucan/srv/services/webhook/hooks   # one deploy hook per app (new-app-setup writes)
AGE_KEY_FILE=$D/toucan/age/keys.txt              # ~/.config/sops/age/keys.txt of the team
GIT_BASE=$D/git                                  # stand-in for github.com/<org>
RUN_DIR=$D/run                                   # pid files and logs of the processes up starts
STATE_DIR=$D/state                               # RUNNER_STATE_DIR: the sandbox's run history
INVENTORY=$D/inventory.yml
S3_INVENTORY=$D/inventory-s3.yml                 # with SANDBOX_S3=1: the same, backing up to S3
SETTINGS=$D/settings.env
PARAMS=$D/params

changes=0
say() { printf '%s\n' "$*"; }
change() { changes=$((changes + 1)); printf '  + %s\n' "$*"; }
die() { printf 'sandbox: %s\n' "$*" >&2; exit 1; }

# Writes stdin to $1 (mode $2) only when its bytes differ; returns 0 when it wrote.
write_file() {
  local path=$1 mode=$2 tmp
  tmp=$(mktemp "$path.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    chmod "$mode" "$path"
    return 1
  fi
  mv -f "$tmp" "$path"
  change "wrote ${path#"$D"/}"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid in file $1 when that process runs and its command line contains $2.
running_pid() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  printf '%s' "$pid"
}

as_deploy() { runuser -u "$DEPLOY_USER" -- env HOME="$(getent passwd "$DEPLOY_USER" | cut -d: -f6)" "$@"; }

# Containers of apps deployed under this sandbox's apps root (their Compose working directory).
app_containers() {
  docker ps -aq --filter label=com.docker.compose.project.working_dir 2>/dev/null | while read -r id; do
    dir=$(docker inspect -f '{{ index .Config.Labels "com.docker.compose.project.working_dir" }}' "$id" 2>/dev/null) || continue
    case $dir in "$APPS_ROOT"/*) printf '%s\n' "$id" ;; esac
  done
}

find_runner() {
  if [ -n "${RUNNER:-}" ]; then printf '%s' "$RUNNER"; return; fi
  for candidate in "$repo_root/.build/debug/runner" "$repo_root/.build/release/runner"; do
    [ -x "$candidate" ] && { printf '%s' "$candidate"; return; }
  done
  command -v runner || die "no runner binary: build it first (swift build), or set RUNNER"
}

preflight() {
  [ "$(id -u)" -eq 0 ] || die "up needs root (it creates the $DEPLOY_USER user and starts sshd): sudo $0 up"
  [[ $D =~ ^[A-Za-z0-9/._+-]+$ ]] || die "SANDBOX_DIR must be a plain path (letters, digits, / . _ + -): $D"
  for port in "$SSH_PORT" "$PROXY_PORT" "$S3_PORT"; do
    [[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "not a port: $port"
  done
  local missing=()
  for tool in /usr/sbin/sshd ssh-keygen docker git restic age-keygen openssl curl runuser flock /usr/sbin/nginx /bin/busybox; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  [ "$S3" != 1 ] || python3 -c "import moto.server" 2>/dev/null || missing+=("python3 moto[server]")
  ((${#missing[@]} == 0)) || die "missing: ${missing[*]} (scripts/setup.sh installs them)"
}

ensure_dirs() {
  mkdir -p "$D" "$SSH_DIR" "$APPS_ROOT" "$PROXY_DIR"/{sites,flags,html} "$STAGING_DIR" "$SERVICES_DIR" "$HOOKS_DIR" \
    "$D/restic" "$(dirname "$AGE_KEY_FILE")" "$GIT_BASE" "$RUN_DIR" "$STATE_DIR" "$D/build"
  chmod 755 "$D" "$D/hornbill" "$D/hornbill/srv" "$D/hornbill/srv/proxy" "$GIT_BASE"
  chmod 700 "$SERVICES_DIR" "$(dirname "$AGE_KEY_FILE")"
  # hornbill's files belong to its deploy user, who writes sites and flags and runs the apps.
  chown "$DEPLOY_USER:" "$APPS_ROOT"
  chown -R "$DEPLOY_USER:" "$PROXY_DIR"
  # toucan's files belong to whoever runs runner (the control host is this machine).
  chown -R "$OWNER:" "$D/toucan" "$D/restic" "$STATE_DIR"
}

ensure_user() {
  if ! id -u "$DEPLOY_USER" >/dev/null 2>&1; then
    useradd -m -s /bin/sh "$DEPLOY_USER"
    change "created user $DEPLOY_USER"
  fi
  # sshd without PAM refuses a locked account ("!" password): "*" has no password and is not locked.
  if getent shadow "$DEPLOY_USER" | cut -d: -f2 | grep -q '^!'; then
    usermod -p '*' "$DEPLOY_USER"
    change "unlocked $DEPLOY_USER for key logins (it has no password)"
  fi
  if ! id -nG "$DEPLOY_USER" | tr ' ' '\n' | grep -qx docker; then
    usermod -aG docker "$DEPLOY_USER"
    change "added $DEPLOY_USER to the docker group"
  fi
  as_deploy test -x "$D" || die "$DEPLOY_USER cannot reach $D: every directory above it needs o+x (choose another SANDBOX_DIR)"
}

ensure_ssh() {
  local host_key=$SSH_DIR/host_ed25519_key client_key=$SSH_DIR/deploy_ed25519 config=$SSH_DIR/sshd_config pid
  if [ ! -f "$host_key" ]; then
    ssh-keygen -q -t ed25519 -N '' -C "sandbox-hornbill" -f "$host_key"
    change "generated the app host's host key"
  fi
  if [ ! -f "$client_key" ]; then
    ssh-keygen -q -t ed25519 -N '' -C "sandbox-deploy" -f "$client_key"
    change "generated $DEPLOY_USER's client key"
  fi
  chown "$OWNER:" "$client_key" "$client_key.pub"
  cp "$client_key.pub" "$SSH_DIR/authorized_keys.new" && chmod 644 "$SSH_DIR/authorized_keys.new"
  if cmp -s "$SSH_DIR/authorized_keys.new" "$SSH_DIR/authorized_keys"; then rm -f "$SSH_DIR/authorized_keys.new"
  else mv -f "$SSH_DIR/authorized_keys.new" "$SSH_DIR/authorized_keys"; change "wrote ssh/authorized_keys"; fi
  printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$host_key.pub")" | write_file "$SSH_DIR/known_hosts" 644 || true
  chown "$OWNER:" "$SSH_DIR/known_hosts"
  local config_changed=0
  write_file "$config" 644 <<EOF && config_changed=1
# The app host's sshd (scripts/sandbox.sh): keys only, the deploy user only, loopback only.
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $host_key
AuthorizedKeysFile $SSH_DIR/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile $RUN_DIR/sshd.pid
StrictModes no
AllowUsers $DEPLOY_USER
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
  if pid=$(running_pid "$RUN_DIR/sshd.pid" "$config"); then
    ((config_changed == 0)) && return
    kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  port_open "$SSH_PORT" && die "port $SSH_PORT is taken by another program (set SANDBOX_SSH_PORT)"
  mkdir -p /run/sshd
  /usr/sbin/sshd -f "$config" -E "$RUN_DIR/sshd.log" 9>&-
  for _ in $(seq 1 100); do port_open "$SSH_PORT" && break; sleep 0.1; done
  port_open "$SSH_PORT" || die "sshd did not start: $(tail -n 5 "$RUN_DIR/sshd.log")"
  change "started sshd on 127.0.0.1:$SSH_PORT"
}

ensure_docker() {
  if ! docker info >/dev/null 2>&1; then
    nohup dockerd </dev/null >/var/log/dockerd.log 2>&1 9>&- &
    for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "dockerd did not start: $(tail -n 5 /var/log/dockerd.log)"
    change "started dockerd"
  fi
  if ! docker network inspect "$NETWORK" >/dev/null 2>&1; then
    docker network create "$NETWORK" >/dev/null
    touch "$RUN_DIR/network-created"
    change "created the docker network $NETWORK"
  fi
}

# The proxy image: Debian's nginx and the libraries it links, with busybox, FROM scratch.
ensure_proxy_image() {
  docker image inspect "$PROXY_IMAGE" >/dev/null 2>&1 && return
  local ctx=$D/build/proxy-image root
  rm -rf "$ctx"; root=$ctx/root; mkdir -p "$root"
  local files=(/usr/sbin/nginx /etc/nginx/mime.types)
  while read -r lib; do files+=("$lib"); done < <(ldd /usr/sbin/nginx | grep -o '/[^ ]*')
  for file in "${files[@]}"; do
    mkdir -p "$root$(dirname "$file")"
    cp -L "$file" "$root$file"
  done
  mkdir -p "$root"/{var/lib/nginx,var/log/nginx,run,tmp} "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["nginx", "-g", "daemon off;"]
EOF
  docker build -q -t "$PROXY_IMAGE" "$ctx" >"$RUN_DIR/proxy-image.log" 2>&1 ||
    die "building the proxy image failed: $(tail -n 5 "$RUN_DIR/proxy-image.log")"
  rm -rf "$ctx"
  change "built the proxy image $PROXY_IMAGE"
}

# The example app's server block: the text the site step of pipelines/new-app-setup.yml writes for
# every app (scripts/sandbox/new-app-setup-test.sh checks that setting hello up leaves it as it is).
site_conf() { # app domain port
  cat <<EOF
# sgos-$1 behind the proxy: 503 with the maintenance page while a flag exists, else the app.
server {
    listen 80;
    server_name $2;
    resolver 127.0.0.11 valid=2s;
    error_page 503 /maintenance.html;
    location = /maintenance.html { root $PROXY_DIR/html; internal; }
    location / {
        if (-f $PROXY_DIR/flags/global.flag) { return 503; }
        if (-f $PROXY_DIR/flags/sgos-$1.flag) { return 503; }
        set \$app http://sgos-$1-app:$3;
        proxy_pass \$app;
        proxy_set_header Host \$host;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
}
EOF
}

ensure_proxy() {
  ensure_proxy_image
  write_file "$PROXY_DIR/html/maintenance.html" 644 <<'EOF' || true
<!doctype html>
<html><head><title>Maintenance</title></head>
<body><h1>Down for maintenance</h1><p>This app is being updated and will be back in a moment.</p></body></html>
EOF
  write_file "$PROXY_DIR/nginx.conf" 644 <<EOF || true
# sgos-proxy (scripts/sandbox.sh). In the container this file is also /etc/nginx/nginx.conf, and
# $PROXY_DIR is mounted at the same path, so flags and sites have one name inside and out.
worker_processes 1;
pid /run/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    client_body_temp_path /var/lib/nginx/body;
    proxy_temp_path /var/lib/nginx/proxy;
    fastcgi_temp_path /var/lib/nginx/fastcgi;
    uwsgi_temp_path /var/lib/nginx/uwsgi;
    scgi_temp_path /var/lib/nginx/scgi;
    server { listen 80 default_server; return 404 "no app answers to this host name\n"; }
    include $PROXY_DIR/sites/*.conf;
}
EOF
  local site_changed=0
  site_conf "$APP" "$APP.localhost" 8080 | write_file "$PROXY_DIR/sites/sgos-$APP.conf" 644 && site_changed=1
  chown -R "$DEPLOY_USER:" "$PROXY_DIR"

  # The container is recreated when anything it was started with changes.
  local hash
  hash=$( { docker image inspect -f '{{.Id}}' "$PROXY_IMAGE"; echo "$PROXY_PORT $NETWORK"; cat "$PROXY_DIR/nginx.conf"; } | sha256sum | cut -c1-16)
  if docker container inspect "$PROXY_NAME" >/dev/null 2>&1; then
    local owner state current
    owner=$(docker inspect -f '{{ index .Config.Labels "sandbox.dir" }}' "$PROXY_NAME")
    [ "$owner" = "$D" ] || die "a container named $PROXY_NAME exists and is not this sandbox's (${owner:-no sandbox}): remove it, or set SANDBOX_PROXY_NAME"
    state=$(docker inspect -f '{{.State.Status}}' "$PROXY_NAME")
    current=$(docker inspect -f '{{ index .Config.Labels "sandbox.hash" }}' "$PROXY_NAME")
    if [ "$state" = running ] && [ "$current" = "$hash" ]; then
      if ((site_changed)); then
        docker exec "$PROXY_NAME" nginx -t -q && docker exec "$PROXY_NAME" nginx -s reload
        change "reloaded $PROXY_NAME"
      fi
      return
    fi
    docker rm -f "$PROXY_NAME" >/dev/null
  fi
  port_open "$PROXY_PORT" && die "port $PROXY_PORT is taken by another program (set SANDBOX_PROXY_PORT)"
  docker run -d --name "$PROXY_NAME" --restart unless-stopped \
    --label "sandbox.dir=$D" --label "sandbox.hash=$hash" \
    --network "$NETWORK" -p "127.0.0.1:$PROXY_PORT:80" \
    -v "$PROXY_DIR:$PROXY_DIR:ro" -v "$PROXY_DIR/nginx.conf:/etc/nginx/nginx.conf:ro" \
    "$PROXY_IMAGE" >/dev/null
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PROXY_PORT/" && break; sleep 0.1; done
  curl -s -o /dev/null "http://127.0.0.1:$PROXY_PORT/" || die "the proxy does not answer: $(docker logs --tail 5 "$PROXY_NAME" 2>&1)"
  change "started $PROXY_NAME on 127.0.0.1:$PROXY_PORT"
}

ensure_age_key() {
  if [ ! -f "$AGE_KEY_FILE" ]; then
    (umask 077; age-keygen -o "$AGE_KEY_FILE" 2>/dev/null)
    change "generated the team's age key"
  fi
  chmod 600 "$AGE_KEY_FILE"; chown "$OWNER:" "$AGE_KEY_FILE"
}

# The remotes belong to root, and git refuses to read another user's repository unless told to
# trust it (safe.directory): deploy trusts each remote of the sandbox by its path.
trust_remote() {
  as_deploy git config --global --get-all safe.directory 2>/dev/null | grep -qxF "$1" && return
  as_deploy git config --global --add safe.directory "$1"
  change "$DEPLOY_USER trusts the git remote ${1#"$D"/}"
}

# The example app's remote: its source from scripts/sandbox/app, the busybox binary its image
# is built from, .sops.yaml for the team's key and .env.sops encrypted by runner's sops plugin.
ensure_git_remote() {
  local bare=$GIT_BASE/sgos-$APP.git
  trust_remote "$bare"
  if [ -d "$bare" ] && git --git-dir="$bare" rev-parse -q --verify refs/heads/main >/dev/null; then
    return
  fi
  local runner work=$D/build/sgos-$APP public
  runner=$(find_runner)
  public=$(age-keygen -y "$AGE_KEY_FILE")
  rm -rf "$work" "$bare"; mkdir -p "$work"
  cp -a "$repo_root/scripts/sandbox/app/." "$work/"
  cp /bin/busybox "$work/busybox"
  sed -i "s|@REPOSITORY@|$bare|" "$work/app.json"
  cat >"$work/.sops.yaml" <<EOF
creation_rules:
  - path_regex: \.env\.sops\$
    age: $public
EOF
  (umask 077; printf 'HELLO_GREETING=Hello from the sandbox\nHELLO_SECRET=%s\n' "$(openssl rand -hex 16)" >"$D/build/hello.env")
  cat >"$D/build/encrypt.yml" <<EOF
name: sandbox-encrypt
description: scripts/sandbox.sh encrypts the example app's first .env.sops
steps:
  - uses: sops
    with: { encrypt: "$D/build/hello.env", dest: "$work/.env.sops", recipients: ["$public"] }
EOF
  RUNNER_STATE_DIR=$D/build/state "$runner" run "$D/build/encrypt.yml" >"$D/build/encrypt.log" 2>&1 ||
    die "encrypting .env.sops failed: $(tail -n 5 "$D/build/encrypt.log")"
  rm -rf "$D/build/hello.env" "$D/build/encrypt.yml" "$D/build/state"
  git init -q --bare -b main "$bare"
  git -C "$work" init -q -b main
  git -C "$work" add -A
  git -C "$work" -c user.name="SGOS Sandbox" -c user.email=sandbox@localhost commit -q -m "sgos-$APP 1.0.0"
  git -C "$work" push -q "$bare" main
  rm -rf "$work"
  change "created the git remote git/sgos-$APP.git"
}

ensure_restic() {
  if [ ! -f "$RESTIC_PASSWORD_FILE" ]; then
    (umask 077; openssl rand -hex 24 >"$RESTIC_PASSWORD_FILE")
    change "generated the restic password"
  fi
  chmod 600 "$RESTIC_PASSWORD_FILE"
  if [ ! -f "$RESTIC_REPO/config" ]; then
    restic init -q --repo "$RESTIC_REPO" --password-file "$RESTIC_PASSWORD_FILE" >/dev/null
    change "initialised the restic repository restic/repo"
  fi
  chown -R "$OWNER:" "$SERVICES_DIR" "$D/restic"
}

ensure_s3() {
  [ "$S3" = 1 ] || return 0
  if [ ! -f "$S3_ENV" ]; then
    (umask 077; cat >"$S3_ENV" <<EOF
AWS_ACCESS_KEY_ID=sandbox
AWS_SECRET_ACCESS_KEY=$(openssl rand -hex 20)
AWS_DEFAULT_REGION=us-east-1
RESTIC_REPOSITORY=s3:http://127.0.0.1:$S3_PORT/sgos-backups
EOF
    )
    change "wrote the S3 credentials"
  fi
  if ! running_pid "$RUN_DIR/moto.pid" moto.server >/dev/null; then
    port_open "$S3_PORT" && die "port $S3_PORT is taken by another program (set SANDBOX_S3_PORT)"
    nohup python3 -m moto.server -H 127.0.0.1 -p "$S3_PORT" </dev/null >"$RUN_DIR/moto.log" 2>&1 9>&- &
    echo $! >"$RUN_DIR/moto.pid"
    for _ in $(seq 1 150); do port_open "$S3_PORT" && break; sleep 0.1; done
    port_open "$S3_PORT" || die "moto did not start: $(tail -n 5 "$RUN_DIR/moto.log")"
    change "started the S3 endpoint (moto) on 127.0.0.1:$S3_PORT"
  fi
  # The keys as the pipelines take them: a file restic reads itself (toucan's restic_credentials_file).
  printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' "$S3_ENV")" "$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$S3_ENV")" |
    write_file "$S3_CREDENTIALS" 600 || true
  chown "$OWNER:" "$S3_CREDENTIALS"
  # moto keeps buckets in memory: after a restart the repository is created again.
  if ! (set -a; . "$S3_ENV"; restic cat config --password-file "$RESTIC_PASSWORD_FILE" >/dev/null 2>&1); then
    (set -a; . "$S3_ENV"; restic init -q --password-file "$RESTIC_PASSWORD_FILE" >/dev/null)
    change "initialised the restic repository on S3"
  fi
  chown "$OWNER:" "$S3_ENV"
}

# The inventory, with toucan's restic repository $1 and, when given, its credentials file $2.
inventory() { # restic_repository [restic_credentials_file]
  cat <<EOF
# The sandbox's two servers (scripts/sandbox.sh up): hornbill runs the apps and is reached over
# SSH as $DEPLOY_USER; toucan, the control host, is this machine. The labels carry the sandbox's
# stand-ins for the production paths (host.labels.apps_root in a step on hornbill).
hosts:
  hornbill:
    address: 127.0.0.1
    port: $SSH_PORT
    user: $DEPLOY_USER
    identity: $SSH_DIR/deploy_ed25519
    known_hosts: $SSH_DIR/known_hosts
    ssh_config: /dev/null
    labels:
      role: apps
      apps_root: $APPS_ROOT
      proxy_dir: $PROXY_DIR
      proxy_container: $PROXY_NAME
      proxy_url: http://127.0.0.1:$PROXY_PORT
      git_base: $GIT_BASE
  toucan:
    connection: local
    labels:
      role: control
      staging_dir: $STAGING_DIR
      status_file: $STATUS_FILE
      restic_repository: $1
      restic_password_file: $RESTIC_PASSWORD_FILE${2:+
      restic_credentials_file: $2}
      age_key_file: $AGE_KEY_FILE
      age_recipients: $(age-keygen -y "$AGE_KEY_FILE")
      backup_set: $BACKUP_SET
      hooks_dir: $HOOKS_DIR
EOF
}

write_settings() {
  local s3_repo=""
  [ "$S3" = 1 ] && s3_repo="s3:http://127.0.0.1:$S3_PORT/sgos-backups"
  inventory "$RESTIC_REPO" | write_file "$INVENTORY" 644 || true
  [ "$S3" != 1 ] || inventory "$s3_repo" "$S3_CREDENTIALS" | write_file "$S3_INVENTORY" 644 || true
  write_file "$SETTINGS" 644 <<EOF || true
# The sandbox's settings (scripts/sandbox.sh up). Source it: set -a; . $SETTINGS; set +a
SANDBOX_DIR=$D
SANDBOX_INVENTORY=$INVENTORY
SANDBOX_SSH='ssh -i $SSH_DIR/deploy_ed25519 -o UserKnownHostsFile=$SSH_DIR/known_hosts -p $SSH_PORT $DEPLOY_USER@127.0.0.1'
SANDBOX_APPS_ROOT=$APPS_ROOT
SANDBOX_PROXY_DIR=$PROXY_DIR
SANDBOX_PROXY_FLAGS=$PROXY_DIR/flags
SANDBOX_PROXY_SITES=$PROXY_DIR/sites
SANDBOX_PROXY_CONTAINER=$PROXY_NAME
SANDBOX_PROXY_URL=http://127.0.0.1:$PROXY_PORT
SANDBOX_NETWORK=$NETWORK
SANDBOX_GIT_BASE=$GIT_BASE
SANDBOX_EXAMPLE_APP=$APP
SANDBOX_EXAMPLE_REMOTE=$GIT_BASE/sgos-$APP.git
SANDBOX_EXAMPLE_URL=http://$APP.localhost:$PROXY_PORT/
SANDBOX_RESTIC_REPOSITORY=$RESTIC_REPO
SANDBOX_RESTIC_PASSWORD_FILE=$RESTIC_PASSWORD_FILE
SANDBOX_RESTIC_S3_REPOSITORY=$s3_repo
SANDBOX_S3_ENV=$( [ "$S3" = 1 ] && printf '%s' "$S3_ENV" )
SANDBOX_S3_INVENTORY=$( [ "$S3" = 1 ] && printf '%s' "$S3_INVENTORY" )
SANDBOX_AGE_KEY_FILE=$AGE_KEY_FILE
SANDBOX_AGE_RECIPIENT=$(age-keygen -y "$AGE_KEY_FILE")
SANDBOX_STAGING_DIR=$STAGING_DIR
SANDBOX_STATUS_FILE=$STATUS_FILE
SANDBOX_BACKUP_SET=$BACKUP_SET
SANDBOX_HOOKS_DIR=$HOOKS_DIR
SOPS_AGE_KEY_FILE=$AGE_KEY_FILE
RUNNER_STATE_DIR=$STATE_DIR
EOF
  # The same values as key=value lines, for pipelines that take them as params (runner refuses a
  # param a pipeline does not declare: pass the ones it declares).
  write_file "$PARAMS" 644 <<EOF || true
apps_root=$APPS_ROOT
proxy_dir=$PROXY_DIR
proxy_container=$PROXY_NAME
proxy_url=http://127.0.0.1:$PROXY_PORT
git_base=$GIT_BASE
restic_repository=$RESTIC_REPO
restic_password_file=$RESTIC_PASSWORD_FILE
age_key_file=$AGE_KEY_FILE
staging_dir=$STAGING_DIR
status_file=$STATUS_FILE
backup_set=$BACKUP_SET
hooks_dir=$HOOKS_DIR
EOF
}

up() {
  preflight
  mkdir -p "$D"
  exec 9>>"$D/.lock"   # one up at a time (appending leaves the file as it is)
  flock 9
  say "sandbox: up in $D"
  ensure_user
  ensure_dirs
  ensure_ssh
  ensure_docker
  ensure_proxy
  ensure_age_key
  ensure_git_remote
  ensure_restic
  ensure_s3
  write_settings
  if ((changes == 0)); then say "sandbox: nothing to change, everything was up"; else say "sandbox: $changes changes"; fi
  cat <<EOF

inventory: $INVENTORY
settings:  $SETTINGS   (set -a; . $SETTINGS; set +a)
params:    $PARAMS
app host:  ssh -i $SSH_DIR/deploy_ed25519 -o UserKnownHostsFile=$SSH_DIR/known_hosts -p $SSH_PORT $DEPLOY_USER@127.0.0.1
proxy:     http://127.0.0.1:$PROXY_PORT  (the example app: http://$APP.localhost:$PROXY_PORT/ once deployed)

  set -a; . $SETTINGS; set +a
  runner run new-app-setup app=$APP --inventory $INVENTORY   # once: directory, clone, site, first deploy
  runner run deploy app=$APP --inventory $INVENTORY
EOF
  [ "$S3" != 1 ] || say "S3:        s3:http://127.0.0.1:$S3_PORT/sgos-backups (credentials and RESTIC_REPOSITORY in $S3_ENV)
           runner run backup --inventory $S3_INVENTORY   # backs up to it ($S3_CREDENTIALS)"
}

down() {
  local purge=${1:-}
  [ "$(id -u)" -eq 0 ] || die "down needs root (it stops sshd): sudo $0 down"
  [ -d "$D" ] || { say "sandbox: nothing in $D"; return; }
  say "sandbox: down in $D"
  if docker info >/dev/null 2>&1; then
    local ids
    ids=$(app_containers)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      docker rm -f $ids >/dev/null
      say "  - removed the apps' containers ($(echo "$ids" | wc -l))"
    fi
    if docker container inspect "$PROXY_NAME" >/dev/null 2>&1 &&
      [ "$(docker inspect -f '{{ index .Config.Labels "sandbox.dir" }}' "$PROXY_NAME")" = "$D" ]; then
      docker rm -f "$PROXY_NAME" >/dev/null
      say "  - removed $PROXY_NAME"
    fi
    if [ -f "$RUN_DIR/network-created" ]; then
      if docker network rm "$NETWORK" >/dev/null 2>&1; then say "  - removed the docker network $NETWORK"
      else say "  ! the docker network $NETWORK stays: containers of others use it"; fi
      rm -f "$RUN_DIR/network-created"
    fi
  fi
  local pid
  for process in "sshd.pid:$SSH_DIR/sshd_config:sshd" "moto.pid:moto.server:the S3 endpoint (moto)"; do
    IFS=: read -r file pattern label <<<"$process"
    if pid=$(running_pid "$RUN_DIR/$file" "$pattern"); then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      say "  - stopped $label"
    fi
    rm -f "$RUN_DIR/$file"
  done
  if [ "$purge" = --purge ]; then
    if id -u "$DEPLOY_USER" >/dev/null 2>&1; then
      as_deploy git config --global --get-all safe.directory 2>/dev/null | while read -r trusted; do
        case $trusted in "$D"/*) as_deploy git config --global --fixed-value --unset safe.directory "$trusted" ;; esac
      done
    fi
    rm -rf "$D"
    say "  - removed $D"
  fi
}

status() {
  [ -d "$D" ] || { say "sandbox: not set up in $D"; return 3; }
  local down=0 pid line
  say "sandbox: $D"
  if pid=$(running_pid "$RUN_DIR/sshd.pid" "$SSH_DIR/sshd_config"); then
    line=$(grep -m1 '^Port ' "$SSH_DIR/sshd_config" | cut -d' ' -f2)
    say "  app host (sshd)  running, pid $pid, 127.0.0.1:$line, user $DEPLOY_USER"
  else say "  app host (sshd)  stopped"; down=1; fi
  if docker info >/dev/null 2>&1; then
    say "  docker engine    running"
    if docker network inspect "$NETWORK" >/dev/null 2>&1; then say "  network $NETWORK     present"; else say "  network $NETWORK     missing"; down=1; fi
    if [ "$(docker inspect -f '{{ index .Config.Labels "sandbox.dir" }}' "$PROXY_NAME" 2>/dev/null)" = "$D" ]; then
      say "  proxy            $(docker inspect -f '{{.State.Status}}' "$PROXY_NAME") ($PROXY_NAME, $(docker port "$PROXY_NAME" 80 2>/dev/null | head -n1))"
    else say "  proxy            stopped"; down=1; fi
    local ids
    ids=$(app_containers)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      docker inspect -f '  app              {{.Name}} {{.State.Status}}{{ if .State.Health }} ({{.State.Health.Status}}){{ end }}' $ids | sed 's|app              /|app              |'
    else say "  apps             none deployed"; fi
  else say "  docker engine    not answering"; down=1; fi
  if pid=$(running_pid "$RUN_DIR/moto.pid" moto.server); then say "  S3 (moto)        running, pid $pid"
  else say "  S3 (moto)        off"; fi
  for flag in "$PROXY_DIR"/flags/*.flag; do [ -e "$flag" ] && say "  maintenance      ${flag##*/}"; done
  say "  git remotes      $(cd "$GIT_BASE" 2>/dev/null && ls -d ./*.git 2>/dev/null | sed 's|^\./||' | tr '\n' ' ')"
  say "  inventory        $INVENTORY"
  say "  settings         $SETTINGS"
  return $((down ? 3 : 0))
}

case ${1:-} in
  up) up ;;
  down) down "${2:-}" ;;
  status) status ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
