#!/usr/bin/env bash
# Remote commands over SSH on loopback, runner beside plain OpenSSH, all measured in one run:
#   1. runner: 50 steps `run: "true"` on one host
#   2. ssh: the same 50 commands, a new connection per command (`ssh -F cfg h1 true` in a loop)
#   3. ssh with ControlMaster: one master connection, then 50 commands through it
#      (only the 50 commands are timed, not the master's set-up)
#   4. runner: 10 steps on a group of 8 hosts (each host its own sshd on its own port)
#   5. runner: the same 10 steps on a group of 1 host
# Starts 8 throwaway sshd servers on 127.0.0.1 (needs root, sshd, ssh, ssh-keygen; logs in as the
# unprivileged user runner-bench, created if missing). Release build with the Swift runtime linked
# statically, as bench/startup.sh builds it.
# Usage: bench/ssh.sh [rounds]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/ssh.sh [rounds]  (rounds: a positive integer)" >&2; exit 2; }
nhosts=8
bench_user=runner-bench

die() { echo "bench/ssh.sh: $*" >&2; exit 1; }

# --- prerequisites -------------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "run as root (it starts sshd servers and may create the user $bench_user)"
sshd_bin=/usr/sbin/sshd
[[ -x $sshd_bin ]] || die "$sshd_bin not found: install openssh-server (scripts/setup.sh does)"
for tool in ssh ssh-keygen ss; do
  command -v "$tool" >/dev/null || die "'$tool' not found: install openssh-client / iproute2 (scripts/setup.sh does)"
done
if ! id "$bench_user" >/dev/null 2>&1; then
  useradd -m -s /bin/sh "$bench_user" || die "could not create user $bench_user"
fi
# sshd without PAM refuses a locked account ('!'); '*' means "no password" but not locked.
usermod -p '*' "$bench_user" || die "could not unlock user $bench_user for key login"
mkdir -p /run/sshd

# --- build ---------------------------------------------------------------------------------------
. bench/lib.sh
bin=$(release_runner) || die "build failed (see above)"

# --- throwaway sshd servers ----------------------------------------------------------------------
work="$(mktemp -d /tmp/runner-ssh-bench.XXXXXX)"
chmod 755 "$work"   # sshd reads the authorized keys file as $bench_user
sshd_pids=()
control_path="$work/cm.sock"
cleanup() {
  ssh -F "$work/ssh_config" -o ControlPath="$control_path" -O exit h1 >/dev/null 2>&1 || true
  for pid in "${sshd_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${sshd_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C runner-bench-client -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
chmod 644 "$work/authorized_keys"
: > "$work/known_hosts"

port_free() { [[ -z $(ss -ltnH "sport = :$1") ]]; }

# start_sshd INDEX: starts server h<INDEX> on the next free port from $next_port; sets ports[INDEX]
ports=()
next_port=22200
start_sshd() {
  local i=$1 dir="$work/h$1" attempt pid
  mkdir -p "$dir"
  ssh-keygen -q -t ed25519 -N '' -C "h$i" -f "$dir/host_key"
  for attempt in $(seq 20); do
    while ! port_free "$next_port"; do next_port=$((next_port + 1)); done
    local port=$next_port
    next_port=$((next_port + 1))
    cat > "$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
AuthorizedKeysFile $work/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile $dir/sshd.pid
StrictModes no
AllowUsers $bench_user
Subsystem sftp internal-sftp
EOF
    "$sshd_bin" -t -f "$dir/sshd_config" || die "sshd rejects $dir/sshd_config (see above)"
    "$sshd_bin" -D -e -f "$dir/sshd_config" 2>"$dir/log" &
    pid=$!
    for _ in $(seq 100); do   # up to 5 s
      if grep -qs "Server listening" "$dir/log"; then
        sshd_pids+=("$pid")
        ports[i]=$port
        echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$dir/host_key.pub")" >> "$work/known_hosts"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    grep -qs "Address already in use" "$dir/log" && continue   # lost a race for the port: next one
    die "sshd h$i on port $port did not start; its log:
$(cat "$dir/log")"
  done
  die "no free port found for sshd h$i"
}
for i in $(seq "$nhosts"); do start_sshd "$i"; done

# --- client configuration: OpenSSH and runner ----------------------------------------------------
{
  for i in $(seq "$nhosts"); do
    cat <<EOF
Host h$i
  HostName 127.0.0.1
  Port ${ports[i]}
  User $bench_user
  IdentityFile $work/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $work/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
EOF
  done
} > "$work/ssh_config"
sshc=(ssh -F "$work/ssh_config")
cm_opts=(-o ControlMaster=auto -o ControlPath="$control_path" -o ControlPersist=60)

{
  echo "hosts:"
  for i in $(seq "$nhosts"); do
    echo "  h$i: { address: 127.0.0.1, port: ${ports[i]}, user: $bench_user, identity: $work/client_key, known_hosts: $work/known_hosts }"
  done
  echo "groups:"
  echo "  all: [$(for i in $(seq "$nhosts"); do printf '%sh%s' "$([[ $i -gt 1 ]] && echo ', ')" "$i"; done)]"
  echo "  one: [h1]"
} > "$work/inventory.yml"

# pipeline FILE STEPS ON: a pipeline of STEPS `run: "true"` steps on ON (no `on:` if ON is empty)
pipeline() {
  local file=$1 steps=$2 on=$3
  {
    echo "inventory: inventory.yml"
    echo "steps:"
    for _ in $(seq "$steps"); do
      echo "  - run: \"true\""
      if [[ -n $on ]]; then echo "    on: $on"; fi
    done
  } > "$work/$file"
}
pipeline local1.yml 1 ""
pipeline h1x50.yml 50 h1
pipeline all10.yml 10 all
pipeline one10.yml 10 one

export RUNNER_STATE_DIR="$work/state" NO_COLOR=1 RUNNER_SSH_CONFIG=none

# run_runner FILE: one run; fails loudly with runner's output if it does not exit 0
run_runner() {
  local rc=0
  "$bin" run "$work/$1" --output json >"$work/runner.out" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "bench/ssh.sh: 'runner run $1' exited $rc; its output (skipped steps left out):" >&2
    grep -v '"status":"skipped"' "$work/runner.out" | head -40 >&2
    echo "--- pipeline $1 (first lines):" >&2; head -6 "$work/$1" >&2
    echo "--- inventory.yml:" >&2; cat "$work/inventory.yml" >&2
    exit 1
  fi
}
ssh_each() { for _ in $(seq 50); do "${sshc[@]}" h1 true </dev/null; done; }
cm_each() { for _ in $(seq 50); do "${sshc[@]}" "${cm_opts[@]}" h1 true </dev/null; done; }
cm_start() {
  "${sshc[@]}" "${cm_opts[@]}" h1 true </dev/null >/dev/null 2>"$work/cm.err" \
    || die "ControlMaster set-up failed: $(cat "$work/cm.err")"
  "${sshc[@]}" -o ControlPath="$control_path" -O check h1 >/dev/null 2>&1 \
    || die "ControlMaster is not running after set-up"
}
cm_stop() { "${sshc[@]}" -o ControlPath="$control_path" -O exit h1 >/dev/null 2>&1 || true; }

# Sanity and warm-up: every path once (also creates runner's run store and checks every host).
for i in $(seq "$nhosts"); do
  "${sshc[@]}" "h$i" true </dev/null || die "plain ssh to h$i (port ${ports[i]}) fails; sshd log:
$(tail -20 "$work/h$i/log")"
done
run_runner local1.yml
run_runner h1x50.yml
run_runner all10.yml
run_runner one10.yml
cm_start; cm_each; cm_stop

openssh_kex=$("${sshc[@]}" -v h1 true </dev/null 2>&1 | sed -n 's/.*kex: algorithm: //p' | head -1)
libssh_file=$(ldd "$bin" | awk '/libssh/ { print $3 }' | xargs -r readlink -f)
libssh="libssh"
if [[ -n $libssh_file ]] && package=$(dpkg -S "$libssh_file" 2>/dev/null | cut -d: -f1); then
  libssh="libssh $(dpkg-query -W -f '${Version}' "$package" 2>/dev/null)"
fi

# timings[name] holds the space-separated nanosecond totals of every round
declare -A timings
measure() {   # measure NAME COMMAND...: one timed round
  local name=$1 start end
  shift
  start=$(date +%s%N)
  "$@"
  end=$(date +%s%N)
  timings[$name]+="$((end - start)) "
}
for _ in $(seq "$rounds"); do   # interleaved, so drift on the machine hits every measurement alike
  measure local1 run_runner local1.yml
  measure runner50 run_runner h1x50.yml
  measure ssh50 ssh_each
  cm_start
  measure cm50 cm_each
  cm_stop
  measure all10 run_runner all10.yml
  measure one10 run_runner one10.yml
done

mean_ms() { echo "${timings[$1]}" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF / 1e6 }'; }
min_ms() { echo "${timings[$1]}" | awk '{ m = $1; for (i = 2; i <= NF; i++) if ($i < m) m = $i; printf "%.1f", m / 1e6 }'; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

local1=$(mean_ms local1)
runner50=$(mean_ms runner50); ssh50=$(mean_ms ssh50); cm50=$(mean_ms cm50)
all10=$(mean_ms all10); one10=$(mean_ms one10)
row() {   # row LABEL NAME COMMANDS
  printf '%-52s %8s ms  (min %8s)  %7s ms/command\n' "$1" "$(mean_ms "$2")" "$(min_ms "$2")" "$(calc "$(mean_ms "$2") / $3")"
}

echo "rounds: $rounds, mean (min) wall time; $nhosts sshd servers on 127.0.0.1, user $bench_user, ed25519 keys"
echo "$(ssh -V 2>&1 | cut -d, -f1), key exchange $openssh_kex; runner uses $libssh"
echo "runner: static release build, output json to /dev/null; its totals include its own process"
echo "start and its SSH connection set-up (one per host per run)."
echo
row "1. runner, 50 steps on h1" runner50 50
row "2. ssh per command (new connection each), 50" ssh50 50
row "3. ssh via ControlMaster, 50 (master already up)" cm50 50
row "4. runner, 10 steps on 8 hosts (80 commands)" all10 10
row "5. runner, 10 steps on 1 host" one10 10
row "   runner, 1 local step (start-up baseline)" local1 1
echo "   (ms/command for 4 and 5 is per step; in 4 each step runs on 8 hosts in parallel)"
echo
echo "per-command cost excluding start-up (minus the 1-step local run):"
echo "   runner 50 steps on h1:  $(calc "($runner50 - $local1) / 50") ms/command (still includes the connection set-up)"
echo "   runner 10 steps, 1 host: $(calc "($one10 - $local1) / 10") ms/step"
echo "   runner 10 steps, 8 hosts: $(calc "($all10 - $local1) / 10") ms/step (8 commands each)"
echo
echo "50-command run vs ControlMaster: $runner50 ms vs $cm50 ms (target: runner ≤ ControlMaster)  $(awk -v a="$runner50" -v b="$cm50" 'BEGIN { print (a <= b) ? "met" : "MISSED" }')"
echo "   (ControlMaster's figure excludes its master connection set-up; runner's includes its start-up and connection)"
echo "8-host run (80 commands) vs the one-host run of 50 commands: ratio $(calc "$all10 / $runner50") (the issue's target ≤ 1.5)  $(awk -v a="$all10" -v b="$runner50" 'BEGIN { print (a / b <= 1.5) ? "met" : "MISSED" }')"
echo "stricter, same steps: 8-host run vs 10 steps on 1 host: ratio $(calc "$all10 / $one10") (8x the commands on 2 shared cores; ≤ 1.5 would be $(awk -v a="$all10" -v b="$one10" 'BEGIN { print (a / b <= 1.5) ? "met" : "missed" }'))"
