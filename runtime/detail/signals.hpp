// runtime/detail/signals.hpp — the stack-overflow and SIGQUIT handlers and
// the fiber dump they share with the deadlock report and goro::dump_fibers.
#pragma once

#include <cstdint>

#include "runtime/detail/fiber.hpp"

namespace goro::detail {

struct traceback;  // runtime/detail/traceback.hpp

// A per-M alternate signal stack, so the SIGSEGV handler can run when a
// fiber has exhausted its own stack. Installed for the lifetime of the object.
class signal_stack {
public:
    signal_stack();
    ~signal_stack();
    signal_stack(const signal_stack&) = delete;
    signal_stack& operator=(const signal_stack&) = delete;

private:
    void* memory_ = nullptr;
    bool installed_ = false;
};

// SIGSEGV/SIGBUS (stack overflow) and SIGQUIT (dump and exit), once per process.
void install_signal_handlers();

// For signal_reset: puts back the runtime's own handler for signo (SIGQUIT's
// dump, SIGSEGV's and SIGBUS's stack-overflow check) and returns true, or
// returns false for a signal the runtime leaves to the system's default.
bool restore_runtime_signal_handler(int signo) noexcept;

// Dumps, formatted without allocating so they can run in signal handlers.
void dump_one_fiber_to_fd(int fd, const fiber* f, std::int64_t now_coarse_ns) noexcept;
void dump_all_fibers_to_fd(int fd) noexcept;
// A panic's fiber with the stack of its throw (null: not recorded, and the
// entry says so).
void dump_panicking_fiber_to_fd(int fd, const fiber* f, const traceback* throw_site) noexcept;
// Only f's call stack, one frame a line; tid: the thread running it, if known.
void dump_fiber_stack_to_fd(int fd, const fiber* f, int tid) noexcept;

std::int64_t coarse_clock_ns() noexcept;

}  // namespace goro::detail
