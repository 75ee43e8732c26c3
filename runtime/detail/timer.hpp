// runtime/detail/timer.hpp — per-P timer heaps (Go's P-local timers).
//
// Invariants:
//   - A timer_node is in at most one heap; `heap_index` is its slot there, or
//     -1 when it is in none. Both change only under that heap's lock.
//   - `earliest_ns` mirrors the root's deadline (INT64_MAX when empty) so
//     idle workers can find the nearest deadline of every heap without
//     taking any lock. It is written under the lock, read racily.
//   - fire() runs with the heap's lock held, on whichever M found the
//     timer expired. It must be short and must not take a timer-heap lock or
//     any lock that is held while calling add or remove.
//   - A periodic timer (period_ns > 0) is put back by run_expired itself,
//     under the same lock, at its next due time after now: a slow heap drops
//     the periods it missed instead of firing them in a burst.
//   - The heap is 4-ary, as Go's: shallower than binary. Each entry carries
//     its deadline beside the node pointer, so sifting compares within the
//     array and never reads the nodes (which live on fibers' stacks, a page
//     apart); it only writes each moved node's heap_index.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <vector>

#include "runtime/detail/spinlock.hpp"

namespace goro::detail {

struct timer_heap;

struct timer_node {
    std::int64_t when_ns = 0;               // steady-clock deadline
    std::int64_t period_ns = 0;             // > 0: fire again every period_ns
    void (*fire)(timer_node*) = nullptr;    // called once each time it expires
    timer_heap* heap = nullptr;             // guarded by heap->lock
    std::int32_t heap_index = -1;           // guarded by heap->lock
};

struct timer_heap {
    struct entry {
        std::int64_t when_ns;
        timer_node* node;
    };

    spinlock lock;
    std::vector<entry> nodes;
    std::atomic<std::int64_t> earliest_ns{INT64_MAX};

    void add(timer_node* t);        // takes the lock
    bool remove(timer_node* t);     // takes the lock; false if t is in no heap
    // Fire every timer due at now_ns; returns how many fired. With try_only,
    // gives up at once when another thread holds the lock.
    int run_expired(std::int64_t now_ns, bool try_only);

private:
    void add_locked(timer_node* t);
    void remove_at_locked(std::size_t i);
    void sift_up(std::size_t i);
    void sift_down(std::size_t i);
    void publish_earliest() noexcept {
        earliest_ns.store(nodes.empty() ? INT64_MAX : nodes.front().when_ns, std::memory_order_release);
    }
};

// For layers above the runtime (timer channels, contexts): add t to the
// heap of the caller's P (a thread holding none uses P0's) and wake the M
// that sleeps until the earliest timer if t is now earlier. Returns the heap
// and stores the running runtime's id in *run_id; returns null when no
// runtime is running.
timer_heap* add_timer(timer_node* t, std::uint64_t* run_id);

// Takes t out of heap if it is still there. A heap of a runtime that has
// since ended (run_id differs) is gone; then nothing is done. Returns whether
// t was removed. Once this returns, t's fire is not running and will not run
// (it runs under the heap's lock).
bool remove_timer(timer_node* t, timer_heap* heap, std::uint64_t run_id);

}  // namespace goro::detail
