# Shared by the benchmarks (startup.sh, ssh.sh, deploy.sh). Source it after `cd` to the repository.

# Builds runner as it is shipped — release, the Swift runtime linked statically, one binary to copy
# to a server — in .build-static, and prints the binary's path. BENCH_RUNNER, when set, is used instead
# (another build; say so beside the figures).
release_runner() {
  if [ -n "${BENCH_RUNNER:-}" ]; then printf "%s\n" "$BENCH_RUNNER"; return; fi
  local build=(nice -n 10 swift build -c release --static-swift-stdlib --scratch-path .build-static)
  "${build[@]}" >/dev/null 2>&1 || "${build[@]}" >&2 || { echo "the release build failed (see above)" >&2; return 1; }
  [ -x .build-static/release/runner ] || { echo "no runner binary at .build-static/release/runner after the build" >&2; return 1; }
  printf '%s\n' "$PWD/.build-static/release/runner"
}
