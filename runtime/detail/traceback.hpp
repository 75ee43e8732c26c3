// runtime/detail/traceback.hpp — call stacks for fiber dumps, panics, stack
// overflows and stall reports (docs/design.md, "Call stacks").
//
// Invariants:
//   - A traceback is only program counters; turning them into names and
//     lines is a separate, later step (symbolise_frame), so that capture can
//     run where symbolising cannot (a signal handler on a running fiber).
//   - capture_current and capture_from_signal use libgcc's unwinder on the
//     stack they run on and are async-signal-safe on glibc 2.35+ (whose
//     _dl_find_object finds the unwind tables without the loader lock).
//   - capture_parked unwinds a fiber that is not running from the registers
//     jump_fcontext saved, with elfutils' libdw, reading only that fiber's
//     own stack; it allocates and is serialised by one lock. It never resumes
//     or writes the fiber.
//   - capture_running borrows the thread that runs a fiber: one request at a
//     time, a state word CASed between the dumping thread and the target's
//     signal handler, so a late answer never writes a buffer it no longer owns.
//   - A fiber's last throw record (fiber::last_throw) is written only by that
//     fiber, at its throws, and read by its own panic report.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/detail/fiber.hpp"

namespace goro::detail {

struct machine;

// Go prints a goroutine's innermost 100 frames; our dumps print 32 and say
// when more were left out.
constexpr int traceback_max_frames = 32;

struct traceback {
    std::uintptr_t pc[traceback_max_frames + 8];  // room for frames filtered out later
    int count = 0;
    bool truncated = false;    // the stack went on past what was kept
    bool first_exact = false;  // pc[0] is where the thread was stopped, not a return address
};

// The stack of the caller (its first frames are this function's callers
// inside the runtime, which printing leaves out).
void capture_current(traceback& out) noexcept;
// Inside a signal handler: the stack the signal interrupted (the frames from
// the interrupted instruction outwards). uctx is the handler's third argument.
void capture_from_signal(const void* uctx, traceback& out) noexcept;
// A fiber that is parked or runnable, from its saved context. False if it
// has none or could not be unwound at all.
bool capture_parked(const fiber* f, traceback& out) noexcept;

enum class running_capture { captured, timed_out, not_running, unavailable };
// A fiber running on another M's thread: signal that thread and wait, up to
// 100 ms, for its handler to record the interrupted stack.
running_capture capture_running(const fiber* f, int tid, traceback& out) noexcept;

// Where a pc is. `function` is demangled; `file` is empty without line info.
struct frame_info {
    char function[384];
    char file[256];
    unsigned line = 0;
};
// Calls inlined at a pc count as frames of their own, as Go's traceback
// prints them: at most this many per pc, innermost first.
constexpr int max_inlined_frames = 8;
// Fills out[0..n) for the code at pc, innermost (inlined) first, and returns
// n >= 1. is_return_address: pc is a call's return address (every frame but
// an exact first one), so the call itself is at pc - 1.
int symbolise_frame(std::uintptr_t pc, bool is_return_address, frame_info* out) noexcept;
// "?() pc=0x…", for a frame that cannot or may not be named.
void name_unknown(std::uintptr_t pc, frame_info& out) noexcept;
// Frames of the runtime itself (switching, park, the scheduler, this file),
// left out of the top and bottom of a printed stack.
bool is_runtime_frame(const frame_info& frame) noexcept;

// Throw sites: __cxa_throw records, on the fiber that throws, the stack at
// the throw and the object thrown. Null if the current exception of `f` was
// not thrown on it (thrown on another thread and rethrown here).
const traceback* throw_site_of(const fiber* f, const void* thrown_object) noexcept;
void free_throw_record(fiber* f) noexcept;

// The signal that asks a thread for its stack; installed with the other
// runtime handlers.
void install_capture_handler() noexcept;
int capture_signal() noexcept;

}  // namespace goro::detail
