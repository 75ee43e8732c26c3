// goro/metrics.hpp — the runtime's metrics (Go's runtime/metrics), in the
// Prometheus text format.
#pragma once

#include <iosfwd>

namespace goro {

// Writes every metric of the running runtime (zeros, and the worker count
// the next run would have, when none runs) in the Prometheus text exposition
// format, each with its HELP and TYPE lines: fibers alive and by state,
// threads, procs, context switches, steals, spins, global-queue pushes,
// parks by reason, netpoll waits and wake-ups, blocking-pool threads, stack
// bytes reserved and resident, and a histogram of scheduling latency
// (readied to running, one fiber in eight sampled), as Go's
// /sched/latencies:seconds. docs/api.md lists them. Callable from fibers and
// plain threads; it reads counters racily, as a scrape does.
void write_metrics(std::ostream& out);

}  // namespace goro
