// netpoll/detail/poll_desc.hpp — the poller's record of one descriptor (Go's
// pollDesc) and the wait protocol fibers use on it.
//
// Invariants and who guards what:
//   - A descriptor is registered with epoll once, edge-triggered for both
//     directions, when its socket is made; it is unregistered and closed
//     when the socket's last reference goes (netpoll/detail/socket.hpp).
//   - `lock` guards every field of a poll_desc except the timers' heap
//     links (their heap's lock) and `deadline_lock`.
//   - Each direction has a `ready` flag and at most one `waiter`. An event
//     sets ready and takes the waiter; a fiber that finds ready set consumes
//     it and retries its system call instead of parking. So an event that
//     arrives between a failed read (EAGAIN) and the park is never lost: it
//     is either seen under the lock before parking, or it finds the waiter.
//   - A waiter is taken off its slot exactly once, under `lock`, by whoever
//     wakes it (an event, a deadline, close, or the runtime forgetting
//     abandoned fibers), and that party readies it. `waiting_fibers` counts
//     the fibers in slots, for the deadlock detector.
//   - Deadlines are timers on the runtime's heaps. `deadline_lock` serialises
//     their add and remove; lock order: deadline_lock → timer-heap lock →
//     lock. A timer fires under its heap's lock and takes `lock` only.
//   - poll_descs are never freed, only reused: an event may still name one
//     after its socket is gone. The event carries `sequence`, bumped at each
//     release, and stale events are dropped.
//   - A plain thread (not a fiber) never uses the slots: it waits with
//     poll(2) on the descriptor in short slices, re-checking close and
//     deadlines between them.
#pragma once

#include <cstdint>
#include <system_error>

#include "runtime/detail/fiber.hpp"
#include "runtime/detail/spinlock.hpp"
#include "runtime/detail/timer.hpp"

namespace goro::net::detail {

using goro::detail::fiber;
using goro::detail::spinlock;

enum class io_mode : std::uint8_t { read = 0, write = 1 };

struct poll_desc;

struct deadline_timer : goro::detail::timer_node {
    poll_desc* owner = nullptr;
    io_mode mode = io_mode::read;
    goro::detail::timer_heap* armed_heap = nullptr;  // guarded by owner->deadline_lock
    std::uint64_t run_id = 0;                         // guarded by owner->deadline_lock
};

struct poll_desc {
    struct direction {
        bool ready = false;
        bool expired = false;        // the deadline has passed
        std::int64_t deadline_ns = 0;  // 0: none
        fiber* waiter = nullptr;
        deadline_timer timer;
    };

    spinlock lock;
    int fd = -1;
    std::uint16_t sequence = 0;
    bool closing = false;
    direction dirs[2];

    spinlock deadline_lock;
    poll_desc* next_free = nullptr;  // guarded by the pool's lock

    direction& dir(io_mode m) noexcept { return dirs[static_cast<int>(m)]; }
};

// Register fd with the poller (creating it on first use). Returns null and
// sets ec on failure (epoll_ctl, or out of memory).
poll_desc* poll_open(int fd, std::error_code& ec) noexcept;
// Unregister and recycle: call just before closing the descriptor, once no
// call uses it any more.
void poll_release(poll_desc* pd) noexcept;
// Mark closing and wake every waiter (they fail with errc::closed).
void poll_evict(poll_desc* pd) noexcept;
// Before a system call: fails with errc::closed or errc::timeout.
bool poll_prepare(poll_desc* pd, io_mode mode, std::error_code& ec) noexcept;
// After EAGAIN: park until the descriptor may be ready in mode (true), or
// fail with errc::closed or errc::timeout.
bool poll_wait(poll_desc* pd, io_mode mode, std::error_code& ec) noexcept;
// Set the deadline of one direction (steady ns; 0: none). A past deadline
// wakes the waiter at once.
void poll_set_deadline(poll_desc* pd, io_mode mode, std::int64_t deadline_ns) noexcept;

}  // namespace goro::net::detail
