// runtime/detail/io_poller.hpp — the interface through which the netpoller
// (netpoll/) plugs into the scheduler's idle loop. The runtime knows nothing
// of file descriptors; it only asks "which fibers can run now?" and "stop
// waiting".
//
// Protocol (Go's netpoll/findrunnable):
//   - A M that finds no local or global work polls without blocking
//     (deadline 0) before it steals, unless a M is blocked in poll.
//   - At most one idle M blocks in poll, with the earliest timer as its
//     deadline; it stays on the idle list, and whoever wakes it calls
//     interrupt() instead of a futex wake.
//   - Busy Ms poll without blocking every 61 schedules when nobody has
//     polled for a while, so I/O cannot starve behind busy fibers.
//   - poll returns fibers it took off their wait slots (exactly once each);
//     they are still `waiting`: the scheduler makes them runnable in one
//     batch.
#pragma once

#include <cstdint>

#include "runtime/detail/fiber.hpp"

namespace goro::detail {

class io_poller {
public:
    static constexpr int max_batch = 128;

    // Wait for I/O until deadline_ns (steady clock; 0: do not block;
    // INT64_MAX: no deadline) or interrupt(). Stores up to max_batch fibers
    // made ready into out and returns their number.
    virtual int poll(std::int64_t deadline_ns, fiber** out) noexcept = 0;
    // Make a blocked (or the next) poll return at once.
    virtual void interrupt() noexcept = 0;
    // Fibers parked on I/O now: they can be woken from outside, so the
    // deadlock detector must not fire while there are any.
    virtual bool has_waiters() const noexcept = 0;
    // goro::run is returning: fibers still parked on I/O are abandoned and
    // their stacks are about to go; forget them so no later event or close
    // readies one.
    virtual void forget_fibers() noexcept = 0;

protected:
    ~io_poller() = default;
};

// Installed once, by the first socket made; it then serves every run.
void install_io_poller(io_poller* poller) noexcept;
io_poller* current_io_poller() noexcept;  // null until then

// A fiber has just parked on I/O (called from its park commit). If no idle
// M watches the sockets, wake one to take that role: otherwise the
// event would wait for a busy M's next poll.
void note_io_park() noexcept;

// A runtime-owned helper thread (the blocking pool's) starts or ends: the
// deadlock detector does not count such threads as user threads that could
// still act.
void note_runtime_thread(int delta) noexcept;

}  // namespace goro::detail
