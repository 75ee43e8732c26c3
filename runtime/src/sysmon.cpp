// runtime/src/sysmon.cpp — the system monitor (Go's sysmon): a thread of its
// own that needs no P. Each round it
//   - polls the network when nobody has for 10 ms;
//   - asks a fiber that has run 10 ms without coming back to the runtime to
//     yield at its next goro call (machine::preempt);
//   - takes the P of an M that is stuck outside the runtime (a fiber in a
//     raw system call, a std::mutex, a long loop) and hands it to another M, so the P's other
//     fibers run on (Go's retake and handoffp);
//   - reports stalls when GORO_DEBUG=stalls=1, and names the likely cause of
//     a fiber that blocked its thread in the kernel (GORO_DEBUG=traps).
// It sleeps 20 µs, doubling up to 10 ms while it finds nothing to do, and
// sleeps outright while every P is idle, so an idle program costs no CPU.
//
// Invariants:
//   - sysmon takes a P only under scheduler::lock, and only from an M that
//     is outside the runtime, through the revoke protocol (revoke_pending,
//     heavy barrier, in_runtime check, status CAS). The M finds out at its
//     next runtime entry. (A blocking_scope gives its P up by itself.)
//   - The seen_* fields of each P are sysmon's alone.

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdlib>
#include <iterator>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/futex.hpp"
#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/signals.hpp"
#include "runtime/detail/trace.hpp"

namespace goro::detail {

io_poller* current_io_poller() noexcept;

namespace {

constexpr std::int64_t min_delay_ns = 20'000;
constexpr std::int64_t max_delay_ns = 10'000'000;
constexpr int idle_rounds_before_backoff = 50;
constexpr std::int64_t network_poll_interval_ns = 10'000'000;

void append_fiber(char* out, std::size_t size, const fiber* f) {
    const char* name = f->name.load(std::memory_order_relaxed);
    std::snprintf(out, size, "fiber %" PRIu64 "%s%s%s", f->id.load(std::memory_order_relaxed), name ? " \"" : "",
                  name ? name : "", name ? "\"" : "");
}

void format_ms(char* out, std::size_t size, std::int64_t ns) {
    std::snprintf(out, size, "%.1fms", static_cast<double>(ns) / 1e6);
}

const char* actions_text(std::uint32_t actions) {
    switch (actions & (stall_asked_to_yield | stall_handed_off)) {
    case stall_asked_to_yield: return "asked it to yield";
    case stall_handed_off: return "handed its P to another thread";
    case stall_asked_to_yield | stall_handed_off: return "asked it to yield, handed its P to another thread";
    default: return "nothing yet";
    }
}

// The first line of a stall: the fiber has held its P (or its thread) for
// over 10 ms.
void report_stall(machine& m, std::int64_t now) {
    const fiber* f = m.running_fiber.load(std::memory_order_relaxed);
    if (!f) return;
    char who[128], held[32], line[640];
    append_fiber(who, sizeof who, f);
    format_ms(held, sizeof held, now - m.stall_since_ns.load(std::memory_order_relaxed));
    std::snprintf(line, sizeof line,
                  "goro: stall: %s has held P%d for %s without returning to the runtime; sysmon %s\n",
                  who, m.stall_p.load(std::memory_order_relaxed), held,
                  actions_text(m.stall_actions.load(std::memory_order_relaxed)));
    write_stderr(line);
    // Where it is stuck: its thread records its stack for us (traceback.cpp).
    dump_fiber_stack_to_fd(2, f, m.tid.load(std::memory_order_relaxed));
    std::snprintf(line, sizeof line, "\tspawned at %s:%u in %s\n", f->site_file.load(std::memory_order_relaxed),
                  f->site_line.load(std::memory_order_relaxed), f->site_function.load(std::memory_order_relaxed));
    write_stderr(line);
}

void note_stall(machine& m, processor& p, std::int64_t since, std::uint32_t action) {
    if (!debug().stalls) return;
    std::int64_t zero = 0;
    if (m.stall_since_ns.compare_exchange_strong(zero, since, std::memory_order_relaxed)) {
        m.stall_p.store(p.index, std::memory_order_relaxed);
        m.stall_reported.store(false, std::memory_order_relaxed);
    }
    m.stall_actions.fetch_or(action, std::memory_order_relaxed);
}

// Reads the thread's /proc/self/task/TID/<file> into buf (NUL-ended): the
// descriptor is opened at the first read and kept in *fd, since a read from
// offset 0 makes the kernel write the file afresh. False when it cannot be
// read (no tid yet, a full descriptor table: tried again next look).
bool read_task_file(machine& m, int* fd, const char* file, char* buf, std::size_t size) {
    const int tid = m.tid.load(std::memory_order_relaxed);
    if (tid <= 0) return false;
    if (*fd < 0) {
        char path[64];
        std::snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, file);
        *fd = ::open(path, O_RDONLY | O_CLOEXEC);
        if (*fd < 0) return false;
    }
    const ssize_t n = ::pread(*fd, buf, size - 1, 0);
    if (n <= 0) return false;
    buf[n] = '\0';
    return true;
}

// Whether the kernel has the thread asleep or waiting (a system call, a
// futex of a std::mutex, a page fault on disk) rather than running or
// waiting for a CPU. A fiber that computes, or whose thread the kernel has
// merely descheduled, keeps its P until it has run 10 ms; one that sleeps
// in the kernel loses it at sysmon's next look. Unknown counts as blocked.
bool thread_blocked_in_kernel(machine& m) {
    char buf[512];
    if (!read_task_file(m, &m.stat_fd, "stat", buf, sizeof buf)) return true;
    // "tid (name) S ...": the name may hold spaces and parentheses.
    const char* close_paren = std::strrchr(buf, ')');
    if (!close_paren || close_paren[1] != ' ') return true;
    const char state = close_paren[2];
    return state != 'R';
}

// The system call a thread asleep in the kernel sleeps in, from
// /proc/self/task/TID/syscall; -1 when unknown.
int blocked_syscall(machine& m) {
    char buf[256];
    if (!read_task_file(m, &m.syscall_fd, "syscall", buf, sizeof buf)) return -1;
    char* end = nullptr;
    const long nr = std::strtol(buf, &end, 10);  // "running" when it is not in one
    return end == buf || nr < 0 ? -1 : static_cast<int>(nr);
}

bool has_work(scheduler& s, processor& p, std::int64_t now) {
    if (!p.runq.empty()) return true;
    const std::int64_t when = p.timers.earliest_ns.load(std::memory_order_acquire);
    if (when <= now) return true;
    (void)s;
    return false;
}

// Take the running P p from m, which has been outside the runtime since
// sysmon first saw it. Under lock. Returns whether it was taken.
// With trap_nr >= -1 the M's fiber blocked its thread in the kernel (in
// that system call): recorded for report_trap_end while the M still waits.
constexpr int no_trap = -2;

bool take_running_p(scheduler& s, processor& p, machine& m, int trap_nr) {
    if (m.in_runtime.load(std::memory_order_acquire)) return false;
    m.revoke.fetch_or(revoke_pending, std::memory_order_seq_cst);
    heavy_barrier();
    p_status expected = p_status::running;
    if (m.in_runtime.load(std::memory_order_acquire) ||
        !p.status.compare_exchange_strong(expected, p_status::idle, std::memory_order_acq_rel)) {
        m.revoke.fetch_and(~revoke_pending, std::memory_order_release);
        return false;
    }
    if (trap_nr != no_trap && m.trap_since_ns.load(std::memory_order_relaxed) == 0) {
        m.trap_syscall.store(trap_nr, std::memory_order_relaxed);
        m.trap_since_ns.store(p.seen_since_ns, std::memory_order_relaxed);
    }
    // From pending to taken in one step: the M waits while pending, and
    // then sees the trap fields above.
    m.revoke.fetch_xor(revoke_pending | revoke_taken, std::memory_order_release);
    p.owner.store(nullptr, std::memory_order_relaxed);
    s.running_without_p.fetch_add(1, std::memory_order_acq_rel);
    m.preempt.store(true, std::memory_order_relaxed);  // come back and look for a P
    return true;
}

// sysmon's look at one P: whether it is still where sysmon last saw it (no
// switch, not idle) with its M outside the runtime,
// so the fiber on it may be stuck. A P that moved on, or whose M is looking
// for work, starts a new count from now. Reads no lock: a P that keeps
// switching costs sysmon none.
bool looks_stuck(processor& p, std::int64_t now) {
    const p_status status = p.status.load(std::memory_order_acquire);
    const std::uint64_t switches = p.switches.load(std::memory_order_relaxed);
    if (status == p_status::idle || switches != p.seen_switches) {
        p.seen_switches = switches;
        p.seen_since_ns = now;
        return false;
    }
    machine* m = p.owner.load(std::memory_order_acquire);
    if (!m || m->in_runtime.load(std::memory_order_relaxed)) {
        p.seen_since_ns = now;  // looking for work, or a short runtime section
        return false;
    }
    return true;
}

// One round over every P (Go's retake). Returns how many actions it took.
int retake(scheduler& s, std::int64_t now) {
    bool any = false;
    for (auto& pp : s.processors) any = looks_stuck(*pp, now) || any;
    if (!any) return 0;
    int acted = 0;
    std::vector<machine*> to_wake;
    std::vector<std::int64_t> timers;
    {
        std::lock_guard<std::mutex> g(s.lock);
        if (s.stopping.load(std::memory_order_relaxed)) return 0;
        const int lookers =
            s.idle_count.load(std::memory_order_relaxed) + s.spinning_count.load(std::memory_order_relaxed);
        for (auto& pp : s.processors) {
            processor& p = *pp;
            // Looked at again under the lock: it may have moved on since.
            if (!looks_stuck(p, now)) continue;
            machine* m = p.owner.load(std::memory_order_acquire);
            if (!m) continue;
            const std::int64_t stuck = now - p.seen_since_ns;
            if (stuck >= preempt_after_ns && !m->preempt.load(std::memory_order_relaxed)) {
                m->preempt.store(true, std::memory_order_relaxed);
                note_stall(*m, p, p.seen_since_ns, stall_asked_to_yield);
                ++acted;
            }
            // Computing (or descheduled by the kernel) rather than
            // blocked: it keeps the P until its 10 ms are up.
            const bool early = stuck < preempt_after_ns;
            int in_kernel = -1;  // not looked yet
            auto blocked = [&] {
                if (in_kernel < 0) in_kernel = thread_blocked_in_kernel(*m) ? 1 : 0;
                return in_kernel == 1;
            };
            if (early && !blocked()) continue;
            // As Go: leave a P whose fiber is away briefly when it has no
            // work and others can take global work; else take it now.
            if (!has_work(s, p, now) && lookers > 0 && early) continue;
            const int trap_nr = debug().traps && blocked() ? blocked_syscall(*m) : no_trap;
            if (!take_running_p(s, p, *m, trap_nr)) continue;
            note_stall(*m, p, p.seen_since_ns, stall_handed_off);
            ++acted;
            p.seen_since_ns = now;
            std::int64_t when = INT64_MAX;
            if (machine* w = hand_off_p_locked(s, &p, &when)) to_wake.push_back(w);
            if (when != INT64_MAX) timers.push_back(when);
        }
    }
    for (machine* w : to_wake) wake_machine(w);
    for (std::int64_t when : timers) timer_added(s, when);
    return acted;
}

// Stalls past 10 ms get their first line now, while they last.
void report_long_stalls(scheduler& s, std::int64_t now) {
    if (!debug().stalls) return;
    std::lock_guard<std::mutex> g(s.lock);
    for (machine* m : s.machines) {
        const std::int64_t since = m->stall_since_ns.load(std::memory_order_relaxed);
        if (since == 0 || now - since < preempt_after_ns || m->stall_reported.load(std::memory_order_relaxed))
            continue;
        m->stall_reported.store(true, std::memory_order_relaxed);
        report_stall(*m, now);
    }
}

void poll_network(scheduler& s) {
    io_poller* poller = current_io_poller();
    if (!poller || !poller->has_waiters() || s.poll_blocked.load(std::memory_order_relaxed)) return;
    const std::int64_t now = coarse_clock_ns();
    if (now - s.last_poll_ns.load(std::memory_order_relaxed) < network_poll_interval_ns) return;
    fiber* batch[io_poller::max_batch];
    // Fibers taken off their wait slots are in no queue until enqueued:
    // count as a wake-up source meanwhile, or an M idling the last P could
    // take the program for deadlocked.
    note_wakeup_source(1);
    const std::int64_t traced_since = trace_on() ? trace_clock() : 0;
    const int n = poller->poll(0, batch);
    s.last_poll_ns.store(now, std::memory_order_relaxed);
    if (n > 0) {
        if (traced_since != 0) [[unlikely]] trace_poll_batch("netpoll", traced_since, batch, n);
        for (int i = 0; i < n; ++i) batch[i]->state.store(fiber_state::runnable, std::memory_order_release);
        s.poll_wakeups_without_p.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
        s.global_pushes_without_p.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
        s.global_queue.enqueue_bulk(batch, static_cast<std::size_t>(n));
        std::atomic_thread_fence(std::memory_order_seq_cst);
        wake_idle();
    }
    note_wakeup_source(-1);
}

}  // namespace

// Called by an M whose fiber came back after sysmon flagged it.
void report_stall_end(machine& m, fiber* f) noexcept {
    const std::int64_t since = m.stall_since_ns.exchange(0, std::memory_order_relaxed);
    const std::uint32_t actions = m.stall_actions.exchange(0, std::memory_order_relaxed);
    if (since == 0) return;
    const std::int64_t held = monotonic_now_ns() - since;
    if (held < preempt_after_ns) return;
    char who[128], took[32], line[640];
    append_fiber(who, sizeof who, f);
    format_ms(took, sizeof took, held);
    std::snprintf(line, sizeof line,
                  "goro: stall: %s held P%d for %s before it returned to the runtime; sysmon %s\n"
                  "\tspawned at %s:%u in %s\n",
                  who, m.stall_p.load(std::memory_order_relaxed), took, actions_text(actions),
                  f->site_file.load(std::memory_order_relaxed), f->site_line.load(std::memory_order_relaxed),
                  f->site_function.load(std::memory_order_relaxed));
    write_stderr(line);
}

// ------------------------------------------------------------------ traps

namespace {

// The likely cause of a fiber asleep in a system call, and the fix.
constexpr const char* hint_futex =
    "a std::mutex, std::condition_variable, std::future or std::thread::join in a fiber? "
    "goro::mutex, goro::cond and channels park only the fiber";
constexpr const char* hint_sleep = "std::this_thread::sleep_for or usleep in a fiber? goro::sleep_for parks only the fiber";
constexpr const char* hint_descriptor =
    "a blocking read, accept or poll on a descriptor? goro::net parks only the fiber; "
    "wrap any other blocking call in goro::blocking_scope";
constexpr const char* hint_other = "a blocking system call? wrap it in goro::blocking_scope, or run it with goro::blocking";

struct syscall_hint {
    long nr;
    const char* name;
    const char* hint;
};

#define GORO_SYSCALL(name, hint) {SYS_##name, #name, hint},
constexpr syscall_hint syscall_hints[] = {
#ifdef SYS_futex
    GORO_SYSCALL(futex, hint_futex)
#endif
#ifdef SYS_nanosleep
    GORO_SYSCALL(nanosleep, hint_sleep)
#endif
#ifdef SYS_clock_nanosleep
    GORO_SYSCALL(clock_nanosleep, hint_sleep)
#endif
#ifdef SYS_read
    GORO_SYSCALL(read, hint_descriptor)
#endif
#ifdef SYS_readv
    GORO_SYSCALL(readv, hint_descriptor)
#endif
#ifdef SYS_recvfrom
    GORO_SYSCALL(recvfrom, hint_descriptor)
#endif
#ifdef SYS_recvmsg
    GORO_SYSCALL(recvmsg, hint_descriptor)
#endif
#ifdef SYS_poll
    GORO_SYSCALL(poll, hint_descriptor)
#endif
#ifdef SYS_ppoll
    GORO_SYSCALL(ppoll, hint_descriptor)
#endif
#ifdef SYS_select
    GORO_SYSCALL(select, hint_descriptor)
#endif
#ifdef SYS_pselect6
    GORO_SYSCALL(pselect6, hint_descriptor)
#endif
#ifdef SYS_epoll_wait
    GORO_SYSCALL(epoll_wait, hint_descriptor)
#endif
#ifdef SYS_epoll_pwait
    GORO_SYSCALL(epoll_pwait, hint_descriptor)
#endif
#ifdef SYS_accept
    GORO_SYSCALL(accept, hint_descriptor)
#endif
#ifdef SYS_accept4
    GORO_SYSCALL(accept4, hint_descriptor)
#endif
#ifdef SYS_connect
    GORO_SYSCALL(connect, hint_descriptor)
#endif
};
#undef GORO_SYSCALL

const syscall_hint* find_hint(int nr) {
    for (const syscall_hint& h : syscall_hints)
        if (h.nr == nr) return &h;
    return nullptr;
}

// One report per spawn site and hint: a loop that blocks a thousand times
// says so once.
struct trap_site {
    const char* file;
    std::uint32_t line;
    const char* hint;
};
std::mutex trap_sites_lock;
trap_site trap_sites[64];
int trap_site_count = 0;

bool first_report_at(const char* file, std::uint32_t line, const char* hint) {
    std::lock_guard<std::mutex> g(trap_sites_lock);
    for (int i = 0; i < trap_site_count; ++i)
        if (trap_sites[i].file == file && trap_sites[i].line == line && trap_sites[i].hint == hint) return false;
    if (trap_site_count == static_cast<int>(std::size(trap_sites))) return false;  // enough said
    trap_sites[trap_site_count++] = {file, line, hint};
    return true;
}

}  // namespace

// Called by an M whose fiber came back after sysmon took its P while the
// fiber slept in the kernel (GORO_DEBUG=traps).
void report_trap_end(machine& m, fiber* f) noexcept {
    const std::int64_t since = m.trap_since_ns.exchange(0, std::memory_order_relaxed);
    const int nr = m.trap_syscall.load(std::memory_order_relaxed);
    if (since == 0) return;
    const std::int64_t held = monotonic_now_ns() - since;
    if (held < preempt_after_ns) return;  // a short wait: not worth a word
    const syscall_hint* known = find_hint(nr);
    const char* hint = known ? known->hint : hint_other;
    const char* file = f->site_file.load(std::memory_order_relaxed);
    const std::uint32_t line_no = f->site_line.load(std::memory_order_relaxed);
    if (!first_report_at(file, line_no, hint)) return;
    char who[128], took[32], call[64], line[1024];
    append_fiber(who, sizeof who, f);
    format_ms(took, sizeof took, held);
    if (known)
        std::snprintf(call, sizeof call, "%s (system call %d)", known->name, nr);
    else if (nr >= 0)
        std::snprintf(call, sizeof call, "system call %d", nr);
    else
        std::snprintf(call, sizeof call, "the kernel");
    std::snprintf(line, sizeof line,
                  "goro: %s blocked its thread in %s for %s, outside any goro::blocking_scope; "
                  "sysmon moved its P to another thread\n"
                  "\tspawned at %s:%u in %s\n"
                  "\t%s\n"
                  "\t(said once per spawn site; GORO_DEBUG=traps=0 turns this off)\n",
                  who, call, took, file, line_no, f->site_function.load(std::memory_order_relaxed), hint);
    write_stderr(line);
}

void write_schedtrace(scheduler& s, bool detail);  // metrics.cpp

void sysmon_main(scheduler& s) {
    block_async_signals(nullptr);  // inherited already from run's thread; say so
    std::int64_t delay = min_delay_ns;
    int idle_rounds = 0;
    const std::int64_t schedtrace_ns =
        debug().schedtrace_ms > 0 ? static_cast<std::int64_t>(debug().schedtrace_ms) * 1'000'000 : INT64_MAX;
    std::int64_t last_schedtrace_ns = s.started_ns;
    while (!s.stopping.load(std::memory_order_acquire)) {
        if (idle_rounds == 0)
            delay = min_delay_ns;
        else if (idle_rounds > idle_rounds_before_backoff)
            delay = std::min(delay * 2, max_delay_ns);
        const std::uint32_t seen = s.sysmon_wakeup.load(std::memory_order_acquire);
        bool outright = false;
        // Sleep outright only once the program has been quiet for a while
        // (the delay at its longest) and every P is idle: a program whose
        // Ps go idle between two hand-offs would otherwise pay a futex wake
        // of sysmon on each of them, and sysmon's fast rounds after it.
        if (delay == max_delay_ns && s.idle_count.load(std::memory_order_relaxed) == s.procs && !debug().stalls &&
            debug().schedtrace_ms <= 0) {
            std::lock_guard<std::mutex> g(s.lock);
            if (s.idle_count.load(std::memory_order_relaxed) == s.procs && !s.stopping.load(std::memory_order_relaxed)) {
                s.sysmon_sleeping = true;
                outright = true;
            }
        }
        if (outright) {
            // Every P is idle: nothing to retake until one is busy again
            // (pidle_get_locked wakes us). The delay stays long: a P that
            // wakes us is not a sign of a stuck one.
            while (s.sysmon_wakeup.load(std::memory_order_acquire) == seen) futex_wait(s.sysmon_wakeup, seen, -1);
            continue;
        }
        futex_wait(s.sysmon_wakeup, seen, monotonic_now_ns() + std::min(delay, schedtrace_ns));
        if (s.stopping.load(std::memory_order_acquire)) break;
        const std::int64_t now = monotonic_now_ns();
        if (now - last_schedtrace_ns >= schedtrace_ns) {  // GORO_DEBUG=schedtrace=MS, as Go's sysmon prints it
            last_schedtrace_ns = now;
            write_schedtrace(s, debug().scheddetail == 1);
        }
        poll_network(s);
        if (retake(s, now) > 0)
            idle_rounds = 0;
        else
            ++idle_rounds;
        report_long_stalls(s, now);
    }
}

}  // namespace goro::detail
