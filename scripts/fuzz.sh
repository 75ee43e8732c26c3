#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz with Clang under ASan+UBSan (in
# build-fuzz) and run each for a bounded number of inputs, starting from a
# scratch copy of its seed corpus (tests/fuzz/corpus/<target>/, which stays
# as committed). Prints the runs done and the seconds taken per target;
# exits non-zero if any target crashes or fails one of its checks, leaving
# the input that did it in build-fuzz/fuzz-artifacts/.
#   scripts/fuzz.sh                 every target
#   scripts/fuzz.sh resp address    only these
#   FUZZ_RUNS=1000000 scripts/fuzz.sh http_head   longer (runs per target)
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

# Runs per target: about 10-30 s each on a free core. chan_model starts a
# goro::run per input, so it gets fewer. http_head's inputs may pass 8 KB,
# the head limit, so that the limit itself is fuzzed.
declare -A runs=([http_head]=100000 [resp]=100000 [address]=1000000 [chan_model]=20000)
declare -A extra=([http_head]=-max_len=10000)
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(http_head resp address chan_model); fi

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts="$dir/fuzz-artifacts"
mkdir -p "$artifacts"

failed=0
for t in "${targets[@]}"; do
  if [[ -z ${runs[$t]:-} ]]; then echo "fuzz: no target $t" >&2; exit 2; fi
  corpus="$scratch/$t"
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/"$t"/* "$corpus"/
  n=${FUZZ_RUNS:-${runs[$t]}}
  log="$scratch/$t.log"
  start=$(date +%s.%N)
  # -timeout only turns a hang into a failure; no run is asserted to be fast.
  if nice "$dir/tests/fuzz/${t}_fuzz" -runs="$n" -timeout=60 ${extra[$t]:-} \
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
