// netpoll/src/signal.cpp — signals to channels: a self-pipe (a socket pair)
// written by an async-signal-safe handler and read by the signal loop, a
// fiber parked on the netpoller.
//
// Invariants (registry_lock guards registrations and loop_run_id):
//   - The socket pair and its poll_desc live for the process; the write end
//     is non-blocking, so a handler never blocks (a full pipe drops signals,
//     as Go's does once its queue is full).
//   - One signal loop per run: signal_notify starts it when the run has
//     none, and drops the registrations of earlier runs (their channels'
//     receivers are gone).
//   - The loop reads the socket without taking a socket reference or lock:
//     the socket is never closed, and an abandoned loop fiber is forgotten
//     by the poller when its run ends.
//   - handled[s] says on_signal is s's handler; touched[s] that notify or
//     ignore changed s's disposition, which signal_reset puts back (to the
//     runtime's own handler for SIGQUIT, SIGSEGV and SIGBUS, else SIG_DFL).
//   - signal_notify_context is signal_notify on a channel of its own and a
//     fiber that cancels the context on the first signal; the fiber ends
//     when the context is done, however that comes about.

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <goro/panic.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/signal.hpp>

#include "netpoll/detail/poll_desc.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/signals.hpp"

namespace goro {

namespace {

struct registration {
    chan<int> ch;
    int signal;
};

struct signal_state {
    std::mutex registry_lock;
    std::vector<registration> registrations;
    std::uint64_t loop_run_id = 0;
    int read_fd = -1;
    net::detail::poll_desc* pd = nullptr;
    bool handled[NSIG] = {};  // on_signal is installed
    bool touched[NSIG] = {};  // notify or ignore changed its disposition (signal_reset undoes it)
};

std::atomic<int> signal_write_fd{-1};

void check_catchable(const char* who, int signo) {
    if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
        throw panic_error(std::string(who) + ": signal " + std::to_string(signo) + " cannot be caught");
}

void on_signal(int signo) {
    const int saved = errno;
    const unsigned char byte = static_cast<unsigned char>(signo);
    const int fd = signal_write_fd.load(std::memory_order_relaxed);
    if (fd >= 0) (void)!::write(fd, &byte, 1);
    errno = saved;
}

signal_state& state() {
    static signal_state* const s = [] {
        auto* st = new signal_state;
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
            throw std::system_error(errno, std::system_category(), "signal_notify: socketpair");
        std::error_code ec;
        st->pd = net::detail::poll_open(fds[0], ec);
        if (!st->pd) throw std::system_error(ec, "signal_notify: registering with the poller");
        st->read_fd = fds[0];
        signal_write_fd.store(fds[1], std::memory_order_release);
        return st;
    }();
    return *s;
}

void deliver(signal_state& st, int signo) {
    std::vector<chan<int>> targets;
    {
        std::lock_guard<std::mutex> g(st.registry_lock);
        for (const registration& r : st.registrations)
            if (r.signal == signo) targets.push_back(r.ch);
    }
    for (chan<int>& ch : targets) {
        try {
            (void)ch.try_send(signo);
        } catch (const panic_error&) {
            // A closed channel: Go would panic in its signal loop; dropping
            // the signal for it is kinder and loses nothing else.
        }
    }
}

void signal_loop(signal_state& st) {
    unsigned char buffer[64];
    for (;;) {
        std::error_code ec;
        if (!net::detail::poll_prepare(st.pd, net::detail::io_mode::read, ec)) return;
        const ssize_t n = ::read(st.read_fd, buffer, sizeof buffer);
        if (n > 0) {
            for (ssize_t i = 0; i < n; ++i) deliver(st, buffer[i]);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!net::detail::poll_wait(st.pd, net::detail::io_mode::read, ec)) return;
            continue;
        }
        return;  // cannot happen: the write end is never closed
    }
}

}  // namespace

void signal_notify(chan<int> ch, std::initializer_list<int> signals) {
    if (!ch) throw panic_error("signal_notify: using a nil channel");
    detail::scheduler* s = detail::active_scheduler();
    if (!s) throw panic_error("signal_notify: no runtime is running (call it inside goro::run)");
    for (int signo : signals) check_catchable("signal_notify", signo);
    signal_state& st = state();
    bool start_loop = false;
    {
        std::lock_guard<std::mutex> g(st.registry_lock);
        if (st.loop_run_id != s->run_id) {
            // A new run: earlier runs' channels are gone, and signals that
            // came between runs are not this run's to see.
            st.registrations.clear();
            unsigned char stale[64];
            while (::read(st.read_fd, stale, sizeof stale) > 0) {
            }
            st.loop_run_id = s->run_id;
            start_loop = true;
        }
        for (int signo : signals) {
            st.registrations.push_back({ch, signo});
            if (!st.handled[signo]) {
                struct sigaction sa{};
                sa.sa_handler = &on_signal;
                sigemptyset(&sa.sa_mask);
                sa.sa_flags = SA_RESTART;
                if (sigaction(signo, &sa, nullptr) != 0)
                    throw std::system_error(errno, std::system_category(), "signal_notify: sigaction");
                st.handled[signo] = true;
                st.touched[signo] = true;
            }
        }
    }
    // Spawned outside the lock: goro::go may yield, and a std::mutex must be
    // unlocked on the thread that locked it.
    if (!start_loop) return;
    try {
        go(spawn_options{.stack_size = 0, .name = "signal loop"}, [&st] { signal_loop(st); });
    } catch (...) {
        std::lock_guard<std::mutex> g(st.registry_lock);
        st.loop_run_id = 0;  // the next call tries again
        throw;
    }
}

void signal_stop(const chan<int>& ch) {
    signal_state& st = state();
    std::lock_guard<std::mutex> g(st.registry_lock);
    st.registrations.erase(
        std::remove_if(st.registrations.begin(), st.registrations.end(), [&](const registration& r) { return r.ch == ch; }),
        st.registrations.end());
}

namespace {

// Under registry_lock: no channel gets signo any more.
void drop_registrations_locked(signal_state& st, int signo) {
    st.registrations.erase(std::remove_if(st.registrations.begin(), st.registrations.end(),
                                          [&](const registration& r) { return r.signal == signo; }),
                           st.registrations.end());
}

void set_disposition(int signo, void (*handler)(int)) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, nullptr);
}

// Under registry_lock.
void reset_locked(signal_state& st, int signo) {
    drop_registrations_locked(st, signo);
    if (!st.touched[signo]) return;  // never ours to undo (nohup's SIGHUP, say)
    if (!detail::restore_runtime_signal_handler(signo)) set_disposition(signo, SIG_DFL);
    st.handled[signo] = false;
    st.touched[signo] = false;
}

}  // namespace

void signal_ignore(std::initializer_list<int> signals) {
    for (int signo : signals) check_catchable("signal_ignore", signo);
    signal_state& st = state();
    std::lock_guard<std::mutex> g(st.registry_lock);
    for (int signo : signals) {
        drop_registrations_locked(st, signo);
        set_disposition(signo, SIG_IGN);
        st.handled[signo] = false;  // a later signal_notify installs its handler again
        st.touched[signo] = true;
    }
}

bool signal_ignored(int signo) noexcept {
    if (signo <= 0 || signo >= NSIG) return false;
    struct sigaction current {};
    if (sigaction(signo, nullptr, &current) != 0) return false;
    return !(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN;
}

void signal_reset(std::initializer_list<int> signals) {
    for (int signo : signals) check_catchable("signal_reset", signo);
    signal_state& st = state();
    std::lock_guard<std::mutex> g(st.registry_lock);
    for (int signo : signals) reset_locked(st, signo);
}

void signal_reset() {
    signal_state& st = state();
    std::lock_guard<std::mutex> g(st.registry_lock);
    for (int signo = 1; signo < NSIG; ++signo) reset_locked(st, signo);
}

std::string signal_name(int signo) {
    // Go's names for Linux's signals (its syscall package's table).
    switch (signo) {
    case SIGHUP: return "hangup";
    case SIGINT: return "interrupt";
    case SIGQUIT: return "quit";
    case SIGILL: return "illegal instruction";
    case SIGTRAP: return "trace/breakpoint trap";
    case SIGABRT: return "aborted";
    case SIGBUS: return "bus error";
    case SIGFPE: return "floating point exception";
    case SIGKILL: return "killed";
    case SIGUSR1: return "user defined signal 1";
    case SIGSEGV: return "segmentation fault";
    case SIGUSR2: return "user defined signal 2";
    case SIGPIPE: return "broken pipe";
    case SIGALRM: return "alarm clock";
    case SIGTERM: return "terminated";
#ifdef SIGSTKFLT
    case SIGSTKFLT: return "stack fault";
#endif
    case SIGCHLD: return "child exited";
    case SIGCONT: return "continued";
    case SIGSTOP: return "stopped (signal)";
    case SIGTSTP: return "stopped";
    case SIGTTIN: return "stopped (tty input)";
    case SIGTTOU: return "stopped (tty output)";
    case SIGURG: return "urgent I/O condition";
    case SIGXCPU: return "CPU time limit exceeded";
    case SIGXFSZ: return "file size limit exceeded";
    case SIGVTALRM: return "virtual timer expired";
    case SIGPROF: return "profiling timer expired";
    case SIGWINCH: return "window changed";
    case SIGIO: return "I/O possible";
#ifdef SIGPWR
    case SIGPWR: return "power failure";
#endif
    case SIGSYS: return "bad system call";
    default: return "signal " + std::to_string(signo);
    }
}

void signal_stop_func::operator()() const {
    cancel_();
    if (ch_) signal_stop(ch_);
}

std::pair<context, signal_stop_func> signal_notify_context(const context& parent, std::initializer_list<int> signals) {
    std::pair<context, cancel_func> child = with_cancel(parent);
    const context ctx = child.first;
    const cancel_func cancel = child.second;
    // One slot is enough: the first signal cancels, and later ones only
    // need to be caught, not seen.
    auto ch = make_chan<int>(1);
    try {
        signal_notify(ch, signals);
    } catch (...) {
        cancel();  // unlink from parent
        throw;
    }
    if (!ctx.err()) {
        try {
            go(spawn_options{.stack_size = 0, .name = "signal_notify_context"}, [ctx, cancel, ch] {
                (void)select(recv(ch), recv(ctx.done()));
                cancel();  // does nothing if ctx was done already
            });
        } catch (...) {
            cancel();
            signal_stop(ch);
            throw;
        }
    }
    return {ctx, signal_stop_func(cancel, ch)};
}

}  // namespace goro
