#!/usr/bin/env bash
# compare.sh: run goro's and Go's versions of the bench workloads side by side.
#
# Usage: bench/compare.sh [--quick] [BUILD_DIR]
#   BUILD_DIR  goro's meson build dir (default $GORO_BUILD, else build-release
#              at the repository root); configured with --buildtype=release if
#              it has no build.ninja yet. The Go programs go to BUILD_DIR/bench-go.
#   --quick    one repetition (same as REPS=1)
# Environment:
#   REPS=n     repetitions of every workload (default 3), goro and Go runs
#              interleaved, alternating which of the two goes first
#   PROCS=n    worker threads: GORO_MAXPROCS and GOMAXPROCS (default 2)
#   TIMEOUT=s  limit on one run (default 300)
#
# Prints a table (stdout): per workload the goro and Go medians, the ratio
# goro/Go (lower is better for every unit here) and the target from the table
# below, and writes it as CSV to BUILD_DIR/bench-results/. Progress goes to
# stderr. Exits 1 if a run failed, whether or not the targets are met.
set -euo pipefail

# Runs as BENCHMARKS.md sizes them: program and n.
runs=("spawn 1000000" "skynet 1000000" "pingpong 1000000" "yield 1000000" "buffered 10000000"
  "mpmc 10000000" "select 4000000" "ring 1000000" "timers 100000" "memory 100000" "memory 1000000")
# Targets per printed metric: "ratio X" means goro/Go <= X, "abs X" means
# goro's value <= X. Metrics without one (memory_pte) are shown for information.
declare -A target=([spawn]="ratio 0.5" [skynet]="ratio 0.35" [pingpong]="ratio 0.5" [yield]="ratio 0.5"
  [buffered]="ratio 0.7" [mpmc]="ratio 1.0" [select]="ratio 0.6" [ring]="ratio 0.5" [timers]="ratio 0.7"
  [memory]="abs 4600")

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GORO_BUILD:+$(realpath -m -- "$GORO_BUILD")}
build=${build:-$root/build-release}
reps=${REPS:-3}
procs=${PROCS:-2}
timeout_s=${TIMEOUT:-300}
while (($#)); do
  case $1 in
    --quick) reps=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) build=$(realpath -m -- "$1") ;;
  esac
  shift
done
cd "$root"

# Build both sides.
if [[ ! -f $build/build.ninja ]]; then
  echo "== configuring $build (release)" >&2
  meson setup "$build" --buildtype=release >&2
fi
buildtype=$(meson introspect --buildoptions "$build" |
  python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')
[[ $buildtype == release ]] || echo "compare.sh: warning: $build is buildtype=$buildtype, not release" >&2
workloads=(spawn skynet pingpong yield buffered mpmc select ring memory timers)
echo "== building goro benchmarks in $build" >&2
ninja -C "$build" "${workloads[@]/#/bench/bench_}" >&2
gobin=$build/bench-go
mkdir -p "$gobin"
echo "== building Go benchmarks in $gobin ($(go version))" >&2
for w in "${workloads[@]}"; do
  GO111MODULE=off go build -o "$gobin/$w" "bench/go/$w/main.go"
done

# Run, interleaved. vals["impl metric n"] collects one value per run.
declare -A vals=() units=()
rows=()       # "metric n" in the order first seen
failures=()
run_one() { # impl workload n
  local impl=$1 w=$2 n=$3 exe out metric value unit
  if [[ $impl == goro ]]; then exe=$build/bench/bench_$w; else exe=$gobin/$w; fi
  local status=0
  out=$(GORO_MAXPROCS=$procs GOMAXPROCS=$procs timeout "$timeout_s" "$exe" "$n") || status=$?
  if ((status)); then
    if ((status == 124)); then status="timed out after ${timeout_s}s"; else status="exit status $status"; fi
    echo "   $impl: FAILED ($status)" >&2
    failures+=("$impl $w n=$n")
    return
  fi
  while read -r metric value unit; do
    [[ -n $unit ]] || continue # not a "<workload> <value> <unit>" line
    [[ -n ${units["$metric $n"]:-} ]] || rows+=("$metric $n")
    units["$metric $n"]=$unit
    vals["$impl $metric $n"]+="${vals["$impl $metric $n"]:+ }$value"
    echo "   $impl: $metric $value $unit" >&2
  done <<<"$out"
}
echo "== $reps repetition(s), $procs worker threads, on $(nproc) CPUs" >&2
for ((rep = 1; rep <= reps; rep++)); do
  for run in "${runs[@]}"; do
    read -r w n <<<"$run"
    echo "[$rep/$reps] $w n=$n" >&2
    if ((rep % 2)); then order=(goro go); else order=(go goro); fi
    for impl in "${order[@]}"; do run_one "$impl" "$w" "$n"; done
  done
done

# Report.
median() { # values... (none: prints nothing)
  (($#)) || return 0
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.1f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mkdir -p "$build/bench-results"
csv=$build/bench-results/compare-$(date +%Y%m%d-%H%M%S).csv
echo "workload,n,goro,go,unit,ratio,target,met,goro_runs,go_runs" >"$csv"
table_row() { printf '%-11s %8s %10s %10s %-12s %8s %12s %5s\n' "$@"; }
table_row workload n goro Go unit goro/Go target met
for row in "${rows[@]}"; do
  read -r metric n <<<"$row"
  # shellcheck disable=SC2086  # the run lists split on spaces on purpose
  g=$(median ${vals["goro $row"]:-}) o=$(median ${vals["go $row"]:-})
  ratio=- goal=- met=-
  [[ -n $g && -n $o ]] && ratio=$(awk -v g="$g" -v o="$o" 'BEGIN { printf "%.2f", g / o }')
  if [[ -n ${target[$metric]:-} ]]; then
    read -r kind limit <<<"${target[$metric]}"
    if [[ $kind == ratio ]]; then goal="ratio<=$limit" have=$ratio; else goal="goro<=$limit" have=${g:--}; fi
    if [[ $have == - ]]; then met='?'
    else met=$(awk -v h="$have" -v l="$limit" 'BEGIN { print (h <= l) ? "yes" : "NO" }'); fi
  fi
  table_row "$metric" "$n" "${g:-FAIL}" "${o:-FAIL}" "${units[$row]}" "$ratio" "$goal" "$met"
  echo "$metric,$n,$g,$o,${units[$row]},${ratio#-},$goal,$met,${vals["goro $row"]:-},${vals["go $row"]:-}" >>"$csv"
done
echo "== results written to $csv" >&2
if ((${#failures[@]})); then
  printf 'compare.sh: failed run: %s\n' "${failures[@]}" >&2
  exit 1
fi
