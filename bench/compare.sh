#!/usr/bin/env bash
# compare.sh: build the CPU and memory workloads of bench/README.md for every
# runtime in the comparison and run them side by side (bench/compare.py).
#
# Usage: bench/compare.sh [--quick] [--no-install] [--runtimes LIST] [--workloads LIST] [BUILD_DIR]
#   BUILD_DIR     goro's meson build dir (default $GORO_BUILD, else build-release
#                 at the repository root), set to --buildtype=release and
#                 -Dbench_peers=enabled; the Go programs go to BUILD_DIR/bench-go,
#                 Tokio's to BUILD_DIR/bench-tokio
#   --quick       three repetitions at a tenth to a fifth of the sizes (25 s of runs;
#                 about two minutes with the first build)
#   --runtimes    comma-separated subset of goro,go,fiber,asio,tokio (default all)
#   --workloads   comma-separated subset of spawn,skynet,pingpong,yield,buffered,
#                 mpmc,select,ring,timers,handoff,memory (default all)
#   --no-install  do not install missing Debian packages (scripts/install-deps.sh bench)
#   --base REV    also build goro at commit REV (in BUILD_DIR-base, from a git
#                 worktree) and run it as the runtime "base", interleaved with
#                 the others: before and after a change in one run
# Environment:
#   REPS=n        repetitions (default 5, --quick 3)
#   PROCS=n       worker threads of every runtime (default 2)
#   TIMEOUT=s     limit on one run (default 300)
#   JOBS=n        parallel compile jobs for ninja and cargo (default: ninja's, cargo's)
#
# The runtimes: goro (bench/goro), Go (bench/go), Boost.Fiber with its
# work_stealing scheduler (bench/fiber), C++20 stackless coroutines on
# standalone Asio (bench/asio) and Tokio (bench/tokio, built offline from
# Debian's crate sources). Results: a table on stdout, CSVs and a chart in
# bench/results/ (see bench/compare.py). Network workloads: bench/net.sh.
# Exits 1 if a build or a run failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GORO_BUILD:+$(realpath -m -- "$GORO_BUILD")}
build=${build:-$root/build-release}
install=1
py_args=()
runtimes=goro,go,fiber,asio,tokio
base_rev=
while (($#)); do
  case $1 in
    --base) base_rev=$2; shift ;;
    --base=*) base_rev=${1#*=} ;;
    --quick) py_args+=(--quick) ;;
    --no-install) install=0 ;;
    --runtimes) runtimes=$2; shift ;;
    --runtimes=*) runtimes=${1#*=} ;;
    --workloads) py_args+=(--workloads "$2"); shift ;;
    --workloads=*) py_args+=(--workloads "${1#*=}") ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) build=$(realpath -m -- "$1") ;;
  esac
  shift
done
[[ -n ${REPS:-} ]] && py_args+=(--reps "$REPS")
py_args+=(--procs "${PROCS:-2}" --timeout "${TIMEOUT:-300}" --runtimes "$runtimes")
jobs=()
[[ -n ${JOBS:-} ]] && jobs=(-j "$JOBS")
has() { [[ ,$runtimes, == *,$1,* ]]; }
cd "$root"

((install)) && scripts/install-deps.sh bench

# goro, Boost.Fiber and Asio: one meson build, release.
if [[ ! -f $build/build.ninja ]]; then
  echo "== configuring $build" >&2
  meson setup "$build" --buildtype=release -Dbench=true -Dbench_peers=enabled >&2
else
  meson configure "$build" --buildtype=release -Dbench=true -Dbench_peers=enabled >&2
fi
workloads=(spawn skynet pingpong yield buffered mpmc select ring memory timers handoff)
targets=()
for w in "${workloads[@]}"; do
  has goro && targets+=("bench/bench_$w")
  [[ $w == handoff ]] && continue  # goro and Go only (bench/README.md)
  has fiber && [[ $w != select ]] && targets+=("bench/fiber_$w")
  has asio && targets+=("bench/asio_$w")
done
echo "== building goro, Boost.Fiber and Asio programs in $build" >&2
ninja -C "$build" "${jobs[@]}" "${targets[@]}" >&2
py_args+=(--goro "$build/bench" --fiber "$build/bench" --asio "$build/bench")

if [[ -n $base_rev ]]; then
  base_src=$build-base-src
  base_build=$build-base
  rev=$(git rev-parse --verify "$base_rev^{commit}")
  if [[ -d $base_src ]]; then
    git -C "$base_src" checkout -q --detach "$rev"
  else
    git worktree add -q --detach "$base_src" "$rev"
  fi
  [[ -f $base_build/build.ninja ]] ||
    meson setup "$base_build" "$base_src" --buildtype=release -Dbench=true -Dtests=false -Dexamples=false >&2
  base_targets=()
  for w in "${workloads[@]}"; do
    [[ -f $base_src/bench/goro/$w.cpp ]] && base_targets+=("bench/bench_$w")
  done
  echo "== building goro at $base_rev ($rev) in $base_build" >&2
  ninja -C "$base_build" "${jobs[@]}" "${base_targets[@]}" >&2
  py_args+=(--base "$base_build/bench")
  [[ ,$runtimes, == *,base,* ]] || runtimes+=,base
  py_args+=(--runtimes "$runtimes")
fi

if has go; then
  gobin=$build/bench-go
  mkdir -p "$gobin"
  echo "== building Go programs in $gobin ($(go version))" >&2
  for w in "${workloads[@]}"; do
    GO111MODULE=off go build -o "$gobin/$w" "bench/go/$w/main.go"
  done
  py_args+=(--go "$gobin")
fi

if has tokio; then
  echo "== building Tokio programs" >&2
  tokiobin=$(CARGO_TARGET_DIR=$build/bench-tokio bench/tokio/build.sh | tail -n 1)
  py_args+=(--tokio "$tokiobin")
fi

# Debian's interpreter, which sees Debian's python3-matplotlib, even when
# another python3 comes first on PATH.
python=/usr/bin/python3
[[ -x $python ]] || python=python3
exec "$python" bench/compare.py "${py_args[@]}"
