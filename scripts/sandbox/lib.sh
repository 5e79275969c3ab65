# Shared by the sandbox's tests (test.sh, and the pipelines' *-test.sh), scripts/demo.sh and
# bench/deploy.sh: TAP-like results, free ports, a Google Chat stand-in, the checks before a test
# may start a sandbox, a sandbox of the test's own, and the example app set up for deploy. Source
# it after `cd` to the repository; set `test_name` (the test's name in messages) first.
failures=0
pass() { printf 'ok - %s\n' "$1"; }
fail() { printf 'not ok - %s\n' "$1"; shift; [ $# -gt 0 ] && printf '    %s\n' "$@"; failures=$((failures + 1)); }
check() { # description command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
quiet() { "$@" >/dev/null 2>&1; }
# Polls a check for a while: a reload reaches new connections once nginx's new workers run.
eventually() { for _ in $(seq 1 50); do "$@" && return 0; sleep 0.1; done; return 1; }
# Distinct ports nothing listens on (all bound at once, so none is picked twice).
free_ports() { # how many
  python3 -c 'import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}
# A Google Chat stand-in on 127.0.0.1:<port>, in the background ($! is its pid): appends every
# POST body to <file>, one a line, and answers as Google Chat does.
start_gchat_stand_in() { # port file
  python3 -c 'import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "ab") as f: f.write(body + b"\n")
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(b"{\"name\": \"spaces/test/messages/1\"}")
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()' "$1" "$2" &
}
# Root, a built runner (exported as RUNNER), and the example app's container name free.
require_sandbox_test_prerequisites() {
  [ "$(id -u)" -eq 0 ] || { echo "$test_name: needs root" >&2; exit 1; }
  export RUNNER=${RUNNER:-$PWD/.build/debug/runner}
  [ -x "$RUNNER" ] || { echo "$test_name: no runner at $RUNNER (swift build first)" >&2; exit 1; }
  if docker container inspect sgos-hello-app >/dev/null 2>&1; then
    echo "$test_name: a container sgos-hello-app runs already (another sandbox?); the test needs that name" >&2
    exit 1
  fi
}
# A sandbox of the test's own: a temporary SANDBOX_DIR on free ports with its own proxy name, up
# (with the S3 endpoint when SANDBOX_S3=1), its settings sourced. When the test exits: `test_cleanup` (when the test defines one), then
# `down --purge`.
start_test_sandbox() { # name (part of the directory's and the proxy's names)
  local out
  SANDBOX_DIR=$(mktemp -d "/tmp/runner-$1.XXXXXX")
  chmod 755 "$SANDBOX_DIR"
  export SANDBOX_DIR
  read -r SANDBOX_SSH_PORT SANDBOX_PROXY_PORT SANDBOX_S3_PORT < <(free_ports 3)
  export SANDBOX_SSH_PORT SANDBOX_PROXY_PORT SANDBOX_S3_PORT   # S3's used with SANDBOX_S3=1
  export SANDBOX_PROXY_NAME=sgos-proxy-$1-$$
  trap 'declare -F test_cleanup >/dev/null && test_cleanup; scripts/sandbox.sh down --purge >/dev/null 2>&1' EXIT
  out=$(scripts/sandbox.sh up 2>&1) || { fail "sandbox up" "$out"; exit 1; }
  pass "sandbox up"
  set -a; . "$SANDBOX_DIR/settings.env"; set +a
}
# No flag was created (nor removed) since `flags_now` was taken, and the app's flag ($flag) is not
# there: the flags directory's mtime changes with every file made or removed in it, however
# short-lived. Needs the sandbox's settings.env in the environment.
flags_now() { flags_mtime=$(stat -c %y "$SANDBOX_PROXY_FLAGS"); }
never_flagged() { [ "$(stat -c %y "$SANDBOX_PROXY_FLAGS")" = "$flags_mtime" ] && [ ! -e "$flag" ]; }
# A command as the app host's user (deploy), with its HOME.
as_deploy() { runuser -u "${SANDBOX_USER:-deploy}" -- env HOME="$(getent passwd "${SANDBOX_USER:-deploy}" | cut -d: -f6)" "$@"; }
# The example app on the app host as new-app-setup leaves it for deploy: <apps_root>/sgos-hello/
# with the clone of its remote in src/ and the compose file linked beside it, made over SSH as the
# app host's user, the way a pipeline does it. Needs the sandbox's settings.env in the environment;
# once the clone is there it changes nothing.
set_up_example_app() {
  # shellcheck disable=SC2086  # SANDBOX_SSH is a command line (settings.env)
  $SANDBOX_SSH "set -eu; cd '$SANDBOX_APPS_ROOT'
    [ -d sgos-hello/src/.git ] && { echo 'sgos-hello is set up already'; exit 0; }
    mkdir -p sgos-hello && git clone -q '$SANDBOX_EXAMPLE_REMOTE' sgos-hello/src &&
      ln -sfn src/docker-compose.yml sgos-hello/docker-compose.yml &&
      echo 'set up sgos-hello: directory, clone of its remote, compose file'"
}
