// runtime/detail/park.hpp — park and ready: the one blocking primitive that
// sync, channels and the netpoller build on (Go's gopark / goready).
//
// Protocol: a blocking operation publishes a waiter record naming
// current_waiter() under its own lock, then calls park(reason, commit, arg).
// For a fiber, park switches to the M's scheduler stack first and only
// there calls commit(arg) — typically "unlock my lock" — so no other M
// can resume the fiber while it still runs on its stack. If commit returns
// false the park is abandoned and the fiber continues at once. Whoever later
// takes the waiter record off its queue calls ready(waiter) exactly once.
// For a plain thread the same calls block and wake the thread.
#pragma once

#include <cstdint>

#include "runtime/detail/fiber.hpp"

namespace goro::detail {

using park_commit = bool (*)(void* arg);

// The fiber running on this thread, or this thread's thread_parker when the
// caller is not a fiber. Never null.
fiber* current_waiter() noexcept;

// The fiber running on this thread, or null on a plain thread.
fiber* current_fiber() noexcept;

// Block the caller until ready(current_waiter()) is called. commit runs once
// the caller can safely be readied (see above); nullptr means "always park".
void park(wait_reason reason, park_commit commit, void* arg);

// Make a parked waiter runnable (a fiber) or wake it (a plain thread). Safe
// from fibers, the scheduler stack (timer callbacks) and plain threads.
void ready(fiber* waiter) noexcept;

// Destroy the fiber's goro::fiber_local values (at its exit).
void destroy_fiber_locals(fiber* f) noexcept;

// A goro call's check of sysmon's request that a long-running fiber yield
// (one load when there is none). Every channel operation, select, sync
// call, goro::go and goro::now call it.
void preemption_point() noexcept;

// Let the readied fiber run before the caller (semaphore hand-off): the
// caller goes to the back of its P's queue. No-op on a plain thread.
void yield_to_readied() noexcept;

// Called by a stopping runtime for every abandoned fiber parked with
// channel_waiters set, before its stack is unmapped: the channels layer
// registers the function that takes those records off their queues.
using abandoned_fiber_hook = void (*)(fiber*) noexcept;
void set_abandoned_fiber_hook(abandoned_fiber_hook hook) noexcept;

}  // namespace goro::detail
