// runtime/detail/trace.hpp — the execution trace's recording hooks
// (goro::trace_start, GORO_TRACE; docs/tracing.md, and docs/design.md,
// "Execution trace").
//
// Every hook site reads one global flag, relaxed, alone on its cache line:
//
//     if (trace_on()) [[unlikely]] trace_ready(...);
//
// and does nothing else while no trace runs. The hooks themselves live in
// runtime/src/trace.cpp; each appends a fixed-size record to the calling
// thread's own buffer (no line shared with another thread on that path),
// and a writer thread turns full chunks into JSON.
//
// Invariants the hook sites keep:
//   - trace_run_begin and trace_run_end bracket one stretch of a fiber on
//     an M, on that M's thread, and nothing else is recorded as that
//     fiber's stretch: readies in a park commit fall inside it (the end is
//     recorded after the commit).
//   - fiber::trace_flow is written by the one party that makes the fiber
//     runnable, before it publishes the fiber on a queue, and read and
//     cleared by the M that next runs it (the readied_ns pattern).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/detail/fiber.hpp"

namespace goro::detail {

// Read on every hook site, written only by trace start and stop: alone on
// its line, so the readers' copies stay shared.
struct alignas(64) trace_switch {
    std::atomic<bool> on{false};
    std::atomic<std::uint64_t> session{0};  // the open trace's number
};
extern trace_switch the_trace_switch;

inline bool trace_on() noexcept { return the_trace_switch.on.load(std::memory_order_relaxed); }

// Why a stretch ended: a wait_reason (a park) or one of these.
enum class trace_stop : std::uint8_t {
    yield = 100,
    preempted,
    exit,
    abandoned,
};
inline std::uint8_t trace_park_code(wait_reason r) noexcept { return static_cast<std::uint8_t>(r); }
inline std::uint8_t trace_stop_code(trace_stop s) noexcept { return static_cast<std::uint8_t>(s); }

// Which kind of readier, for a flow whose start has no fiber stretch around
// it on its thread (the JSON then gets a short slice of this name there).
enum class trace_readier : std::uint8_t { scheduler, timer, netpoll, thread, blocking };

// The machine clock the trace stamps events with.
std::int64_t trace_clock() noexcept;

void trace_run_begin(fiber* f, int p_index) noexcept;
void trace_run_end(std::uint64_t fiber_id, std::uint8_t why) noexcept;
// f is about to be published runnable by the caller (ready, a poll batch).
void trace_ready(fiber* f) noexcept;
// f, just spawned, is about to be published runnable by its spawner.
void trace_spawn(fiber* f) noexcept;
void trace_steal(fiber* f, int victim_p) noexcept;
void trace_blocking_scope(bool enter) noexcept;
// A slice of the scheduler's own on this thread (a poll, a blocking call
// on a pool thread); `name` is a literal. arg: a fiber id or a count.
void trace_aux_begin(const char* name, std::int64_t start_ns, std::uint64_t arg) noexcept;
void trace_aux_end(std::uint64_t arg) noexcept;
// Fibers a poll took off their wait slots, about to be queued: a slice
// named `name` from start_ns to now, and a flow from it to each.
void trace_poll_batch(const char* name, std::int64_t start_ns, fiber** batch, int n) noexcept;
// While set on this thread, readies come from timers (timer_heap).
void trace_set_readier(trace_readier r) noexcept;

// Called by run: GORO_TRACE at its start, and the end of any trace at its end.
void trace_run_started() noexcept;
void trace_run_ending() noexcept;

}  // namespace goro::detail
