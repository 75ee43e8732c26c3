// runtime/src/scheduler.cpp — the M:N scheduler: worker loops, switching,
// spawning, park/ready, the idle protocol, sleeping and the deadlock check.
//
// The design follows Go's proc.go; docs/design.md is the essay. In brief:
//   - Each worker thread runs schedule loop on its own (scheduler) stack and
//     switches into one fiber at a time. A fiber gives the worker back by
//     jumping to the scheduler stack with a switch_request; the request is
//     carried out there, after the fiber's stack is no longer in use: this is
//     what makes parking safe (ENGINEERING.md §2).
//   - find_runnable looks, in order: every 61st time the global queue; the
//     local queue; the global queue; other workers' queues (stealing half,
//     spinning bounded to half the busy workers); then goes idle.
//   - Going idle publishes idleness first and re-checks every queue after,
//     so a concurrent make_runnable + wake_idle cannot be missed.
//
// Locks: scheduler::idle_lock guards the idle list, in_idle_list,
// woken_spinning and the timer waiter. It is never held while switching or
// while running user code. Timer heaps have their own spinlocks.

#include "runtime/detail/scheduler.hpp"

#include <cxxabi.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <ostream>
#include <string>
#include <typeinfo>

#include <goro/panic.hpp>
#include <goro/runtime.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/futex.hpp"
#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/park.hpp"
#include "runtime/detail/sema.hpp"
#include "runtime/detail/signals.hpp"

namespace goro::detail {

namespace {

constexpr std::size_t default_stack_size = 128 * 1024;
constexpr std::uint32_t global_queue_check_interval = 61;
constexpr std::uint32_t runnext_streak_limit = 61;
constexpr int steal_rounds = 4;
constexpr std::int64_t spin_budget_ns = 20'000;  // a futex wake costs 33–63 µs here
constexpr std::int64_t deadlock_recheck_ns = 50'000'000;
constexpr std::uint64_t fiber_id_batch = 16;
constexpr std::size_t heap_callable_threshold = 16 * 1024;
constexpr std::int64_t tsan_idle_slice_ns = 50'000'000;
// A busy worker polls for I/O itself when nobody has for this long.
constexpr std::int64_t busy_poll_interval_ns = 1'000'000;

// initial-exec: read on every switch, park and ready; the default model of
// position-independent code would call __tls_get_addr each time. The cost is
// a few bytes of static TLS, which a library loaded by dlopen may not get.
__attribute__((tls_model("initial-exec"))) thread_local worker* this_thread_worker = nullptr;
__attribute__((tls_model("initial-exec"))) thread_local thread_parker* this_thread_parker = nullptr;

std::atomic<scheduler*> the_scheduler{nullptr};
// Plain threads inside a call that uses the scheduler (goro::go, readying a
// fiber). run_main clears the_scheduler, then waits for this to drain before
// destroying the scheduler.
std::atomic<int> plain_thread_users{0};
std::atomic<bool> run_active{false};
std::atomic<abandoned_fiber_hook> channel_abandon_hook{nullptr};
std::atomic<std::uint64_t> foreign_spawns{0};  // fibers started by plain threads, this run

// Plain threads parked in goro primitives (all runs): the deadlock check
// counts them as unable to wake anyone.
std::atomic<int> parked_threads{0};
// Wake-up sources registered by other layers (I/O waiters, blocking calls).
std::atomic<int> external_wakeup_sources{0};
// The netpoller, once the first socket exists (it serves every run), and
// the helper threads the runtime owns (not user threads that could act).
std::atomic<io_poller*> the_io_poller{nullptr};
std::atomic<int> runtime_threads{0};

enum class switch_kind : std::uint8_t { yield, park, exit };

struct switch_request {
    switch_kind kind;
    park_commit commit = nullptr;
    void* arg = nullptr;
};

// libstdc++ keeps the caught-exception chain per thread; it must travel with
// the fiber. The accessor is declared const, so a compiler may reuse its
// result: call it only on the scheduler stack, which never changes thread.
eh_globals* thread_eh_globals() noexcept { return reinterpret_cast<eh_globals*>(abi::__cxa_get_globals()); }

std::uint64_t next_random(std::uint64_t& s) noexcept {
    // xorshift64*: cheap victim selection.
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
}

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

thread_parker* this_thread_waiter() {
    if (!this_thread_parker) {
        // One per plain thread, freed when the thread exits.
        static thread_local std::unique_ptr<thread_parker> owner;
        owner = std::make_unique<thread_parker>();
        this_thread_parker = owner.get();
    }
    return this_thread_parker;
}

// ---------------------------------------------------------------- switching

void finish_fiber(worker& w, fiber* f) noexcept;
void stop_all(scheduler& s) noexcept;

// Leave the running fiber for the scheduler stack of the worker that runs it.
// Returns when some worker resumes the fiber (never for exit).
void switch_to_scheduler(fiber* self, switch_request* request) noexcept {
    worker* w = current_worker();
    asan_start_switch(request->kind == switch_kind::exit ? nullptr : &self->asan_fake_stack, w->scheduler_stack);
    tsan_switch_to(w->tsan_scheduler_fiber);
    ctx::transfer_t from = ctx::jump_fcontext(w->scheduler_context, request);
    // Resumed, perhaps by another worker: it passed itself as the data.
    auto* resumer = static_cast<worker*>(from.data);
    resumer->scheduler_context = from.fctx;
    asan_finish_switch(self->asan_fake_stack);
}

// Give the worker back and go to the tail of its run queue (Go's Gosched).
void yield_fiber(fiber* self) noexcept {
    switch_request request{switch_kind::yield};
    switch_to_scheduler(self, &request);
}

[[noreturn]] void report_panic(fiber* f) noexcept;

void fiber_main(ctx::transfer_t from) noexcept {
    auto* w = static_cast<worker*>(from.data);
    w->scheduler_context = from.fctx;
    fiber* self = w->current;
    asan_finish_switch(nullptr);
    try {
        self->run_and_destroy(self->callable);
        // fiber_local values die with the fiber, on its own stack: their
        // destructors may park or throw like any fiber code.
        destroy_fiber_locals(self);
    } catch (...) {
        report_panic(self);
    }
    switch_request exit_request{switch_kind::exit};
    switch_to_scheduler(self, &exit_request);
    GORO_FATAL("runtime: a dead fiber was resumed");
}

}  // namespace

// ------------------------------------------------------------ accessors

__attribute__((noinline)) worker* current_worker() noexcept {
    // The empty asm keeps the compiler from treating this as a pure function
    // whose result could be reused across a switch.
    asm volatile("" ::: "memory");
    return this_thread_worker;
}

scheduler* active_scheduler() noexcept { return the_scheduler.load(std::memory_order_acquire); }

plain_thread_scope::plain_thread_scope() noexcept {
    plain_thread_users.fetch_add(1, std::memory_order_seq_cst);
    sched = the_scheduler.load(std::memory_order_seq_cst);
}

plain_thread_scope::~plain_thread_scope() { plain_thread_users.fetch_sub(1, std::memory_order_release); }

fiber* current_fiber() noexcept {
    worker* w = current_worker();
    return w ? w->current : nullptr;
}

fiber* current_waiter() noexcept {
    if (fiber* f = current_fiber()) return f;
    return this_thread_waiter();
}

void set_abandoned_fiber_hook(abandoned_fiber_hook hook) noexcept {
    channel_abandon_hook.store(hook, std::memory_order_release);
}

void note_wakeup_source(int delta) noexcept { external_wakeup_sources.fetch_add(delta, std::memory_order_acq_rel); }

void install_io_poller(io_poller* poller) noexcept { the_io_poller.store(poller, std::memory_order_release); }

void note_runtime_thread(int delta) noexcept { runtime_threads.fetch_add(delta, std::memory_order_acq_rel); }

void note_io_park() noexcept {
    worker* w = current_worker();
    if (!w || w->sched.poll_blocked.load(std::memory_order_relaxed)) return;
    if (w->sched.idle_count.load(std::memory_order_relaxed) == 0) return;
    wake_idle();  // the woken spinner finds nothing, goes idle and polls
}

namespace {

// Wake an idle worker that a waker has just taken off the idle list: through
// the poller if it is blocked there, else through its futex.
void wake_worker(worker* w) noexcept {
    w->wakeup.store(1, std::memory_order_seq_cst);
    if (w->sleeping_in_poll.load(std::memory_order_seq_cst)) {
        if (io_poller* p = the_io_poller.load(std::memory_order_acquire)) p->interrupt();
        return;
    }
    futex_wake(w->wakeup, 1);
}

}  // namespace

// ------------------------------------------------------------- run queues

namespace {
std::atomic<std::uint64_t> run_id_source{1};
}

scheduler::scheduler(int n, std::size_t stack_size)
    : procs(n), run_id(run_id_source.fetch_add(1, std::memory_order_relaxed)), stacks(stack_size) {
    workers.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) workers.push_back(std::make_unique<worker>(*this, i));
}

void wake_idle() noexcept {
    scheduler* s = active_scheduler();
    if (!s) return;
    if (s->idle_count.load(std::memory_order_seq_cst) == 0) return;
    int none = 0;
    if (s->spinning_count.load(std::memory_order_seq_cst) != 0 ||
        !s->spinning_count.compare_exchange_strong(none, 1, std::memory_order_seq_cst))
        return;
    worker* w = nullptr;
    {
        std::lock_guard<std::mutex> g(s->idle_lock);
        if (!s->idle_list.empty()) {
            // The most recently idle worker (warmest cache), but not the
            // one blocked in the poller if another can come: it keeps
            // watching the sockets meanwhile.
            auto it = s->idle_list.end() - 1;
            if (*it == s->poll_waiter && s->idle_list.size() > 1) --it;
            w = *it;
            s->idle_list.erase(it);
            w->in_idle_list = false;
            w->woken_spinning = true;
            s->idle_count.fetch_sub(1, std::memory_order_seq_cst);
        }
    }
    if (!w) {
        s->spinning_count.fetch_sub(1, std::memory_order_seq_cst);
        return;
    }
    wake_worker(w);
}

bool make_runnable(fiber* f, bool next) noexcept {
    worker* w = current_worker();
    if (!w) {
        // A plain thread: the global queue, then make sure a worker looks.
        plain_thread_scope scope;
        if (!scope.sched) GORO_FATAL("runtime: a fiber was readied after its runtime stopped");
        scope.sched->global_queue.enqueue(f);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        wake_idle();
        return false;
    }
    scheduler* s = &w->sched;
    fiber* overflow[run_queue::capacity / 2 + 1];
    std::uint32_t overflow_count = 0;
    const bool overflowed = !w->runq.push(f, next, overflow, &overflow_count);
    if (overflowed) s->global_queue.enqueue_bulk(overflow, overflow_count);
    // Dekker with go_idle: our push, then the idle workers' state. A runnext
    // push is a seq_cst exchange already. A plain ring push (a yield) needs
    // no fence: this busy worker runs it anyway, the fence would only help an
    // idle one steal it sooner, and it costs a third of a yield.
    if (overflowed) std::atomic_thread_fence(std::memory_order_seq_cst);
    wake_idle();
    return overflowed;
}

void ready(fiber* waiter) noexcept {
    if (waiter->is_thread) {
        auto* p = static_cast<thread_parker*>(waiter);
        // The waker, not the thread, un-counts it: from this moment the
        // thread can act, and the deadlock check must know at once.
        parked_threads.fetch_sub(1, std::memory_order_acq_rel);
        p->wakeup.store(1, std::memory_order_release);
        futex_wake(p->wakeup, 1);
        return;
    }
    // A plain thread keeps the scheduler (and so the fiber's stack) alive
    // across the whole hand-off; make_runnable nests its own scope.
    std::optional<plain_thread_scope> scope;
    if (!current_worker()) {
        scope.emplace();
        if (!scope->sched) GORO_FATAL("runtime: a fiber was readied after its runtime stopped");
    }
    // Exactly one party readies a parked fiber (whoever took its waiter
    // record off a queue, under that queue's lock), so a check and a store
    // suffice where a CAS would cost a locked instruction on every hand-off.
    // The check still catches a double ready in the common interleavings.
    if (waiter->state.load(std::memory_order_acquire) != fiber_state::waiting)
        GORO_FATAL("runtime: ready of a fiber that is not waiting");
    waiter->state.store(fiber_state::runnable, std::memory_order_release);
    make_runnable(waiter, true);
}

// -------------------------------------------------------------- the worker

namespace {

class worker_loop {
public:
    explicit worker_loop(worker& w) : w_(w), s_(w.sched) {}

    void run() {
        while (fiber* f = find_runnable()) execute(f);
    }

private:
    // Run f until it gives the worker back, then carry out its request.
    void execute(fiber* f) {
        for (;;) {
            w_.current = f;
            f->state.store(fiber_state::running, std::memory_order_relaxed);
            *eh_globals_ = f->exceptions;
            asan_start_switch(&w_.asan_fake_stack, {f->stack_low, f->stack_size});
            tsan_switch_to(f->tsan_fiber);
            ctx::transfer_t back = ctx::jump_fcontext(f->context, &w_);
            asan_finish_switch(w_.asan_fake_stack);
            f->context = back.fctx;
            f->exceptions = *eh_globals_;
            *eh_globals_ = {};
            w_.current = nullptr;

            const switch_request request = *static_cast<switch_request*>(back.data);
            switch (request.kind) {
            case switch_kind::yield:
                if (nothing_else_to_run()) {
                    // find_runnable would pop f straight back: skip the
                    // queue round trip, not the switch.
                    ++w_.schedule_tick;
                    continue;
                }
                f->state.store(fiber_state::runnable, std::memory_order_relaxed);
                make_runnable(f, false);
                return;
            case switch_kind::exit:
                finish_fiber(w_, f);
                return;
            case switch_kind::park:
                f->state.store(fiber_state::waiting, std::memory_order_release);
                // From here f may be readied by whoever sees it once commit
                // publishes it: do not touch f after a successful commit.
                if (!request.commit || request.commit(request.arg)) return;
                f->state.store(fiber_state::running, std::memory_order_relaxed);
                continue;  // commit declined: resume f at once
            }
        }
    }

    // True when a yielding fiber would be the next one picked anyway: no
    // local or global work, no timer of ours due, not stopping.
    bool nothing_else_to_run() {
        if (!w_.runq.empty() || s_.global_queue.size_approx() != 0) return false;
        if (s_.stopping.load(std::memory_order_relaxed)) return false;
        std::int64_t when = w_.timers.earliest_ns.load(std::memory_order_relaxed);
        return when == INT64_MAX || when > steady_now_ns();
    }

    fiber* found(fiber* f) {
        if (w_.spinning) {
            w_.coarse_now_ns = coarse_clock_ns();  // it may have idled a while
            // The last spinner to find work wakes another, since there may be more.
            w_.spinning = false;
            if (s_.spinning_count.fetch_sub(1, std::memory_order_seq_cst) == 1) wake_idle();
        }
        return f;
    }

    // The clock is read at most once per pass of find_runnable, and only
    // when some timer is pending: a vDSO clock read costs 20-50 ns here.
    std::int64_t pass_now_ = -1;
    std::int64_t now() {
        if (pass_now_ < 0) pass_now_ = steady_now_ns();
        return pass_now_;
    }

    void run_own_timers() {
        if (w_.timers.earliest_ns.load(std::memory_order_relaxed) == INT64_MAX) return;
        w_.timers.run_expired(now(), false);
    }

    // Timers of a busy worker must not wait for it to get round to them.
    int run_expired_timers_everywhere() {
        int fired = 0;
        for (auto& v : s_.workers) {
            if (v->timers.earliest_ns.load(std::memory_order_acquire) == INT64_MAX) continue;
            fired += v->timers.run_expired(now(), v.get() != &w_);
        }
        return fired;
    }

    fiber* take_from_global() {
        if (s_.global_queue.size_approx() == 0) return nullptr;
        // Take a fair share into the local queue, as Go's globrunqget does.
        std::size_t want = s_.global_queue.size_approx() / static_cast<std::size_t>(s_.procs) + 1;
        want = std::min<std::size_t>(want, run_queue::capacity / 2);
        fiber* batch[run_queue::capacity / 2];
        std::size_t n = s_.global_queue.try_dequeue_bulk(batch, want);
        if (n == 0) return nullptr;
        for (std::size_t i = 1; i < n; ++i) {
            fiber* overflow[run_queue::capacity / 2 + 1];
            std::uint32_t overflow_count = 0;
            if (!w_.runq.push(batch[i], false, overflow, &overflow_count))
                s_.global_queue.enqueue_bulk(overflow, overflow_count);
        }
        return batch[0];
    }

    fiber* steal_work() {
        const int n = s_.procs;
        if (n == 1) return nullptr;
        for (int round = 0; round < steal_rounds; ++round) {
            const bool last_round = round == steal_rounds - 1;
            int start = static_cast<int>(next_random(w_.random_state) % static_cast<std::uint64_t>(n));
            for (int i = 0; i < n; ++i) {
                worker& victim = *s_.workers[static_cast<std::size_t>((start + i) % n)];
                if (&victim == &w_) continue;
                if (s_.stopping.load(std::memory_order_relaxed)) return nullptr;
                // Timers of a busy worker must not wait for it: run them here.
                if (victim.timers.earliest_ns.load(std::memory_order_relaxed) != INT64_MAX &&
                    victim.timers.run_expired(steady_now_ns(), true) > 0) {
                    if (fiber* f = w_.runq.pop()) return f;
                }
                if (fiber* f = w_.runq.steal_from(victim.runq, last_round)) return f;
            }
        }
        return nullptr;
    }

    bool any_work_visible() {
        if (s_.global_queue.size_approx() != 0) return true;
        std::int64_t now = -1;
        for (auto& v : s_.workers) {
            if (!v->runq.empty()) return true;
            std::int64_t when = v->timers.earliest_ns.load(std::memory_order_acquire);
            if (when != INT64_MAX) {
                if (now < 0) now = steady_now_ns();
                if (when <= now) return true;
            }
        }
        return false;
    }

    std::int64_t earliest_timer() {
        std::int64_t earliest = INT64_MAX;
        for (auto& v : s_.workers) earliest = std::min(earliest, v->timers.earliest_ns.load(std::memory_order_acquire));
        return earliest;
    }

    // Spin briefly for work to appear before paying for a futex sleep.
    fiber* spin_for_work() {
        const std::int64_t until = steady_now_ns() + spin_budget_ns;
        do {
            for (int i = 0; i < 256; ++i) cpu_relax();
            if (s_.stopping.load(std::memory_order_relaxed)) return nullptr;
            if (any_work_visible()) {
                pass_now_ = -1;
                run_own_timers();
                if (fiber* f = w_.runq.pop()) return f;
                if (fiber* f = take_from_global()) return f;
                if (fiber* f = steal_work()) return f;
            }
            // Ready sockets are work too: a spinner that only watched the
            // queues would leave them for the next poll.
            if (fiber* f = poll_io_without_blocking(true)) return f;
        } while (steady_now_ns() < until);
        return nullptr;
    }

    // Ask the poller, without blocking, for fibers whose I/O is ready, when
    // some fiber waits on I/O and no worker is blocked in the poller (it
    // would get the events first). Queues them all, or with take_one
    // returns the first to run at once.
    fiber* poll_io_without_blocking(bool take_one) {
        io_poller* poller = the_io_poller.load(std::memory_order_acquire);
        if (!poller || !poller->has_waiters() || s_.poll_blocked.load(std::memory_order_relaxed)) return nullptr;
        fiber* batch[io_poller::max_batch];
        const int n = poller->poll(0, batch);
        s_.last_poll_ns.store(w_.coarse_now_ns, std::memory_order_relaxed);
        if (n == 0) return nullptr;
        if (!take_one) {
            queue_ready_batch(batch, n);
            return nullptr;
        }
        queue_ready_batch(batch + 1, n - 1);
        batch[0]->state.store(fiber_state::runnable, std::memory_order_release);
        return batch[0];
    }

    // Fibers the poller readied, still `waiting`: make them runnable on our
    // queue (the ring, not runnext: they are independent of one another) and
    // let idle workers steal them.
    void queue_ready_batch(fiber** batch, int n) {
        if (n <= 0) return;
        for (int i = 0; i < n; ++i) {
            batch[i]->state.store(fiber_state::runnable, std::memory_order_release);
            fiber* overflow[run_queue::capacity / 2 + 1];
            std::uint32_t overflow_count = 0;
            if (!w_.runq.push(batch[i], false, overflow, &overflow_count))
                s_.global_queue.enqueue_bulk(overflow, overflow_count);
        }
        std::atomic_thread_fence(std::memory_order_seq_cst);  // Dekker with go_idle
        wake_idle();
    }

    // Block in the poller as the idle worker that watches the sockets, until
    // I/O, the earliest timer or a waker. Called on the idle list; leaves it.
    void block_in_poller(io_poller* poller, std::int64_t deadline) {
        fiber* batch[io_poller::max_batch];
        int n = 0;
        if (w_.wakeup.load(std::memory_order_seq_cst) == 0) n = poller->poll(deadline, batch);
        {
            std::lock_guard<std::mutex> g(s_.idle_lock);
            s_.poll_waiter = nullptr;
            s_.poll_blocked.store(false, std::memory_order_relaxed);
            w_.sleeping_in_poll.store(false, std::memory_order_relaxed);
            leave_idle_locked();
        }
        w_.coarse_now_ns = coarse_clock_ns();
        s_.last_poll_ns.store(w_.coarse_now_ns, std::memory_order_relaxed);
        queue_ready_batch(batch, n);
    }

    // Leave the idle list after finding work or waking up. If a waker already
    // took us off it, the waker may have made us a spinner on its behalf.
    void leave_idle() {
        std::lock_guard<std::mutex> g(s_.idle_lock);
        leave_idle_locked();
    }

    void leave_idle_locked() {
        if (s_.timer_waiter == &w_) {
            s_.timer_waiter = nullptr;
            s_.timer_waiter_deadline.store(INT64_MAX, std::memory_order_release);
        }
        if (w_.in_idle_list) {
            auto it = std::find(s_.idle_list.begin(), s_.idle_list.end(), &w_);
            s_.idle_list.erase(it);
            w_.in_idle_list = false;
            s_.idle_count.fetch_sub(1, std::memory_order_seq_cst);
        } else if (w_.woken_spinning) {
            w_.woken_spinning = false;
            w_.spinning = true;  // the waker counted us in spinning_count
        }
        w_.wakeup.store(0, std::memory_order_relaxed);
    }

    // Go idle until woken or until the earliest timer. Returns nothing: the
    // caller loops back to look for work.
    void go_idle() {
        s_.stacks.trim_some();
        bool all_idle = false;
        {
            std::lock_guard<std::mutex> g(s_.idle_lock);
            if (s_.stopping.load(std::memory_order_acquire)) return;
            w_.in_idle_list = true;
            s_.idle_list.push_back(&w_);
            all_idle = s_.idle_count.fetch_add(1, std::memory_order_seq_cst) + 1 == s_.procs;
        }
        if (w_.spinning) {
            w_.spinning = false;
            s_.spinning_count.fetch_sub(1, std::memory_order_seq_cst);
        }
        // Published idle (and not spinning): now look once more everywhere.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (any_work_visible()) {
            leave_idle();
            return;
        }

        std::int64_t deadline = earliest_timer();
        io_poller* poller = the_io_poller.load(std::memory_order_acquire);
        const bool io_waiting = poller && poller->has_waiters();
        if (io_waiting) {
            // Watch the sockets ourselves unless another idle worker does.
            bool poll_here = false;
            {
                std::lock_guard<std::mutex> g(s_.idle_lock);
                if (!w_.in_idle_list) {  // woken meanwhile
                    leave_idle_locked();
                    return;
                }
                if (!s_.poll_waiter) {
                    s_.poll_waiter = &w_;
                    s_.poll_blocked.store(true, std::memory_order_relaxed);
                    w_.sleeping_in_poll.store(true, std::memory_order_seq_cst);
                    poll_here = true;
                    if (deadline < s_.timer_waiter_deadline.load(std::memory_order_relaxed)) {
                        s_.timer_waiter = &w_;
                        s_.timer_waiter_deadline.store(deadline, std::memory_order_release);
                    }
                }
            }
            if (poll_here) {
                block_in_poller(poller, deadline);
                return;
            }
        }
        if (all_idle && deadline == INT64_MAX && !io_waiting) {
            // Nothing inside the runtime will ever wake us.
            if (check_deadlock()) return;  // work showed up: we left the idle list
            deadline = steady_now_ns() + deadlock_recheck_ns;  // something outside might act: poll
        } else if (deadline != INT64_MAX) {
            std::lock_guard<std::mutex> g(s_.idle_lock);
            if (!w_.in_idle_list) {  // woken meanwhile
                leave_idle_locked();
                return;
            }
            if (deadline < s_.timer_waiter_deadline.load(std::memory_order_relaxed)) {
                s_.timer_waiter = &w_;
                s_.timer_waiter_deadline.store(deadline, std::memory_order_release);
            } else {
                deadline = -1;  // another idle worker sleeps until then
            }
        } else {
            deadline = -1;
        }
        if (running_under_tsan()) {
            // TSan runs a signal handler only when the receiving thread is
            // in (or next enters) a call it intercepts, and the futex system
            // call is not one: a worker asleep here would hold a SIGTERM
            // meant for signal_notify indefinitely. Wake now and then.
            const std::int64_t slice = steady_now_ns() + tsan_idle_slice_ns;
            if (deadline < 0 || deadline > slice) deadline = slice;
        }
        while (w_.wakeup.load(std::memory_order_acquire) == 0) {
            futex_wait(w_.wakeup, 0, deadline);
            if (deadline >= 0 && steady_now_ns() >= deadline) break;
        }
        leave_idle();
    }

    // Called when every worker is idle and no timer is pending. Returns true
    // when work showed up meanwhile; reports the deadlock and exits when
    // nothing can wake any fiber; returns false when something outside the
    // runtime still might (then the caller polls again later).
    bool check_deadlock();

    fiber* find_runnable() {
        for (;;) {
            if (s_.stopping.load(std::memory_order_acquire)) return nullptr;
            pass_now_ = -1;
            run_own_timers();
            if (++w_.schedule_tick % global_queue_check_interval == 0) {
                w_.coarse_now_ns = coarse_clock_ns();
                if (w_.coarse_now_ns - s_.last_poll_ns.load(std::memory_order_relaxed) >= busy_poll_interval_ns)
                    poll_io_without_blocking(false);
                fiber* f = nullptr;
                if (s_.global_queue.try_dequeue(f)) return found(f);
            }
            // A pair of fibers handing off through runnext would keep it
            // forever; after a streak of runnext picks the ring goes first.
            bool from_runnext = false;
            if (fiber* f = w_.runq.pop(w_.runnext_streak >= runnext_streak_limit, &from_runnext)) {
                w_.runnext_streak = from_runnext ? w_.runnext_streak + 1 : 0;
                return found(f);
            }
            if (fiber* f = take_from_global()) return found(f);
            if (fiber* f = poll_io_without_blocking(true)) return found(f);

            if (run_expired_timers_everywhere() > 0) continue;

            const int busy = s_.procs - s_.idle_count.load(std::memory_order_relaxed);
            if (w_.spinning || 2 * s_.spinning_count.load(std::memory_order_relaxed) < busy) {
                if (!w_.spinning) {
                    w_.spinning = true;
                    s_.spinning_count.fetch_add(1, std::memory_order_seq_cst);
                }
                if (fiber* f = steal_work()) return found(f);
                if (fiber* f = spin_for_work()) return found(f);
            }
            go_idle();
            w_.coarse_now_ns = coarse_clock_ns();
        }
    }

    worker& w_;
    scheduler& s_;
    eh_globals* const eh_globals_ = thread_eh_globals();  // this thread's, for good
};

// ---------------------------------------------------- deadlock detection

int count_process_threads() {
    int n = 0;
    if (DIR* d = opendir("/proc/self/task")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') ++n;
        closedir(d);
    }
    return n;
}

// Threads that belong to no one who could act on a goro primitive: the
// sanitizer runtimes' own background threads (TSan has one).
constexpr int sanitizer_threads() { return running_under_tsan() ? 1 : 0; }

bool worker_loop::check_deadlock() {
    if (any_work_visible()) {
        leave_idle();
        return true;
    }
    if (external_wakeup_sources.load(std::memory_order_acquire) != 0) return false;
    if (io_poller* p = the_io_poller.load(std::memory_order_acquire); p && p->has_waiters()) return false;
    // A plain thread that is running (not parked in goro) may still send,
    // unlock or spawn. We cannot see what it will do, so we wait for it.
    int others = count_process_threads() - s_.procs - sanitizer_threads() -
                 runtime_threads.load(std::memory_order_acquire);
    if (others > parked_threads.load(std::memory_order_acquire)) return false;
    // Re-check under the lock that everyone is still idle.
    {
        std::lock_guard<std::mutex> g(s_.idle_lock);
        if (s_.idle_count.load(std::memory_order_seq_cst) != s_.procs || !w_.in_idle_list ||
            s_.stopping.load(std::memory_order_acquire))
            return false;
        // A worker blocked in the poller may hold fibers it has just taken
        // off their wait slots (invisible in every count until it queues
        // them). Make it come out and look again; we check later.
        if (s_.poll_waiter) {
            if (io_poller* p = the_io_poller.load(std::memory_order_acquire)) p->interrupt();
            return false;
        }
    }
    if (any_work_visible() || earliest_timer() != INT64_MAX) return false;
    claim_fatal_report();
    write_stderr("fatal error: all fibers are asleep - deadlock!\n\n");
    dump_all_fibers_to_fd(2);
    std::fflush(nullptr);
    _exit(2);
}

// ---------------------------------------------------------------- lifetime

void finish_fiber(worker& w, fiber* f) noexcept {
    // The TSan context stays with the stack for the next fiber (creating one
    // costs about half a millisecond); run_main destroys them all at the end.
    // ASan still has the redzones of the frames that never returned
    // (fiber_main's) poisoned: clear them before the stack is reused.
    asan_unpoison(f->stack_low, f->stack_size);
    f->asan_fake_stack = nullptr;
    f->state.store(fiber_state::dead, std::memory_order_release);
    f->reason.store(wait_reason::none, std::memory_order_relaxed);
    w.count(w.fibers_exited);
    const bool was_main = f == w.sched.main_fiber;
    if (f->callable_on_heap) {
        ::operator delete(f->callable, std::align_val_t{f->callable_align});
        f->callable_on_heap = false;
    }
    f->callable = nullptr;
    w.sched.stacks.put(&w.stacks, f);
    if (was_main) stop_all(w.sched);
}

void stop_all(scheduler& s) noexcept {
    std::vector<worker*> sleepers;
    {
        std::lock_guard<std::mutex> g(s.idle_lock);
        s.stopping.store(true, std::memory_order_seq_cst);
        sleepers.swap(s.idle_list);
        for (worker* w : sleepers) w->in_idle_list = false;
        s.idle_count.store(0, std::memory_order_seq_cst);
    }
    for (worker* w : sleepers) wake_worker(w);
}

void run_worker(worker& w) {
    this_thread_worker = &w;
    w.coarse_now_ns = coarse_clock_ns();
    w.random_state = 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(w.index + 1);
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void* low = nullptr;
        std::size_t size = 0;
        pthread_attr_getstack(&attr, &low, &size);
        w.scheduler_stack = {low, size};
        pthread_attr_destroy(&attr);
    }
    w.tsan_scheduler_fiber = tsan_current_fiber();
    signal_stack alt;  // the stack-overflow handler runs here
    worker_loop(w).run();
    w.sched.stacks.drain(&w.stacks);
    this_thread_worker = nullptr;
}

[[noreturn]] void report_panic(fiber* f) noexcept {
    std::string what = "unknown exception";
    try {
        throw;
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
        if (const std::type_info* t = abi::__cxa_current_exception_type()) {
            int status = 0;
            char* name = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
            what = std::string("exception of type ") + (status == 0 && name ? name : t->name());
            std::free(name);
        }
    }
    claim_fatal_report();
    std::fflush(nullptr);
    std::string text = "panic: " + what + "\n\n";
    write_stderr(text.c_str());
    dump_one_fiber_to_fd(2, f, coarse_clock_ns());
    _exit(2);
}

std::uint64_t take_fiber_id(worker* w, scheduler& s) {
    if (!w) return s.fiber_id_source.fetch_add(1, std::memory_order_relaxed);
    if (w->next_fiber_id == w->fiber_id_limit) {
        w->next_fiber_id = s.fiber_id_source.fetch_add(fiber_id_batch, std::memory_order_relaxed);
        w->fiber_id_limit = w->next_fiber_id + fiber_id_batch;
    }
    return w->next_fiber_id++;
}

fiber* new_fiber(scheduler& s, worker* w, const spawn_options& options, std::size_t size, std::size_t align,
                 const goro::source_location& site, void** storage) {
    fiber* f = s.stacks.get(w ? &w->stacks : nullptr, options.stack_size);
    f->id.store(take_fiber_id(w, s), std::memory_order_relaxed);
    f->site_file.store(site.file_name(), std::memory_order_relaxed);
    f->site_function.store(site.function_name(), std::memory_order_relaxed);
    f->site_line.store(site.line(), std::memory_order_relaxed);
    f->name.store(options.name, std::memory_order_relaxed);
    f->exceptions = {};
    f->asan_fake_stack = nullptr;
    if (align < 16) align = 16;
    if (size > heap_callable_threshold || size + align + 256 > f->stack_size / 4) {
        f->callable = ::operator new(size, std::align_val_t{align});
        f->callable_align = static_cast<std::uint32_t>(align);
        f->callable_on_heap = true;
    } else {
        auto top = reinterpret_cast<std::uintptr_t>(f);
        f->callable = reinterpret_cast<void*>((top - size) & ~(static_cast<std::uintptr_t>(align) - 1));
        f->callable_on_heap = false;
    }
    *storage = f->callable;
    return f;
}

}  // namespace

// ------------------------------------------------------------- public glue

// A plain thread's goro::go holds the scheduler from prepare_fiber until
// start_fiber or discard_fiber returns (the spawn is split across the
// template in runtime.hpp).
thread_local plain_thread_scope* plain_spawn_scope = nullptr;

prepared_fiber prepare_fiber(const spawn_options& options, std::size_t size, std::size_t align,
                             const goro::source_location& site) {
    worker* w = current_worker();
    scheduler* s = nullptr;
    if (w) {
        s = &w->sched;
    } else {
        auto scope = std::make_unique<plain_thread_scope>();
        if (!scope->sched) throw panic_error("goro::go: no runtime is running (call it inside goro::run)");
        s = scope->sched;
        plain_spawn_scope = scope.release();
    }
    void* storage = nullptr;
    fiber* f = new_fiber(*s, w, options, size, align, site, &storage);
    return {f, storage};
}

namespace {
void end_plain_spawn() noexcept {
    delete plain_spawn_scope;
    plain_spawn_scope = nullptr;
}
}  // namespace

void discard_fiber(fiber* f) noexcept {
    worker* w = current_worker();
    scheduler* s = w ? &w->sched : plain_spawn_scope->sched;
    if (f->callable_on_heap) ::operator delete(f->callable, std::align_val_t{f->callable_align});
    f->callable_on_heap = false;
    f->callable = nullptr;
    s->stacks.put(w ? &w->stacks : nullptr, f);
    if (!w) end_plain_spawn();
}

void start_fiber(fiber* f, void (*run_and_destroy)(void*)) noexcept {
    worker* w = current_worker();
    f->run_and_destroy = run_and_destroy;
    char* top = f->callable_on_heap ? reinterpret_cast<char*>(f) : static_cast<char*>(f->callable);
    top = reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(top) & ~std::uintptr_t{15});
    f->context = ctx::make_fcontext(top, static_cast<std::size_t>(top - f->stack_low), &fiber_main);
    if (!f->tsan_fiber) f->tsan_fiber = tsan_create_fiber();
    f->waiting_since_ns.store(0, std::memory_order_relaxed);
    f->state.store(fiber_state::runnable, std::memory_order_release);
    if (w)
        w->count(w->fibers_started);
    else
        foreign_spawns.fetch_add(1, std::memory_order_relaxed);
    const bool overflowed = make_runnable(f, true);
    if (!w) {
        end_plain_spawn();
        return;
    }
    if (overflowed && w->current) {
        // The spawner is outrunning the workers: its queue overflowed. Let the
        // queued fibers run before spawning more, so a loop that spawns a
        // million fibers does not need a million stacks at once.
        yield_fiber(w->current);
    }
}

void park(wait_reason reason, park_commit commit, void* arg) {
    worker* w = current_worker();
    fiber* self = w ? w->current : nullptr;
    if (!self) {
        thread_parker* p = this_thread_waiter();
        p->reason.store(reason, std::memory_order_relaxed);
        p->waiting_since_ns.store(coarse_clock_ns(), std::memory_order_relaxed);
        parked_threads.fetch_add(1, std::memory_order_acq_rel);
        if (!commit || commit(arg)) {
            while (p->wakeup.load(std::memory_order_acquire) == 0) futex_wait(p->wakeup, 0, -1);
            p->wakeup.store(0, std::memory_order_relaxed);
        } else {
            parked_threads.fetch_sub(1, std::memory_order_acq_rel);  // nobody will ready us
        }
        p->reason.store(wait_reason::none, std::memory_order_relaxed);
        return;
    }
    self->reason.store(reason, std::memory_order_relaxed);
    // The worker's cached coarse clock: approximate, as Go's waitsince is,
    // and it spares every park a clock read.
    self->waiting_since_ns.store(w->coarse_now_ns, std::memory_order_relaxed);
    switch_request request{switch_kind::park, commit, arg};
    switch_to_scheduler(self, &request);
    self->reason.store(wait_reason::none, std::memory_order_relaxed);
}

void yield_to_readied() noexcept {
    if (fiber* self = current_fiber()) yield_fiber(self);
}

std::int64_t steady_now_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Cheap (about 5 ns) and 4 ms coarse: enough for "how long has it waited".
std::int64_t coarse_clock_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {

struct sleep_timer : timer_node {
    fiber* sleeper = nullptr;
};

void wake_sleeper(timer_node* t) { ready(static_cast<sleep_timer*>(t)->sleeper); }

}  // namespace

void timer_added(scheduler& s, std::int64_t when) noexcept {
    // Dekker with go_idle: our heap store, then the idle workers' state.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (when < s.timer_waiter_deadline.load(std::memory_order_acquire)) {
        worker* waiter = nullptr;
        {
            std::lock_guard<std::mutex> g(s.idle_lock);
            waiter = s.timer_waiter;
            if (waiter && waiter->in_idle_list) {
                s.idle_list.erase(std::find(s.idle_list.begin(), s.idle_list.end(), waiter));
                waiter->in_idle_list = false;
                s.idle_count.fetch_sub(1, std::memory_order_seq_cst);
                s.timer_waiter = nullptr;
                s.timer_waiter_deadline.store(INT64_MAX, std::memory_order_release);
            } else {
                waiter = nullptr;
            }
        }
        if (waiter) {
            wake_worker(waiter);
            return;
        }
    }
    if (s.timer_waiter_deadline.load(std::memory_order_acquire) == INT64_MAX) wake_idle();
}

timer_heap* add_timer(timer_node* t, std::uint64_t* run_id) {
    const std::int64_t when = t->when_ns;  // t may fire and change once added
    // A plain thread holds the scheduler for the call and uses worker 0's heap.
    worker* w = current_worker();
    std::optional<plain_thread_scope> scope;
    if (!w) {
        scope.emplace();
        if (!scope->sched) return nullptr;
        w = scope->sched->workers[0].get();
    }
    *run_id = w->sched.run_id;
    w->timers.add(t);
    timer_added(w->sched, when);
    return &w->timers;
}

bool remove_timer(timer_node* t, timer_heap* heap, std::uint64_t run_id) {
    if (!heap) return false;
    worker* w = current_worker();
    std::optional<plain_thread_scope> scope;
    scheduler* s = w ? &w->sched : (scope.emplace(), scope->sched);
    // A heap of an older runtime is gone with it.
    if (!s || s->run_id != run_id) return false;
    return heap->remove(t);
}

void sleep_until_steady(std::int64_t deadline_ns) {
    fiber* self = current_fiber();
    if (!self) {
        std::int64_t left = deadline_ns - steady_now_ns();
        if (left > 0) {
            timespec ts{static_cast<time_t>(deadline_ns / 1'000'000'000), static_cast<long>(deadline_ns % 1'000'000'000)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
            }
        }
        return;
    }
    sleep_timer t;
    t.when_ns = deadline_ns;
    t.fire = &wake_sleeper;
    t.sleeper = self;
    park(
        wait_reason::sleep,
        [](void* arg) {
            auto* timer = static_cast<sleep_timer*>(arg);
            const std::int64_t when = timer->when_ns;  // timer may fire and vanish once added
            worker* w = current_worker();
            w->timers.add(timer);
            timer_added(w->sched, when);
            return true;
        },
        &t);
}

void sleep_for_ns(std::int64_t ns) { sleep_until_steady(deadline_after(ns)); }


int run_main(const config& cfg, int (*invoke_main)(void*), void* main_callable,
             const goro::source_location& site) {
    if (current_worker()) throw panic_error("goro::run: called from inside a fiber");
    bool expected = false;
    if (!run_active.compare_exchange_strong(expected, true))
        throw panic_error("goro::run: another runtime is already running in this process");
    struct clear_active {
        ~clear_active() { run_active.store(false); }
    } clear_on_exit;

    const int n = cfg.procs > 0 ? cfg.procs : default_procs();
    auto s = std::make_unique<scheduler>(n, cfg.stack_size ? cfg.stack_size : default_stack_size);
    foreign_spawns.store(0);
    install_signal_handlers();

    // The main fiber: id 1 (the first id of worker 0's first batch), queued
    // on worker 0, which is this thread.
    struct main_task {
        int (*invoke)(void*);
        void* callable;
        int* result;
        void operator()() const { *result = invoke(callable); }
    };
    worker& first = *s->workers[0];
    this_thread_worker = &first;
    void* storage = nullptr;
    fiber* main = new_fiber(*s, &first, spawn_options{.stack_size = 0, .name = "main"}, sizeof(main_task),
                            alignof(main_task), site, &storage);
    ::new (storage) main_task{invoke_main, main_callable, &s->main_result};
    s->main_fiber = main;
    the_scheduler.store(s.get(), std::memory_order_release);
    start_fiber(main, &run_and_destroy<main_task>);

    int started = 1;
    try {
        for (; started < n; ++started) {
            worker& w = *s->workers[static_cast<std::size_t>(started)];
            w.thread = std::thread([&w] {
                char name[16];
                std::snprintf(name, sizeof name, "goro-worker-%d", w.index);
                pthread_setname_np(pthread_self(), name);
                run_worker(w);
            });
        }
    } catch (...) {
        // Could not start every worker (EAGAIN): stop the ones that run.
        stop_all(*s);
        for (int i = 1; i < started; ++i) s->workers[static_cast<std::size_t>(i)]->thread.join();
        the_scheduler.store(nullptr, std::memory_order_seq_cst);
        this_thread_worker = nullptr;
        throw;
    }
    run_worker(first);
    for (int i = 1; i < n; ++i) s->workers[static_cast<std::size_t>(i)]->thread.join();
    the_scheduler.store(nullptr, std::memory_order_seq_cst);
    // A plain thread that loaded the scheduler before it was cleared may
    // still be inside goro::go or ready(); let it finish first.
    while (plain_thread_users.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    // Waiter records of abandoned fibers must not outlive their stacks.
    sema_forget_fibers();
    if (io_poller* p = the_io_poller.load(std::memory_order_acquire)) p->forget_fibers();
    // Fibers still alive are abandoned, as in Go: their stacks go away with
    // the pool. The channels layer unlinks the records of those parked in a
    // channel operation (waiting, or readied but not run again: a select that
    // won through one channel still has records queued on the rest); TSan
    // forgets every context.
    const abandoned_fiber_hook hook = channel_abandon_hook.load(std::memory_order_acquire);
    for (stack_slab* slab = s->stacks.slabs(); slab; slab = slab->next)
        for (std::size_t i = 0; i < slab->slots; ++i) {
            fiber* f = slab->block(i);
            if (hook && f->channel_waiters && f->state.load(std::memory_order_acquire) != fiber_state::dead) hook(f);
            tsan_destroy_fiber(f->tsan_fiber);
        }
    return s->main_result;
}

}  // namespace goro::detail

// ------------------------------------------------------------- public API

namespace goro {

void yield() {
    if (detail::fiber* self = detail::current_fiber())
        detail::yield_fiber(self);
    else
        std::this_thread::yield();
}

std::size_t num_fibers() noexcept {
    detail::scheduler* s = detail::active_scheduler();
    if (!s) return 0;
    std::uint64_t started = detail::foreign_spawns.load(std::memory_order_relaxed);
    std::uint64_t exited = 0;
    for (auto& w : s->workers) {
        started += w->fibers_started.load(std::memory_order_relaxed);
        exited += w->fibers_exited.load(std::memory_order_relaxed);
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
