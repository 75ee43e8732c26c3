#!/usr/bin/env bash
# net.sh: run goro's network servers, Go's, Asio's, Tokio's (and Redis) side by side under load.
#
# Usage: bench/net.sh [--quick] [--no-goro] [--no-peers] [BUILD_DIR] [WORKLOAD...]
#   WORKLOAD   echo, http, nethttp or redis (default: all four):
#     echo   goro's examples/echo_server against bench/go/echo_server,
#            bench/asio/echo_server.cpp (C++20 coroutines) and
#            bench/tokio/src/bin/echo_server.rs, each loaded by
#            bench/go/echo_load -c 100 -d DURATION (100 connections, 64-byte
#            round trips)
#     http   goro's examples/http_raw against bench/go/http_raw (goroutine
#            per connection), bench/go/http_nethttp (net/http), and the Asio
#            and Tokio http_raw servers (a task per connection, the same
#            answers as Go's http_raw), each loaded by wrk -t1 -c100
#            -dDURATION --latency
#     nethttp goro's examples/http_hello (goro::http: a serve_mux with one
#            route, read-header and idle timeouts) against bench/go/http_nethttp
#            (net/http: a ServeMux with one route, the same timeouts), and
#            against goro's own hand-written examples/http_raw, to show what the
#            layer costs; loaded as http is
#     redis  goro's examples/kv_server against redis-server, each loaded by
#            redis-benchmark -t set,get -c 50 -n REDIS_N, without and with -P 16
#   BUILD_DIR  goro's meson build dir (default $GORO_BUILD, else build-release
#              at the repository root); configured with --buildtype=release if
#              it has no build.ninja yet. The Go programs go to BUILD_DIR/bench-go.
#   --quick    one repetition of 2-second runs (REPS=1 DURATION=2)
#   --no-goro  leave goro's servers out: runs the harness against the other
#              servers alone (while goro's examples are unfinished, say)
#   --no-peers leave the Asio and Tokio servers out (Go and Redis only)
#   Boost.Fiber has no network I/O of its own: it has no row here.
# Environment:
#   REPS=n      repetitions (default 3); each runs every server once per
#               workload, the servers' order rotating from one repetition to
#               the next
#   DURATION=s  whole seconds of load per echo and http run (default 10)
#   REDIS_N=n   requests per redis-benchmark test without pipelining (default
#               50,000 per second of DURATION); with -P 16, ten times as many
#   PROCS=n     the servers' worker threads: GORO_MAXPROCS, GOMAXPROCS and
#               BENCH_WORKERS (Asio, Tokio) (default 2). The load generators run on the same machine and
#               share its cores with the server.
#   JOBS=n      ninja -j for building goro's examples (default: ninja's)
#
# Every run starts its server afresh on a free port (--listen 127.0.0.1:0, and
# the server prints its address as its first line of stdout), loads it, stops
# it with SIGTERM and checks it exits with status 0. A server that fails to
# start, or a load run that fails, stops the script with an error. Prints a
# table (stdout): per workload the median req/s of goro and of the other
# server, the ratio goro/other (higher is better), the spread (min-max) and
# the median p99 latency. Every run is appended to bench/results/net-DATE.csv
# as it completes. Progress goes to stderr. Exits 1 if a server did not exit
# cleanly.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GORO_BUILD:+$(realpath -m -- "$GORO_BUILD")}
build=${build:-$root/build-release}
reps=${REPS:-3}
duration=${DURATION:-10}
procs=${PROCS:-2}
with_goro=1
with_peers=1
workloads=()
while (($#)); do
  case $1 in
    --quick) reps=1 duration=2 ;;
    --no-goro) with_goro=0 ;;
    --no-peers) with_peers=0 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "net.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    echo | http | nethttp | redis) workloads+=("$1") ;;
    *) build=$(realpath -m -- "$1") ;;
  esac
  shift
done
((${#workloads[@]})) || workloads=(echo http nethttp redis)
for v in reps duration procs; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "net.sh: ${v^^} must be a positive whole number, not '${!v}'" >&2; exit 2; }
done
redis_n=${REDIS_N:-$((50000 * duration))}
[[ $redis_n =~ ^[1-9][0-9]*$ ]] || { echo "net.sh: REDIS_N must be a positive whole number, not '$redis_n'" >&2; exit 2; }
cd "$root"

die() {
  echo "net.sh: $*" >&2
  exit 1
}
wants() { [[ " ${workloads[*]} " == *" $1 "* ]]; }

# Tools. wrk, redis-benchmark and redis-server come from Debian packages, as
# do Asio and Tokio's sources.
"$root/scripts/install-deps.sh" net-bench
for tool in go meson ninja python3; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
if wants http || wants nethttp; then command -v wrk >/dev/null || die "wrk not found"; fi
if wants redis; then
  for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || die "$tool not found"
  done
fi

# Build goro's servers (release, as compare.sh does) and the Go programs. The
# Go programs use only the standard library, so GOPATH mode builds them
# offline without a go.mod.
declare -A goro_exe=([echo]=echo_server [http]=http_raw [nethttp]=http_hello [redis]=kv_server)
declare -A peer_exe=([echo]=echo_server [http]=http_raw)
peer_options=()
((with_peers)) && peer_options=(-Dbench=true -Dbench_peers=enabled)
if ((with_goro || with_peers)); then
  if [[ ! -f $build/build.ninja ]]; then
    echo "== configuring $build (release)" >&2
    meson setup "$build" --buildtype=release "${peer_options[@]}" >&2
  elif ((with_peers)); then
    meson configure "$build" "${peer_options[@]}" >&2
  fi
  buildtype=$(meson introspect --buildoptions "$build" |
    python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')
  [[ $buildtype == release ]] || echo "net.sh: warning: $build is buildtype=$buildtype, not release" >&2
  targets=()
  for w in "${workloads[@]}"; do
    ((with_goro)) && targets+=("examples/${goro_exe[$w]}")
    [[ $w == nethttp ]] && targets+=(examples/http_raw)
    ((with_peers)) && [[ -n ${peer_exe[$w]:-} ]] && targets+=("bench/asio_${peer_exe[$w]}")
  done
  if ((${#targets[@]})); then
    echo "== building in $build: ${targets[*]}" >&2
    ninja -C "$build" ${JOBS:+-j "$JOBS"} "${targets[@]}" >&2 || die "building the servers in $build failed"
  fi
fi
tokiobin=
if ((with_peers)) && { wants echo || wants http; }; then
  echo "== building Tokio's servers" >&2
  tokiobin=$(CARGO_TARGET_DIR=$build/bench-tokio bench/tokio/build.sh | tail -n 1) || die "building bench/tokio failed"
fi
gobin=$build/bench-go
mkdir -p "$gobin"
goprogs=()
if wants echo; then goprogs+=(echo_server echo_load); fi
if wants http; then goprogs+=(http_raw http_nethttp); fi
if wants nethttp && ! wants http; then goprogs+=(http_nethttp); fi
if ((${#goprogs[@]})); then
  echo "== building Go servers in $gobin ($(go version)): ${goprogs[*]}" >&2
  for p in "${goprogs[@]}"; do
    GO111MODULE=off go build -o "$gobin/$p" "bench/go/$p/main.go" || die "building bench/go/$p failed"
  done
fi

tmp=$(mktemp -d)
srv_pid=
cleanup() {
  # A server still running here means the script is stopping early.
  if [[ -n $srv_pid ]]; then
    kill -KILL "$srv_pid" 2>/dev/null || true
    wait "$srv_pid" 2>/dev/null || true # reaped quietly, without bash's "Killed"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Servers. Every one listens on 127.0.0.1, port 0 where it can pick its own.
declare -A label=([goro]="goro" [go]="Go" [go-raw]="Go raw" [go-nethttp]="Go net/http" [redis]="redis-server"
  [asio]="Asio" [tokio]="Tokio" [goro-raw]="goro http_raw")
declare -A impls=([echo]="goro go" [http]="goro go-raw go-nethttp" [nethttp]="goro go-nethttp goro-raw"
  [redis]="goro redis")
if ((with_peers)); then
  impls[echo]+=" asio tokio"
  impls[http]+=" asio tokio"
fi
server_cmd() { # workload impl: sets cmd
  case $2 in
    goro) cmd=("$build/examples/${goro_exe[$1]}" --listen 127.0.0.1:0) ;;
    go) cmd=("$gobin/echo_server" --listen 127.0.0.1:0) ;;
    go-raw) cmd=("$gobin/http_raw" --listen 127.0.0.1:0) ;;
    goro-raw) cmd=("$build/examples/http_raw" --listen 127.0.0.1:0) ;;
    go-nethttp) cmd=("$gobin/http_nethttp" --listen 127.0.0.1:0) ;;
    asio) cmd=("$build/bench/asio_${peer_exe[$1]}" --listen 127.0.0.1:0) ;;
    tokio) cmd=("$tokiobin/${peer_exe[$1]}" --listen 127.0.0.1:0) ;;
    # redis-server cannot report a port it picked itself: take one that is
    # free now. Snapshots off, so no disk writes; its working directory is
    # the temporary one, so it reads no stray dump.rdb. It runs commands on
    # one thread whatever PROCS says; that is the server people compare with.
    redis)
      redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      cmd=(redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --daemonize no --dir "$tmp")
      ;;
  esac
}

alive() { # pid: running, not exited (a zombie has exited, but kill -0 still finds it)
  local state
  state=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) && [[ -n $state && $state != Z ]]
}
server_stderr() { # the last lines the server wrote on stderr, indented, after a newline
  [[ -s $tmp/server.err ]] || return 0
  printf '\n  its stderr ends with:\n'
  tail -n 5 "$tmp/server.err" | sed 's/^/    /'
}

start_server() { # workload impl: starts it, sets srv_pid, srv_name, host and port
  local cmd=() line i status
  server_cmd "$1" "$2"
  case $2 in
    goro | goro-raw) srv_name="goro ${cmd[0]##*/}" ;;
    go*) srv_name="Go ${cmd[0]##*/}" ;;
    *) srv_name=${label[$2]} ;;
  esac
  [[ -x ${cmd[0]} || $2 == redis ]] || die "$srv_name failed to start: ${cmd[0]} is not an executable"
  : >"$tmp/server.out"
  : >"$tmp/server.err"
  GORO_MAXPROCS=$procs GOMAXPROCS=$procs BENCH_WORKERS=$procs "${cmd[@]}" </dev/null >"$tmp/server.out" 2>"$tmp/server.err" &
  srv_pid=$!
  for ((i = 0; i < 200; i++)); do # 10 s
    if [[ $2 == redis ]]; then
      if [[ $(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null) == PONG ]]; then
        host=127.0.0.1 port=$redis_port
        return
      fi
    elif IFS= read -r line <"$tmp/server.out"; then # a whole first line
      # "HOST:PORT", possibly after some words ("listening on 127.0.0.1:4000").
      line=${line%"${line##*[![:space:].]}"} # trailing blanks and full stop
      line=${line##*[[:space:]]}
      [[ $line =~ ^\[?([^]]*)\]?:([0-9]+)$ && ${BASH_REMATCH[2]} != 0 ]] ||
        die "$srv_name failed to start: its first line of stdout has no HOST:PORT with the bound port: $(head -n 1 "$tmp/server.out")"
      host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
      # An address of every interface means it took no notice of --listen's
      # host; loopback reaches it all the same.
      if [[ -z $host || $host == 0.0.0.0 || $host == :: ]]; then host=127.0.0.1; fi
      return
    fi
    if ! alive "$srv_pid"; then
      status=0
      wait "$srv_pid" || status=$?
      srv_pid=
      die "$srv_name failed to start: it exited with status $status before it was ready (${cmd[*]})$(server_stderr)"
    fi
    sleep 0.05
  done
  die "$srv_name failed to start: not ready after 10 s (${cmd[*]}; $([[ $2 == redis ]] && echo "no PONG" || echo "no address on its first line of stdout: is stdout flushed?"))$(server_stderr)"
}

failures=()
stop_server() { # sets srv_exit: "clean" or what went wrong
  local i status=0
  kill -TERM "$srv_pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do # 10 s
    alive "$srv_pid" || break
    sleep 0.1
  done
  if alive "$srv_pid"; then
    kill -KILL "$srv_pid" 2>/dev/null || true
    wait "$srv_pid" 2>/dev/null || true
    srv_exit="still running 10 s after SIGTERM (killed)"
  else
    wait "$srv_pid" || status=$?
    case $status in
      0) srv_exit=clean ;;
      143) srv_exit="killed by SIGTERM (no handler)" ;;
      *) srv_exit="exit status $status after SIGTERM" ;;
    esac
  fi
  srv_pid=
  if [[ $srv_exit != clean ]]; then
    echo "   $srv_name: did not exit cleanly: $srv_exit$(server_stderr)" >&2
    failures+=("$srv_name: $srv_exit")
  fi
}

load() { # command...: runs the load generator, its stdout in $out; a failure stops the script
  local status=0 server=
  # The load generator gets the machine's default thread count, not the
  # servers' PROCS: it competes with the server for the same cores either way.
  out=$(timeout $((duration + 120)) env -u GOMAXPROCS -u GORO_MAXPROCS -u BENCH_WORKERS "$@" 2>"$tmp/load.err") || status=$?
  if ((status)); then
    if ((status == 124)); then status="timed out"; else status="exit status $status"; fi
    if ! alive "$srv_pid"; then # it crashed, most likely: say how it ended
      local srv_status=0
      wait "$srv_pid" 2>/dev/null || srv_status=$?
      srv_pid=
      server="
  and the server had exited, with status $srv_status"
    fi
    die "the load on $srv_name failed ($status): $*
$(tail -n 10 "$tmp/load.err" | sed 's/^/    /')$server$(server_stderr)"
  fi
}

to_ms() { # wrk's latency ("757.00us", "1.02ms", "1.20s") in milliseconds
  awk -v v="$1" 'BEGIN {
    u = v; sub(/^[0-9.]+/, "", u); n = v + 0
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; else if (u != "ms") exit 1
    printf "%.3f\n", n }'
}

# Results. vals["impl row"] and p99s["impl row"] collect one value per run.
mkdir -p bench/results
csv=$root/bench/results/net-$(date +%Y%m%d-%H%M%S).csv
echo "time,rep,workload,server,load,req_per_s,p50_ms,p99_ms,server_exit" >"$csv"
declare -A vals=() p99s=()
rows=() # in the order first seen
record() { # rep row impl load rps p50 p99
  [[ " ${rows[*]} " == *" $2 "* ]] || rows+=("$2")
  vals["$3 $2"]+="${vals["$3 $2"]:+ }$5"
  p99s["$3 $2"]+="${p99s["$3 $2"]:+ }$7"
  printf '   %-12s %-15s %10.1f req/s  p50 %7.3f ms  p99 %7.3f ms\n' "$2" "${label[$3]}" "$5" "$6" "$7" >&2
  echo "$(date +%H:%M:%S),$1,$2,$srv_name,\"$4\",$5,$6,$7,$srv_exit" >>"$csv"
}

run_echo() { # rep impl
  local lo=(-c 100 -d "$duration")
  start_server echo "$2"
  load "$gobin/echo_load" -addr "$host:$port" "${lo[@]}"
  stop_server
  local rps p50 p99
  rps=$(awk '$1 == "echo" && $3 == "req/s" { print $2 }' <<<"$out")
  read -r p50 p99 < <(awk '$1 == "echo_latency" { print $3, $6 }' <<<"$out")
  [[ -n $rps && -n $p50 && -n $p99 ]] || die "echo_load printed no result: $out"
  record "$1" echo "$2" "echo_load ${lo[*]}" "$rps" "$p50" "$p99"
}

run_http() { # rep impl [workload: http, or nethttp]
  local lo=(-t1 -c100 -d"${duration}s" --latency) w=${3:-http}
  start_server "$w" "$2"
  load wrk "${lo[@]}" "http://$host:$port/"
  stop_server
  local rps p50 p99 errors
  # A server that answers wrongly or drops connections must not pass for a
  # fast one: wrk counts non-2xx answers, and every socket error.
  if grep -q 'Non-2xx' <<<"$out"; then die "wrk got non-2xx answers from $srv_name:
$out"; fi
  errors=$(grep 'Socket errors' <<<"$out" || true)
  [[ -z $errors ]] || echo "   $srv_name: wrk reported ${errors#"${errors%%[! ]*}"}" >&2
  rps=$(awk '$1 == "Requests/sec:" { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  [[ -n $rps && -n $p50 && -n $p99 ]] || die "no result in wrk's output for $srv_name:
$out"
  record "$1" "$w" "$2" "wrk ${lo[*]}" "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")"
}

run_nethttp() { run_http "$1" "$2" nethttp; } # the same load and the same answer, through goro::http and net/http

run_redis() { # rep impl pipeline
  local n=$redis_n suffix=
  if (($3 > 1)); then n=$((redis_n * 10)) suffix=-P$3; fi
  local lo=(-t "set,get" -c 50 -n "$n" -P "$3" --csv -q)
  start_server redis "$2"
  load redis-benchmark -h "$host" -p "$port" "${lo[@]}"
  stop_server
  # --csv: a header line naming the columns (redis 7), then one line a test.
  local test rps p50 p99 got=0
  while IFS=, read -r test rps p50 p99; do
    record "$1" "redis-$test$suffix" "$2" "redis-benchmark ${lo[*]}" "$rps" "$p50" "$p99"
    got=$((got + 1))
  done < <(tr -d '"' <<<"$out" | awk -F, '
    $1 == "test" { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "SET" || $1 == "GET" { print $1 "," $col["rps"] "," $col["p50_latency_ms"] "," $col["p99_latency_ms"] }')
  ((got == 2)) || die "redis-benchmark printed no SET and GET results for $srv_name:
$out"
}

# Run, interleaved: in repetition r the servers start at the r-th in the list.
echo "== $reps repetition(s) of ${workloads[*]}; $duration s per echo and http run, redis-benchmark -n $redis_n" \
  "(x10 with -P 16); servers on $procs worker threads; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((rep = 1; rep <= reps; rep++)); do
  for w in "${workloads[@]}"; do
    read -ra list <<<"${impls[$w]}"
    ((with_goro)) || list=("${list[@]:1}")
    order=()
    for ((i = 0; i < ${#list[@]}; i++)); do order+=("${list[(i + rep - 1) % ${#list[@]}]}"); done
    if [[ $w == redis ]]; then
      for pipeline in 1 16; do
        echo "[$rep/$reps] redis -P $pipeline: ${order[*]}" >&2
        for impl in "${order[@]}"; do run_redis "$rep" "$impl" "$pipeline"; done
      done
    else
      echo "[$rep/$reps] $w: ${order[*]}" >&2
      for impl in "${order[@]}"; do "run_$w" "$rep" "$impl"; done
    fi
  done
done

# Report.
stats() { # values...: median min max (none: prints "- - -")
  (($#)) || { echo "- - -"; return 0; }
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.3f %.3f %.3f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'
}
rate() { if [[ $1 == - ]]; then echo -; else printf '%.0f' "$1"; fi; }
span() { if [[ $1 == - ]]; then echo -; else printf '%.0f-%.0f' "$1" "$2"; fi; }
ms() { if [[ $1 == - ]]; then echo -; else printf '%.2f ms' "$1"; fi; }
table_row() { printf '%-14s %-12s %10s %11s %10s %15s %15s %9s %9s\n' "$@"; }
echo
table_row workload other "goro req/s" "other req/s" goro/other "goro min-max" "other min-max" "goro p99" "other p99"
for row in "${rows[@]}"; do
  read -ra others <<<"${impls[${row%%-*}]}"
  others=("${others[@]:1}")
  for o in "${others[@]}"; do
    # shellcheck disable=SC2086  # the run lists split on spaces on purpose
    {
      read -r g gmin gmax < <(stats ${vals["goro $row"]:-})
      read -r x xmin xmax < <(stats ${vals["$o $row"]:-})
      read -r gp _ < <(stats ${p99s["goro $row"]:-})
      read -r xp _ < <(stats ${p99s["$o $row"]:-})
    }
    ratio=-
    [[ $g != - && $x != - ]] && ratio=$(awk -v g="$g" -v x="$x" 'BEGIN { printf "%.2f", g / x }')
    table_row "$row" "${label[$o]}" "$(rate "$g")" "$(rate "$x")" "$ratio" "$(span "$gmin" "$gmax")" \
      "$(span "$xmin" "$xmax")" "$(ms "$gp")" "$(ms "$xp")"
  done
done
echo "== every run written to $csv" >&2
if ((${#failures[@]})); then
  printf 'net.sh: server did not exit cleanly: %s\n' "${failures[@]}" >&2
  exit 1
fi
