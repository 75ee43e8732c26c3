// channels/detail/hchan.hpp — the channel's internal layout (Go's hchan and
// sudog), shared by chan.cpp, select.cpp and time.cpp.
//
// Invariants (Go's chan.go keeps the same list):
//
//   At least one of sendq and recvq is empty, except for an unbuffered
//   channel with a single fiber or thread blocked on it for both sending and
//   receiving through a select: then the lengths are bounded only by the
//   size of that select.
//
//   For buffered channels, also:
//     count > 0 implies recvq is empty (a waiting receiver would have taken
//       the oldest element);
//     count < capacity implies sendq is empty (a waiting sender would have
//       put its element in the buffer).
//
//   closed, once set, is never cleared. Closing empties both queues, and
//   nobody joins a queue of a closed channel, so a closed channel has no
//   waiters at all.
//
// `lock` guards every field below it except `count` (written under the
// lock, read racily by len()). The fields above it (refs, atomic; ops,
// capacity, timer, buffer) are fixed at creation. `lock` is a spinlock: no
// critical section parks or blocks; the only user code run inside is T's
// move constructor into empty storage (a buffer slot, an empty optional)
// and the destructor of a moved-from slot. Every receiver has a sink, so no
// live value is destroyed under the lock: its destructor might take locks
// of its own. A fiber never holds two channel locks except in select, which
// takes them in address order.
//
// A sender's value (chan_send's src, a send case's value, a waiter's value
// on sendq) belongs to the caller until its send completes: only the
// transfer that completes it moves from it. A send that fails, would block
// (try_send, a select with default) or loses its select leaves it as it was;
// try_send and select's send cases promise their callers exactly that.
//
// A waiter record lives on the stack of the fiber (or thread) it stands for.
// It is on a queue only while its owner is parked; whoever dequeues it
// completes the operation (moves the element, sets `success`), releases the
// lock and then calls ready(owner) — never before the record's last use,
// because the owner may return and reuse its stack right after ready.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <goro/chan.hpp>

#include "runtime/detail/fiber.hpp"
#include "runtime/detail/park.hpp"
#include "runtime/detail/spinlock.hpp"

namespace goro::detail {

struct hchan;
struct timer_state;

// Shared by every waiter of one blocked select: the first counterparty that
// moves `done` from 0 to 1 wins the select and records its waiter as the
// winner; the losers are removed from their queues by the selecting fiber.
struct select_state {
    std::atomic<std::uint32_t> done{0};
    struct waiter* winner = nullptr;  // written by the winner under its channel's lock
};

// Go's sudog: one blocked fiber or thread in one channel's queue.
struct waiter {
    fiber* owner = nullptr;      // current_waiter() of the blocked party
    void* value = nullptr;       // send: the T to move from; recv: the sink (may be null)
    deliver_fn deliver = nullptr;  // recv: how to fill the sink
    select_state* select = nullptr;  // null for a plain send or receive
    hchan* channel = nullptr;    // whose queue; null once that channel is destroyed
    waiter* prev = nullptr;
    waiter* next = nullptr;
    bool is_send = false;  // on sendq (else recvq)
    bool queued = false;   // on a queue right now (guarded by the channel's lock)
    bool success = false;  // set by the completer: true = transferred, false = closed
};

// A FIFO of waiters, doubly linked so a select can take its losing records
// out of the middle.
struct waiter_queue {
    waiter* first = nullptr;
    waiter* last = nullptr;

    bool empty() const noexcept { return first == nullptr; }

    void push(waiter* w) noexcept {
        w->next = nullptr;
        w->prev = last;
        if (last)
            last->next = w;
        else
            first = w;
        last = w;
        w->queued = true;
    }

    void unlink(waiter* w) noexcept {
        if (w->prev)
            w->prev->next = w->next;
        else
            first = w->next;
        if (w->next)
            w->next->prev = w->prev;
        else
            last = w->prev;
        w->prev = w->next = nullptr;
        w->queued = false;
    }

    // The first waiter that may still complete: a select's record counts
    // only if this call wins its select (Go's dequeue). Records of selects
    // already won elsewhere are dropped on the way.
    waiter* dequeue() noexcept {
        while (waiter* w = first) {
            unlink(w);
            if (w->select) {
                std::uint32_t expected = 0;
                if (!w->select->done.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) continue;
                w->select->winner = w;
            }
            return w;
        }
        return nullptr;
    }
};

struct hchan {
    std::atomic<std::int64_t> refs{1};
    const element_ops* ops = nullptr;
    std::size_t capacity = 0;
    timer_state* timer = nullptr;  // set once for a timer channel (time.cpp), then read-only
    char* buffer = nullptr;        // capacity slots of ops->size bytes, after this header

    alignas(64) spinlock lock;
    std::atomic<std::size_t> count{0};  // elements in the buffer
    std::size_t recv_index = 0;         // next slot to receive from
    std::size_t send_index = 0;         // next slot to send into
    bool closed = false;
    waiter_queue recvq;
    waiter_queue sendq;

    void* slot(std::size_t i) const noexcept { return buffer + i * ops->size; }
};

// Completes a receive from the buffer's oldest element (lock held, count > 0).
void take_buffered(hchan* c, void* sink, deliver_fn deliver) noexcept;
// Completes a send into the buffer (lock held, count < capacity).
void put_buffered(hchan* c, void* src) noexcept;
// Completes a receive from a dequeued sender w (lock held).
void recv_from_sender(hchan* c, waiter* w, void* sink, deliver_fn deliver) noexcept;
// Completes a send to a dequeued receiver w (lock held).
void send_to_receiver(waiter* w, void* src) noexcept;

// A send that never blocks, for the runtime's own producers (timer channels):
// hands value to a receiver or buffers it; drops it when neither is possible
// or the channel is closed. Returns whether it was delivered or buffered.
bool chan_offer(hchan* c, void* src) noexcept;
// Drops every buffered element; returns how many there were. For timer
// channels only, whose elements (time_point) have no destructor to run.
std::size_t chan_drain(hchan* c) noexcept;

// The channel's lock released as a park commit.
bool unlock_channel_commit(void* lock) noexcept;

// Parks the caller (a fiber or a plain thread) in a channel operation whose
// waiter records are `waiters[0..count)`, all queued already: the records
// are published on the fiber so a runtime that stops can unlink them if the
// fiber is abandoned (Go frees such goroutines with their sudogs; here the
// records live on a stack that is about to be unmapped).
void park_on_channels(waiter* waiters, std::uint32_t count, wait_reason reason, park_commit commit, void* arg);

// A fast per-thread random number (select's shuffle), uniform in [0, n).
std::uint32_t cheap_random(std::uint32_t n) noexcept;

}  // namespace goro::detail
