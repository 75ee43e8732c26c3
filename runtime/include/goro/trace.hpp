// goro/trace.hpp — the execution trace (Go's runtime/trace and `go tool
// trace`), written as Chrome trace-event JSON that ui.perfetto.dev and
// chrome://tracing open. docs/tracing.md says how to read one.
//
// GORO_TRACE=FILE traces a whole goro::run into FILE; trace_start and
// trace_stop trace a part of one. The file holds, per worker thread (M), a
// slice for every stretch a fiber ran there, with the fiber's id, name and
// spawn site and why it stopped (a park and its wait reason, a yield, a
// preemption, its exit), a flow arrow from whoever readied it (a fiber, a
// timer, the netpoller, a goro::blocking call, a plain thread) to the slice
// where it next ran, and instants for spawns, steals and blocking scopes.
#pragma once

#include <string>

namespace goro {

// Starts tracing the running runtime into `path` (created or truncated).
// Returns false, and traces nothing, when no runtime is running, a trace is
// already on, or the file cannot be opened (errno says why). Callable from
// fibers and plain threads. A trace still on when goro::run returns is
// stopped then, so the file is always complete.
bool trace_start(const std::string& path);

// Stops the trace and finishes its file (valid JSON once this returns).
// Does nothing when no trace is on. Callable from fibers and plain threads;
// a fiber gives its worker up while the file is finished, as in a
// goro::blocking_scope.
void trace_stop();

// True while a trace is on.
bool trace_running() noexcept;

}  // namespace goro
