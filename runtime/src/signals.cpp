// runtime/src/signals.cpp — fatal signals and fiber dumps.
//
// Everything reachable from a signal handler here is async-signal-safe: it
// formats into a stack buffer and writes with write(2). The fiber dump walks
// the stack slabs through their prepend-only list and reads the control
// blocks' atomic fields, so it needs no lock (it is a snapshot: a fiber may
// change state while it is printed).

#include "runtime/detail/signals.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <ostream>
#include <string>

#include <goro/runtime.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/scheduler.hpp"

namespace goro::detail {

namespace {

constexpr std::size_t signal_stack_size = 64 * 1024;

// A fixed-size text buffer that writes itself out when full.
class line_writer {
public:
    explicit line_writer(int fd, std::string* sink = nullptr) : fd_(fd), sink_(sink) {}
    ~line_writer() { flush(); }

    line_writer& text(const char* s) {
        if (!s) s = "?";
        while (*s) put(*s++);
        return *this;
    }
    line_writer& number(std::uint64_t v) {
        char digits[24];
        int n = 0;
        do {
            digits[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v);
        while (n) put(digits[--n]);
        return *this;
    }
    // Seconds with two decimals, from nanoseconds.
    line_writer& seconds(std::int64_t ns) {
        if (ns < 0) ns = 0;
        std::uint64_t centis = static_cast<std::uint64_t>(ns) / 10'000'000;
        number(centis / 100).text(".");
        if (centis % 100 < 10) put('0');
        return number(centis % 100).text("s");
    }
    void flush() {
        if (used_ == 0) return;
        if (sink_) {
            sink_->append(buffer_, used_);
        } else {
            std::size_t done = 0;
            while (done < used_) {
                ssize_t w = ::write(fd_, buffer_ + done, used_ - done);
                if (w <= 0) break;
                done += static_cast<std::size_t>(w);
            }
        }
        used_ = 0;
    }

private:
    void put(char c) {
        if (used_ == sizeof buffer_) flush();
        buffer_[used_++] = c;
    }
    int fd_;
    std::string* sink_;
    char buffer_[1024];
    std::size_t used_ = 0;
};

void format_fiber(line_writer& out, const fiber* f, std::int64_t now) {
    const fiber_state state = f->state.load(std::memory_order_acquire);
    out.text("fiber ").number(f->id.load(std::memory_order_relaxed));
    if (const char* name = f->name.load(std::memory_order_relaxed)) out.text(" \"").text(name).text("\"");
    out.text(" [");
    if (state == fiber_state::waiting) {
        out.text(wait_reason_name(f->reason.load(std::memory_order_relaxed)));
        out.text(", ").seconds(now - f->waiting_since_ns.load(std::memory_order_relaxed));
    } else {
        out.text(fiber_state_name(state));
    }
    out.text("]:\n\tspawned at ");
    out.text(f->site_file.load(std::memory_order_relaxed)).text(":").number(f->site_line.load(std::memory_order_relaxed));
    out.text(" in ").text(f->site_function.load(std::memory_order_relaxed)).text("\n");
}

void format_all(line_writer& out) {
    scheduler* s = active_scheduler();
    if (!s) {
        out.text("no goro runtime is running\n");
        return;
    }
    const std::int64_t now = coarse_clock_ns();
    bool first = true;
    // Two passes, so the main fiber (id 1) comes first as Go's goroutine 1
    // does, without sorting (which would need memory a signal handler lacks).
    for (bool main_pass : {true, false}) {
        for (stack_slab* slab = s->stacks.slabs(); slab; slab = slab->next) {
            for (std::size_t i = 0; i < slab->slots; ++i) {
                const fiber* f = slab->block(i);
                if (f->state.load(std::memory_order_acquire) == fiber_state::dead) continue;
                if ((f->id.load(std::memory_order_relaxed) == 1) != main_pass) continue;
                if (!first) out.text("\n");
                first = false;
                format_fiber(out, f, now);
            }
        }
    }
}

struct sigaction previous_segv;
struct sigaction previous_bus;
std::atomic<bool> handlers_installed{false};

void forward_to_previous(int sig, siginfo_t* info, void* uctx, const struct sigaction& prev) {
    if (prev.sa_flags & SA_SIGINFO) {
        if (prev.sa_sigaction) {
            prev.sa_sigaction(sig, info, uctx);
            return;
        }
    } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
        prev.sa_handler(sig);
        return;
    }
    // Default action: restore it and return, so the fault recurs and the
    // process dies with the signal (and a core file where enabled).
    signal(sig, SIG_DFL);
}

void on_fault(int sig, siginfo_t* info, void* uctx) {
    machine* m = current_machine();
    const fiber* f = m ? m->current : nullptr;
    if (f) {
        auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
        auto low = reinterpret_cast<std::uintptr_t>(f->stack_low);
        // The guard page, or a little below it for a frame that jumped it.
        if (addr < low && addr + f->guard_size + 64 * 1024 >= low) {
            claim_fatal_report();
            line_writer out(2);
            out.text("fatal error: stack overflow in fiber ").number(f->id.load(std::memory_order_relaxed));
            out.text("\n\nstack size ").number(f->stack_size).text(" bytes (set goro::config::stack_size or "
                                                                     "goro::spawn_options::stack_size)\n\n");
            format_fiber(out, f, coarse_clock_ns());
            out.flush();
            _exit(2);
        }
    }
    forward_to_previous(sig, info, uctx, sig == SIGBUS ? previous_bus : previous_segv);
}

void on_quit(int, siginfo_t*, void*) {
    claim_fatal_report();
    {
        line_writer out(2);
        out.text("SIGQUIT: quit\n\n");
    }
    dump_all_fibers_to_fd(2);
    _exit(2);
}

}  // namespace

signal_stack::signal_stack() {
    memory_ = mmap(nullptr, signal_stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory_ == MAP_FAILED) {
        memory_ = nullptr;
        return;
    }
    stack_t ss{};
    ss.ss_sp = memory_;
    ss.ss_size = signal_stack_size;
    installed_ = sigaltstack(&ss, nullptr) == 0;
}

signal_stack::~signal_stack() {
    if (installed_) {
        stack_t ss{};
        ss.ss_flags = SS_DISABLE;
        sigaltstack(&ss, nullptr);
    }
    if (memory_) munmap(memory_, signal_stack_size);
}

namespace {

void install_fault_handler(int signo, struct sigaction* previous) noexcept {
    struct sigaction sa {};
    sa.sa_sigaction = &on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, previous);
}

void install_quit_handler() noexcept {
    struct sigaction quit {};
    quit.sa_sigaction = &on_quit;
    quit.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&quit.sa_mask);
    sigaction(SIGQUIT, &quit, nullptr);
}

}  // namespace

void install_signal_handlers() {
    bool expected = false;
    if (!handlers_installed.compare_exchange_strong(expected, true)) return;
    install_fault_handler(SIGSEGV, &previous_segv);
    install_fault_handler(SIGBUS, &previous_bus);
    install_quit_handler();
}

bool restore_runtime_signal_handler(int signo) noexcept {
    if (!handlers_installed.load()) return false;
    switch (signo) {
    case SIGSEGV: install_fault_handler(SIGSEGV, nullptr); return true;  // previous_* keep the first ones
    case SIGBUS: install_fault_handler(SIGBUS, nullptr); return true;
    case SIGQUIT: install_quit_handler(); return true;
    default: return false;
    }
}

void dump_one_fiber_to_fd(int fd, const fiber* f, std::int64_t now) noexcept {
    line_writer out(fd);
    format_fiber(out, f, now);
}

void dump_all_fibers_to_fd(int fd) noexcept {
    line_writer out(fd);
    format_all(out);
}

}  // namespace goro::detail

namespace goro {

void dump_fibers(std::ostream& os) {
    std::string text;
    {
        detail::line_writer out(-1, &text);
        detail::format_all(out);
    }
    os << text;
}

}  // namespace goro
