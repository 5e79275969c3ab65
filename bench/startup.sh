#!/usr/bin/env bash
# Prints runner's cold-start time (a one-step pipeline) and its per-step overhead (a 100-step
# local pipeline), each beside `bash -c true` measured in the same run. Release build with the
# Swift runtime linked statically (as runner is shipped: one binary to copy to a server).
# Usage: bench/startup.sh [rounds]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-30}"
. bench/lib.sh
bin=$(release_runner)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export RUNNER_STATE_DIR="$work/state" NO_COLOR=1

printf 'steps:\n  - run: "true"\n' > "$work/one.yml"
{ echo "steps:"; for i in $(seq 100); do echo "  - run: \"true\""; done; } > "$work/hundred.yml"
"$bin" run "$work/one.yml" >/dev/null   # creates the run store once

# mean wall time in microseconds of running "$@" $rounds times
mean_us() {
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$rounds"); do "$@" >/dev/null 2>&1; done
  end=$(date +%s%N)
  echo $(( (end - start) / rounds / 1000 ))
}

bash_us=$(mean_us bash -c true)
one_us=$(mean_us "$bin" run "$work/one.yml" --output json)
hundred_us=$(mean_us "$bin" run "$work/hundred.yml" --output json)
sh_us=$(mean_us /bin/sh -c true)
per_step_us=$(( (hundred_us - one_us) / 99 ))

ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
echo "rounds: $rounds (static release build, run store in a temp dir, output json to /dev/null)"
echo "bash -c true:                        $(ms "$bash_us")"
echo "runner run, one step (cold start):   $(ms "$one_us")   target < 20 ms"
echo "runner run, 100 steps:               $(ms "$hundred_us")"
echo "per step (100-step minus 1-step)/99: $(ms "$per_step_us")"
echo "  of which the step's own sh -c true: $(ms "$sh_us")"
echo "per-step overhead (minus sh -c true): $(ms $(( per_step_us - sh_us )))   target < 2 ms"
