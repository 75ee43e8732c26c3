// runtime/detail/stack.hpp — fiber stacks: mmap'd slabs of guarded,
// lazily committed stacks, pooled per P and globally.
//
// Layout of one stack slot, low to high addresses:
//     [guard page(s)][ usable stack ... | callable | fiber control block ]
// The control block sits at the very top, so a fiber that parks after using
// little stack keeps exactly one page resident.
//
// Invariants:
//   - Every slot of every slab holds a fiber control block for the runtime's
//     whole life; the slab list is prepend-only (an atomic head) so the dump
//     can walk it from a signal handler. Slabs are unmapped at teardown only.
//   - A dead fiber is on exactly one free list: a P's cache (touched by
//     the M holding that P alone) or a batch in the global pool (guarded by
//     stack_pool::lock_, a spinlock: it is held for a vector push or pop).
//   - Guard pages are installed with MADV_GUARD_INSTALL where the kernel has
//     it (no VMA split), else with mprotect (two VMAs per stack, which
//     vm.max_map_count caps); failing both is a fatal error, never a silent
//     unguarded stack.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "runtime/detail/fiber.hpp"
#include "runtime/detail/spinlock.hpp"

namespace goro::detail {

struct stack_slab {
    stack_slab* next = nullptr;  // registry link, written once before publication
    char* base = nullptr;        // start of the mapping
    std::size_t bytes = 0;       // length of the mapping
    std::size_t slot_bytes = 0;  // guard + usable, page multiple
    std::size_t slots = 0;

    fiber* block(std::size_t i) const noexcept;
};

// A P's private cache of dead fibers with default-size stacks.
struct stack_cache {
    fiber* head = nullptr;
    int count = 0;
    static constexpr int capacity = 64;  // past this, a batch moves to the global pool
    static constexpr int batch = 32;     // stacks move between cache and pool in batches
};

enum class guard_mode { madvise_guard, mprotect };

class stack_pool {
public:
    explicit stack_pool(std::size_t default_usable_bytes);
    ~stack_pool();  // unmaps every slab
    stack_pool(const stack_pool&) = delete;
    stack_pool& operator=(const stack_pool&) = delete;

    // A dead fiber with a stack of `usable` bytes (0 = default), taken from
    // the cache, the global pool or a new slab.
    fiber* get(stack_cache* cache, std::size_t usable);
    void put(stack_cache* cache, fiber* f) noexcept;
    void drain(stack_cache* cache) noexcept;  // a run's end returns a P's cache

    // Release the memory of stacks that sat idle in the global pool for over
    // a second, keeping the control block's page. Called by workers about to
    // sleep, so it costs nothing while the program is busy.
    void trim_some() noexcept;

    stack_slab* slabs() const noexcept { return slabs_.load(std::memory_order_acquire); }

    // A thread abandoned by the run may still execute on one of these
    // stacks: the destructor then keeps every slab mapped.
    void keep_all_mapped() noexcept { keep_all_mapped_ = true; }

private:
    stack_slab* new_slab(std::size_t usable, std::size_t slots);
    void install_guard(char* low, std::size_t bytes);

    std::size_t default_usable_;
    std::size_t page_;
    guard_mode guard_mode_;
    std::atomic<stack_slab*> slabs_{nullptr};
    std::atomic<std::size_t> guards_{0};
    bool keep_all_mapped_ = false;

    // A batch: up to stack_cache::batch dead fibers linked through next_free.
    // Moving whole batches keeps the lock hold short and never walks lists
    // of cold control blocks under it.
    struct batch {
        fiber* head;
        int count;
        std::int64_t freed_at_ns = 0;  // coarse clock; trimming waits until a batch sat idle a while
    };

    spinlock lock_;
    std::deque<batch> warm_;      // default size, pages possibly resident; oldest first
    std::vector<batch> trimmed_;  // default size, released down to the top page
    std::map<std::size_t, fiber*> custom_;  // other sizes, by usable bytes
};

}  // namespace goro::detail
