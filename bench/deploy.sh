#!/usr/bin/env bash
# How long a sandbox deploy takes, and how much of it is runner's own time. Starts a sandbox of
# its own (scripts/sandbox.sh up in a temporary SANDBOX_DIR, free ports, its own app-host user
# runner-bench-app), sets up the example app, then runs `runner run deploy.yml app=hello` once to
# warm Docker's build cache, and [rounds] times more, each time for a new commit (app.json's
# version bumped), so every deploy fetches, rebuilds the app's layers, recreates the container and
# waits for its health check, as a real deploy does. Each round's wall time is split into:
#   commands  time inside the commands runner ran on the app host (git, docker compose, docker
#             inspect, curl, sh): the app-host user's login shell is a wrapper that logs when each
#             command started and ended (sshd runs every command through it)
#   polling   the pauses of the health gate between two `docker inspect` looks (its interval):
#             waiting for Docker's health check, not runner's work
#   runner    the rest: before the first command (start-up, YAML and Lua, the SSH connection),
#             between commands (opening a channel, sshd starting the login shell, SFTP transfers,
#             sops decryption, events and the run store) and after the last one. runner's CPU
#             time (user+sys, /usr/bin/time) is printed beside it: the part that is its own work.
# Per step: its mean duration (`--output json`, step_finished events) and the time inside commands
# during it. The wrapper itself (a `date` before and after, the shell it starts) counts as commands.
# Usage: bench/deploy.sh [rounds]   (default 5; root, a Docker engine, the example app's container
# name sgos-hello-app free). Release build as bench/startup.sh (BENCH_RUNNER: another binary).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/deploy.sh [rounds]  (rounds: a positive integer)" >&2; exit 2; }
test_name="bench/deploy.sh"
. scripts/sandbox/lib.sh
. bench/lib.sh
[ "$(id -u)" -eq 0 ] || { echo "$test_name: needs root (the sandbox starts sshd and creates a user)" >&2; exit 1; }
bin=$(release_runner)
RUNNER=$bin require_sandbox_test_prerequisites

export SANDBOX_DIR SANDBOX_SSH_PORT SANDBOX_PROXY_PORT SANDBOX_USER=runner-bench-app SANDBOX_PROXY_NAME=sgos-proxy-bench-$$
SANDBOX_DIR=$(mktemp -d /tmp/runner-bench-deploy.XXXXXX)
chmod 755 "$SANDBOX_DIR"
read -r SANDBOX_SSH_PORT SANDBOX_PROXY_PORT < <(free_ports 2)
cleanup() {
  id -u "$SANDBOX_USER" >/dev/null 2>&1 && usermod -s /bin/sh "$SANDBOX_USER"
  RUNNER=$bin scripts/sandbox.sh down --purge >/dev/null 2>&1
}
trap cleanup EXIT

echo "sandbox up in $SANDBOX_DIR (runner: $bin)"
RUNNER=$bin scripts/sandbox.sh up >"$SANDBOX_DIR.up.log" 2>&1 || { cat "$SANDBOX_DIR.up.log" >&2; exit 1; }
rm -f "$SANDBOX_DIR.up.log"
set -a; . "$SANDBOX_DIR/settings.env"; set +a
set_up_example_app >/dev/null

# The app host user's login shell: sshd runs `<shell> -c <command line>`; this one logs the start
# and end (ns) and the command line's first 300 bytes, then runs it with /bin/sh.
commands=$SANDBOX_DIR/bench/commands.log
mkdir -p "$SANDBOX_DIR/bench"
cat >"$SANDBOX_DIR/bench/shell" <<EOF
#!/bin/sh
start=\$(date +%s%N)
/bin/sh "\$@"
status=\$?
printf '%s %s %s\n' "\$start" "\$(date +%s%N)" "\$(printf '%s' "\$2" | head -c 300 | tr '\n' ' ')" >>$commands
exit \$status
EOF
chmod 755 "$SANDBOX_DIR/bench/shell"
touch "$commands"
chown -R "$SANDBOX_USER:" "$SANDBOX_DIR/bench"
usermod -s "$SANDBOX_DIR/bench/shell" "$SANDBOX_USER"

work=$SANDBOX_DIR/work
git clone -q "$SANDBOX_EXAMPLE_REMOTE" "$work"
# A new release on the remote's main: app.json's version bumped (its image layer changes).
release() { # version
  sed -i "s/\"version\": \"[^\"]*\"/\"version\": \"$1\"/" "$work/app.json"
  git -C "$work" -c user.name=bench -c user.email=bench@localhost commit -qam "sgos-hello $1"
  git -C "$work" push -q origin HEAD:main
}
deploy() { # round
  : >"$commands"
  local start end
  start=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$SANDBOX_DIR/bench/rusage-$1" \
    "$bin" run deploy.yml app=hello --inventory "$SANDBOX_INVENTORY" --output json >"$SANDBOX_DIR/bench/events-$1.jsonl" 2>&1 ||
    { echo "deploy $1 failed:" >&2; tail -n 20 "$SANDBOX_DIR/bench/events-$1.jsonl" >&2; exit 1; }
  end=$(date +%s%N)
  echo "$start $end" >"$SANDBOX_DIR/bench/wall-$1"
  cp "$commands" "$SANDBOX_DIR/bench/commands-$1"
}

echo "warm-up deploy (Docker's build cache)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
release 1.0.1-bench0 && deploy 0
for round in $(seq 1 "$rounds"); do
  release "1.0.1-bench$round" && deploy "$round"
  printf '.'
done
echo

python3 - "$SANDBOX_DIR/bench" "$rounds" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, sys
from datetime import datetime, timezone
d, rounds, load_before, load_after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def epoch_ns(ts):  # 2026-11-22T04:05:12.345Z
    t = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(t.timestamp() * 1e9)

rows, steps, order = [], {}, []
for r in range(1, rounds + 1):
    start, end = map(int, open(f"{d}/wall-{r}").read().split())
    user, system = map(float, open(f"{d}/rusage-{r}").read().split()[-2:])
    cmds = []
    for line in open(f"{d}/commands-{r}"):
        a, b, text = (line.rstrip("\n").split(" ", 2) + [""])[:3]
        cmds.append((int(a), int(b), "exec 'docker' 'inspect'" in text))
    cmds.sort()
    inside = polling = 0
    for i, (a, b, poll) in enumerate(cmds):
        inside += b - a
        if poll and i > 0 and cmds[i - 1][2]:  # the health gate's pause between two looks
            polling += a - cmds[i - 1][1]
    before = cmds[0][0] - start if cmds else end - start
    after = end - cmds[-1][1] if cmds else 0
    between = (cmds[-1][1] - cmds[0][0]) - inside - polling if cmds else 0
    rows.append(dict(wall=end - start, inside=inside, polling=polling, before=before, between=between, after=after,
                     own=before + between + after, cpu=(user + system) * 1e9, n=len(cmds)))
    opened, seen = {}, {}
    for line in open(f"{d}/events-{r}.jsonl"):
        try: event = json.loads(line)
        except ValueError: continue
        name = event.get("step")
        if event.get("event") == "step_started":
            opened[name] = epoch_ns(event["ts"])
        elif event.get("event") == "step_finished" and event.get("status") != "skipped" and name in opened:
            lo, hi = opened.pop(name), epoch_ns(event["ts"])
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1: name += f" ({seen[name]})"  # finally's Maintenance off
            in_cmds = sum(min(b, hi) - max(a, lo) for a, b, _ in cmds if a < hi and b > lo)
            if name not in steps: order.append(name)
            steps.setdefault(name, []).append((event.get("duration_ms", 0), in_cmds / 1e6))

ms = lambda ns: f"{ns / 1e6:.0f} ms"
mean = lambda k: sum(row[k] for row in rows) / len(rows)
cols = [("wall", "wall"), ("inside", "commands"), ("polling", "polling"), ("own", "runner"),
        ("before", "  before"), ("between", "  between"), ("after", "  after"), ("cpu", "runner CPU")]
print(f"{rounds} deploys of a new commit of sgos-hello into the sandbox (after one warm-up deploy)")
print(f"load average before: {load_before}, after: {load_after}\n")
print("round " + "".join(f"{title:>12}" for _, title in cols) + "  commands run")
for i, row in enumerate(rows, 1):
    print(f"{i:>5} " + "".join(f"{ms(row[k]):>12}" for k, _ in cols) + f"  {row['n']}")
print(" mean " + "".join(f"{ms(mean(k)):>12}" for k, _ in cols) + f"  {mean('n'):.0f}")
wall = mean("wall")
print(f"\nof the wall time: commands {mean('inside') / wall:.1%}, health-gate polling {mean('polling') / wall:.1%}, "
      f"runner {mean('own') / wall:.1%} (its CPU time: {mean('cpu') / wall:.1%})")
print(f"runner between two commands: {mean('between') / max(1, mean('n') - 1) / 1e6:.0f} ms on average\n")
print("per step (mean):      step   in commands")
for name in order:
    values = steps[name]
    print(f"  {sum(v[0] for v in values) / len(values):>10.0f} ms {sum(v[1] for v in values) / len(values):>10.0f} ms  {name}")
EOF
