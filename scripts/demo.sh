#!/usr/bin/env bash
# The demo: build goro (release), run the side-by-side benchmarks against Go,
# Boost.Fiber, C++20 coroutines on Asio and Tokio in quick mode (about two
# minutes), then an example program. Installs its Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh bench
if [[ -f build-release/build.ninja ]]; then
  meson configure build-release --buildtype=release -Dexamples=true -Dbench=true >/dev/null
else
  meson setup build-release --buildtype=release >/dev/null
fi
ninja -C build-release

echo
echo "== goro, Go, Boost.Fiber, Asio coroutines and Tokio, side by side (bench/compare.sh --quick)"
bench/compare.sh --quick --no-install build-release

echo
echo "== examples/hello"
build-release/examples/hello
