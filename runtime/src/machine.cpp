// runtime/src/machine.cpp — Ms: the threads that run fibers, their creation
// under the thread bound, the body of every M's thread, and the barriers of
// the runtime-entry protocol (runtime/detail/scheduler.hpp).
//
// Invariants:
//   - scheduler::machines lists every M of the run; an M is created under
//     scheduler::lock, which also counts it against GORO_MAX_THREADS.
//   - this_thread_machine is set once by the M's thread and read only
//     through current_machine() (never cached across a switch).
//   - An M whose thread left for good sets `exited`; run's end joins those
//     and detaches the rest (abandoned, never touching the scheduler again).

#include <cxxabi.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/faults.hpp"
#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/signals.hpp"

namespace goro::detail {

machine::~machine() {
    if (stat_fd >= 0) ::close(stat_fd);
    if (syscall_fd >= 0) ::close(syscall_fd);
}

void yield_preempted(fiber* self) noexcept;  // park.cpp

namespace {

// initial-exec: read on every switch, park and ready; the default model of
// position-independent code would call __tls_get_addr each time. The cost is
// a few bytes of static TLS, which a library loaded by dlopen may not get.
__attribute__((tls_model("initial-exec"))) thread_local machine* this_thread_machine = nullptr;

// membarrier(2) with MEMBARRIER_CMD_PRIVATE_EXPEDITED (Linux 4.14) makes
// sysmon's rare barrier run a full fence on every CPU that runs one of our
// threads, so the Ms' side of the entry protocol needs only a compiler
// barrier. Without it (an older kernel, a seccomp filter) both sides fence.
enum class barrier_mode { unknown, membarrier, fences };
std::atomic<barrier_mode> the_barrier_mode{barrier_mode::unknown};

eh_globals* thread_eh_globals() noexcept { return reinterpret_cast<eh_globals*>(abi::__cxa_get_globals()); }

barrier_mode choose_barrier_mode() noexcept {
    const long supported = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
        return barrier_mode::membarrier;
    return barrier_mode::fences;
}

// GORO_MAX_THREADS, as Go's debug.SetMaxThreads: the bound on Ms.
int max_threads_from_env() noexcept {
    if (const char* env = std::getenv("GORO_MAX_THREADS")) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && n > 0 && n <= 1'000'000) return static_cast<int>(n);
    }
    return 10000;
}

}  // namespace

__attribute__((noinline)) machine* current_machine() noexcept {
    // The empty asm keeps the compiler from treating this as a pure function
    // whose result could be reused across a switch.
    asm volatile("" ::: "memory");
    return this_thread_machine;
}

std::atomic<bool> membarrier_works{false};

void init_barriers() noexcept {
    if (the_barrier_mode.load(std::memory_order_acquire) == barrier_mode::unknown) {
        const barrier_mode mode = choose_barrier_mode();
        the_barrier_mode.store(mode, std::memory_order_release);
        membarrier_works.store(mode == barrier_mode::membarrier, std::memory_order_release);
    }
}

// Reads the thread-local itself (this function is never inlined, so the
// read is fresh): one call and one load when nothing is asked.
void preemption_point() noexcept {
    machine* m = this_thread_machine;
    if (!m || !m->preempt.load(std::memory_order_relaxed) || !m->current) return;
    yield_preempted(m->current);
}

void heavy_barrier() noexcept {
    if (the_barrier_mode.load(std::memory_order_relaxed) == barrier_mode::membarrier &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
        return;
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

int configured_max_threads() noexcept { return max_threads_from_env(); }

machine* new_machine_locked(scheduler& s, processor* p, bool spinning) {
    // Teardown takes its list of Ms once `stopping` is set (under this lock).
    if (s.stopping.load(std::memory_order_relaxed)) GORO_FATAL("runtime: an M was started after the run stopped");
    if (static_cast<int>(s.machines.size()) >= s.max_machines) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "program exceeds %d-thread limit (GORO_MAX_THREADS)", s.max_machines);
        claim_fatal_report();
        write_stderr("runtime: ");
        write_stderr(msg);
        write_stderr("\nfatal error: thread exhaustion\n\n");
        dump_all_fibers_to_fd(2);
        _exit(2);
    }
    auto* m = new machine(s, static_cast<int>(s.machines.size()));
    m->next_p = p;
    m->next_spinning = spinning;
    if (p) p->owner.store(m, std::memory_order_release);
    s.machines.push_back(m);
    note_runtime_thread(1);
    try {
        inject_thread_create_fault();
        m->thread = std::thread([m] {
            char name[16];
            std::snprintf(name, sizeof name, "goro-m%d", m->id);
            pthread_setname_np(pthread_self(), name);
            machine_main(*m);
            note_runtime_thread(-1);
        });
    } catch (const std::system_error& e) {
        note_runtime_thread(-1);
        s.machines.pop_back();
        if (p) p->owner.store(nullptr, std::memory_order_relaxed);
        delete m;
        if (s.machines.empty()) throw;  // run's first M: goro::run reports it to its caller
        fatal_newosproc(s.machines.size(), e.code().value());
    }
    return m;
}

void fatal_newosproc(std::size_t threads, int error) noexcept {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "runtime: failed to create new OS thread (have %zu already; %s)\n"
                  "runtime: may need to increase max user processes (ulimit -u)\n"
                  "fatal error: newosproc\n",
                  threads, std::strerror(error));
    claim_fatal_report();
    write_stderr(msg);
    _exit(2);
}

void block_async_signals(sigset_t* old) noexcept {
    sigset_t all;
    sigfillset(&all);
    // Faults are delivered to the thread that caused them, and must stay
    // deliverable (the stack-overflow handler, a crash's default action).
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&all, sig);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

void machine_main(machine& m) {
    this_thread_machine = &m;
    m.eh = thread_eh_globals();  // this thread's, for good
    m.errno_slot = &errno;
    m.tid.store(static_cast<int>(syscall(SYS_gettid)), std::memory_order_relaxed);
    pthread_sigmask(SIG_SETMASK, &m.sched.user_signal_mask, nullptr);
    m.coarse_now_ns = coarse_clock_ns();
    m.random_state = 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(m.id + 1);
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void* low = nullptr;
        std::size_t size = 0;
        pthread_attr_getstack(&attr, &low, &size);
        m.scheduler_stack = {low, size};
        pthread_attr_destroy(&attr);
    }
    m.tsan_scheduler_fiber = tsan_current_fiber();
    signal_stack alt;  // the stack-overflow handler runs here
    {
        // The P (and spinning count) its creator handed it.
        std::lock_guard<std::mutex> g(m.sched.lock);
        m.p = m.next_p;
        m.spinning = m.next_spinning;
        m.next_p = nullptr;
        m.next_spinning = false;
    }
    while (fiber* f = find_runnable(m)) {
        if (!execute(m, f)) {
            // The run ended while f was out of the runtime: f stays where it
            // is, abandoned, and this thread never touches the scheduler
            // again (it is gone, or going). Teardown waits for in_runtime
            // to clear before it decides it was abandoned.
            this_thread_machine = nullptr;
            m.in_runtime.store(false, std::memory_order_release);
            return;
        }
    }
    this_thread_machine = nullptr;
    m.exited.store(true, std::memory_order_release);
}

}  // namespace goro::detail
