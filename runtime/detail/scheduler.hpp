// runtime/detail/scheduler.hpp — Ps, Ms and the scheduler they share (Go's
// p, m and sched). docs/design.md, "Ps, Ms and sysmon", is the essay.
//
// A processor (P) is a scheduling context: a run queue, a timer heap, a
// stack cache and a batch of fiber ids. `scheduler::procs` Ps exist for the
// whole run. A machine (M) is an OS thread; it runs fibers only while it
// holds a P, and holds at most one. Ms are created on demand (a P handed
// off while its M is stuck needs a fresh thread) and kept as spares.
//
// Invariants and who guards what:
//   - A runnable fiber is in exactly one of: a P's runnext slot, a P's
//     ring, or the global queue.
//   - scheduler::lock guards the idle P list, the idle M list, the list of
//     every M, each M's `in_idle_list`/`next_p`/`next_spinning`, each P's
//     `in_idle_list`/`owner`, the timer waiter and the poll waiter. It is
//     never held while switching or while running user code.
//   - p->status: idle (on the idle list, no owner) and running change under
//     the lock; sysmon takes a P with a CAS under the lock.
//   - m->p is written only by the M itself (it learns of a P handed to it
//     through next_p). A P taken from an M that is outside the runtime is
//     announced through m->revoke, which the M reads whenever it enters the
//     runtime (see "runtime entry" below).
//   - `idle_count` mirrors the idle P list's size and `spinning_count` the
//     Ms looking for work with a P but without any found yet; at most half
//     the busy Ps have a spinning M.
//   - No lost wake-ups: whoever makes work runnable then calls wake_idle();
//     an M that stops spinning or gives up its P re-checks every queue
//     after publishing that it did (seq_cst on both sides, the Dekker
//     pattern of Go's findrunnable).
//   - At most one idle M (the timer waiter) sleeps with a deadline, the
//     earliest timer of all heaps, and at most one (the poll waiter) blocks
//     in the I/O poller; the others sleep until woken.
//
// Runtime entry (how sysmon can take a P from an M without the M paying a
// locked instruction per goro call): an M sets `in_runtime` while it uses
// its P and clears it when it runs user code. sysmon marks `revoke`, then
// runs a process-wide memory barrier (membarrier(2)), then reads
// `in_runtime`: either the M is outside (it will see the mark when it next
// enters) or it is inside (sysmon backs off). The M's side is a plain store
// and a load: the asymmetric form of the Dekker pattern.
#pragma once

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/detail/context_switch.hpp"
#include "runtime/detail/fiber.hpp"
#include "runtime/detail/global_queue.hpp"
#include "runtime/detail/run_queue.hpp"
#include "runtime/detail/stack.hpp"
#include "runtime/detail/timer.hpp"

namespace goro::detail {

struct scheduler;
struct machine;

std::int64_t monotonic_now_ns() noexcept;  // sleep.cpp

// Scheduling-latency histogram bounds (goro_sched_latency_seconds): 1 µs
// to 100 ms in 1-2-5 steps, then +Inf.
inline constexpr std::int64_t latency_bucket_bounds_ns[] = {
    1'000, 2'000, 5'000, 10'000, 20'000, 50'000, 100'000, 200'000, 500'000,
    1'000'000, 2'000'000, 5'000'000, 10'000'000, 20'000'000, 50'000'000, 100'000'000};
inline constexpr std::size_t latency_bucket_count = std::size(latency_bucket_bounds_ns) + 1;
inline constexpr std::uint32_t latency_sample_every = 8;

enum class p_status : std::uint8_t {
    idle,     // on the idle list
    running,  // held by an M that runs fibers or looks for work
};

struct alignas(64) processor {
    processor(scheduler& s, int idx) : sched(s), index(idx) {}

    scheduler& sched;
    const int index;

    run_queue runq;
    timer_heap timers;

    // --- the holding M only (others poll runq and timers) ---
    alignas(64) std::uint32_t schedule_tick = 0;
    std::uint32_t runnext_streak = 0;  // consecutive picks from runnext
    stack_cache stacks;
    std::uint64_t next_fiber_id = 0;  // ids come from the global counter in batches
    std::uint64_t fiber_id_limit = 0;

    // Read by num_fibers(); written by the holding M alone, so a plain load
    // and store (no locked RMW) suffices.
    std::atomic<std::uint64_t> fibers_started{0};
    std::atomic<std::uint64_t> fibers_exited{0};
    static void count(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    // Readied-to-running latency of a sampled fiber (execute).
    void record_latency(std::int64_t ns) noexcept {
        std::size_t i = 0;
        while (i < latency_bucket_count - 1 && ns > latency_bucket_bounds_ns[i]) ++i;
        count(latency_buckets[i]);
        count(latency_sum_ns, static_cast<std::uint64_t>(ns > 0 ? ns : 0));
    }

    // --- counters for goro::write_metrics (the holding M only, with
    // count(): a plain load and store, no locked instruction, on this P's
    // own lines; readers sum every P's, racily, as Go's metrics do) ---
    alignas(64) std::atomic<std::uint64_t> parks[wait_reason_count] = {};
    std::atomic<std::uint64_t> steals{0};         // fibers taken from other Ps
    std::atomic<std::uint64_t> spins{0};          // times this P's M began to spin
    std::atomic<std::uint64_t> global_pushes{0};  // fibers this P's M put on the global queue
    std::atomic<std::uint64_t> poll_wakeups{0};   // fibers the poller readied, queued here
    std::atomic<std::uint64_t> preemptions{0};    // fibers sysmon made yield
    // Scheduling latency (readied to running) of one readied fiber in
    // latency_sample_every, in latency_bucket_bounds_ns buckets (the last
    // is +Inf), with the sum in nanoseconds.
    std::uint32_t ready_tick = 0;
    std::atomic<std::uint64_t> latency_buckets[latency_bucket_count] = {};
    std::atomic<std::uint64_t> latency_sum_ns{0};

    // --- read by sysmon ---
    alignas(64) std::atomic<p_status> status{p_status::idle};
    // Bumped by the holding M each time it switches into a fiber (relaxed:
    // sysmon only compares it with its last look).
    std::atomic<std::uint64_t> switches{0};
    // Written under scheduler::lock; stored with release and read with
    // acquire, since sysmon reads it (and the M behind it) without the lock.
    std::atomic<machine*> owner{nullptr};

    // --- sysmon's private memory of its last look ---
    std::uint64_t seen_switches = 0;
    std::int64_t seen_since_ns = 0;  // when sysmon first saw `seen_switches`

    bool in_idle_list = false;  // scheduler::lock
};

// Bits of machine::revoke.
inline constexpr std::uint32_t revoke_pending = 1;    // sysmon is deciding; wait
inline constexpr std::uint32_t revoke_taken = 2;      // the P is gone
inline constexpr std::uint32_t revoke_abandoned = 4;  // the run has ended

struct alignas(64) machine {
    machine(scheduler& s, int idx) : sched(s), id(idx) {}
    ~machine();  // closes stat_fd
    machine(const machine&) = delete;
    machine& operator=(const machine&) = delete;

    scheduler& sched;
    const int id;

    // --- this M's thread only ---
    processor* p = nullptr;  // the P held, or null
    fiber* current = nullptr;  // fiber running now, or null on the scheduler stack
    ctx::fcontext_t scheduler_context = nullptr;
    stack_bounds scheduler_stack;  // for ASan
    void* asan_fake_stack = nullptr;
    void* tsan_scheduler_fiber = nullptr;
    bool spinning = false;
    std::int64_t coarse_now_ns = 0;  // coarse clock, refreshed every few schedules (park stamps)
    std::uint64_t random_state = 0;
    std::int64_t pass_now_ns = -1;   // the clock, read at most once per pass of find_runnable
    bool counted_without_p = false;  // counted in scheduler::running_without_p
    eh_globals* eh = nullptr;         // this thread's exception state (libstdc++'s __cxa_eh_globals)
    int* errno_slot = nullptr;        // this thread's errno

    // --- the runtime-entry protocol (see the top of this file) ---
    // Written by this M only: true on the scheduler stack and inside
    // runtime_entry, false while its fiber runs user code. Cleared with
    // release so that sysmon, reading false with acquire, sees every use of
    // the P that came before.
    alignas(64) std::atomic<bool> in_runtime{true};
    std::atomic<std::uint32_t> revoke{0};  // revoke_* bits, set by sysmon and run's end
    // The running fiber is asked to yield at its next goro call (sysmon).
    std::atomic<bool> preempt{false};
    // The fiber this M last switched into (relaxed; sysmon reads it only
    // to name a fiber in a stall report).
    std::atomic<fiber*> running_fiber{nullptr};
    // Stall reports (GORO_DEBUG=stalls=1), written by sysmon while the
    // current fiber is stuck and read and cleared by the M when it comes
    // back: when sysmon first saw it stuck (0: not stuck), what sysmon did
    // (stall_* bits), the P's index, and whether the 10 ms line is out.
    std::atomic<std::int64_t> stall_since_ns{0};
    std::atomic<std::uint32_t> stall_actions{0};
    std::atomic<int> stall_p{-1};
    std::atomic<bool> stall_reported{false};

    // --- sleeping (scheduler::lock guards in_idle_list, next_p, next_spinning) ---
    alignas(64) std::atomic<std::uint32_t> wakeup{0};  // futex word: 1 = woken
    bool in_idle_list = false;
    processor* next_p = nullptr;  // the P a waker handed this M
    bool next_spinning = false;   // ... and whether it was counted as spinning
    // Set under the lock while this idle M blocks in the I/O poller rather
    // than on its futex (relaxed: a stale true costs one spurious
    // interrupt, a stale false a futex wake nobody waits for).
    std::atomic<bool> sleeping_in_poll{false};
    std::atomic<bool> exited{false};  // its thread has left the scheduler for good
    std::atomic<int> tid{0};          // its thread's kernel id, for sysmon's look at its state
    // sysmon only: this thread's /proc/self/task/TID/stat, opened at sysmon's
    // first look and kept, so that sysmon never takes a descriptor for a
    // moment from a program that runs its table full (it would free one
    // behind the program's back). -1: not open yet.
    int stat_fd = -1;
    int syscall_fd = -1;  // sysmon only: /proc/self/task/TID/syscall, the same way (traps)
    // A fiber that blocked this thread in the kernel, outside any
    // blocking_scope, while sysmon took its P (GORO_DEBUG=traps): when
    // sysmon first saw it stuck (0: none) and the system call it slept in
    // (-1: unknown). Set by sysmon while the M waits on revoke_pending;
    // read and cleared by the M when its fiber comes back.
    std::atomic<std::int64_t> trap_since_ns{0};
    std::atomic<int> trap_syscall{-1};

    std::thread thread;
};

struct scheduler {
    scheduler(int procs, std::size_t stack_size);
    ~scheduler();

    const int procs;
    const std::uint64_t run_id;  // distinct for every goro::run in the process
    std::vector<std::unique_ptr<processor>> processors;
    stack_pool stacks;
    global_run_queue global_queue;

    alignas(64) std::atomic<int> spinning_count{0};
    alignas(64) std::atomic<int> idle_count{0};  // idle Ps
    std::mutex lock;
    std::vector<processor*> idle_ps;
    std::vector<machine*> idle_ms;
    std::vector<machine*> machines;  // every M of this run, in creation order
    int max_machines = 10000;

    // The idle M sleeping until the earliest timer, and its deadline
    // (INT64_MAX when no M sleeps with a deadline). Guarded by lock; the
    // deadline is also read racily by timer adders.
    machine* timer_waiter = nullptr;
    std::atomic<std::int64_t> timer_waiter_deadline{INT64_MAX};

    // The idle M blocked in the I/O poller (lock), and a lock-free mirror
    // of "someone is", read by Ms deciding whether to poll themselves.
    // last_poll_ns: coarse time of the last poll.
    machine* poll_waiter = nullptr;
    std::atomic<bool> poll_blocked{false};
    std::atomic<std::int64_t> last_poll_ns{0};

    std::atomic<std::uint64_t> fiber_id_source{1};  // fiber 1 is main
    std::atomic<bool> stopping{false};
    fiber* main_fiber = nullptr;
    int main_result = 0;
    std::atomic<std::uint32_t> main_done{0};  // futex word: run's thread waits on it

    // Fibers started and ended by threads holding no P (plain threads, Ms
    // whose P was taken): num_fibers adds them to the Ps' counters.
    std::atomic<std::uint64_t> fibers_started_without_p{0};
    std::atomic<std::uint64_t> fibers_exited_without_p{0};

    // Ms running a fiber while holding no P (sysmon took it while the fiber
    // blocked its thread). Such a fiber is running, never asleep: the
    // deadlock check counts these as able to act.
    std::atomic<int> running_without_p{0};

    // The signal mask of the thread that called run: every M runs with it
    // (Ms are created by whichever thread needs one), while run's own
    // waiting thread and sysmon block asynchronous signals, so signals go
    // to the threads that run fibers (under TSan, a handler runs only when
    // its thread next enters an intercepted call: a thread asleep in a raw
    // futex for good would hold it forever).
    sigset_t user_signal_mask;

    // sysmon: its thread, its futex word (bumped to wake it) and whether it
    // sleeps outright because every P is idle (lock).
    std::thread sysmon_thread;
    std::atomic<std::uint32_t> sysmon_wakeup{0};
    bool sysmon_sleeping = false;

    // Counted by threads holding no P (plain threads, sysmon, Ms whose P
    // was taken), for goro::write_metrics: rare paths, so one shared line.
    std::atomic<std::uint64_t> global_pushes_without_p{0};
    std::atomic<std::uint64_t> poll_wakeups_without_p{0};
    const std::int64_t started_ns = monotonic_now_ns();  // schedtrace's "SCHED <ms>ms"

    // goro::synctest::run (a "bubble": the clock is virtual). `bubble` is
    // fixed for the run; lock guards the rest but the counter.
    //   bubble_waiter:  the fiber in synctest::wait, once parked;
    //   bubble_wait_claimed: some fiber is in synctest::wait (one at a time);
    //   bubble_drainer: main, once its function returned, waiting for the
    //                   other fibers to end;
    //   bubble_failure: what run rethrows (a deadlock, a leak, the first
    //                   exception that escaped a fiber); the first one wins.
    //   bubble_nondurable: fibers waiting on a mutex or rw_mutex, which
    //                   does not count as durably blocked (as in Go).
    bool bubble = false;
    fiber* bubble_waiter = nullptr;
    bool bubble_wait_claimed = false;
    fiber* bubble_drainer = nullptr;
    std::exception_ptr bubble_failure;
    std::atomic<int> bubble_nondurable{0};
};

// ----------------------------------------------------------------- entry

// The M of the calling thread, or null on a plain thread. Never inlined:
// fibers migrate between threads and compilers cache thread-local addresses
// across calls (docs/hacking.md), so runtime code re-reads it after every
// switch through this call.
machine* current_machine() noexcept;

scheduler* active_scheduler() noexcept;

// True once membarrier(2) is known to work (set before the first M starts).
extern std::atomic<bool> membarrier_works;

// Orders this M's store to in_runtime before its load of revoke, against
// sysmon's heavy_barrier (a compiler barrier where membarrier(2) works,
// else a full fence).
inline void light_barrier() noexcept {
    if (membarrier_works.load(std::memory_order_relaxed))
        std::atomic_signal_fence(std::memory_order_seq_cst);
    else
        std::atomic_thread_fence(std::memory_order_seq_cst);
}
void heavy_barrier() noexcept;

// Slow path of runtime_entry: revoke was set. Waits out a pending revoke;
// drops the P if it was taken; never returns if the run has ended (the
// thread leaves the fiber where it is, abandoned, and exits).
void resolve_revoke(machine& m) noexcept;

// Held while the calling code uses the P of its M from a fiber (pushing to
// its run queue, taking a stack from its cache). `p` is null on a plain
// thread and on an M whose P was taken: callers then use the paths a plain
// thread uses. Nests: on the scheduler stack (already inside) it does
// nothing.
struct runtime_entry {
    runtime_entry() noexcept : runtime_entry(current_machine()) {}
    // For a caller that has just read current_machine() itself.
    explicit runtime_entry(machine* self) noexcept : m(self) {
        if (!m) return;
        outer = !m->in_runtime.load(std::memory_order_relaxed);
        if (outer) {
            m->in_runtime.store(true, std::memory_order_relaxed);
            light_barrier();
            if (m->revoke.load(std::memory_order_relaxed) != 0) resolve_revoke(*m);
        }
        p = m->p;
    }
    ~runtime_entry() {
        // (outer implies m; saying so keeps GCC's -Wstringop-overflow quiet
        // under ASan.)
        if (outer && m) m->in_runtime.store(false, std::memory_order_release);
    }
    runtime_entry(const runtime_entry&) = delete;
    runtime_entry& operator=(const runtime_entry&) = delete;

    machine* m;
    processor* p = nullptr;
    bool outer = false;
};

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

// ------------------------------------------------------------- run queues

// Put f on p's run queue (runnext with next); a full ring overflows half of
// itself into the global queue. Returns true when it overflowed.
bool runq_put(processor& p, fiber* f, bool next) noexcept;

// Put f on the caller's run queue (runnext with next) and wake an idle P if
// no M is spinning. From a plain thread or an M without a P, onto the global
// queue. Returns true when the local queue overflowed.
bool make_runnable(fiber* f, bool next) noexcept;
// The same, for a caller that has read current_machine() (null on a plain
// thread, which must hold a plain_thread_scope).
bool make_runnable_from(machine* self, fiber* f, bool next) noexcept;

// --------------------------------------------------------------- idle set
// (runtime/src/idle.cpp)

// Start an M on an idle P if there is one and no M is spinning.
void wake_idle() noexcept;
// Wake an idle M that a waker has just taken off the idle list.
void wake_machine(machine* m) noexcept;
// Under lock: take an idle P (status becomes running, owner m), or null.
processor* pidle_get_locked(scheduler& s, machine* m) noexcept;
// Under lock: put p on the idle list.
void pidle_put_locked(scheduler& s, processor* p) noexcept;
// Under lock: give p to an idle M (or a new one) and wake it. A spinning
// start is counted in spinning_count by the caller.
void start_machine_locked(scheduler& s, processor* p, bool spinning) noexcept;
// Give a P nobody holds to whoever should run it (Go's handoffp): an M if
// it has work, else the idle list. Takes the lock.
void hand_off_p(scheduler& s, processor* p) noexcept;
// A timer due at `when` was added: make sure an idle P's M wakes for it.
void timer_added(scheduler& s, std::int64_t when) noexcept;

// --------------------------------------------------------- finding work
// (runtime/src/find_work.cpp)

// The next fiber for m to run, with m->p set; null when the run stops.
fiber* find_runnable(machine& m);
bool any_work_visible(scheduler& s) noexcept;
std::int64_t earliest_timer(scheduler& s) noexcept;

// ------------------------------------------------------------- machines
// (runtime/src/machine.cpp)

// Create an M (a thread) that starts with p (may be null: then it goes to
// the idle list). Past max_machines: `fatal error: thread exhaustion`.
machine* new_machine_locked(scheduler& s, processor* p, bool spinning);
// The body of every M's thread: schedule until the run stops.
void machine_main(machine& m);

// ------------------------------------------------------------ switching
// (runtime/src/park.cpp)

// Run f on m until it gives the thread back. Returns false when m must
// leave the scheduler (the run ended while f was out of the runtime).
bool execute(machine& m, fiber* f);

// ------------------------------------------------------ spawn and exit
// (runtime/src/spawn.cpp)

void finish_fiber(machine& m, fiber* f) noexcept;

// --------------------------------------------------------------- run end
// (runtime/src/run.cpp)

void stop_all(scheduler& s) noexcept;

// --------------------------------------------------------------- deadlock
// (runtime/src/deadlock.cpp)

// Called by an M that has just idled the last P, with no timer pending.
// Returns true when work showed up meanwhile; reports the deadlock and exits
// when nothing can wake any fiber; returns false when something outside the
// runtime still might (then `recheck` says whether to look again later).
bool check_deadlock(machine& m, bool* recheck);

// Sources of wake-ups for the deadlock detector that later layers report.
void note_wakeup_source(int delta) noexcept;
// Plain threads parked in goro primitives.
void note_parked_thread(int delta) noexcept;

void dump_all_fibers_to_fd(int fd) noexcept;  // async-signal-safe

// A bubble's version of the check (goro::synctest::run), called by the M
// that has just idled the last P, whatever timers or sockets are pending.
// With every fiber durably blocked it readies the fiber in synctest::wait,
// or main once it alone is left, or moves the clock to the earliest timer
// (then returns true: the caller takes a P and runs it), or ends the run
// with a deadlock. Returns false when the caller should sleep.
bool check_bubble(machine& m);
// Ends a bubble's run with `failure` (kept if it is the first) for run to
// rethrow.
void fail_bubble(scheduler& s, std::exception_ptr failure) noexcept;

// --------------------------------------------------------------- clocks

// goro's clock (virtual inside goro::synctest::run) and the machine's,
// for the runtime's own timing: spin budgets, sysmon, futex deadlines.
std::int64_t steady_now_ns() noexcept;
std::int64_t monotonic_now_ns() noexcept;
std::int64_t coarse_clock_ns() noexcept;
// The virtual clock (sleep.cpp): on for a goro::synctest::run, moved
// forward only by the deadlock check once every fiber is durably blocked.
void start_virtual_clock(std::int64_t start_ns) noexcept;
void stop_virtual_clock() noexcept;
void advance_virtual_clock(std::int64_t to_ns) noexcept;

// ----------------------------------------------------------------- debug
// (runtime/src/debug.cpp): GORO_DEBUG, parsed as Go parses GODEBUG.

struct debug_settings {
    int stalls = 0;        // stalls=1: report fibers that hold a P over 10 ms
    int schedtrace_ms = 0; // schedtrace=MS
    int scheddetail = 0;   // scheddetail=1
    // traps=1: name a fiber that blocks its thread in the kernel over 10 ms
    // without a blocking_scope, with the likely cause (a std::mutex, a
    // std::this_thread::sleep_for, a raw read). On by default in a build of
    // goro without NDEBUG; traps=0 turns it off.
#ifdef NDEBUG
    int traps = 0;
#else
    int traps = 1;
#endif
};
const debug_settings& debug() noexcept;

// Go's "fatal error: newosproc": a runtime thread could not be started
// (threads: how many the runtime holds; error: pthread_create's).
[[noreturn]] void fatal_newosproc(std::size_t threads, int error) noexcept;

// Block the asynchronous signals in the calling thread (sysmon, run's
// waiting thread); *old receives the previous mask when not null.
void block_async_signals(sigset_t* old) noexcept;

// Thresholds shared by sysmon and the stall reports.
inline constexpr std::int64_t preempt_after_ns = 10'000'000;

inline constexpr std::uint32_t stall_asked_to_yield = 1;
inline constexpr std::uint32_t stall_handed_off = 2;

// Under lock, for sysmon: give a P nobody holds to whoever should run it.
// Returns the M to wake once the lock is dropped (or null) and, in
// *timer_when, a timer deadline the caller must pass to timer_added.
machine* hand_off_p_locked(scheduler& s, processor* p, std::int64_t* timer_when) noexcept;

}  // namespace goro::detail
