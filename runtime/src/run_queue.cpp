// runtime/src/run_queue.cpp — Go's per-P run queue: a 256-slot ring that
// only its owner pushes to and anyone may pop from, plus the runnext slot.
// Invariants and memory orders: see runtime/detail/run_queue.hpp.

#include "runtime/detail/run_queue.hpp"
#include "runtime/detail/spinlock.hpp"

namespace goro::detail {

bool run_queue::push(fiber* f, bool next, fiber** overflow, std::uint32_t* overflow_count) noexcept {
    if (next) {
        // The new fiber takes runnext; whatever held it goes to the tail.
        runnext_generation_.store(runnext_generation_.load(std::memory_order_relaxed) + 1,
                                  std::memory_order_relaxed);
        f = runnext_.exchange(f, std::memory_order_seq_cst);  // also the StoreLoad fence wake_idle needs
        if (!f) return true;
    }
    for (;;) {
        std::uint32_t head = head_.load(std::memory_order_acquire);
        std::uint32_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head < capacity) {
            slots_[tail % capacity].store(f, std::memory_order_relaxed);
            tail_.store(tail + 1, std::memory_order_release);
            return true;
        }
        // Full: move the older half, plus f, to the global queue.
        const std::uint32_t half = (tail - head) / 2;
        for (std::uint32_t i = 0; i < half; ++i)
            overflow[i] = slots_[(head + i) % capacity].load(std::memory_order_relaxed);
        if (!head_.compare_exchange_strong(head, head + half, std::memory_order_acq_rel)) continue;  // a thief made room
        overflow[half] = f;
        *overflow_count = half + 1;
        return false;
    }
}

fiber* run_queue::pop(bool ring_first, bool* from_runnext) noexcept {
    auto take_runnext = [&]() -> fiber* {
        fiber* next = runnext_.load(std::memory_order_relaxed);
        if (next && runnext_.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel)) {
            if (from_runnext) *from_runnext = true;
            return next;
        }
        return nullptr;
    };
    if (!ring_first)
        if (fiber* f = take_runnext()) return f;
    for (;;) {
        std::uint32_t head = head_.load(std::memory_order_acquire);
        std::uint32_t tail = tail_.load(std::memory_order_relaxed);
        if (tail == head) break;
        fiber* f = slots_[head % capacity].load(std::memory_order_relaxed);
        if (head_.compare_exchange_strong(head, head + 1, std::memory_order_release)) return f;
    }
    return ring_first ? take_runnext() : nullptr;
}

std::uint32_t run_queue::grab(fiber** batch, bool take_runnext) noexcept {
    for (;;) {
        std::uint32_t head = head_.load(std::memory_order_acquire);
        std::uint32_t tail = tail_.load(std::memory_order_acquire);
        std::uint32_t n = tail - head;
        n -= n / 2;
        if (n == 0) {
            if (!take_runnext) return 0;
            const std::uint32_t generation = runnext_generation_.load(std::memory_order_acquire);
            fiber* next = runnext_.load(std::memory_order_acquire);
            if (!next) return 0;
            // A fiber in runnext was usually just readied by a fiber that is
            // about to park; its owner will run it in a moment. Give the owner
            // about 3 µs first, as Go does, rather than bounce it between CPUs,
            // and take it only if runnext has not been refilled meanwhile: a
            // pair of fibers handing off through runnext (ping-pong) refills
            // it constantly with the same two fibers, and the owner is keeping
            // up with them.
            for (int i = 0; i < 200; ++i) cpu_relax();
            if (runnext_generation_.load(std::memory_order_acquire) != generation) return 0;
            if (!runnext_.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel)) return 0;
            batch[0] = next;
            return 1;
        }
        if (n > capacity / 2) continue;  // head and tail read at different times
        for (std::uint32_t i = 0; i < n; ++i) batch[i] = slots_[(head + i) % capacity].load(std::memory_order_relaxed);
        if (head_.compare_exchange_strong(head, head + n, std::memory_order_acq_rel)) return n;
    }
}

fiber* run_queue::steal_from(run_queue& victim, bool take_runnext) noexcept {
    fiber* batch[capacity / 2];
    std::uint32_t n = victim.grab(batch, take_runnext);
    if (n == 0) return nullptr;
    fiber* run_now = batch[n - 1];
    if (n == 1) return run_now;
    // This queue is empty (we are stealing), so the batch fits.
    std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i + 1 < n; ++i) slots_[(tail + i) % capacity].store(batch[i], std::memory_order_relaxed);
    tail_.store(tail + n - 1, std::memory_order_release);
    return run_now;
}

// seq_cst loads: the idle re-check's side of the Dekker pattern with pushers.
bool run_queue::empty() const noexcept {
    return tail_.load(std::memory_order_seq_cst) == head_.load(std::memory_order_seq_cst) &&
           runnext_.load(std::memory_order_seq_cst) == nullptr;
}

std::size_t run_queue::size_approx() const noexcept {
    const std::uint32_t head = head_.load(std::memory_order_relaxed);
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint32_t ring = tail - head <= capacity ? tail - head : 0;  // a torn pair reads as empty
    return ring + (runnext_.load(std::memory_order_relaxed) ? 1 : 0);
}

}  // namespace goro::detail
