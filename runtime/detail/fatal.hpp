// runtime/detail/fatal.hpp — the runtime's unrecoverable errors. User misuse
// that Go treats as a fatal error ("sync: unlock of unlocked mutex") and
// broken runtime invariants ("runtime: ...") both print `fatal error: <msg>`
// and end the process: fatal_exit with status 2, as Go does, GORO_FATAL with
// abort() so a broken invariant leaves a core file.
#pragma once

namespace goro::detail {

[[noreturn]] void fatal_exit(const char* message) noexcept;
[[noreturn]] void fatal_abort(const char* message, const char* file, int line) noexcept;

// Called first by every path that reports and ends the process (fatal
// errors, panics, the deadlock report, the fatal signal handlers): the first
// caller goes on, any later one waits forever for it to exit, so two reports
// never interleave. Async-signal-safe.
void claim_fatal_report() noexcept;

// Write a string to stderr with write(2); async-signal-safe.
void write_stderr(const char* s) noexcept;

}  // namespace goro::detail

#define GORO_FATAL(message) ::goro::detail::fatal_abort((message), __FILE__, __LINE__)
