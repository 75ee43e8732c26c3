#!/usr/bin/env bash
# End-to-end test of examples/metrics_server, driven by curl: GET /metrics
# answers 200 in the Prometheus text format with goro's metric families
# (HELP and TYPE lines, the fiber and thread gauges, the parks by reason, the
# latency histogram), counters move between two scrapes, other paths get
# 404, and SIGTERM ends the server with status 0.
#
#   tests/e2e/metrics_server_test.sh build/examples/metrics_server
set -euo pipefail

source "$(dirname "$0")/lib.sh"

start_server

code=$(timeout 10 curl -s -o "$work/m1" -w '%{http_code}' "http://$address/metrics") || fail "curl /metrics failed"
[[ $code == 200 ]] || fail "GET /metrics: status $code"
for want in '# TYPE goro_fibers gauge' '# HELP goro_fibers ' '# TYPE goro_context_switches_total counter' \
            '# TYPE goro_sched_latency_seconds histogram' 'goro_sched_latency_seconds_bucket{le="+Inf"} ' \
            'goro_parks_total{reason="IO wait"} ' 'goro_procs ' 'goro_threads ' 'goro_steals_total '; do
    grep -qF -- "$want" "$work/m1" || fail "GET /metrics: no line with '$want'"
done
# Every sample line is "name[{labels}] number".
if grep -v '^#' "$work/m1" | grep -Evq '^[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9.e+-]+$'; then
    fail "GET /metrics: a malformed sample line: $(grep -v '^#' "$work/m1" | grep -Ev '^[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9.e+-]+$' | head -1)"
fi
echo "ok: /metrics in the Prometheus text format"

sleep 0.2
timeout 10 curl -s -o "$work/m2" "http://$address/metrics" || fail "second curl /metrics failed"
switches() { awk '$1 == "goro_context_switches_total" { print $2 }' "$1"; }
(( $(switches "$work/m2") > $(switches "$work/m1") )) ||
    fail "goro_context_switches_total did not move: $(switches "$work/m1") then $(switches "$work/m2")"
echo "ok: counters move between scrapes"

code=$(timeout 10 curl -s -o /dev/null -w '%{http_code}' "http://$address/other") || fail "curl /other failed"
[[ $code == 404 ]] || fail "GET /other: status $code, expected 404"
echo "ok: 404 elsewhere"

stop_server
echo "ok: SIGTERM ends it with status 0"
