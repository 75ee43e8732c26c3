#!/usr/bin/env bash
# build.sh: build the Tokio programs, release, offline from Debian's crate
# sources (.cargo/config.toml). Honours CARGO_TARGET_DIR and JOBS (cargo -j).
# Prints the directory of the programs as its last line of stdout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
target=${CARGO_TARGET_DIR:-$PWD/target}
CARGO_TARGET_DIR=$target cargo build --release --offline --quiet ${JOBS:+-j "$JOBS"} >&2
echo "$target/release"
