// channels/src/chan.cpp — send, receive and close (Go's chan.go). The
// invariants and the lock discipline are listed in channels/detail/hchan.hpp.
//
// Every blocking path follows the park protocol of runtime/detail/park.hpp:
// enqueue a waiter record under the channel's lock, then park with "unlock
// the channel" as the commit, so the lock is released only once the fiber
// is off its stack. The party that later dequeues the record finishes the
// transfer under the lock, unlocks, and only then readies the owner.

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>

#include <goro/chan.hpp>

#include "channels/detail/hchan.hpp"
#include "runtime/detail/fatal.hpp"
#include "runtime/detail/park.hpp"

namespace goro::detail {

namespace {

constexpr std::size_t header_size(const element_ops* ops) noexcept {
    const std::size_t align = std::max<std::size_t>(ops->align, alignof(hchan));
    return (sizeof(hchan) + align - 1) / align * align;
}

// Takes an abandoned fiber's waiter records off their channels' queues.
void forget_abandoned_waiters(fiber* f) noexcept {
    auto* waiters = static_cast<waiter*>(f->channel_waiters);
    for (std::uint32_t i = 0; i < f->channel_waiter_count; ++i) {
        waiter& w = waiters[i];
        hchan* c = w.channel;
        if (!c) continue;  // its channel is gone
        std::lock_guard<spinlock> g(c->lock);
        if (w.queued) (w.is_send ? c->sendq : c->recvq).unlink(&w);
    }
    f->channel_waiters = nullptr;
    f->channel_waiter_count = 0;
}

[[noreturn]] void block_forever(wait_reason reason) {
    park(reason, nullptr, nullptr);
    GORO_FATAL("runtime: a fiber blocked on a nil channel was woken");
}

}  // namespace

bool unlock_channel_commit(void* lock) noexcept {
    static_cast<spinlock*>(lock)->unlock();
    return true;
}

std::uint32_t cheap_random(std::uint32_t n) noexcept {
    // xorshift64*, seeded per thread from the thread's own address and a
    // global sequence; select needs speed and rough uniformity, not secrecy.
    static std::atomic<std::uint64_t> seed_sequence{0x9e3779b97f4a7c15ull};
    __attribute__((tls_model("initial-exec"))) thread_local std::uint64_t state = 0;
    if (state == 0) {
        state = seed_sequence.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed) ^
                reinterpret_cast<std::uintptr_t>(&state);
        if (state == 0) state = 1;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    const std::uint64_t r = state * 0x2545f4914f6cdd1dull;
    // Lemire's multiply-shift: uniform enough for n far below 2^32.
    return static_cast<std::uint32_t>(((r >> 32) * n) >> 32);
}

void park_on_channels(waiter* waiters, std::uint32_t count, wait_reason reason, park_commit commit, void* arg) {
    fiber* self = waiters[0].owner;
    if (self->is_thread) {
        park(reason, commit, arg);
        return;
    }
    self->channel_waiters = waiters;
    self->channel_waiter_count = count;
    park(reason, commit, arg);
    self->channel_waiters = nullptr;
    self->channel_waiter_count = 0;
}

hchan* chan_make(const element_ops* ops, std::size_t capacity) {
    static const bool hook_registered = (set_abandoned_fiber_hook(&forget_abandoned_waiters), true);
    (void)hook_registered;
    const std::size_t header = header_size(ops);
    if (capacity > (SIZE_MAX - header) / std::max<std::size_t>(ops->size, 1))
        throw panic_error("makechan: size out of range");
    const std::size_t total = header + capacity * ops->size;
    const std::size_t align = std::max<std::size_t>(ops->align, alignof(hchan));
    void* memory = ::operator new(total, std::align_val_t{align});
    auto* c = ::new (memory) hchan;
    c->ops = ops;
    c->capacity = capacity;
    c->buffer = static_cast<char*>(memory) + header;
    return c;
}

void timer_channel_released(hchan* c) noexcept;  // time.cpp

void chan_retain(hchan* c) noexcept { c->refs.fetch_add(1, std::memory_order_relaxed); }

void chan_release(hchan* c) noexcept {
    if (c->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // Waiters may still be queued (fibers blocked forever on a channel that
    // nobody else can reach, as leaked goroutines are in Go): they hold no
    // reference. Cut them loose so a stopping runtime does not visit us.
    for (waiter_queue* q : {&c->recvq, &c->sendq})
        for (waiter* w = q->first; w; w = w->next) w->channel = nullptr;
    if (c->timer) timer_channel_released(c);
    for (std::size_t n = c->count.load(std::memory_order_relaxed), i = c->recv_index; n > 0; --n) {
        c->ops->destroy(c->slot(i));
        i = i + 1 == c->capacity ? 0 : i + 1;
    }
    const std::size_t align = std::max<std::size_t>(c->ops->align, alignof(hchan));
    c->~hchan();
    ::operator delete(static_cast<void*>(c), std::align_val_t{align});
}

void put_buffered(hchan* c, void* src) noexcept {
    c->ops->move_construct(c->slot(c->send_index), src);
    c->send_index = c->send_index + 1 == c->capacity ? 0 : c->send_index + 1;
    c->count.store(c->count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void take_buffered(hchan* c, void* sink, deliver_fn deliver) noexcept {
    void* s = c->slot(c->recv_index);
    if (sink) deliver(sink, s);
    c->ops->destroy(s);
    c->recv_index = c->recv_index + 1 == c->capacity ? 0 : c->recv_index + 1;
    c->count.store(c->count.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

void recv_from_sender(hchan* c, waiter* w, void* sink, deliver_fn deliver) noexcept {
    if (c->capacity == 0) {
        // Unbuffered: straight from the sender's stack to the receiver's.
        if (sink) deliver(sink, w->value);
    } else {
        // The buffer is full (a sender waits): take its oldest element and
        // put the sender's in the slot it frees, which is the tail.
        void* s = c->slot(c->recv_index);
        if (sink) deliver(sink, s);
        c->ops->destroy(s);
        c->ops->move_construct(s, w->value);
        c->recv_index = c->recv_index + 1 == c->capacity ? 0 : c->recv_index + 1;
        c->send_index = c->recv_index;
    }
    w->success = true;
}

void send_to_receiver(waiter* w, void* src) noexcept {
    if (w->value) w->deliver(w->value, src);
    w->success = true;
}

namespace {

// The part of a send that needs no waiting (lock held, channel open): hand
// the value to a waiting receiver or buffer it, then unlock and ready. False,
// with the lock still held, when the send would have to wait.
bool send_now_and_unlock(hchan* c, void* src) noexcept {
    if (waiter* w = c->recvq.dequeue()) {
        send_to_receiver(w, src);
        fiber* owner = w->owner;
        c->lock.unlock();
        ready(owner);
        return true;
    }
    if (c->count.load(std::memory_order_relaxed) < c->capacity) {
        put_buffered(c, src);
        c->lock.unlock();
        return true;
    }
    return false;
}

}  // namespace

bool chan_send(hchan* c, void* src, bool block) {
    preemption_point();
    if (!c) {
        if (!block) return false;
        block_forever(wait_reason::chan_send_nil);
    }
    c->lock.lock();
    if (c->closed) {
        c->lock.unlock();
        throw panic_error("send on closed channel");
    }
    if (send_now_and_unlock(c, src)) return true;
    if (!block) {
        c->lock.unlock();
        return false;
    }
    waiter self;
    self.owner = current_waiter();
    self.value = src;
    self.channel = c;
    self.is_send = true;
    c->sendq.push(&self);
    park_on_channels(&self, 1, wait_reason::chan_send, &unlock_channel_commit, &c->lock);
    // Woken by a receiver (success) or by close (Go panics the sender).
    if (!self.success) throw panic_error("send on closed channel");
    return true;
}

recv_status chan_recv(hchan* c, void* sink, deliver_fn deliver, bool block) {
    preemption_point();
    if (!c) {
        if (!block) return recv_status::would_block;
        block_forever(wait_reason::chan_receive_nil);
    }
    c->lock.lock();
    if (c->closed && c->count.load(std::memory_order_relaxed) == 0) {
        c->lock.unlock();
        if (sink) deliver(sink, nullptr);
        return recv_status::closed;
    }
    if (waiter* w = c->sendq.dequeue()) {
        recv_from_sender(c, w, sink, deliver);
        fiber* owner = w->owner;
        c->lock.unlock();
        ready(owner);
        return recv_status::received;
    }
    if (c->count.load(std::memory_order_relaxed) > 0) {
        take_buffered(c, sink, deliver);
        c->lock.unlock();
        return recv_status::received;
    }
    if (!block) {
        c->lock.unlock();
        return recv_status::would_block;
    }
    waiter self;
    self.owner = current_waiter();
    self.value = sink;
    self.deliver = deliver;
    self.channel = c;
    c->recvq.push(&self);
    park_on_channels(&self, 1, wait_reason::chan_receive, &unlock_channel_commit, &c->lock);
    if (self.success) return recv_status::received;
    if (sink) deliver(sink, nullptr);
    return recv_status::closed;
}

void chan_close(hchan* c) {
    if (!c) throw panic_error("close of nil channel");
    c->lock.lock();
    if (c->closed) {
        c->lock.unlock();
        throw panic_error("close of closed channel");
    }
    c->closed = true;
    // Collect every waiter first and ready them after unlocking, in queue
    // order, receivers first (Go's closechan).
    waiter* wake_first = nullptr;
    waiter* wake_last = nullptr;
    auto collect = [&](waiter_queue& q) {
        while (waiter* w = q.dequeue()) {
            w->success = false;
            if (wake_last)
                wake_last->next = w;
            else
                wake_first = w;
            wake_last = w;
        }
    };
    collect(c->recvq);
    collect(c->sendq);
    c->lock.unlock();
    for (waiter* w = wake_first; w;) {
        waiter* next = w == wake_last ? nullptr : w->next;  // w may vanish once readied
        ready(w->owner);
        w = next;
    }
}

bool chan_offer(hchan* c, void* src) noexcept {
    c->lock.lock();
    if (c->closed) {
        c->lock.unlock();
        return false;
    }
    if (send_now_and_unlock(c, src)) return true;
    c->lock.unlock();
    return false;
}

std::size_t chan_drain(hchan* c) noexcept {
    std::lock_guard<spinlock> g(c->lock);
    std::size_t drained = 0;
    while (c->count.load(std::memory_order_relaxed) > 0) {
        take_buffered(c, nullptr, nullptr);
        ++drained;
    }
    return drained;
}

std::size_t chan_len(const hchan* c) noexcept {
    if (!c || c->timer) return 0;  // timer channels report 0, as in Go 1.23
    return c->count.load(std::memory_order_relaxed);
}

std::size_t chan_cap(const hchan* c) noexcept {
    if (!c || c->timer) return 0;
    return c->capacity;
}

}  // namespace goro::detail
