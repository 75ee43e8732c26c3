#!/usr/bin/env bash
# Install the Debian 12 packages goro needs to build, test and benchmark.
# Idempotent: packages already installed are not fetched again.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh bench      also Go, Boost.Fiber, Asio, Tokio (rustc, cargo
#                                      and Debian's Tokio sources) and matplotlib, for
#                                      the side-by-side benchmarks (bench/compare.sh)
#   scripts/install-deps.sh net-bench  also Go, Asio and Tokio, for bench/net.sh
#   scripts/install-deps.sh clang      also Clang, for the Clang build
#   scripts/install-deps.sh fuzz       also Clang and its libFuzzer runtime, for scripts/fuzz.sh
#   scripts/install-deps.sh soak       also matplotlib, for scripts/soak.sh's plot
set -euo pipefail

# curl, nc, redis-cli, redis-benchmark, wrk and python3 scripts drive the
# example servers in tests/e2e; redis-server is what kv_server is compared with.
# libboost-dev brings Boost.Beast (header-only), which goro::http builds on;
# libssl-dev OpenSSL, which goro::tls builds on; the openssl command makes the
# TLS tests' certificates.
# gdb runs the GDB extension's test (tests/gdb) and scripts/install-check.sh.
# python3-matplotlib: scripts/trace-view.py, which tests/runtime/trace_test.cpp runs.
# libdw-dev: elfutils' unwinder and DWARF reader, for the call stacks in dumps.
packages=(g++ meson ninja-build pkg-config libboost-context-dev libboost-dev libconcurrentqueue-dev doctest-dev libdw-dev
          libssl-dev openssl curl netcat-openbsd redis-tools redis-server wrk python3 python3-matplotlib gdb)
# examples/rest_service is on nlohmann-json; its e2e test builds the Go program
# it was ported from (examples/go) with golang-go and compares their answers.
packages+=(nlohmann-json3-dev golang-go)
case "${1:-}" in
  bench) packages+=(golang-go libboost-fiber-dev libasio-dev rustc cargo librust-tokio-dev python3-matplotlib) ;;
  net-bench) packages+=(golang-go libasio-dev rustc cargo librust-tokio-dev) ;;
  clang) packages+=(clang) ;;
  # libclang-rt-14-dev ships libclang_rt.fuzzer (and the sanitizer runtimes) for Clang 14.
  fuzz) packages+=(clang libclang-rt-14-dev) ;;
  soak) packages+=(python3-matplotlib) ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
