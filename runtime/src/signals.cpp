// runtime/src/signals.cpp — fatal signals and fiber dumps.
//
// Everything reachable from a signal handler here is async-signal-safe: it
// formats into a stack buffer and writes with write(2). The fiber dump walks
// the stack slabs through their prepend-only list and reads the control
// blocks' atomic fields, so it needs no lock (it is a snapshot: a fiber may
// change state while it is printed). Each fiber's call stack comes from
// runtime/src/traceback.cpp: capturing a running fiber is async-signal-safe;
// naming frames allocates (libdw), so a fatal handler arms a watchdog first
// and a dump that hangs there still ends the process.

#include "runtime/detail/signals.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <ostream>
#include <string>
#include <system_error>
#include <thread>

#include <goro/blocking.hpp>
#include <goro/runtime.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/traceback.hpp"

namespace goro::detail {

namespace {

// The dumps of fatal handlers name frames with libdw, whose DWARF readers
// take tens of kilobytes of stack: 1 MiB, of which only what a handler
// touches becomes resident (64 KiB was overrun, into the mapping below). No
// guard page: it would cost each M a mapping, which a process near
// vm.max_map_count cannot spare.
// Under ASan a stack that large costs a shadow mapping per M, which the
// guard-page exhaustion path cannot spare: ASan builds keep 64 KiB and do
// not name frames in fatal handlers (naming_allowed_here).
#ifdef GORO_ASAN
constexpr std::size_t signal_stack_size = 64 * 1024;
#else
constexpr std::size_t signal_stack_size = 1024 * 1024;
#endif

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

// ------------------------------------------------------------ call stacks

// While the SIGQUIT handler dumps: its context and thread, so the fiber it
// interrupted is unwound from where it stopped.
std::atomic<const void*> quit_context{nullptr};
std::atomic<int> quit_tid{0};

int this_tid() noexcept { return static_cast<int>(syscall(SYS_gettid)); }

// Go's traceback: one frame a line, its file:line under it; the runtime's
// frames at either end (switching, park, the fiber's entry) left out.
// Set by the fatal handlers (SIGQUIT, stack overflow) while they dump.
std::atomic<bool> in_fatal_handler{false};

// ThreadSanitizer stops the program at an allocation inside a signal
// handler, which naming frames (and libdw's unwinding) needs; ASan builds
// have too small a signal stack for it (signal_stack_size).
bool naming_allowed_here() {
#ifdef GORO_ASAN
    constexpr bool sanitized = true;
#else
    constexpr bool sanitized = running_under_tsan();
#endif
    return !(sanitized && in_fatal_handler.load(std::memory_order_relaxed));
}

void format_frames(line_writer& out, const traceback& frames) {
    frame_info at_pc[max_inlined_frames];
    if (!naming_allowed_here()) {
        out.text("\t(frames unnamed: a sanitized build does not name them in a signal handler)\n");
        for (int i = 0; i < frames.count && i < traceback_max_frames; ++i) {
            name_unknown(frames.pc[i], at_pc[0]);
            out.text(at_pc[0].function).text("\n");
        }
        return;
    }
    // First pass: which frames (inlined ones counted) are the user's.
    int first = -1, last = -1, k = 0;
    for (int i = 0; i < frames.count; ++i) {
        const int n = symbolise_frame(frames.pc[i], !(i == 0 && frames.first_exact), at_pc);
        for (int j = 0; j < n; ++j, ++k) {
            if (is_runtime_frame(at_pc[j])) continue;
            if (first < 0) first = k;
            last = k;
        }
    }
    if (first < 0) return;
    int printed = 0;
    k = 0;
    for (int i = 0; i < frames.count && k <= last; ++i) {
        const int n = symbolise_frame(frames.pc[i], !(i == 0 && frames.first_exact), at_pc);
        for (int j = 0; j < n; ++j, ++k) {
            if (k < first || k > last) continue;
            if (printed == traceback_max_frames) {
                out.text("...additional frames elided...\n");
                return;
            }
            out.text(at_pc[j].function).text("\n");
            if (at_pc[j].file[0]) out.text("\t").text(at_pc[j].file).text(":").number(at_pc[j].line).text("\n");
            ++printed;
        }
    }
    if (frames.truncated) out.text("...additional frames elided...\n");
}

// The thread of the M running f, or 0 if none is found.
int thread_running(const fiber* f) {
    scheduler* s = active_scheduler();
    if (!s) return 0;
    // Bounded: the dump may run in a handler that interrupted a holder.
    bool locked = false;
    for (int tries = 0; tries < 2000 && !locked; ++tries) {
        locked = s->lock.try_lock();
        if (!locked) sched_yield();
    }
    if (!locked) return 0;
    // running_fiber is the last fiber an M switched into, so an M that has
    // gone back to its scheduler may still name f: prefer the one that is
    // out of the runtime, in f's code.
    int tid = 0;
    for (machine* m : s->machines) {
        if (m->running_fiber.load(std::memory_order_relaxed) != f) continue;
        if (tid == 0 || !m->in_runtime.load(std::memory_order_relaxed)) tid = m->tid.load(std::memory_order_relaxed);
    }
    s->lock.unlock();
    return tid;
}

// f's stack as it is now: parked fibers from their saved registers, a
// running one from the thread that runs it.
void format_stack(line_writer& out, const fiber* f, int tid) {
    traceback frames;
    const fiber_state state = f->state.load(std::memory_order_acquire);
    if (state == fiber_state::dead) return;
    if (state != fiber_state::running) {
        if (!naming_allowed_here()) {
            // libdw allocates as it unwinds; see naming_allowed_here.
            out.text("\t(stack not unwound: a sanitized build does not unwind it in a signal handler)\n");
            return;
        }
        if (capture_parked(f, frames)) format_frames(out, frames);
        return;
    }
    if (tid == 0) tid = thread_running(f);
    if (tid != 0 && tid == this_tid()) {
        if (tid == quit_tid.load(std::memory_order_relaxed) && quit_context.load(std::memory_order_relaxed))
            capture_from_signal(quit_context.load(std::memory_order_relaxed), frames);
        else
            capture_current(frames);
        format_frames(out, frames);
        return;
    }
    switch (capture_running(f, tid, frames)) {
    case running_capture::captured: format_frames(out, frames); return;
    case running_capture::timed_out:
        out.text("\t...stack unavailable: its thread did not answer the stack signal within 100 ms "
                 "(blocked with the signal masked?)\n");
        return;
    case running_capture::not_running:
        out.text("\t...stack unavailable: it left its thread while the stack was asked for\n");
        return;
    case running_capture::unavailable: out.text("\t...stack unavailable: its thread is not known\n"); return;
    }
}

// A fatal handler's dump names frames with an allocating symboliser; were
// it to hang (the signal interrupted the allocator), this still ends it.
void on_dump_watchdog(int) {
    static const char text[] = "\n...the dump did not finish within 10 s\n";
    ssize_t ignored = ::write(2, text, sizeof text - 1);
    (void)ignored;
    _exit(2);
}

void arm_dump_watchdog() {
    struct sigaction sa {};
    sa.sa_handler = &on_dump_watchdog;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, nullptr);
    alarm(10);
}

// frames: the stack to print (a panic's throw site, an overflow's fault);
// null to capture it now.
void format_fiber(line_writer& out, const fiber* f, std::int64_t now, const traceback* frames = nullptr,
                  bool with_stack = true) {
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
    out.text("]:\n");
    if (frames)
        format_frames(out, *frames);
    else if (with_stack)
        format_stack(out, f, 0);
    else
        out.text("\t...the stack of the throw was not recorded (thrown on another thread, or rethrown)\n");
    out.text("\tspawned at ");
    out.text(f->site_file.load(std::memory_order_relaxed)).text(":").number(f->site_line.load(std::memory_order_relaxed));
    out.text(" in ").text(f->site_function.load(std::memory_order_relaxed)).text("\n");
}

// self, self_frames: the dumping fiber and its stack, captured before the
// dump moved off its stack (run_off_fiber_stack).
void format_all(line_writer& out, const fiber* self = nullptr, const traceback* self_frames = nullptr) {
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
                format_fiber(out, f, now, f == self ? self_frames : nullptr);
            }
        }
    }
}

// libdw's DWARF readers take more stack than a fiber may have (under ASan,
// far more): a dump asked for on a fiber is formatted by a thread of its
// own, with a thread's stack, while the fiber's thread waits for it.
template <class Work>
void run_off_fiber_stack(Work work) {
    if (!current_fiber()) {
        work();
        return;
    }
    std::thread helper(work);
    helper.join();
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
            in_fatal_handler.store(true, std::memory_order_relaxed);
            // The frames nearest the overflow, captured from where it faulted.
            traceback frames;
            capture_from_signal(uctx, frames);
            arm_dump_watchdog();
            line_writer out(2);
            out.text("fatal error: stack overflow in fiber ").number(f->id.load(std::memory_order_relaxed));
            out.text("\n\nstack size ").number(f->stack_size).text(" bytes (set goro::config::stack_size or "
                                                                     "goro::spawn_options::stack_size)\n\n");
            format_fiber(out, f, coarse_clock_ns(), &frames);
            out.flush();
            _exit(2);
        }
    }
    forward_to_previous(sig, info, uctx, sig == SIGBUS ? previous_bus : previous_segv);
}

void on_quit(int, siginfo_t*, void* uctx) {
    claim_fatal_report();
    in_fatal_handler.store(true, std::memory_order_relaxed);
    quit_tid.store(this_tid(), std::memory_order_relaxed);
    quit_context.store(uctx, std::memory_order_relaxed);
    arm_dump_watchdog();
    {
        line_writer out(2);
        out.text("SIGQUIT: quit\n\n");
    }
    dump_all_fibers_to_fd(2);
    _exit(2);
}

}  // namespace

signal_stack::signal_stack() {
    memory_ = mmap(nullptr, signal_stack_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
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
    install_capture_handler();
}

bool restore_runtime_signal_handler(int signo) noexcept {
    if (!handlers_installed.load()) return false;
    switch (signo) {
    case SIGSEGV: install_fault_handler(SIGSEGV, nullptr); return true;  // previous_* keep the first ones
    case SIGBUS: install_fault_handler(SIGBUS, nullptr); return true;
    case SIGQUIT: install_quit_handler(); return true;
    case SIGURG: install_capture_handler(); return true;  // capture_signal(): asking a thread for its stack
    default: return false;
    }
}

void dump_one_fiber_to_fd(int fd, const fiber* f, std::int64_t now) noexcept {
    line_writer out(fd);
    format_fiber(out, f, now);
}

void dump_panicking_fiber_to_fd(int fd, const fiber* f, const traceback* throw_site) noexcept {
    auto work = [&] {
        line_writer out(fd);
        if (throw_site) {
            format_fiber(out, f, coarse_clock_ns(), throw_site);
            return;
        }
        format_fiber(out, f, coarse_clock_ns(), nullptr, false);
    };
    try {
        run_off_fiber_stack(work);
    } catch (...) {
        work();  // no thread to be had: try on this stack
    }
}

void dump_fiber_stack_to_fd(int fd, const fiber* f, int tid) noexcept {
    line_writer out(fd);
    format_stack(out, f, tid);
}

void dump_all_fibers_to_fd(int fd) noexcept {
    line_writer out(fd);
    format_all(out);
}

}  // namespace goro::detail

namespace goro {

void dump_fibers(std::ostream& os) {
    std::string text;
    detail::traceback self_frames;
    const detail::fiber* self = detail::current_fiber();
    if (self) detail::capture_current(self_frames);
    auto work = [&] {
        text.clear();
        detail::line_writer out(-1, &text);
        detail::format_all(out, self, &self_frames);
    };
    try {
        // The fiber's thread waits for the helper: a blocking call, as
        // sysmon should see it (no stall or trap report about it).
        goro::blocking_scope waiting_for_helper;
        detail::run_off_fiber_stack(work);
    } catch (const std::system_error&) {
        work();  // no thread to be had: try on this stack
    }
    os << text;
}

}  // namespace goro
