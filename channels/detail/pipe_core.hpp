// channels/detail/pipe_core.hpp — one direction of a synchronous in-memory
// pipe (Go's io.pipe), shared by io::pipe and net::pipe (which joins two,
// one per direction, and adds deadlines).
//
// Invariants:
//   - Nothing is buffered. A writer offers a span of its own bytes on
//     `offers` (unbuffered); the reader that receives it copies what fits and
//     answers how many it took on `taken` (unbuffered), which the writer
//     always waits for right after its offer was received. So the writer's
//     bytes are only read while the writer is parked in write(), and a read
//     takes bytes of one write only.
//   - write_lock serialises writers for the whole of a write (held across
//     parks), so one write's bytes are never mixed with another's.
//   - `done` is closed exactly once, by the first close of either side;
//     nothing is ever sent on it. It wakes every blocked read and write.
//   - state_lock guards read_closed, write_closed, read_error, write_error
//     and done_closed; it is never held while parking on a channel. The
//     first close of a side fixes its error (Go's onceError): later
//     close_with_error calls do not overwrite it.
//   - A deadline is a channel that is closed when it passes (a nil channel:
//     none), owned by the caller; the core only selects on it.
#pragma once

#include <cstddef>
#include <span>
#include <system_error>
#include <variant>

#include <goro/chan.hpp>
#include <goro/mutex.hpp>

namespace goro::io::detail {

struct pipe_core {
    pipe_core();

    // Up to size bytes of one write; 0 and no error at EOF. Fails with the
    // close error, or std::errc::timed_out once deadline is closed.
    std::size_t read(void* data, std::size_t size, const chan<std::monostate>& deadline, std::error_code& ec);
    // All of data or fails; returns the bytes readers took.
    std::size_t write(const void* data, std::size_t size, const chan<std::monostate>& deadline,
                      std::error_code& ec);

    // The reader side is done: writers get why (closed_pipe if empty).
    void close_read(std::error_code why);
    // The writer side is done: readers get why (EOF if empty).
    void close_write(std::error_code why);

private:
    // What a read (write) fails with once done is closed; empty means EOF.
    std::error_code read_close_error();
    std::error_code write_close_error();
    bool is_done();
    void close_done_locked();

    goro::mutex write_lock;
    chan<std::span<const std::byte>> offers;
    chan<std::size_t> taken;
    chan<std::monostate> done;

    goro::mutex state_lock;
    bool read_closed = false;
    bool write_closed = false;
    bool done_closed = false;
    std::error_code read_error;   // what writers get once read_closed
    std::error_code write_error;  // what readers get once write_closed; empty: EOF
};

}  // namespace goro::io::detail
