// runtime/src/run.cpp — a run's start and end: goro::run, the main fiber,
// stopping every M, and abandoning what cannot stop.
//
// Invariants:
//   - the_scheduler is non-null exactly while a run is between its start
//     and the start of its teardown; plain threads hold it through
//     plain_thread_scope, and teardown waits for every such scope to end.
//   - The thread that called goro::run runs no fiber: it waits for the main
//     fiber to return and then tears down. So run returns even when every
//     M is stuck in a call that never comes back.
//   - Teardown destroys the scheduler only after every M has either left
//     it (joined) or been abandoned: marked with revoke_abandoned while
//     outside the runtime (the heavy barrier makes the mark visible at its
//     next entry), after which it never touches the scheduler again. The
//     machine records of abandoned Ms are kept for the process's life, and
//     so are the stacks (their threads may still execute on one).

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include <goro/panic.hpp>
#include <goro/runtime.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/futex.hpp"
#include "runtime/detail/faults.hpp"
#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/sema.hpp"
#include "runtime/detail/signals.hpp"
#include "runtime/detail/trace.hpp"

namespace goro::detail {

fiber* new_fiber(scheduler& s, processor* p, const spawn_options& options, std::size_t size, std::size_t align,
                 const goro::source_location& site, void** storage);  // spawn.cpp
void prime_fiber(fiber* f, void (*run_and_destroy)(void*)) noexcept;
void init_barriers() noexcept;  // machine.cpp
int configured_max_threads() noexcept;
void sysmon_main(scheduler& s);  // sysmon.cpp
io_poller* current_io_poller() noexcept;

namespace {

constexpr std::size_t default_stack_size = 128 * 1024;
constexpr std::int64_t bubble_start_ns = 946'684'800LL * 1'000'000'000;  // 2000-01-01T00:00:00Z
// How long teardown lets running fibers come back to the runtime by
// themselves (they are asked to yield) before it abandons their threads.
constexpr int teardown_grace_rounds = 200;
constexpr auto teardown_grace_round = std::chrono::microseconds(50);

std::atomic<scheduler*> the_scheduler{nullptr};
// Plain threads inside a call that uses the scheduler (goro::go, readying a
// fiber). Teardown clears the_scheduler, then waits for this to drain.
std::atomic<int> plain_thread_users{0};
std::atomic<bool> run_active{false};
std::atomic<abandoned_fiber_hook> channel_abandon_hook{nullptr};
std::atomic<std::uint64_t> run_id_source{1};

// Ms abandoned by ended runs: their threads may still come back to look at
// their record (and find revoke_abandoned), so it is never freed.
std::mutex abandoned_lock;
std::vector<machine*>* abandoned_machines = new std::vector<machine*>;

int default_procs() noexcept {
    if (const char* env = std::getenv("GORO_MAXPROCS")) {
        char* end = nullptr;
        long n = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && n > 0 && n <= 1024) return static_cast<int>(n);
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

// Wait for every M to leave the scheduler or abandon it. Joins those that
// left and returns them (the caller frees them once no plain thread can
// still be waking one); *abandoned_any says whether any was abandoned.
std::vector<machine*> stop_machines(scheduler& s, bool* abandoned_any_out) {
    std::vector<machine*> machines;
    {
        std::lock_guard<std::mutex> g(s.lock);
        machines = s.machines;
    }
    auto all_exited = [&] {
        for (machine* m : machines)
            if (!m->exited.load(std::memory_order_acquire)) return false;
        return true;
    };
    for (int round = 0; round < teardown_grace_rounds && !all_exited(); ++round)
        std::this_thread::sleep_for(teardown_grace_round);

    bool abandoned_any = false;
    std::vector<machine*> finished;
    for (machine* m : machines) {
        if (m->exited.load(std::memory_order_acquire)) {
            finished.push_back(m);
            continue;
        }
        m->revoke.fetch_or(revoke_abandoned, std::memory_order_seq_cst);
        heavy_barrier();
        // Inside the runtime it is either leaving the scheduler (it saw
        // `stopping`) or finishing a short section; once outside, it sees
        // the mark at its next entry.
        while (m->in_runtime.load(std::memory_order_acquire) && !m->exited.load(std::memory_order_acquire))
            sched_yield();
        if (m->exited.load(std::memory_order_acquire)) {
            finished.push_back(m);
            continue;
        }
        m->thread.detach();
        abandoned_any = true;
        std::lock_guard<std::mutex> g(abandoned_lock);
        abandoned_machines->push_back(m);
    }
    for (machine* m : finished) m->thread.join();
    *abandoned_any_out = abandoned_any;
    return finished;
}

}  // namespace

scheduler::scheduler(int n, std::size_t stack_size)
    : procs(n), run_id(run_id_source.fetch_add(1, std::memory_order_relaxed)), stacks(stack_size) {
    processors.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) processors.push_back(std::make_unique<processor>(*this, i));
}

scheduler::~scheduler() = default;

scheduler* active_scheduler() noexcept { return the_scheduler.load(std::memory_order_acquire); }

plain_thread_scope::plain_thread_scope() noexcept {
    plain_thread_users.fetch_add(1, std::memory_order_seq_cst);
    sched = the_scheduler.load(std::memory_order_seq_cst);
}

plain_thread_scope::~plain_thread_scope() { plain_thread_users.fetch_sub(1, std::memory_order_release); }

void set_abandoned_fiber_hook(abandoned_fiber_hook hook) noexcept {
    channel_abandon_hook.store(hook, std::memory_order_release);
}

void stop_all(scheduler& s) noexcept {
    std::vector<machine*> sleepers;
    {
        std::lock_guard<std::mutex> g(s.lock);
        s.stopping.store(true, std::memory_order_seq_cst);
        sleepers.swap(s.idle_ms);
        for (machine* m : sleepers) {
            m->in_idle_list = false;
            m->next_p = nullptr;
        }
        s.timer_waiter = nullptr;
        s.timer_waiter_deadline.store(INT64_MAX, std::memory_order_release);
        // Fibers running now come back at their next goro call.
        for (machine* m : s.machines) m->preempt.store(true, std::memory_order_relaxed);
        s.sysmon_sleeping = false;
    }
    for (machine* m : sleepers) wake_machine(m);
    s.sysmon_wakeup.fetch_add(1, std::memory_order_release);
    futex_wake(s.sysmon_wakeup, 1);
}

void main_fiber_returned(scheduler& s) noexcept {
    stop_all(s);
    s.main_done.store(1, std::memory_order_release);
    futex_wake(s.main_done, 1);
}

void drain_bubble(scheduler& s);  // synctest.cpp

namespace {

// goro::run, and goro::synctest::run when `bubble`.
int run_runtime(const config& cfg, int (*invoke_main)(void*), void* main_callable, const goro::source_location& site,
                bool bubble) {
    const char* const who = bubble ? "goro::synctest::run" : "goro::run";
    if (current_machine()) throw panic_error(std::string(who) + ": called from inside a fiber");
    bool expected = false;
    if (!run_active.compare_exchange_strong(expected, true))
        throw panic_error(std::string(who) + ": another runtime is already running in this process");
    struct clear_active {
        ~clear_active() { run_active.store(false); }
    } clear_on_exit;

    init_barriers();
    const int n = cfg.procs > 0 ? cfg.procs : default_procs();
    auto s = std::make_unique<scheduler>(n, cfg.stack_size ? cfg.stack_size : default_stack_size);
    s->max_machines = configured_max_threads();
    s->bubble = bubble;
    install_signal_handlers();
    // A bubble's clock starts at a fixed instant (Go's: 2000-01-01 00:00 UTC,
    // as nanoseconds of the steady clock), whatever the machine's says.
    struct virtual_clock_scope {
        bool on;
        explicit virtual_clock_scope(bool b) : on(b) {
            if (on) start_virtual_clock(bubble_start_ns);
        }
        ~virtual_clock_scope() {
            if (on) stop_virtual_clock();
        }
    } clock_scope(bubble);

    // The main fiber: id 1 (the first id of P0's first batch), queued on P0.
    // In a bubble, main catches what its function throws (run rethrows it)
    // and, once the function has returned, waits for every other fiber.
    struct main_task {
        int (*invoke)(void*);
        void* callable;
        int* result;
        scheduler* bubble;
        void operator()() const {
            if (!bubble) {
                *result = invoke(callable);
                return;
            }
            try {
                *result = invoke(callable);
            } catch (...) {
                fail_bubble(*bubble, std::current_exception());
                return;
            }
            drain_bubble(*bubble);
        }
    };
    processor& first = *s->processors[0];
    void* storage = nullptr;
    fiber* main = new_fiber(*s, &first, spawn_options{.stack_size = 0, .name = "main"}, sizeof(main_task),
                            alignof(main_task), site, &storage);
    ::new (storage) main_task{invoke_main, main_callable, &s->main_result, bubble ? s.get() : nullptr};
    s->main_fiber = main;
    prime_fiber(main, &run_and_destroy<main_task>);
    processor::count(first.fibers_started);
    runq_put(first, main, true);

    // This thread waits for main; it is the runtime's, not a user thread
    // that could act, for the deadlock check.
    note_runtime_thread(1);
    struct uncount_thread {
        ~uncount_thread() { note_runtime_thread(-1); }
    } uncount_on_exit;
    sigset_t caller_mask;
    block_async_signals(&caller_mask);
    s->user_signal_mask = caller_mask;
    struct restore_mask {
        sigset_t mask;
        ~restore_mask() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
    } restore_on_exit{caller_mask};
    trace_run_started();  // GORO_TRACE: before the first M runs main
    {
        std::lock_guard<std::mutex> g(s->lock);
        for (int i = n - 1; i >= 1; --i) pidle_put_locked(*s, s->processors[static_cast<std::size_t>(i)].get());
        first.status.store(p_status::running, std::memory_order_release);
        the_scheduler.store(s.get(), std::memory_order_release);
        try {
            new_machine_locked(*s, &first, false);  // throws if not even one thread can start
        } catch (...) {
            the_scheduler.store(nullptr, std::memory_order_seq_cst);
            trace_run_ending();
            throw;
        }
    }
    note_runtime_thread(1);
    try {
        inject_thread_create_fault();
        s->sysmon_thread = std::thread([sp = s.get()] {
            pthread_setname_np(pthread_self(), "goro-sysmon");
            sysmon_main(*sp);
            note_runtime_thread(-1);
        });
    } catch (const std::system_error& e) {
        // main already runs: as Go's newm for sysmon, this is fatal.
        std::size_t threads = 0;
        {
            std::lock_guard<std::mutex> g(s->lock);
            threads = s->machines.size();
        }
        fatal_newosproc(threads, e.code().value());
    }

    while (s->main_done.load(std::memory_order_acquire) == 0) futex_wait(s->main_done, 0, -1);

    s->sysmon_thread.join();  // first: sysmon reads the Ms' records
    bool abandoned_any = false;
    const std::vector<machine*> finished = stop_machines(*s, &abandoned_any);
    the_scheduler.store(nullptr, std::memory_order_seq_cst);
    // A plain thread that loaded the scheduler before it was cleared may
    // still be inside goro::go or ready() (waking an M, say); let it finish
    // first.
    while (plain_thread_users.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    // The Ms are done recording and no plain thread can start a trace any
    // more: finish the file of any trace still on.
    trace_run_ending();
    for (machine* m : finished) delete m;
    // Waiter records of abandoned fibers must not outlive their stacks.
    sema_forget_fibers();
    if (io_poller* p = current_io_poller()) p->forget_fibers();
    // Fibers still alive are abandoned, as in Go: their stacks go away with
    // the pool. The channels layer unlinks the records of those parked in a
    // channel operation (waiting, or readied but not run again: a select that
    // won through one channel still has records queued on the rest); TSan
    // forgets every context. A fiber still `running` is on an abandoned M,
    // which may hold a channel's lock: it is left alone, stack and all.
    const abandoned_fiber_hook hook = channel_abandon_hook.load(std::memory_order_acquire);
    for (stack_slab* slab = s->stacks.slabs(); slab; slab = slab->next)
        for (std::size_t i = 0; i < slab->slots; ++i) {
            fiber* f = slab->block(i);
            const fiber_state state = f->state.load(std::memory_order_acquire);
            if (state == fiber_state::running) continue;
            if (hook && f->channel_waiters && state != fiber_state::dead) hook(f);
            tsan_destroy_fiber(f->tsan_fiber);
        }
    for (auto& p : s->processors) s->stacks.drain(&p->stacks);
    if (abandoned_any) s->stacks.keep_all_mapped();
    if (s->bubble_failure) std::rethrow_exception(s->bubble_failure);
    return s->main_result;
}

}  // namespace

int run_main(const config& cfg, int (*invoke_main)(void*), void* main_callable,
             const goro::source_location& site) {
    return run_runtime(cfg, invoke_main, main_callable, site, false);
}

int run_bubble(const config& cfg, int (*invoke_main)(void*), void* main_callable,
               const goro::source_location& site) {
    return run_runtime(cfg, invoke_main, main_callable, site, true);
}

}  // namespace goro::detail

// ------------------------------------------------------------- public API

namespace goro {

std::size_t num_fibers() noexcept {
    detail::scheduler* s = detail::active_scheduler();
    if (!s) return 0;
    std::uint64_t started = s->fibers_started_without_p.load(std::memory_order_relaxed);
    std::uint64_t exited = s->fibers_exited_without_p.load(std::memory_order_relaxed);
    for (auto& p : s->processors) {
        started += p->fibers_started.load(std::memory_order_relaxed);
        exited += p->fibers_exited.load(std::memory_order_relaxed);
    }
    return started > exited ? static_cast<std::size_t>(started - exited) : 0;
}

int procs() noexcept {
    if (detail::scheduler* s = detail::active_scheduler()) return s->procs;
    return detail::default_procs();
}

std::uint64_t fiber_id() noexcept {
    detail::fiber* f = detail::current_fiber();
    return f ? f->id.load(std::memory_order_relaxed) : 0;
}

}  // namespace goro
