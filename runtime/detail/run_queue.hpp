// runtime/detail/run_queue.hpp — a P's local run queue (Go's runq and
// runnext).
//
// Invariants and memory orders:
//   - Only the M holding the P pushes (writes tail, and runnext); that M and
//     thieves pop by CAS on head, and take runnext by CAS.
//   - A fiber is in at most one slot of one queue.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/detail/fiber.hpp"

namespace goro::detail {

// Go's runq: a bounded single-producer, multi-consumer ring plus runnext.
class run_queue {
public:
    static constexpr std::uint32_t capacity = 256;

    // Owner only. With next, f takes runnext and the fiber it displaces goes
    // to the ring's tail. Returns false when the ring is full; then
    // `overflow` holds the fibers to move to the global queue (half the ring
    // and the new one) and `overflow_count` their number.
    bool push(fiber* f, bool next, fiber** overflow, std::uint32_t* overflow_count) noexcept;
    // Owner: runnext first, then the head of the ring (with ring_first, the
    // other way round). from_runnext tells which one it came from.
    fiber* pop(bool ring_first = false, bool* from_runnext = nullptr) noexcept;
    // A thief moves about half of victim's fibers into this (empty) queue and
    // returns one of them to run; runnext is taken only with take_runnext.
    fiber* steal_from(run_queue& victim, bool take_runnext) noexcept;
    bool empty() const noexcept;
    // Fibers queued (ring and runnext), read racily: for schedtrace.
    std::size_t size_approx() const noexcept;

private:
    std::uint32_t grab(fiber** batch, bool take_runnext) noexcept;

    // head: CAS by owner and thieves (acquire-release: it releases slots back
    // to the owner). tail: stored by the owner only (release, so a thief that
    // reads it sees the slots written before it).
    alignas(64) std::atomic<std::uint32_t> head_{0};
    alignas(64) std::atomic<std::uint32_t> tail_{0};
    std::atomic<fiber*> runnext_{nullptr};
    // Counts runnext pushes: stored by the owner only (relaxed; it is a
    // hint), read by thieves to see whether runnext was refilled while they
    // waited. A stale read only delays or permits one steal.
    std::atomic<std::uint32_t> runnext_generation_{0};
    std::atomic<fiber*> slots_[capacity]{};
};

}  // namespace goro::detail
