#!/usr/bin/env bash
# Build goro and run its whole test suite.
#   scripts/test.sh          the plain build (README's test command)
#   scripts/test.sh asan     the same suite under AddressSanitizer + UBSan
#   scripts/test.sh tsan     the same suite under ThreadSanitizer
#   scripts/test.sh long     the plain build with the long stress modes
#   scripts/test.sh clang    the suite built with Clang instead of GCC
#   scripts/test.sh asan-long the long stress modes under ASan+UBSan
# Installs its Debian packages first. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-plain}

if [[ $mode == clang ]]; then scripts/install-deps.sh clang; else scripts/install-deps.sh; fi

setup=(-Dwerror=true -Dbench=false)
suite_args=()  # tests/meson.build's default setup leaves the long suite out
case "$mode" in
  plain) dir=build ;;
  long)  dir=build; suite_args=(--suite long) ;;
  asan)  dir=build-asan; setup+=(-Db_sanitize=address,undefined -Db_lundef=false) ;;
  asan-long) dir=build-asan; setup+=(-Db_sanitize=address,undefined -Db_lundef=false); suite_args=(--suite long) ;;
  tsan)  dir=build-tsan; setup+=(-Db_sanitize=thread -Db_lundef=false) ;;
  clang) dir=build-clang; export CXX=clang++ ;;
  *) echo "usage: $0 [plain|asan|tsan|long|clang|asan-long]" >&2; exit 2 ;;
esac

# The layering is checked, not only promised (scripts/check-layers.sh).
if [[ $mode == plain ]]; then bash scripts/check-layers.sh; fi

if [[ -f "$dir/build.ninja" ]]; then
  meson configure "$dir" "${setup[@]}" >/dev/null
else
  meson setup "$dir" "${setup[@]}" >/dev/null
fi
ninja -C "$dir"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
meson test -C "$dir" --print-errorlogs "${suite_args[@]}"
