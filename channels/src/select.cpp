// channels/src/select.cpp — select (Go's selectgo).
//
// The algorithm, as Go's:
//   1. Shuffle the cases into a poll order (every ready case equally likely
//      to be taken) and sort them by channel address into a lock order (no
//      two selects can deadlock on each other's locks). Nil channels are in
//      neither order: they are never ready.
//   2. Lock every channel once, in lock order.
//   3. Pass 1: in poll order, take the first case that can proceed now.
//   4. With none and a default case, unlock and take default.
//   5. Pass 2: enqueue one waiter per case, all sharing one select_state,
//      and park; the commit unlocks the channels (see select_park_commit).
//      The first counterparty to win the select_state's CAS completes its
//      case and readies us.
//   6. Relock everything, take the losing waiters off their queues, unlock.
//
// Lock discipline: channel locks only, always in address order, never held
// while parking or calling ready (readies happen after unlock_all).

#include <algorithm>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include <goro/select.hpp>

#include "channels/detail/hchan.hpp"
#include "runtime/detail/fatal.hpp"
#include "runtime/detail/park.hpp"

namespace goro::detail {

namespace {

// Cases, poll order and lock order of one select call. Small selects keep
// everything on the stack, and nothing is initialised that the call may not
// use: this frame is built on every select, hot or not.
class select_frame {
public:
    static constexpr int inline_cases = 8;

    select_frame(select_case_desc* cases, int count) : cases_(cases) {
        if (count > inline_cases) {
            // Everything a large select may need is allocated here, before
            // any channel is locked: a bad_alloc must not escape with locks held.
            heap_order_ = std::make_unique<std::uint32_t[]>(2 * static_cast<std::size_t>(count));
            heap_locks_ = std::make_unique<hchan*[]>(static_cast<std::size_t>(count));
            heap_waiters_ = std::make_unique<waiter[]>(static_cast<std::size_t>(count));
            poll_ = heap_order_.get();
            lock_ = poll_ + count;
            lock_channels_ = heap_locks_.get();
        } else {
            poll_ = inline_order_;
            lock_ = inline_order_ + inline_cases;
            lock_channels_ = inline_locks_;
        }
        // Poll order: an inside-out Fisher-Yates shuffle of the live cases.
        for (int i = 0; i < count; ++i) {
            if (!cases[i].channel) continue;  // nil channel or default
            const std::uint32_t j = cheap_random(static_cast<std::uint32_t>(live_ + 1));
            poll_[live_] = poll_[j];
            poll_[j] = static_cast<std::uint32_t>(i);
            ++live_;
        }
        // Lock order: by channel address (duplicates end up adjacent), with
        // each case's channel kept beside its index for the lock loops.
        for (int k = 0; k < live_; ++k) {
            const std::uint32_t i = poll_[k];
            hchan* c = cases[i].channel;
            int at = k;
            if (live_ <= 16) {  // insertion sort: selects are small
                while (at > 0 && std::less<hchan*>()(c, lock_channels_[at - 1])) {
                    lock_[at] = lock_[at - 1];
                    lock_channels_[at] = lock_channels_[at - 1];
                    --at;
                }
            }
            lock_[at] = i;
            lock_channels_[at] = c;
        }
        if (live_ > 16) {
            std::sort(lock_, lock_ + live_, [cases](std::uint32_t a, std::uint32_t b) {
                return std::less<hchan*>()(cases[a].channel, cases[b].channel);
            });
            for (int k = 0; k < live_; ++k) lock_channels_[k] = cases[lock_[k]].channel;
        }
    }

    int live() const noexcept { return live_; }
    select_case_desc& poll_case(int k) const noexcept { return cases_[poll_[k]]; }
    int poll_index(int k) const noexcept { return static_cast<int>(poll_[k]); }
    hchan* lock_channel(int k) const noexcept { return lock_channels_[k]; }
    int lock_index(int k) const noexcept { return static_cast<int>(lock_[k]); }
    select_case_desc* cases() const noexcept { return cases_; }

    // Waiter records for pass 2, constructed only when a select blocks.
    waiter* make_waiters() noexcept {
        if (heap_waiters_) return heap_waiters_.get();
        return ::new (inline_waiters_) waiter[static_cast<std::size_t>(live_)];
    }

    void lock_all() const noexcept {
        hchan* previous = nullptr;
        for (int k = 0; k < live_; ++k) {
            hchan* c = lock_channels_[k];
            if (c != previous) c->lock.lock();
            previous = c;
        }
    }

    void unlock_all() const noexcept {
        hchan* previous = nullptr;
        for (int k = 0; k < live_; ++k) {
            hchan* c = lock_channels_[k];
            if (c != previous) c->lock.unlock();
            previous = c;
        }
    }

private:
    select_case_desc* cases_;
    int live_ = 0;
    std::uint32_t* poll_;
    std::uint32_t* lock_;
    hchan** lock_channels_;
    std::uint32_t inline_order_[2 * inline_cases];
    hchan* inline_locks_[inline_cases];
    alignas(waiter) unsigned char inline_waiters_[inline_cases * sizeof(waiter)];  // waiter is trivially destructible
    std::unique_ptr<std::uint32_t[]> heap_order_;
    std::unique_ptr<hchan*[]> heap_locks_;
    std::unique_ptr<waiter[]> heap_waiters_;
};

static_assert(std::is_trivially_destructible_v<waiter>);

// The park commit of a blocked select, run on the scheduler stack after the
// switch. Once one channel is unlocked a counterparty may ready the fiber,
// which may then resume on another worker; but it must relock every
// channel before it can leave select and reuse its stack, and this loop
// reads the frame (on that stack) only while it still holds a channel the
// fiber needs: the next channel is read before the previous one is unlocked,
// and nothing is read after the last unlock (Go's selparkcommit).
bool select_park_commit(void* arg) noexcept {
    const auto* frame = static_cast<const select_frame*>(arg);
    const int live = frame->live();
    hchan* held = nullptr;
    for (int k = 0; k < live; ++k) {
        hchan* c = frame->lock_channel(k);
        if (c == held) continue;
        if (held) held->lock.unlock();
        held = c;
    }
    if (held) held->lock.unlock();
    return true;
}

void set_ok(const select_case_desc& sc, bool ok) noexcept {
    if (sc.ok) *sc.ok = ok;
}

}  // namespace

int select_cases(select_case_desc* cases, int count, int default_index) {
    preemption_point();
    select_frame frame(cases, count);
    if (frame.live() == 0) {
        if (default_index >= 0) return default_index;
        park(count == 0 ? wait_reason::select_no_cases : wait_reason::select, nullptr, nullptr);
        GORO_FATAL("runtime: a select without live cases was woken");
    }

    frame.lock_all();

    // Pass 1: the first case, in poll order, that can proceed at once.
    for (int k = 0; k < frame.live(); ++k) {
        select_case_desc& sc = frame.poll_case(k);
        hchan* c = sc.channel;
        if (sc.kind == case_kind::send) {
            if (c->closed) {
                frame.unlock_all();
                throw panic_error("send on closed channel");
            }
            if (waiter* w = c->recvq.dequeue()) {
                send_to_receiver(w, sc.value);
                fiber* owner = w->owner;
                frame.unlock_all();
                ready(owner);
                return frame.poll_index(k);
            }
            if (c->count.load(std::memory_order_relaxed) < c->capacity) {
                put_buffered(c, sc.value);
                frame.unlock_all();
                return frame.poll_index(k);
            }
        } else {
            if (waiter* w = c->sendq.dequeue()) {
                recv_from_sender(c, w, sc.value, sc.deliver);
                fiber* owner = w->owner;
                frame.unlock_all();
                ready(owner);
                set_ok(sc, true);
                return frame.poll_index(k);
            }
            if (c->count.load(std::memory_order_relaxed) > 0) {
                take_buffered(c, sc.value, sc.deliver);
                frame.unlock_all();
                set_ok(sc, true);
                return frame.poll_index(k);
            }
            if (c->closed) {
                frame.unlock_all();
                if (sc.value) sc.deliver(sc.value, nullptr);
                set_ok(sc, false);
                return frame.poll_index(k);
            }
        }
    }

    if (default_index >= 0) {
        frame.unlock_all();
        return default_index;
    }

    // Pass 2: wait on every case at once.
    select_state state;
    fiber* self = current_waiter();
    waiter* waiters = frame.make_waiters();
    for (int k = 0; k < frame.live(); ++k) {
        const int i = frame.lock_index(k);
        const select_case_desc& sc = cases[i];
        waiter& w = waiters[k];
        w.owner = self;
        w.value = sc.value;
        w.deliver = sc.deliver;
        w.select = &state;
        w.channel = sc.channel;
        w.is_send = sc.kind == case_kind::send;
        w.success = false;
        (w.is_send ? sc.channel->sendq : sc.channel->recvq).push(&w);
    }
    park_on_channels(waiters, static_cast<std::uint32_t>(frame.live()), wait_reason::select, &select_park_commit,
                     &frame);

    // Woken: the winner completed its case (or found its channel closed).
    frame.lock_all();
    waiter* winner = state.winner;
    int chosen = -1;
    for (int k = 0; k < frame.live(); ++k) {
        waiter& w = waiters[k];
        if (&w == winner) {
            chosen = frame.lock_index(k);
            continue;
        }
        if (!w.queued) continue;  // already dropped by a counterparty that lost the CAS
        (w.is_send ? w.channel->sendq : w.channel->recvq).unlink(&w);
    }
    frame.unlock_all();
    if (chosen < 0) GORO_FATAL("runtime: a select was woken without a winning case");

    const select_case_desc& sc = cases[chosen];
    if (sc.kind == case_kind::send) {
        if (!winner->success) throw panic_error("send on closed channel");
    } else if (winner->success) {
        set_ok(sc, true);
    } else {
        if (sc.value) sc.deliver(sc.value, nullptr);
        set_ok(sc, false);
    }
    return chosen;
}

}  // namespace goro::detail

namespace goro {

int select(std::span<select_case> cases) {
    constexpr std::size_t inline_cases = 16;
    detail::select_case_desc inline_descs[inline_cases];
    std::vector<detail::select_case_desc> heap_descs;
    detail::select_case_desc* descs = inline_descs;
    if (cases.size() > inline_cases) {
        heap_descs.resize(cases.size());
        descs = heap_descs.data();
    }
    int default_index = -1;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        descs[i] = cases[i].desc_;
        if (cases[i].is_default()) {
            if (default_index >= 0) throw panic_error("select: multiple defaults in select");
            default_index = static_cast<int>(i);
        }
    }
    const int chosen = detail::select_cases(descs, static_cast<int>(cases.size()), default_index);
    select_case& c = cases[static_cast<std::size_t>(chosen)];
    if (c.finish_) c.finish_(c.holder_.get());  // outside every channel lock
    return chosen;
}

}  // namespace goro
