#!/usr/bin/env bash
# soak.sh: run goro's four servers and a churn program together for a long
# time under steady load and abuse, and show that nothing leaks, stalls or
# loses data.
#
# Usage: scripts/soak.sh [MINUTES]     (default 30; CI runs 2)
#
# Builds the examples and tests/soak/churn.cpp in build-release (release, as
# bench/ does), starts echo_server, http_raw, kv_server and chat_server on
# free ports and the churn program, each with GORO_MAXPROCS=2, then repeats
# rounds until MINUTES have passed. Each round:
#   - http_raw: wrk -t1 -c50 for 5 s, then hostile request heads
#     (scripts/soak_clients.py abuse-http);
#   - kv_server: redis-benchmark SET/GET (20,000 requests, -c 20), then
#     broken RESP;
#   - echo_server: 40 clients x 20 random payloads checked byte for byte,
#     then resets, half-closes and silent clients;
#   - chat_server: 40 clients that join, speak and reset; every line must
#     reach the observer (tests/e2e/chat_clients.py departures);
#   - churn (all the while): pipelines of channels, select, timers, contexts,
#     errgroups and sync under random cancellation, checking that every value
#     sent is received exactly once; it reports its fiber count.
# Every check a client makes must hold. After every round it samples each
# process's resident memory (VmRSS), descriptors, threads and fibers (a
# server reports its count on SIGUSR1) into bench/results/soak-DATE.csv, as a background
# sampler also does every 2 seconds (SAMPLE_SECONDS), and plots them to
# soak-DATE.png beside it (matplotlib, when installed). It fails as soon as a
# sample passes its bound: memory over twice the first round's sample plus
# 16 MiB, threads over 64, fibers over 1,000. At the end, with no clients
# left, each server must be back to the descriptors it had after the first
# round (sysmon's kept /proc files for its threads aside), still answer,
# and exit with status 0 on SIGTERM, and the churn program must report no
# broken promise. Prints a summary table. Exits 1 on any failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
minutes=${1:-30}
[[ $minutes =~ ^[1-9][0-9]*$ ]] || { echo "soak.sh: MINUTES must be a positive whole number" >&2; exit 2; }
seconds=$((minutes * 60))
build=$root/build-release

scripts/install-deps.sh soak >/dev/null  # wrk, redis-tools, python3 (the e2e tests') and matplotlib
for tool in wrk redis-benchmark python3 ninja meson; do
  command -v "$tool" >/dev/null || { echo "soak.sh: $tool not found" >&2; exit 1; }
done
[[ -f $build/build.ninja ]] || meson setup "$build" --buildtype=release -Dbench=false >/dev/null
ninja -C "$build" examples/echo_server examples/http_raw examples/kv_server examples/chat_server tests/soak_churn >/dev/null

tmp=$(mktemp -d)
declare -A pid=() host=() port=()
servers=(echo_server http_raw kv_server chat_server)
processes=("${servers[@]}" churn)
sampler_pid=
cleanup() {
  [[ -n $sampler_pid ]] && kill "$sampler_pid" 2>/dev/null || true
  for s in "${processes[@]}"; do
    [[ -n ${pid[$s]:-} ]] && kill -KILL "${pid[$s]}" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "soak.sh: FAIL: $*" >&2
  for s in "${processes[@]}"; do
    [[ -s $tmp/$s.err ]] && { echo "  $s stderr:" >&2; tail -n 5 "$tmp/$s.err" | sed 's/^/    /' >&2; }
  done
  exit 1
}

for s in "${servers[@]}"; do
  : >"$tmp/$s.out"
  GORO_MAXPROCS=2 "$build/examples/$s" --listen 127.0.0.1:0 </dev/null >"$tmp/$s.out" 2>"$tmp/$s.err" &
  pid[$s]=$!
  for ((i = 0; i < 200; i++)); do
    if IFS= read -r line <"$tmp/$s.out" && [[ $line =~ ([0-9.]+):([0-9]+)[[:space:].]*$ ]]; then
      host[$s]=${BASH_REMATCH[1]} port[$s]=${BASH_REMATCH[2]}
      break
    fi
    sleep 0.05
  done
  [[ -n ${port[$s]:-} ]] || fail "$s did not start"
done

GORO_MAXPROCS=2 "$build/tests/soak_churn" </dev/null >"$tmp/churn.out" 2>"$tmp/churn.err" &
pid[churn]=$!

sample() { # process: "rss_kib fds threads fibers"
  local p=${pid[$1]} fibers
  [[ -d /proc/$p ]] || fail "$1 has exited"
  if [[ $1 == churn ]]; then  # it prints its count every second
    fibers=$(awk '/^fibers / {n = $2} END {print n + 0}' "$tmp/churn.out")
  else  # a server prints "NAME: fibers N" on SIGUSR1 (examples/server.hpp): the last answer
    kill -USR1 "$p" 2>/dev/null || true
    fibers=$(awk '/: fibers / {n = $NF} END {print n + 0}' "$tmp/$1.err")
  fi
  # Descriptors, less sysmon's: it keeps each M's /proc/PID/task/TID/stat
  # open once it has looked at it (one per thread, bounded with them).
  local fds
  fds=$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null | grep -cv '^/proc/[0-9]*/task/') || true
  echo "$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status") $fds $(ls "/proc/$p/task" | wc -l) $fibers"
}

mkdir -p bench/results
csv=$root/bench/results/soak-$(date +%Y%m%d-%H%M%S).csv
echo "elapsed_s,round,process,rss_kib,fds,threads,fibers" >"$csv"
declare -A first=() last=() peak_rss=() peak_fds=() peak_threads=() peak_fibers=()
record() { # elapsed round
  local s r f t n
  for s in "${processes[@]}"; do
    read -r r f t n < <(sample "$s")
    echo "$1,$2,$s,$r,$f,$t,${n/-/}" >>"$csv"
    [[ -n ${first[$s]:-} ]] || first[$s]="$r $f $t"
    [[ -f $tmp/baseline.$s ]] || echo "$r" >"$tmp/baseline.$s"  # for the sampler's memory bound
    local r0=${first[$s]%% *}
    ((r <= 2 * r0 + 16384)) || fail "$s: resident memory $r KiB, over twice the first round's $r0 KiB plus 16 MiB"
    ((t <= 64)) || fail "$s: $t threads"
    ((n <= 1000)) || fail "$s: $n fibers"
    last[$s]="$r $f $t"
    if ((r > ${peak_rss[$s]:-0})); then peak_rss[$s]=$r; fi
    if ((f > ${peak_fds[$s]:-0})); then peak_fds[$s]=$f; fi
    if ((t > ${peak_threads[$s]:-0})); then peak_threads[$s]=$t; fi
  done
}

# Between rounds too: every SAMPLE_SECONDS (default 2) the sampler adds a
# row (round "-") for each process and checks the same bounds; a breach
# stops the soak at the end of that round.
sampler() {
  local s r f t n r0
  while :; do
    sleep "${SAMPLE_SECONDS:-2}"
    for s in "${processes[@]}"; do
      [[ -d /proc/${pid[$s]} ]] || continue  # the round's own look reports it
      read -r r f t n < <(sample "$s" 2>/dev/null) || continue
      echo "$((SECONDS - start)),-,$s,$r,$f,$t,${n/-/}" >>"$csv"
      r0=$(cat "$tmp/baseline.$s" 2>/dev/null) || r0=
      if [[ -n $r0 ]] && ((r > 2 * r0 + 16384)); then
        echo "$s: resident memory $r KiB, over twice the first round's $r0 KiB plus 16 MiB" >"$tmp/breach"
      fi
      if ((t > 64)); then echo "$s: $t threads" >"$tmp/breach"; fi
      if ((n > 1000)); then echo "$s: $n fibers" >"$tmp/breach"; fi
    done
  done
}

client() { # label command...: runs it, fails the soak if it fails
  local out
  out=$(timeout 300 "$@" 2>&1) || fail "$1 round $round: $(tail -n 3 <<<"$out")"
}

start=$SECONDS
round=0
requests=0
sampler &
sampler_pid=$!
while ((SECONDS - start < seconds)); do
  round=$((round + 1))
  wrk_out=$(timeout 60 wrk -t1 -c50 -d5s "http://${host[http_raw]}:${port[http_raw]}/") || fail "wrk round $round"
  n=$(awk '/requests in/ {print $1}' <<<"$wrk_out")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$wrk_out")
  [[ -z $errors ]] || fail "wrk round $round: $errors"
  requests=$((requests + n))
  client python3 scripts/soak_clients.py abuse-http "${host[http_raw]}" "${port[http_raw]}" 40
  client redis-benchmark -h "${host[kv_server]}" -p "${port[kv_server]}" -t set,get -c 20 -n 20000 -q
  requests=$((requests + 40000))
  client python3 scripts/soak_clients.py abuse-kv "${host[kv_server]}" "${port[kv_server]}" 36
  client python3 scripts/soak_clients.py echo "${host[echo_server]}" "${port[echo_server]}" 40 20
  client python3 scripts/soak_clients.py abuse-echo "${host[echo_server]}" "${port[echo_server]}" 40
  client python3 tests/e2e/chat_clients.py "${host[chat_server]}" "${port[chat_server]}" departures 40 4
  record $((SECONDS - start)) "$round"
  [[ ! -s $tmp/breach ]] || fail "$(cat "$tmp/breach")"
  echo "round $round at $((SECONDS - start)) s: $requests requests so far" >&2
done
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=

# No clients now: give closes a moment to land, then the last look.
sleep 2
record $((SECONDS - start)) end
for s in "${servers[@]}"; do
  read -r _ f0 _ <<<"${first[$s]}"
  read -r _ f1 _ <<<"${last[$s]}"
  ((f1 <= f0)) || fail "$s holds $f1 descriptors at the end, $f0 after the first round: a leak"
done
client python3 scripts/soak_clients.py echo "${host[echo_server]}" "${port[echo_server]}" 4 4
client python3 scripts/soak_clients.py abuse-http "${host[http_raw]}" "${port[http_raw]}" 1
for s in "${processes[@]}"; do
  kill -TERM "${pid[$s]}"
  status=0
  wait "${pid[$s]}" || status=$?
  pid[$s]=
  ((status == 0)) || fail "$s exited with status $status after SIGTERM$([[ $s == churn ]] && echo ": $(tail -n 1 "$tmp/churn.out")")"
done
churn_summary=$(tail -n 1 "$tmp/churn.out")

# Debian's python3 has Debian's matplotlib (installed above), whatever
# python3 comes first on PATH; a failed install only loses the plot.
plot_python=python3
[[ -x /usr/bin/python3 ]] && plot_python=/usr/bin/python3
if "$plot_python" -c 'import matplotlib' 2>/dev/null; then
  "$plot_python" - "$csv" <<'PLOT' && plotted=" and ${csv%.csv}.png"
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = list(csv.DictReader(open(sys.argv[1])))
names = sorted({r["process"] for r in rows})
fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
for name in names:
    mine = [r for r in rows if r["process"] == name]
    t = [float(r["elapsed_s"]) / 60 for r in mine]
    axes[0].plot(t, [int(r["rss_kib"]) / 1024 for r in mine], label=name)
    axes[1].plot(t, [int(r["fds"]) for r in mine], label=name)
    axes[2].plot(t, [int(r["threads"]) for r in mine], label=name)
    if mine[0]["fibers"]:
        axes[3].plot(t, [int(r["fibers"] or 0) for r in mine], label=name)
for ax, title in zip(axes, ["resident memory (MiB)", "descriptors", "threads", "fibers"]):
    ax.set_ylabel(title)
    ax.grid(True, alpha=0.3)
    ax.set_ylim(bottom=0)
axes[0].legend(fontsize=8)
axes[3].set_xlabel("minutes")
fig.suptitle("goro soak: samples after every round")
fig.tight_layout()
fig.savefig(sys.argv[1][:-4] + ".png", dpi=90)
PLOT
fi

printf '%-12s %6s %18s %14s %9s %9s %11s %11s\n' process rounds "RSS KiB f->l" "RSS peak KiB" "fds f->l" "fds peak" "threads pk" "fibers pk"
for s in "${processes[@]}"; do
  read -r r0 f0 _ <<<"${first[$s]}"
  read -r r1 f1 _ <<<"${last[$s]}"
  # Peaks over every row, the sampler's included.
  read -r peak_rss[$s] peak_fds[$s] peak_threads[$s] fib < <(awk -F, -v p="$s" '$3 == p {
      if ($4 > r) r = $4; if ($5 > f) f = $5; if ($6 > t) t = $6; if ($7 != "" && $7 > n) n = $7 }
      END { print r + 0, f + 0, t + 0, (n == "" ? "-" : n) }' "$csv")
  peak_fibers[$s]=$fib
  printf '%-12s %6d %18s %14d %9s %9d %11d %11s\n' "$s" "$round" "$r0->$r1" "${peak_rss[$s]}" "$f0->$f1" "${peak_fds[$s]}" "${peak_threads[$s]}" "${peak_fibers[$s]:--}"
done
echo "$churn_summary"
echo "soak: $round rounds in $((SECONDS - start)) s, $requests HTTP and Redis requests, every check held; samples in ${csv#"$root"/}${plotted:-}"
