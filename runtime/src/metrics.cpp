// runtime/src/metrics.cpp — goro::write_metrics (Prometheus text) and
// GORO_DEBUG=schedtrace / scheddetail (Go's schedtrace lines).
//
// Invariants: nothing here writes scheduler state. Counters are per P
// (processor's metrics block), written by the holding M alone and summed
// here with relaxed loads, plus a few scheduler-wide ones for threads that
// hold no P; a reader may see a count one event stale, never a torn one.
// The fiber census walks the stack slabs as the fiber dump does (the slab
// list only grows during a run). scheduler::lock is taken only for the M
// list (its vector may grow), briefly; never while writing output.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include <goro/metrics.hpp>
#include <goro/runtime.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/scheduler.hpp"

namespace goro::detail {

int blocking_pool_threads() noexcept;  // blocking.cpp

namespace {

struct census {
    std::uint64_t running = 0, runnable = 0, waiting = 0;
    std::uint64_t waiting_by_reason[wait_reason_count] = {};
};

census count_fibers(scheduler& s) {
    census c;
    for (stack_slab* slab = s.stacks.slabs(); slab; slab = slab->next)
        for (std::size_t i = 0; i < slab->slots; ++i) {
            const fiber* f = slab->block(i);
            switch (f->state.load(std::memory_order_acquire)) {
            case fiber_state::dead: break;
            case fiber_state::running: ++c.running; break;
            case fiber_state::runnable: ++c.runnable; break;
            case fiber_state::waiting:
                ++c.waiting;
                ++c.waiting_by_reason[static_cast<std::size_t>(f->reason.load(std::memory_order_relaxed))];
                break;
            }
        }
    return c;
}

// Bytes of the stack slabs mapped, and of those the pages in memory.
void stack_bytes(scheduler& s, std::uint64_t* reserved, std::uint64_t* resident) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> in_core;
    *reserved = *resident = 0;
    for (stack_slab* slab = s.stacks.slabs(); slab; slab = slab->next) {
        *reserved += slab->bytes;
        in_core.assign((slab->bytes + page - 1) / page, 0);
        if (mincore(slab->base, slab->bytes, in_core.data()) != 0) continue;
        for (unsigned char b : in_core)
            if (b & 1) *resident += page;
    }
}

std::uint64_t load(const std::atomic<std::uint64_t>& v) { return v.load(std::memory_order_relaxed); }

template <class F>
std::uint64_t sum_over_ps(scheduler& s, F field) {
    std::uint64_t total = 0;
    for (auto& p : s.processors) total += load(field(*p));
    return total;
}

class prom_writer {
public:
    explicit prom_writer(std::ostream& out) : out_(out) {}

    void family(const char* name, const char* type, const char* help) {
        out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    }
    void sample(const char* name, std::uint64_t v) { out_ << name << ' ' << v << '\n'; }
    void sample(const char* name, const char* label, const char* value, std::uint64_t v) {
        out_ << name << '{' << label << "=\"" << value << "\"} " << v << '\n';
    }
    void gauge(const char* name, const char* help, std::uint64_t v) {
        family(name, "gauge", help);
        sample(name, v);
    }
    void counter(const char* name, const char* help, std::uint64_t v) {
        family(name, "counter", help);
        sample(name, v);
    }
    std::ostream& raw() { return out_; }

private:
    std::ostream& out_;
};

int threads_held(scheduler& s, int* idle_ms) {
    std::lock_guard<std::mutex> g(s.lock);
    int alive = 0;
    for (machine* m : s.machines)
        if (!m->exited.load(std::memory_order_relaxed)) ++alive;
    if (idle_ms) *idle_ms = static_cast<int>(s.idle_ms.size());
    return alive + 1;  // and sysmon
}

}  // namespace

void write_metrics_of(std::ostream& os, scheduler* s) {
    prom_writer w(os);
    const census c = s ? count_fibers(*s) : census{};
    w.gauge("goro_fibers", "Fibers alive, the main fiber included (Go's runtime.NumGoroutine).", goro::num_fibers());
    w.family("goro_fibers_by_state", "gauge", "Fibers alive by state.");
    w.sample("goro_fibers_by_state", "state", "running", c.running);
    w.sample("goro_fibers_by_state", "state", "runnable", c.runnable);
    w.sample("goro_fibers_by_state", "state", "waiting", c.waiting);
    w.family("goro_fibers_waiting", "gauge", "Waiting fibers by wait reason, as the fiber dump names them.");
    for (std::size_t r = 1; r < wait_reason_count; ++r)
        w.sample("goro_fibers_waiting", "reason", wait_reason_name(static_cast<wait_reason>(r)), c.waiting_by_reason[r]);
    w.counter("goro_fibers_started_total", "Fibers started in this run.",
              s ? sum_over_ps(*s, [](processor& p) -> auto& { return p.fibers_started; }) +
                      load(s->fibers_started_without_p)
                : 0);

    int idle_ms = 0;
    const int threads = s ? threads_held(*s, &idle_ms) + blocking_pool_threads() : 0;
    w.gauge("goro_threads", "OS threads the runtime holds: workers, sysmon and the goro::blocking pool.",
            static_cast<std::uint64_t>(threads));
    w.gauge("goro_idle_threads", "Worker threads asleep without a P.", static_cast<std::uint64_t>(idle_ms));
    w.gauge("goro_blocking_threads", "Threads of the goro::blocking pool.",
            static_cast<std::uint64_t>(s ? blocking_pool_threads() : 0));
    w.gauge("goro_procs", "Ps: the workers that run fibers (Go's GOMAXPROCS).",
            static_cast<std::uint64_t>(s ? s->procs : goro::procs()));
    w.gauge("goro_idle_procs", "Ps with no work, on the idle list.",
            static_cast<std::uint64_t>(s ? s->idle_count.load(std::memory_order_relaxed) : 0));
    w.gauge("goro_spinning_threads", "Worker threads holding a P and looking for work.",
            static_cast<std::uint64_t>(s ? s->spinning_count.load(std::memory_order_relaxed) : 0));

    auto total = [&](auto field) -> std::uint64_t { return s ? sum_over_ps(*s, field) : 0; };
    w.counter("goro_context_switches_total", "Switches into a fiber.",
              total([](processor& p) -> auto& { return p.switches; }));
    w.counter("goro_steals_total", "Successful steals of runnable fibers from another P's queue.",
              total([](processor& p) -> auto& { return p.steals; }));
    w.counter("goro_spins_total", "Times a worker began spinning (looking for work with a P).",
              total([](processor& p) -> auto& { return p.spins; }));
    w.counter("goro_global_queue_pushes_total", "Fibers put on the global run queue.",
              total([](processor& p) -> auto& { return p.global_pushes; }) +
                  (s ? load(s->global_pushes_without_p) : 0));
    w.counter("goro_preemptions_total", "Fibers that yielded at sysmon's request after running 10 ms.",
              total([](processor& p) -> auto& { return p.preemptions; }));

    w.family("goro_parks_total", "counter", "Fibers parked, by wait reason.");
    for (std::size_t r = 1; r < wait_reason_count; ++r) {
        std::uint64_t n = 0;
        if (s)
            for (auto& p : s->processors) n += load(p->parks[r]);
        w.sample("goro_parks_total", "reason", wait_reason_name(static_cast<wait_reason>(r)), n);
    }
    std::uint64_t io_parks = 0;
    if (s)
        for (auto& p : s->processors) io_parks += load(p->parks[static_cast<std::size_t>(wait_reason::io_wait)]);
    w.counter("goro_netpoll_waits_total", "Fibers parked waiting for a socket to be ready.", io_parks);
    w.counter("goro_netpoll_wakeups_total", "Fibers the netpoller readied.",
              total([](processor& p) -> auto& { return p.poll_wakeups; }) +
                  (s ? load(s->poll_wakeups_without_p) : 0));

    std::uint64_t reserved = 0, resident = 0;
    if (s) stack_bytes(*s, &reserved, &resident);
    w.gauge("goro_stack_bytes_reserved", "Bytes of address space mapped for fiber stacks, guard pages included.",
            reserved);
    w.gauge("goro_stack_bytes_resident", "Bytes of fiber stacks in memory (touched pages).", resident);

    // The histogram: Prometheus buckets are cumulative.
    w.family("goro_sched_latency_seconds", "histogram",
             "Time from readied to running, for one readied fiber in 8 (Go's /sched/latencies:seconds).");
    std::uint64_t cumulative = 0;
    char le[32];
    for (std::size_t b = 0; b < latency_bucket_count; ++b) {
        std::uint64_t n = 0;
        if (s)
            for (auto& p : s->processors) n += load(p->latency_buckets[b]);
        cumulative += n;
        if (b + 1 < latency_bucket_count)
            std::snprintf(le, sizeof le, "%g", static_cast<double>(latency_bucket_bounds_ns[b]) / 1e9);
        else
            std::snprintf(le, sizeof le, "+Inf");
        w.sample("goro_sched_latency_seconds_bucket", "le", le, cumulative);
    }
    const std::uint64_t sum_ns = total([](processor& p) -> auto& { return p.latency_sum_ns; });
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.9f", static_cast<double>(sum_ns) / 1e9);
    w.raw() << "goro_sched_latency_seconds_sum " << sum << '\n';
    w.sample("goro_sched_latency_seconds_count", cumulative);
}

// GORO_DEBUG=schedtrace=MS: one line, as Go's schedtrace prints it, and with
// scheddetail=1 a line per P, per M and per fiber. Called by sysmon.
void write_schedtrace(scheduler& s, bool detail) {
    std::string text;
    char buf[256];
    int idle_ms = 0;
    const int threads = threads_held(s, &idle_ms) + blocking_pool_threads();
    std::snprintf(buf, sizeof buf, "SCHED %lldms: procs=%d idleprocs=%d threads=%d spinningthreads=%d idlethreads=%d runqueue=%zu [",
                  static_cast<long long>((monotonic_now_ns() - s.started_ns) / 1'000'000), s.procs,
                  s.idle_count.load(std::memory_order_relaxed), threads,
                  s.spinning_count.load(std::memory_order_relaxed), idle_ms, s.global_queue.size_approx());
    text += buf;
    for (std::size_t i = 0; i < s.processors.size(); ++i) {
        std::snprintf(buf, sizeof buf, i ? " %zu" : "%zu", s.processors[i]->runq.size_approx());
        text += buf;
    }
    text += "]\n";
    if (detail) {
        for (auto& p : s.processors) {
            machine* owner = p->owner.load(std::memory_order_acquire);
            std::snprintf(buf, sizeof buf, "  P%d: status=%s switches=%llu m=%d runqsize=%zu timers=%s\n",
                          p->index, p->status.load(std::memory_order_relaxed) == p_status::idle ? "idle" : "running",
                          static_cast<unsigned long long>(load(p->switches)), owner ? owner->id : -1,
                          p->runq.size_approx(), p->timers.earliest_ns.load(std::memory_order_relaxed) == INT64_MAX ? "none" : "pending");
            text += buf;
        }
        {
            std::lock_guard<std::mutex> g(s.lock);
            // Only what other threads may read: an M's own fields (its p,
            // whether it spins) are its thread's; its P is the one it owns.
            for (machine* m : s.machines) {
                if (m->exited.load(std::memory_order_relaxed)) continue;
                int p_index = -1;
                for (auto& p : s.processors)
                    if (p->owner.load(std::memory_order_acquire) == m) p_index = p->index;
                const fiber* f = m->running_fiber.load(std::memory_order_relaxed);
                const bool busy = p_index >= 0 && f && f->state.load(std::memory_order_relaxed) == fiber_state::running;
                std::snprintf(buf, sizeof buf, "  M%d: p=%d curg=%lld idle=%s\n", m->id, p_index,
                              busy ? static_cast<long long>(f->id.load(std::memory_order_relaxed)) : -1LL,
                              m->in_idle_list ? "true" : "false");
                text += buf;
            }
        }
        for (stack_slab* slab = s.stacks.slabs(); slab; slab = slab->next)
            for (std::size_t i = 0; i < slab->slots; ++i) {
                const fiber* f = slab->block(i);
                const fiber_state state = f->state.load(std::memory_order_acquire);
                if (state == fiber_state::dead) continue;
                if (state == fiber_state::waiting)
                    std::snprintf(buf, sizeof buf, "  G%llu: status=waiting(%s)\n",
                                  static_cast<unsigned long long>(f->id.load(std::memory_order_relaxed)),
                                  wait_reason_name(f->reason.load(std::memory_order_relaxed)));
                else
                    std::snprintf(buf, sizeof buf, "  G%llu: status=%s\n",
                                  static_cast<unsigned long long>(f->id.load(std::memory_order_relaxed)),
                                  fiber_state_name(state));
                text += buf;
            }
    }
    write_stderr(text.c_str());
}

}  // namespace goro::detail

namespace goro {

void write_metrics(std::ostream& out) {
    detail::plain_thread_scope scope;  // keeps a running scheduler alive meanwhile
    detail::write_metrics_of(out, scope.sched);
}

}  // namespace goro
