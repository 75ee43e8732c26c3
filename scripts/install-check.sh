#!/usr/bin/env bash
# Install goro into a scratch prefix with `meson install`, then build and run
# user programs the way README says: c++ ... $(pkg-config --cflags --libs goro),
# with the compiler that built the library and with the other one (clang++
# for a library built by g++, g++ for one built by clang++): the installed
# library must serve programs from either.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh clang  # the build and test packages, and Clang

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

# The GDB extension, where the .debug_gdb_scripts entry of every program
# linked with goro points (checked on a program below).
gdb_script=$prefix/share/goro/gdb/goro_gdb.py
test -f "$gdb_script" || { echo "install-check: share/goro/gdb/goro_gdb.py was not installed" >&2; exit 1; }

# Which compiler built the library: its objects say so in .comment.
library=$(find "$prefix" -name libgoro.a | head -n 1)
[[ -n $library ]] || { echo "install-check: libgoro.a was not installed" >&2; exit 1; }
if readelf -p .comment "$library" | grep -q 'clang version'; then
  compilers=(clang++ g++)
else
  compilers=(g++ clang++)
fi

# A self-signed certificate for localhost: http_layer also speaks HTTPS with it.
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$prefix/tls.key" -out "$prefix/tls.pem" 2>/dev/null; then
  echo "install-check: openssl could not make a test certificate" >&2; exit 1
fi

export PKG_CONFIG_PATH=$pc
for cxx in "${compilers[@]}"; do
  for program in examples/hello.cpp tests/install/every_layer.cpp tests/install/http_layer.cpp; do
    name=$(basename "$program" .cpp)-$cxx
    args=()
    [[ $program == */http_layer.cpp ]] && args=("$prefix/tls.pem" "$prefix/tls.key")
    # shellcheck disable=SC2046  # pkg-config's output is a list of flags
    if ! "$cxx" -std=c++20 -O2 "$program" $(pkg-config --cflags --libs goro) -o "$prefix/$name"; then
      echo "install-check: $program does not build with $cxx against the library built by ${compilers[0]}" >&2
      exit 1
    fi
    if ! "$prefix/$name" "${args[@]}" >/dev/null; then
      echo "install-check: $program built with $cxx fails against the library built by ${compilers[0]}" >&2
      exit 1
    fi
  done
  # GDB finds the installed extension through the program's own entry once
  # the prefix is a safe path, as docs/debugging.md tells users to set it.
  loaded=$(gdb -batch -nx -iex "add-auto-load-safe-path $prefix" -ex 'info auto-load python-scripts' \
    -ex 'help info fibers' "$prefix/hello-$cxx" 2>&1 || true)
  if ! grep -Eq "^Yes +$gdb_script" <<<"$loaded" || ! grep -q '^List every fiber' <<<"$loaded"; then
    echo "install-check: gdb does not auto-load $gdb_script for a program built with $cxx" >&2
    exit 1
  fi
done
echo "install-check: installed headers, library and goro.pc build and run examples/hello.cpp," \
  "tests/install/every_layer.cpp and tests/install/http_layer.cpp (HTTP and HTTPS) with ${compilers[0]} (which built the library) and ${compilers[1]};" \
  "gdb auto-loads the installed share/goro/gdb/goro_gdb.py for them"
