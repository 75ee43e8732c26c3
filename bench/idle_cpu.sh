#!/usr/bin/env bash
# idle_cpu.sh: the CPU an idle goro program uses, measured by /usr/bin/time:
# a program whose main fiber sleeps, one that also has a fiber blocked for
# good in a raw read(2), and one with a 100 ms ticker. Go's equivalents are
# not needed for the claim (an idle program should use no CPU at all).
#   bench/idle_cpu.sh [BUILD_DIR] [SECONDS]   (default build-release, 5 s)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-release}
seconds=${2:-5}
cd "$root"
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" --buildtype=release -Dbench=true >&2
fi
ninja -C "$build" bench/bench_idle >&2
for mode in idle blocked ticker; do
  for procs in 1 2; do
    out=$(GORO_MAXPROCS=$procs /usr/bin/time -f '%U %S %e' "$build/bench/bench_idle" "$seconds" "$mode" 2>&1 >/dev/null | tail -n 1)
    read -r user sys wall <<<"$out"
    printf '%-8s procs=%d  user %5ss  sys %5ss  wall %5ss\n' "$mode" "$procs" "$user" "$sys" "$wall"
  done
done
