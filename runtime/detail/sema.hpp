// runtime/detail/sema.hpp — the runtime semaphore behind goro's sync types
// (Go's sema.go: semacquire / semrelease on the address of a uint32 count).
#pragma once

#include <cstdint>

#include "runtime/detail/fiber.hpp"

namespace goro::detail {

// Wait until *count > 0 and decrement it. With lifo, queue at the front of
// this address's waiters (a waiter that already waited once, as Go's mutex does).
void semacquire(std::uint32_t* count, bool lifo, wait_reason reason);

// Increment *count and wake one waiter. With handoff, the count goes straight
// to the woken waiter, which runs next (starvation-mode mutex unlock).
void semrelease(std::uint32_t* count, bool handoff);

// Drop every fiber's waiter record: called when a runtime stops, since the
// abandoned fibers' stacks (where the records live) are about to be unmapped.
// Plain threads stay queued.
void sema_forget_fibers() noexcept;

}  // namespace goro::detail
