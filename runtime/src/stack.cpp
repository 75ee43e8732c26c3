// runtime/src/stack.cpp — stack slabs, guard pages and the stack pools.
// Invariants: see runtime/detail/stack.hpp.

#include "runtime/detail/stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "runtime/detail/context_switch.hpp"
#if defined(GORO_ASAN)
#include <sanitizer/lsan_interface.h>
#endif
#include "runtime/detail/fatal.hpp"
#include "runtime/detail/faults.hpp"
#include "runtime/detail/signals.hpp"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13
#endif

namespace goro::detail {

namespace {

constexpr std::size_t default_slots_per_slab = 32;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

guard_mode initial_guard_mode() {
    const char* forced = std::getenv("GORO_STACK_GUARD");
    if (forced && std::strcmp(forced, "mprotect") == 0) return guard_mode::mprotect;
    return guard_mode::madvise_guard;
}

int read_max_map_count() {
    int value = -1;
    if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
        if (std::fscanf(f, "%d", &value) != 1) value = -1;
        std::fclose(f);
    }
    return value;
}

}  // namespace

fiber* stack_slab::block(std::size_t i) const noexcept {
    char* top = base + (i + 1) * slot_bytes;
    return reinterpret_cast<fiber*>(top - sizeof(fiber));
}

stack_pool::stack_pool(std::size_t default_usable_bytes)
    : page_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))), guard_mode_(initial_guard_mode()) {
    default_usable_ = round_up(default_usable_bytes, page_);
}

namespace {

// Under AddressSanitizer: fibers abandoned when run returns (Go's semantics)
// still reference what they captured. Unmapping their stacks would make
// LeakSanitizer report all of it as leaked, in every program that ends with
// a fiber blocked forever — as correct Go programs do. So a slab holding an
// abandoned fiber stays mapped and each such fiber's live stack (from its
// saved stack pointer to its control block) becomes an LSan root region:
// abandoned, not leaked. Only sanitized builds pay this memory. In every
// build, all slabs stay mapped while a fiber is abandoned inside
// goro::blocking, whose call may still be running on a pool thread. Kept
// slabs go on this list, which LSan sees as a global root.
stack_slab* slabs_kept_mapped = nullptr;

// True if a fiber of the slab is parked in goro::blocking.
bool holds_blocking_call(stack_slab* slab) noexcept {
    for (std::size_t i = 0; i < slab->slots; ++i) {
        fiber* f = slab->block(i);
        if (f->state.load(std::memory_order_relaxed) == fiber_state::waiting &&
            f->reason.load(std::memory_order_relaxed) == wait_reason::blocking_call)
            return true;
    }
    return false;
}

// Registers the live stacks of the slab's abandoned fibers as LSan roots
// (sanitized builds); true if there are any.
bool keep_abandoned_mapped(stack_slab* slab) noexcept {
#if defined(GORO_ASAN)
    bool keep = false;
    for (std::size_t i = 0; i < slab->slots; ++i) {
        fiber* f = slab->block(i);
        const fiber_state state = f->state.load(std::memory_order_relaxed);
        if (state == fiber_state::dead || !f->context) continue;
        char* low = static_cast<char*>(f->context);  // saved stack pointer
        char* high = reinterpret_cast<char*>(f) + sizeof(fiber);
        if (low < f->stack_low || low >= high) continue;
        __lsan_register_root_region(low, static_cast<std::size_t>(high - low));
        keep = true;
    }
    return keep;
#else
    (void)slab;
    return false;
#endif
}

}  // namespace

stack_pool::~stack_pool() {
    stack_slab* s = slabs_.load(std::memory_order_acquire);
    // A call still running in goro::blocking may use memory on any of this
    // run's stacks (a buffer its fiber's parent owns): keep them all.
    bool blocking_in_flight = keep_all_mapped_;
    for (stack_slab* t = s; t && !blocking_in_flight; t = t->next) blocking_in_flight = holds_blocking_call(t);
    while (s) {
        stack_slab* next = s->next;
        if (keep_abandoned_mapped(s) || blocking_in_flight) {
            s->next = slabs_kept_mapped;
            slabs_kept_mapped = s;
        } else {
            munmap(s->base, s->bytes);
            delete s;
        }
        s = next;
    }
}

void stack_pool::install_guard(char* low, std::size_t bytes) {
    if (guard_mode_ == guard_mode::madvise_guard) {
        if (madvise(low, bytes, MADV_GUARD_INSTALL) == 0) {
            guards_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (errno != EINVAL) {
            char msg[160];
            std::snprintf(msg, sizeof msg, "cannot install a stack guard page: madvise: %s", std::strerror(errno));
            fatal_exit(msg);
        }
        guard_mode_ = guard_mode::mprotect;  // kernel older than 6.13
    }
    int injected = 0;
    if (inject_fault(fault_site::stack_guard, &injected)) {
        errno = injected;
    } else if (mprotect(low, bytes, PROT_NONE) == 0) {
        guards_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    int err = errno;
    char msg[640];
    if (err == ENOMEM) {
        std::snprintf(msg, sizeof msg,
                      "cannot install a stack guard page for fiber stack %zu: the process has reached "
                      "vm.max_map_count (%d mappings). Without MADV_GUARD_INSTALL (Linux 6.13+) each "
                      "guarded stack costs two mappings, so this kernel allows about %d fiber stacks. "
                      "Raise the limit (sysctl vm.max_map_count=N) or run fewer fibers at once.",
                      guards_.load(std::memory_order_relaxed) + 1, read_max_map_count(),
                      read_max_map_count() / 2);
    } else {
        std::snprintf(msg, sizeof msg, "cannot install a stack guard page: mprotect: %s", std::strerror(err));
    }
    fatal_exit(msg);
}

stack_slab* stack_pool::new_slab(std::size_t usable, std::size_t slots) {
    const std::size_t guard = page_;
    const std::size_t slot = guard + usable;
    const std::size_t bytes = slot * slots;
    int injected = 0;
    void* mem = inject_fault(fault_site::stack_mmap, &injected)
                    ? (errno = injected, MAP_FAILED)
                    : mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        // Go's "fatal error: runtime: out of memory", with what was asked.
        char msg[240];
        std::snprintf(msg, sizeof msg, "runtime: out of memory: cannot map %zu bytes of fiber stacks (mmap: %s)",
                      bytes, std::strerror(errno));
        fatal_exit(msg);
    }
    // Transparent huge pages would turn each touched stack top into 2 MiB.
    madvise(mem, bytes, MADV_NOHUGEPAGE);
    // A previous runtime's fibers may have left ASan poison on these addresses.
    asan_unpoison(mem, bytes);

    auto* slab = new stack_slab;
    slab->base = static_cast<char*>(mem);
    slab->bytes = bytes;
    slab->slot_bytes = slot;
    slab->slots = slots;
    for (std::size_t i = 0; i < slots; ++i) {
        char* low = slab->base + i * slot;
        install_guard(low, guard);
        fiber* f = ::new (slab->block(i)) fiber;
        f->stack_low = low + guard;
        f->stack_size = usable;
        f->guard_size = guard;
    }
    // Publish: the dump walks this list without locks.
    slab->next = slabs_.load(std::memory_order_relaxed);
    while (!slabs_.compare_exchange_weak(slab->next, slab, std::memory_order_release, std::memory_order_relaxed)) {
    }
    return slab;
}

fiber* stack_pool::get(stack_cache* cache, std::size_t usable) {
    if (usable == 0) usable = default_usable_;
    usable = round_up(usable, page_);
    if (usable == default_usable_) {
        if (!cache || !cache->head) {
            batch b{nullptr, 0};
            {
                std::lock_guard<spinlock> g(lock_);
                // Warm stacks first: their pages are likely still resident.
                if (!warm_.empty()) {
                    b = warm_.back();
                    warm_.pop_back();
                } else if (!trimmed_.empty()) {
                    b = trimmed_.back();
                    trimmed_.pop_back();
                }
            }
            if (!b.head) {
                stack_slab* slab = new_slab(usable, default_slots_per_slab);
                for (std::size_t i = slab->slots; i-- > 0;) {
                    fiber* f = slab->block(i);
                    f->next_free = b.head;
                    b.head = f;
                    ++b.count;
                }
            }
            if (!cache) {
                fiber* f = b.head;
                b.head = f->next_free;
                if (--b.count > 0) {
                    std::lock_guard<spinlock> g(lock_);
                    warm_.push_back(b);
                }
                return f;
            }
            cache->head = b.head;
            cache->count = b.count;
        }
        fiber* f = cache->head;
        cache->head = f->next_free;
        --cache->count;
        return f;
    }
    {
        std::lock_guard<spinlock> g(lock_);
        auto it = custom_.find(usable);
        if (it != custom_.end() && it->second) {
            fiber* f = it->second;
            it->second = f->next_free;
            return f;
        }
    }
    return new_slab(usable, 1)->block(0);
}

void stack_pool::put(stack_cache* cache, fiber* f) noexcept {
    if (f->stack_size != default_usable_) {
        std::lock_guard<spinlock> g(lock_);
        fiber*& head = custom_[f->stack_size];
        f->next_free = head;
        head = f;
        return;
    }
    if (!cache) {
        f->next_free = nullptr;
        std::lock_guard<spinlock> g(lock_);
        warm_.push_back({f, 1, coarse_clock_ns()});
        return;
    }
    f->next_free = cache->head;
    cache->head = f;
    if (++cache->count <= stack_cache::capacity) return;
    // Detach the most recently freed batch (their blocks are hot in cache).
    batch b{cache->head, stack_cache::batch};
    fiber* last = cache->head;
    for (int i = 1; i < stack_cache::batch; ++i) last = last->next_free;
    cache->head = last->next_free;
    cache->count -= stack_cache::batch;
    last->next_free = nullptr;
    b.freed_at_ns = coarse_clock_ns();
    std::lock_guard<spinlock> g(lock_);
    warm_.push_back(b);
}

void stack_pool::drain(stack_cache* cache) noexcept {
    if (!cache->head) return;
    std::lock_guard<spinlock> g(lock_);
    warm_.push_back({cache->head, cache->count, coarse_clock_ns()});
    cache->head = nullptr;
    cache->count = 0;
}

void stack_pool::trim_some() noexcept {
    // Keep a few warm batches so a burst of spawns does not fault.
    constexpr std::size_t warm_reserve = 4;
    constexpr std::int64_t idle_before_trim_ns = 1'000'000'000;
    batch b{nullptr, 0};
    {
        std::lock_guard<spinlock> g(lock_);
        if (warm_.size() <= warm_reserve || coarse_clock_ns() - warm_.front().freed_at_ns < idle_before_trim_ns) return;
        b = warm_.front();
        warm_.pop_front();
    }
    for (fiber* f = b.head; f; f = f->next_free) {
        char* top_page = reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(f) & ~(page_ - 1));
        if (top_page > f->stack_low)
            madvise(f->stack_low, static_cast<std::size_t>(top_page - f->stack_low), MADV_DONTNEED);
    }
    std::lock_guard<spinlock> g(lock_);
    trimmed_.push_back(b);
}

}  // namespace goro::detail
