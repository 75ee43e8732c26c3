// runtime/detail/futex.hpp — sleeping and waking a thread on a 32-bit word.
#pragma once

#include <atomic>
#include <cstdint>

namespace goro::detail {

// Sleep while *word == expected, until woken or until the absolute
// steady-clock deadline (nanoseconds; negative = no deadline). Spurious
// returns are possible: callers re-check their condition.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, std::int64_t deadline_ns) noexcept;
void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

}  // namespace goro::detail
