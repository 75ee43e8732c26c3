// runtime/src/park.cpp — switching between a fiber and its M's scheduler
// stack, park and ready, run queue pushes, yield and preemption.
//
// Invariants:
//   - A fiber gives its M back by jumping to the M's scheduler stack with
//     a switch_request; the request is carried out there, once the fiber's
//     stack is no longer in use. This is what makes parking safe: commit
//     runs after the switch (Go's park_m runs unlockf on g0).
//   - An M clears in_runtime right before it jumps into a fiber and sets it
//     right after the fiber jumps back, then reads revoke before it touches
//     its P again: sysmon may have taken the P meanwhile (runtime entry,
//     runtime/detail/scheduler.hpp).
//   - Exactly one party readies a parked fiber: whoever took its waiter
//     record off a queue, under that queue's lock.
//   - An M that lost its P while its fiber ran carries out the fiber's
//     request without a P (the global queue takes what a run queue would)
//     unless it can take an idle P first, as Go's exitsyscall does.
//   - With a trace on, a stretch is recorded from just before the switch
//     into the fiber to just after its request is carried out, so what a
//     park's commit readies lies inside it (runtime/detail/trace.hpp).

#include <cxxabi.h>
#include <sched.h>

#include <mutex>
#include <optional>

#include <goro/panic.hpp>
#include <goro/runtime.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/futex.hpp"
#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/trace.hpp"

namespace goro::detail {

void report_stall_end(machine& m, fiber* f) noexcept;  // sysmon.cpp
void report_trap_end(machine& m, fiber* f) noexcept;   // sysmon.cpp
[[noreturn]] void report_panic(fiber* f) noexcept;  // spawn.cpp
void destroy_fiber_locals(fiber* f) noexcept;

namespace {

enum class switch_kind : std::uint8_t { yield, preempted, park, exit, abandon };

struct switch_request {
    switch_kind kind;
    park_commit commit = nullptr;
    void* arg = nullptr;
};

__attribute__((tls_model("initial-exec"))) thread_local thread_parker* this_thread_parker = nullptr;

thread_parker* this_thread_waiter() {
    if (!this_thread_parker) {
        // One per plain thread, freed when the thread exits.
        static thread_local std::unique_ptr<thread_parker> owner;
        owner = std::make_unique<thread_parker>();
        this_thread_parker = owner.get();
    }
    return this_thread_parker;
}

// Leave the running fiber for the scheduler stack of the M that runs it.
// Returns when some M resumes the fiber (never for exit or abandon).
void switch_to_scheduler(fiber* self, switch_request* request) noexcept {
    machine* m = current_machine();
    const bool final_exit = request->kind == switch_kind::exit || request->kind == switch_kind::abandon;
    asan_start_switch(final_exit ? nullptr : &self->asan_fake_stack, m->scheduler_stack);
    tsan_switch_to(m->tsan_scheduler_fiber);
    ctx::transfer_t from = ctx::jump_fcontext(m->scheduler_context, request);
    // Resumed, perhaps by another M: it passed itself as the data.
    auto* resumer = static_cast<machine*>(from.data);
    resumer->scheduler_context = from.fctx;
    asan_finish_switch(self->asan_fake_stack);
}

// Wait out a pending revoke and return the bits that remain; drop the P if
// it was taken (the M now runs its fiber without one).
std::uint32_t settle_revoke(machine& m) noexcept {
    std::uint32_t bits;
    while ((bits = m.revoke.load(std::memory_order_acquire)) & revoke_pending) sched_yield();
    if (bits & revoke_taken) {
        m.p = nullptr;
        m.counted_without_p = true;  // sysmon counted us in running_without_p
        m.revoke.fetch_and(~revoke_taken, std::memory_order_relaxed);
    }
    return bits;
}

void stop_counting_without_p(machine& m) noexcept {
    if (!m.counted_without_p) return;
    m.counted_without_p = false;
    m.sched.running_without_p.fetch_sub(1, std::memory_order_acq_rel);
}

// Take an idle P for an M that lost its own (Go's exitsyscallfast_pidle).
bool reacquire_p(machine& m) noexcept {
    scheduler& s = m.sched;
    if (s.idle_count.load(std::memory_order_relaxed) == 0) return false;
    std::lock_guard<std::mutex> g(s.lock);
    if (s.stopping.load(std::memory_order_relaxed)) return false;
    m.p = pidle_get_locked(s, &m);
    return m.p != nullptr;
}

// For goro::write_metrics: a fiber put on the global queue by m (null: a
// thread holding no P).
void count_global_pushes(scheduler& s, machine* m, std::uint64_t n) noexcept {
    if (m && m->p)
        processor::count(m->p->global_pushes, n);
    else
        s.global_pushes_without_p.fetch_add(n, std::memory_order_relaxed);
}

void enqueue_global(scheduler& s, fiber* f) noexcept {
    count_global_pushes(s, current_machine(), 1);
    f->state.store(fiber_state::runnable, std::memory_order_release);
    s.global_queue.enqueue(f);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // Dekker with go_idle
    wake_idle();
}

// True when a yielding fiber would be the next one picked anyway: no local
// or global work, no timer of ours due, not stopping.
bool nothing_else_to_run(machine& m) {
    processor& p = *m.p;
    if (!p.runq.empty() || m.sched.global_queue.size_approx() != 0) return false;
    if (m.sched.stopping.load(std::memory_order_relaxed)) return false;
    std::int64_t when = p.timers.earliest_ns.load(std::memory_order_relaxed);
    return when == INT64_MAX || when > steady_now_ns();
}

}  // namespace

// ------------------------------------------------------------ fiber entry

void fiber_main(ctx::transfer_t from) noexcept {
    auto* m = static_cast<machine*>(from.data);
    m->scheduler_context = from.fctx;
    fiber* self = m->current;
    asan_finish_switch(nullptr);
    try {
        self->run_and_destroy(self->callable);
        // fiber_local values die with the fiber, on its own stack: their
        // destructors may park or throw like any fiber code.
        destroy_fiber_locals(self);
    } catch (...) {
        // In a bubble the exception ends the run and goro::synctest::run
        // rethrows it, so that a test reports it; elsewhere it is a panic.
        scheduler& s = current_machine()->sched;
        if (!s.bubble) report_panic(self);
        fail_bubble(s, std::current_exception());
    }
    switch_request exit_request{switch_kind::exit};
    switch_to_scheduler(self, &exit_request);
    GORO_FATAL("runtime: a dead fiber was resumed");
}

void resolve_revoke(machine& m) noexcept {
    if (settle_revoke(m) & revoke_abandoned) {
        // The run has ended: leave this fiber where it is, abandoned, and
        // let the thread exit from its own stack.
        switch_request request{switch_kind::abandon};
        switch_to_scheduler(m.current, &request);
        GORO_FATAL("runtime: an abandoned fiber was resumed");
    }
}

// -------------------------------------------------------------- execute

namespace {

enum class after_switch : std::uint8_t {
    run_again,  // resume the same fiber at once
    done,       // the request is carried out: find the next fiber
    leave,      // the M must leave the scheduler
};

// Carries out the request f made when it gave m back, on m's scheduler
// stack. Touches f no more once a park's commit has published it.
after_switch carry_out(machine& m, fiber* f, const switch_request& request) {
    if (m.revoke.load(std::memory_order_relaxed) != 0 && (settle_revoke(m) & revoke_abandoned))
        return after_switch::leave;
    if (request.kind == switch_kind::abandon) return after_switch::leave;
    if (m.stall_since_ns.load(std::memory_order_relaxed) != 0) report_stall_end(m, f);
    if (m.trap_since_ns.load(std::memory_order_relaxed) != 0) report_trap_end(m, f);

    if (!m.p && reacquire_p(m)) stop_counting_without_p(m);
    if (!m.p) {
        // No P to be had: carry the request out as a plain thread
        // would, then this M goes idle (the caller loops).
        switch (request.kind) {
        case switch_kind::yield:
        case switch_kind::preempted:
            enqueue_global(m.sched, f);
            break;
        case switch_kind::exit:
            finish_fiber(m, f);
            break;
        case switch_kind::park:
            f->state.store(fiber_state::waiting, std::memory_order_release);
            if (request.commit && !request.commit(request.arg)) enqueue_global(m.sched, f);
            break;
        case switch_kind::abandon:
            break;
        }
        stop_counting_without_p(m);
        return after_switch::done;
    }

    switch (request.kind) {
    case switch_kind::yield:
        if (nothing_else_to_run(m)) {
            // find_runnable would pop f straight back: skip the queue
            // round trip, not the switch.
            ++m.p->schedule_tick;
            return after_switch::run_again;
        }
        f->state.store(fiber_state::runnable, std::memory_order_relaxed);
        make_runnable(f, false);
        return after_switch::done;
    case switch_kind::preempted:
        // As Go's gopreempt_m: behind everything, on the global queue.
        processor::count(m.p->preemptions);
        enqueue_global(m.sched, f);
        return after_switch::done;
    case switch_kind::exit:
        finish_fiber(m, f);
        return after_switch::done;
    case switch_kind::park:
        processor::count(m.p->parks[static_cast<std::size_t>(f->reason.load(std::memory_order_relaxed))]);
        f->state.store(fiber_state::waiting, std::memory_order_release);
        // From here f may be readied by whoever sees it once commit
        // publishes it: do not touch f after a successful commit.
        if (!request.commit || request.commit(request.arg)) return after_switch::done;
        f->state.store(fiber_state::running, std::memory_order_relaxed);
        return after_switch::run_again;  // commit declined: resume f at once
    case switch_kind::abandon:
        return after_switch::leave;
    }
    return after_switch::done;
}

// Why f's stretch ended, for the trace (read before the request is carried
// out: a park's commit may hand f to another M).
std::uint8_t trace_why(const fiber* f, switch_kind kind) noexcept {
    switch (kind) {
    case switch_kind::yield: return trace_stop_code(trace_stop::yield);
    case switch_kind::preempted: return trace_stop_code(trace_stop::preempted);
    case switch_kind::exit: return trace_stop_code(trace_stop::exit);
    case switch_kind::abandon: return trace_stop_code(trace_stop::abandoned);
    case switch_kind::park: break;
    }
    return trace_park_code(f->reason.load(std::memory_order_relaxed));
}

}  // namespace

bool execute(machine& m, fiber* f) {
    // libstdc++ keeps the caught-exception chain per thread; it travels with
    // the fiber. m.eh is this M's thread's, read once when the M started.
    eh_globals* const eh = m.eh;
    for (;;) {
        processor& p = *m.p;
        if (f->readied_ns != 0) [[unlikely]] {  // sampled for the latency histogram
            p.record_latency(monotonic_now_ns() - f->readied_ns);
            f->readied_ns = 0;
        }
        m.current = f;
        m.running_fiber.store(f, std::memory_order_relaxed);
        f->state.store(fiber_state::running, std::memory_order_relaxed);
        p.switches.store(p.switches.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        m.preempt.store(false, std::memory_order_relaxed);
        if (trace_on()) [[unlikely]] trace_run_begin(f, p.index);
        *eh = f->exceptions;
        *m.errno_slot = f->saved_errno;
        asan_start_switch(&m.asan_fake_stack, {f->stack_low, f->stack_size});
        tsan_switch_to(f->tsan_fiber);
        m.in_runtime.store(false, std::memory_order_release);
        ctx::transfer_t back = ctx::jump_fcontext(f->context, &m);
        m.in_runtime.store(true, std::memory_order_relaxed);
        light_barrier();
        asan_finish_switch(m.asan_fake_stack);
        f->context = back.fctx;
        f->saved_errno = *m.errno_slot;
        f->exceptions = *eh;
        *eh = {};
        m.current = nullptr;
        const switch_request request = *static_cast<switch_request*>(back.data);

        after_switch next;
        if (trace_on()) [[unlikely]] {
            // The stretch ends once the request is carried out, so that
            // whatever its commit readies lies inside it.
            const std::uint64_t id = f->id.load(std::memory_order_relaxed);
            const std::uint8_t why = trace_why(f, request.kind);
            next = carry_out(m, f, request);
            trace_run_end(id, why);
        } else {
            next = carry_out(m, f, request);
        }
        if (next == after_switch::leave) return false;
        if (next == after_switch::done) return true;
    }
}

// ------------------------------------------------------------ accessors

fiber* current_fiber() noexcept {
    machine* m = current_machine();
    return m ? m->current : nullptr;
}

fiber* current_waiter() noexcept {
    if (fiber* f = current_fiber()) return f;
    return this_thread_waiter();
}

// ------------------------------------------------------------ run queues

bool runq_put(processor& p, fiber* f, bool next) noexcept {
    fiber* overflow[run_queue::capacity / 2 + 1];
    std::uint32_t overflow_count = 0;
    if (p.runq.push(f, next, overflow, &overflow_count)) return false;
    processor::count(p.global_pushes, overflow_count);
    p.sched.global_queue.enqueue_bulk(overflow, overflow_count);
    return true;
}

bool make_runnable(fiber* f, bool next) noexcept { return make_runnable_from(current_machine(), f, next); }

bool make_runnable_from(machine* self, fiber* f, bool next) noexcept {
    runtime_entry entry(self);
    if (!entry.p) {
        // A plain thread, or an M whose P was taken: the global queue, then
        // make sure an M looks.
        std::optional<plain_thread_scope> scope;
        scheduler* s = nullptr;
        if (entry.m) {
            s = &entry.m->sched;  // alive: we are inside the runtime
        } else {
            scope.emplace();
            s = scope->sched;
            if (!s) GORO_FATAL("runtime: a fiber was readied after its runtime stopped");
        }
        s->global_pushes_without_p.fetch_add(1, std::memory_order_relaxed);
        s->global_queue.enqueue(f);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        wake_idle();
        return false;
    }
    processor& p = *entry.p;
    if (++p.ready_tick % latency_sample_every == 0) f->readied_ns = monotonic_now_ns();
    const bool overflowed = runq_put(p, f, next);
    // Dekker with go_idle: our push, then the idle Ps' state. A runnext
    // push is a seq_cst exchange already. A plain ring push (a yield) needs
    // no fence: this busy M runs it anyway, the fence would only help an
    // idle one steal it sooner, and it costs a third of a yield.
    if (overflowed) std::atomic_thread_fence(std::memory_order_seq_cst);
    wake_idle();
    return overflowed;
}

void note_thread_unparked() noexcept;  // deadlock.cpp
void note_thread_parked() noexcept;

void ready(fiber* waiter) noexcept {
    if (waiter->is_thread) {
        auto* p = static_cast<thread_parker*>(waiter);
        // The waker, not the thread, un-counts it: from this moment the
        // thread can act, and the deadlock check must know at once.
        note_thread_unparked();
        p->wakeup.store(1, std::memory_order_release);
        futex_wake(p->wakeup, 1);
        return;
    }
    // A plain thread keeps the scheduler (and so the fiber's stack) alive
    // across the whole hand-off; make_runnable nests its own scope.
    machine* const self = current_machine();
    std::optional<plain_thread_scope> scope;
    if (!self) {
        scope.emplace();
        if (!scope->sched) GORO_FATAL("runtime: a fiber was readied after its runtime stopped");
    }
    // Exactly one party readies a parked fiber, so a check and a store
    // suffice where a CAS would cost a locked instruction on every hand-off.
    // The check still catches a double ready in the common interleavings.
    if (waiter->state.load(std::memory_order_acquire) != fiber_state::waiting)
        GORO_FATAL("runtime: ready of a fiber that is not waiting");
    if (trace_on()) [[unlikely]] trace_ready(waiter);
    waiter->state.store(fiber_state::runnable, std::memory_order_release);
    make_runnable_from(self, waiter, true);
}

// ------------------------------------------------------------ park, yield

void park(wait_reason reason, park_commit commit, void* arg) {
    machine* m = current_machine();
    fiber* self = m ? m->current : nullptr;
    if (!self) {
        thread_parker* p = this_thread_waiter();
        p->reason.store(reason, std::memory_order_relaxed);
        p->waiting_since_ns.store(coarse_clock_ns(), std::memory_order_relaxed);
        note_thread_parked();
        if (!commit || commit(arg)) {
            while (p->wakeup.load(std::memory_order_acquire) == 0) futex_wait(p->wakeup, 0, -1);
            p->wakeup.store(0, std::memory_order_relaxed);
        } else {
            note_thread_unparked();  // nobody will ready us
        }
        p->reason.store(wait_reason::none, std::memory_order_relaxed);
        return;
    }
    self->reason.store(reason, std::memory_order_relaxed);
    // The M's cached coarse clock: approximate, as Go's waitsince is, and
    // it spares every park a clock read.
    self->waiting_since_ns.store(m->coarse_now_ns, std::memory_order_relaxed);
    switch_request request{switch_kind::park, commit, arg};
    switch_to_scheduler(self, &request);
    self->reason.store(wait_reason::none, std::memory_order_relaxed);
}

void yield_fiber(fiber* self) noexcept {
    switch_request request{switch_kind::yield};
    switch_to_scheduler(self, &request);
}

void yield_to_readied() noexcept {
    if (fiber* self = current_fiber()) yield_fiber(self);
}

// ------------------------------------------------- blocking_scope (Go's
// entersyscall / exitsyscall)

void* enter_blocking() noexcept {
    machine* m = nullptr;
    {
        runtime_entry entry;
        if (!entry.p || !entry.m->current) return nullptr;  // a plain thread, or no P to release
        m = entry.m;
        processor* p = entry.p;
        if (trace_on()) [[unlikely]] trace_blocking_scope(true);
        // Give the P up outright (Go's entersyscallblock): it passes to
        // another M, or to the idle list, under the scheduler lock, so no
        // two Ms can ever think they hold it. This M now runs its fiber
        // without a P, which the deadlock check counts as able to act.
        m->p = nullptr;
        m->counted_without_p = true;
        m->sched.running_without_p.fetch_add(1, std::memory_order_acq_rel);
        hand_off_p(m->sched, p);
    }
    return m;
}

void exit_blocking(void* token) noexcept {
    if (!token) return;
    bool have_p = false;
    machine* m = nullptr;
    {
        runtime_entry entry;  // never returns if the run ended meanwhile
        m = entry.m;
        if (trace_on()) [[unlikely]] trace_blocking_scope(false);
        have_p = m->p != nullptr || reacquire_p(*m);
        if (have_p) stop_counting_without_p(*m);
    }
    // No P to be had: give the thread back (Go's exitsyscall0). The M
    // queues this fiber globally and goes idle; an M with a P runs it.
    if (!have_p) yield_fiber(m->current);
}

// preemption_point (machine.cpp) found sysmon's request set.
void yield_preempted(fiber* self) noexcept {
    switch_request request{switch_kind::preempted};
    switch_to_scheduler(self, &request);
}

}  // namespace goro::detail

namespace goro {

void yield() {
    if (detail::fiber* self = detail::current_fiber())
        detail::yield_fiber(self);
    else
        std::this_thread::yield();
}

}  // namespace goro
