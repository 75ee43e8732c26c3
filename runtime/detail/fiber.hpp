// runtime/detail/fiber.hpp — the fiber control block (Go's g) and the
// record a plain thread uses when it blocks on a goro primitive.
//
// Invariants:
//   - A fiber's control block lives at the top of its own stack, inside the
//     page a parked fiber touches anyway, so a parked fiber that used little
//     stack costs one resident page. The block outlives the fiber: a dead
//     block sits in a stack pool until the stack is reused, and the fiber
//     dump walks every block of every stack slab (Go's allgs).
//   - `state` is the single source of truth for who may touch the fiber:
//       dead      in a pool, or being initialised by its spawner;
//       runnable  on exactly one run queue (or runnext slot);
//       running   owned by the M whose `current` it is;
//       waiting   parked: only ready() may move it on, by CAS waiting→runnable.
//     Only the M running a fiber sets running→waiting, and only on its
//     scheduler stack after the switch (the park protocol, docs/design.md).
//   - Fields under "owner" are touched only by the M running the fiber or
//     by its spawner before start_fiber publishes it. Fields the dump reads
//     from other threads are atomics (relaxed: the dump is a snapshot).
//   - A thread_parker stands in for a plain thread: the same waiter records
//     and ready() serve both, so channels and sync code need not care which
//     kind of waiter they hold.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <boost/context/detail/fcontext.hpp>

namespace goro::detail {

namespace ctx = boost::context::detail;

enum class fiber_state : std::uint8_t { dead, runnable, running, waiting };

// Why a fiber is waiting, as the dump and the deadlock report print it.
enum class wait_reason : std::uint8_t {
    none,
    sleep,
    mutex,
    rw_mutex_read,
    rw_mutex_write,
    wait_group,
    cond,
    chan_receive,
    chan_send,
    chan_receive_nil,
    chan_send_nil,
    select,
    select_no_cases,
    io_wait,
    blocking_call,
    synctest_wait,  // goro::synctest::wait
    synctest_run,   // main of goro::synctest::run, waiting for the others to end
};
inline constexpr std::size_t wait_reason_count = static_cast<std::size_t>(wait_reason::synctest_run) + 1;

const char* wait_reason_name(wait_reason r) noexcept;
const char* fiber_state_name(fiber_state s) noexcept;

// libstdc++'s per-thread exception state (__cxa_eh_globals). A fiber that is
// switched out inside a catch block carries its caught-exception chain with it
// to whichever M resumes it.
struct eh_globals {
    void* caught_exceptions = nullptr;
    unsigned int uncaught_exceptions = 0;
};

// Kept lean and first-fields-hot: it shares the fiber's top stack page.
struct alignas(64) fiber {
    // --- owner ---
    ctx::fcontext_t context = nullptr;  // saved registers while not running
    void (*run_and_destroy)(void*) = nullptr;
    void* callable = nullptr;
    eh_globals exceptions;
    // errno is the thread's; the fiber's travels with it, so that a value
    // read after a park is the fiber's own, whichever M resumed it.
    int saved_errno = 0;
    fiber* next_free = nullptr;  // stack pool link while dead
    struct local_slots* locals = nullptr;  // goro::fiber_local values, created on first use
    // While parked in a channel operation: its waiter records (channels
    // layer), so a stopping runtime can take abandoned fibers off queues.
    void* channel_waiters = nullptr;
    std::uint32_t channel_waiter_count = 0;
    // The stack of the fiber's last throw, for its panic report (traceback.cpp);
    // allocated at its first throw, freed when it exits.
    struct throw_record* last_throw = nullptr;
    bool callable_on_heap = false;  // too large for the stack top
    std::uint32_t callable_align = 0;  // for the aligned delete of a heap callable

    // --- read by others (dump, ready, steal) ---
    std::atomic<fiber_state> state{fiber_state::dead};
    std::atomic<wait_reason> reason{wait_reason::none};
    bool is_thread = false;             // a thread_parker, not a fiber
    std::atomic<std::uint64_t> id{0};
    std::atomic<std::int64_t> waiting_since_ns{0};  // coarse clock, for dumps
    std::atomic<const char*> site_file{nullptr};
    std::atomic<const char*> site_function{nullptr};
    std::atomic<std::uint32_t> site_line{0};
    std::atomic<const char*> name{nullptr};
    // When it was readied (machine clock), for one fiber in
    // latency_sample_every; 0 when not sampled. Written by the readier
    // before the fiber is queued, read and cleared by the M that runs it.
    std::int64_t readied_ns = 0;
    // The execution trace's flow from whoever readied it (0: none), by the
    // same rule: written by the readier before the fiber is queued, read
    // and cleared by the M that runs it (runtime/detail/trace.hpp).
    std::uint64_t trace_flow = 0;

    // --- stack geometry (fixed for the block's life) ---
    char* stack_low = nullptr;   // lowest usable byte (just above the guard page)
    std::size_t stack_size = 0;  // usable bytes, guard excluded
    std::size_t guard_size = 0;

    // --- sanitizer bookkeeping ---
    void* asan_fake_stack = nullptr;
    void* tsan_fiber = nullptr;
};

// The record a plain (non-fiber) thread parks with. Fields shared with fiber
// are used the same way; `wakeup` is a futex word: 1 once the thread may go on.
struct thread_parker : fiber {
    std::atomic<std::uint32_t> wakeup{0};
    thread_parker() { is_thread = true; }
};

}  // namespace goro::detail
