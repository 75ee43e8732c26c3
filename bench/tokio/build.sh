#!/usr/bin/env bash
# build.sh: build the Tokio versions of the bench workloads and servers,
# release, offline from Debian's crate sources (see .cargo/config.toml).
#
# Usage: bench/tokio/build.sh
# Environment:
#   CARGO_TARGET_DIR  where cargo builds (default bench/tokio/target); a
#                     relative path is taken from the caller's directory
#   JOBS=n            cargo -j (default: cargo's)
#
# Cargo's output goes to stderr; the last line of stdout is the directory
# holding the programs (spawn, skynet, ..., echo_server, http_raw).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target=${CARGO_TARGET_DIR:-$here/target}
target=$(realpath -m -- "$target")
cd "$here"
# Debian's toolchain (rustc 1.63, which Debian's Tokio sources are packaged
# for), even when another cargo, rustup's say, comes first on PATH.
cargo=cargo
if [[ -x /usr/bin/cargo && -x /usr/bin/rustc ]]; then
  cargo=/usr/bin/cargo
  export RUSTC=/usr/bin/rustc
fi
echo "== cargo build in $target ($("${RUSTC:-rustc}" --version))" >&2
CARGO_TARGET_DIR=$target "$cargo" build --release --offline ${JOBS:+-j "$JOBS"} >&2
echo "$target/release"
