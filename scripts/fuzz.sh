#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz with Clang under ASan+UBSan (in
# build-fuzz) and run each for a bounded time (FUZZ_SECONDS, default 60) or
# number of inputs (FUZZ_RUNS), starting from a
# scratch copy of its seed corpus (tests/fuzz/corpus/<target>/, which stays
# as committed). Prints the runs done and the seconds taken per target;
# exits non-zero if any target crashes or fails one of its checks, leaving
# the input that did it in build-fuzz/fuzz-artifacts/.
#   scripts/fuzz.sh                 every target
#   scripts/fuzz.sh resp address    only these
#   FUZZ_SECONDS=600 scripts/fuzz.sh http_head    longer (seconds per target)
#   FUZZ_RUNS=1000000 scripts/fuzz.sh http_head   a number of runs instead
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh fuzz

dir=build-fuzz
setup=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false -Dtests=false -Dexamples=false)
if [[ -f "$dir/build.ninja" ]]; then
  meson configure "$dir" "${setup[@]}" >/dev/null
else
  CXX=clang++ meson setup "$dir" "${setup[@]}" >/dev/null
fi
nice ninja -C "$dir"

# Each target fuzzes for FUZZ_SECONDS (a minute by default: about 100,000
# inputs for http_head and resp, millions for address, 50,000 for chan_model,
# which starts a goro::run per input), or for FUZZ_RUNS inputs when that is
# set. http_head's inputs may pass 8 KB, the head limit, so that the limit
# itself is fuzzed.
seconds=${FUZZ_SECONDS:-60}
declare -A known=([http_head]=1 [resp]=1 [address]=1 [chan_model]=1 [chan_fibers]=1)
declare -A extra=([http_head]=-max_len=10000)
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(http_head resp address chan_model chan_fibers); fi

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts="$dir/fuzz-artifacts"
mkdir -p "$artifacts"

failed=0
for t in "${targets[@]}"; do
  if [[ -z ${known[$t]:-} ]]; then echo "fuzz: no target $t" >&2; exit 2; fi
  corpus="$scratch/$t"
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/"$t"/* "$corpus"/
  if [[ -n ${FUZZ_RUNS:-} ]]; then bound=(-runs="$FUZZ_RUNS"); else bound=(-max_total_time="$seconds"); fi
  log="$scratch/$t.log"
  start=$(date +%s.%N)
  # -timeout only turns a hang into a failure; no run is asserted to be fast.
  if nice "$dir/tests/fuzz/${t}_fuzz" "${bound[@]}" -timeout=60 ${extra[$t]:-} \
       -artifact_prefix="$artifacts/$t-" "$corpus" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=$((failed + 1))
  fi
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log")
  printf 'fuzz: %-10s %s: %s runs in %.1f s (seed %s)\n' "$t" "$status" "${done_runs:-?}" "$secs" \
    "$(sed -n 's/^INFO: Seed: //p' "$log")"
  if [[ $status == FAILED ]]; then
    tail -n 40 "$log"
    echo "fuzz: $t: the input is in $artifacts/; rerun it with $dir/tests/fuzz/${t}_fuzz <file>"
  fi
done
[[ $failed -eq 0 ]]
