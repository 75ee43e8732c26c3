// runtime/detail/scheduler.hpp — workers, run queues and the scheduler
// (Go's P, runq and sched).
//
// Invariants and who guards what:
//   - A runnable fiber is in exactly one of: a worker's runnext slot, a
//     worker's ring, or the global queue.
//   - run_queue: the owning worker alone pushes (writes tail, and runnext);
//     the owner and thieves pop by CAS on head, and take runnext by CAS.
//   - The global queue (global_queue.hpp) takes overflow from full
//     rings and every fiber made runnable by a plain thread; each worker
//     looks there first once every 61 schedules so it cannot starve.
//   - Idle workers are on `idle_list` (guarded by idle_lock); `idle_count`
//     mirrors its size for lock-free reads. `spinning_count` counts workers
//     that are looking for work without having found any; at most half the
//     busy workers spin.
//   - No lost wake-ups: whoever makes work runnable then calls wake_idle();
//     a worker that stops spinning or goes idle re-checks every queue after
//     publishing that it did (seq_cst on both sides, the Dekker pattern Go's
//     findrunnable uses). See docs/design.md, "Idle and wake-up".
//   - At most one idle worker (the timer waiter) sleeps with a deadline, the
//     earliest timer of all heaps; the others sleep until woken.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/detail/context_switch.hpp"
#include "runtime/detail/fiber.hpp"
#include "runtime/detail/global_queue.hpp"
#include "runtime/detail/stack.hpp"
#include "runtime/detail/timer.hpp"

namespace goro::detail {

// Go's runq: a bounded single-producer, multi-consumer ring plus runnext.
class run_queue {
public:
    static constexpr std::uint32_t capacity = 256;

    // Owner only. With next, f takes runnext and the fiber it displaces goes
    // to the ring's tail. Returns false when the ring is full; then
    // `overflow` holds the fibers to move to the global queue (half the ring
    // and the new one) and `overflow_count` their number.
    bool push(fiber* f, bool next, fiber** overflow, std::uint32_t* overflow_count) noexcept;
    // Owner: runnext first, then the head of the ring (with ring_first, the
    // other way round). from_runnext tells which one it came from.
    fiber* pop(bool ring_first = false, bool* from_runnext = nullptr) noexcept;
    // A thief moves about half of victim's fibers into this (empty) queue and
    // returns one of them to run; runnext is taken only with take_runnext.
    fiber* steal_from(run_queue& victim, bool take_runnext) noexcept;
    bool empty() const noexcept;

private:
    std::uint32_t grab(fiber** batch, bool take_runnext) noexcept;

    // head: CAS by owner and thieves (acquire-release: it releases slots back
    // to the owner). tail: stored by the owner only (release, so a thief that
    // reads it sees the slots written before it).
    alignas(64) std::atomic<std::uint32_t> head_{0};
    alignas(64) std::atomic<std::uint32_t> tail_{0};
    std::atomic<fiber*> runnext_{nullptr};
    // Counts runnext pushes: stored by the owner only (relaxed; it is a
    // hint), read by thieves to see whether runnext was refilled while they
    // waited. A stale read only delays or permits one steal.
    std::atomic<std::uint32_t> runnext_generation_{0};
    std::atomic<fiber*> slots_[capacity]{};
};

struct scheduler;

struct alignas(64) worker {
    explicit worker(scheduler& s, int idx) : sched(s), index(idx) {}

    scheduler& sched;
    const int index;

    run_queue runq;
    timer_heap timers;

    // --- owner only (its own cache lines: others poll runq and timers) ---
    alignas(64) fiber* current = nullptr;        // fiber running now, or null on the scheduler stack
    ctx::fcontext_t scheduler_context = nullptr;
    std::uint32_t schedule_tick = 0;
    std::uint32_t runnext_streak = 0;  // consecutive picks from runnext
    std::uint64_t random_state = 0;
    bool spinning = false;
    std::int64_t coarse_now_ns = 0;  // coarse clock, refreshed every few schedules (park stamps)
    stack_cache stacks;
    std::uint64_t next_fiber_id = 0;  // ids are taken from the global counter in batches
    std::uint64_t fiber_id_limit = 0;
    stack_bounds scheduler_stack;     // for ASan
    void* asan_fake_stack = nullptr;
    void* tsan_scheduler_fiber = nullptr;

    // --- counters read by num_fibers(); written by the owner alone, so a
    // plain load and store (no locked RMW) suffices ---
    std::atomic<std::uint64_t> fibers_started{0};
    std::atomic<std::uint64_t> fibers_exited{0};
    void count(std::atomic<std::uint64_t>& counter) noexcept {
        counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    // --- sleeping (idle_lock guards in_idle_list and woken_spinning) ---
    alignas(64) std::atomic<std::uint32_t> wakeup{0};  // futex word: 1 = woken
    bool in_idle_list = false;
    bool woken_spinning = false;
    // Set under idle_lock while this idle worker blocks in the I/O poller
    // rather than on its futex; read by wakers after they took it off the
    // idle list (relaxed: a stale true costs one spurious interrupt, a stale
    // false a futex wake nobody waits for, once the poll has returned).
    std::atomic<bool> sleeping_in_poll{false};

    std::thread thread;  // not used for worker 0 (the thread that called run)
};

struct scheduler {
    explicit scheduler(int procs, std::size_t stack_size);

    const int procs;
    const std::uint64_t run_id;  // distinct for every goro::run in the process
    std::vector<std::unique_ptr<worker>> workers;
    stack_pool stacks;
    global_run_queue global_queue;

    alignas(64) std::atomic<int> spinning_count{0};
    alignas(64) std::atomic<int> idle_count{0};
    std::mutex idle_lock;
    std::vector<worker*> idle_list;

    // The idle worker sleeping until the earliest timer, and its deadline
    // (INT64_MAX when no worker sleeps with a deadline). Guarded by idle_lock;
    // the deadline is also read racily by timer adders.
    worker* timer_waiter = nullptr;
    std::atomic<std::int64_t> timer_waiter_deadline{INT64_MAX};

    std::atomic<std::uint64_t> fiber_id_source{1};  // fiber 1 is main
    std::atomic<bool> stopping{false};
    // The idle worker blocked in the I/O poller (guarded by idle_lock), and
    // a lock-free mirror of "someone is", read by workers deciding whether
    // to poll themselves. last_poll_ns: coarse time of the last poll.
    worker* poll_waiter = nullptr;
    std::atomic<bool> poll_blocked{false};
    std::atomic<std::int64_t> last_poll_ns{0};

    fiber* main_fiber = nullptr;
    int main_result = 0;

    // Deadlock detection: plain threads blocked in goro primitives, and
    // other sources of wake-ups that later layers register (I/O waiters,
    // blocking calls in flight). See docs/design.md, "Deadlock detection".
    std::atomic<int> blocked_threads{0};
};

// The worker of the calling thread, or null on a plain thread. Never
// inlined: fibers migrate between threads and compilers cache thread-local
// addresses across calls (ENGINEERING.md §3), so runtime code re-reads it
// after every switch through this call.
worker* current_worker() noexcept;

scheduler* active_scheduler() noexcept;

// Held by a plain thread while it uses the scheduler: goro::run does not
// destroy the scheduler until every such scope has ended. `sched` is null when
// no runtime is running.
struct plain_thread_scope {
    plain_thread_scope() noexcept;
    ~plain_thread_scope();
    plain_thread_scope(const plain_thread_scope&) = delete;
    plain_thread_scope& operator=(const plain_thread_scope&) = delete;
    scheduler* sched = nullptr;
};

// Put f on the caller's run queue (runnext with next) and wake an idle worker
// if none is spinning. From a plain thread, onto the global queue. Returns
// true when the local queue overflowed into the global queue.
bool make_runnable(fiber* f, bool next) noexcept;
void wake_idle() noexcept;

// Sources of wake-ups for the deadlock detector that later layers report.
void note_wakeup_source(int delta) noexcept;

void dump_all_fibers_to_fd(int fd) noexcept;  // async-signal-safe

}  // namespace goro::detail
