#!/usr/bin/env bash
# Compile-time checks (run by meson test): a source must compile as it is,
# or must fail to compile with one macro defined, with a given diagnostic.
#
#   tests/support/compile_check.sh SOURCE MACRO REGEX COMPILER [FLAGS...]
#
# MACRO "-" and REGEX "" mean "must compile as it is". Otherwise the source is
# compiled with -DMACRO and must fail with a diagnostic matching REGEX
# (grep -E), so a failure for an unrelated reason does not count as a pass.
set -uo pipefail
source=$1 macro=$2 expected=$3
shift 3
export LC_ALL=C  # ASCII quotes in GCC's diagnostics

if [[ $macro == - ]]; then
  if out=$("$@" -fsyntax-only "$source" 2>&1); then
    echo "compile-check: $(basename "$source") compiles"
    exit 0
  fi
  printf '%s\n' "$out"
  echo "compile-check: $(basename "$source") must compile, and does not" >&2
  exit 1
fi

if out=$("$@" -fsyntax-only "-D$macro" "$source" 2>&1); then
  echo "compile-check: $(basename "$source") with $macro compiled; it must not" >&2
  exit 1
fi
if ! grep -qE -- "$expected" <<<"$out"; then
  printf '%s\n' "$out"
  echo "compile-check: $(basename "$source") with $macro failed, but without the diagnostic /$expected/" >&2
  exit 1
fi
echo "compile-check: $(basename "$source") with $macro fails: $(grep -m1 -E -- "$expected" <<<"$out")"
