#!/usr/bin/env bash
# Build every example in the given build dir (default: build) and run each
# that finishes on its own; a non-zero exit fails the run. The servers run
# until stopped: tests/e2e drives them with real clients (meson test).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
ninja -C "$dir" >/dev/null
status=0
for exe in "$dir"/examples/*; do
  [[ -f "$exe" && -x "$exe" ]] || continue
  name=$(basename "$exe")
  case "$name" in
    echo_server|http_raw|http_hello|rest_service|chat_server|kv_server|metrics_server) echo "example $name: a server, run by tests/e2e"; continue ;;
  esac
  if timeout 120 "$exe" >/tmp/goro-example-"$name".out 2>&1; then
    echo "example $name: ok"
  else
    echo "example $name: FAILED"; cat /tmp/goro-example-"$name".out; status=1
  fi
done
exit $status
