#!/usr/bin/env bash
# Install goro into a scratch prefix with `meson install`, then build and run
# a user program the way README says: g++ ... $(pkg-config --cflags --libs goro).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

prefix=$(mktemp -d /tmp/goro-prefix.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
dir=build-install
if [[ ! -f $dir/build.ninja ]]; then
  meson setup "$dir" --buildtype=release -Dtests=false -Dexamples=false -Dbench=false >/dev/null
fi
meson configure "$dir" --prefix="$prefix" >/dev/null
meson install -C "$dir" >/dev/null

pc=$(dirname "$(find "$prefix" -name goro.pc | head -n 1)")
[[ -n $pc ]] || { echo "install-check: goro.pc was not installed" >&2; exit 1; }
test -f "$prefix/include/goro/goro.hpp" || { echo "install-check: goro/goro.hpp was not installed" >&2; exit 1; }
if find "$prefix/include" -path '*detail*' | grep -q .; then
  echo "install-check: internal detail/ headers were installed" >&2; exit 1
fi

export PKG_CONFIG_PATH=$pc
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
g++ -std=c++20 -O2 examples/hello.cpp $(pkg-config --cflags --libs goro) -o "$prefix/hello"
"$prefix/hello" >/dev/null
echo "install-check: installed headers, library and goro.pc build and run examples/hello.cpp"
