// runtime/src/support.cpp — small pieces the runtime shares: fatal errors,
// futexes, and the names of states and wait reasons.

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/fiber.hpp"
#include "runtime/detail/futex.hpp"
#include "runtime/detail/spinlock.hpp"

namespace goro::detail {

void write_stderr(const char* s) noexcept {
    std::size_t left = std::strlen(s);
    while (left > 0) {
        ssize_t n = ::write(2, s, left);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return;
        }
        s += n;
        left -= static_cast<std::size_t>(n);
    }
}

namespace {
std::atomic<bool> fatal_in_progress{false};
}  // namespace

void claim_fatal_report() noexcept {
    if (!fatal_in_progress.exchange(true)) return;
    for (;;) pause();  // another thread is reporting and will end the process
}

void fatal_exit(const char* message) noexcept {
    claim_fatal_report();
    std::fflush(nullptr);
    char text[1024];
    std::snprintf(text, sizeof text, "fatal error: %s\n", message);
    write_stderr(text);
    _exit(2);
}

void fatal_abort(const char* message, const char* file, int line) noexcept {
    claim_fatal_report();
    char text[1024];
    std::snprintf(text, sizeof text, "fatal error: %s\n\tat %s:%d\n", message, file, line);
    write_stderr(text);
    std::abort();
}

void spinlock::yield_thread() noexcept { sched_yield(); }

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, std::int64_t deadline_ns) noexcept {
    auto* addr = reinterpret_cast<std::uint32_t*>(&word);
    if (deadline_ns < 0) {
        syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
        return;
    }
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
    timespec ts{static_cast<time_t>(deadline_ns / 1'000'000'000), static_cast<long>(deadline_ns % 1'000'000'000)};
    syscall(SYS_futex, addr, FUTEX_WAIT_BITSET_PRIVATE, expected, &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
}

void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

const char* fiber_state_name(fiber_state s) noexcept {
    switch (s) {
    case fiber_state::dead: return "dead";
    case fiber_state::runnable: return "runnable";
    case fiber_state::running: return "running";
    case fiber_state::waiting: return "waiting";
    }
    return "unknown";
}

const char* wait_reason_name(wait_reason r) noexcept {
    switch (r) {
    case wait_reason::none: return "waiting";
    case wait_reason::sleep: return "sleep";
    case wait_reason::mutex: return "mutex";
    case wait_reason::rw_mutex_read: return "rw_mutex read";
    case wait_reason::rw_mutex_write: return "rw_mutex write";
    case wait_reason::wait_group: return "wait_group";
    case wait_reason::cond: return "cond";
    case wait_reason::chan_receive: return "chan receive";
    case wait_reason::chan_send: return "chan send";
    case wait_reason::chan_receive_nil: return "chan receive (nil chan)";
    case wait_reason::chan_send_nil: return "chan send (nil chan)";
    case wait_reason::select: return "select";
    case wait_reason::select_no_cases: return "select (no cases)";
    case wait_reason::io_wait: return "IO wait";
    case wait_reason::blocking_call: return "blocking call";
    case wait_reason::synctest_wait: return "synctest.wait";
    case wait_reason::synctest_run: return "synctest.run";
    }
    return "unknown";
}

}  // namespace goro::detail
