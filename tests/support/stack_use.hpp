// tests/support/stack_use.hpp — functions that really use stack: recursion
// with a 1 KiB volatile array per frame, every byte written and read back.
// Frames are small and touched in order, so an overflow runs into the guard
// page instead of jumping past it.
#pragma once

#include <cstddef>

namespace goro_test {

inline constexpr std::size_t stack_frame_bytes = 1024;

// Uses a bit over `frames` KiB of stack; returns a checksum of what it wrote.
[[gnu::noinline]] inline unsigned burn_stack(int frames) {
    volatile unsigned char block[stack_frame_bytes];
    for (std::size_t i = 0; i < stack_frame_bytes; ++i)
        block[i] = static_cast<unsigned char>(static_cast<std::size_t>(frames) + i);
    unsigned sum = frames > 1 ? burn_stack(frames - 1) : 0u;
    for (std::size_t i = 0; i < stack_frame_bytes; ++i) sum += block[i];
    return sum;
}

// What burn_stack(frames) returns, computed without using the stack.
inline unsigned burn_stack_expected(int frames) {
    unsigned sum = 0;
    for (int f = 1; f <= frames; ++f)
        for (std::size_t i = 0; i < stack_frame_bytes; ++i)
            sum += static_cast<unsigned char>(static_cast<std::size_t>(f) + i);
    return sum;
}

// Recurses until the stack overflows (the condition is never true; it only
// keeps the compiler from proving the recursion infinite).
inline volatile int never_stop_at_depth = -1;

[[gnu::noinline]] inline unsigned burn_stack_forever(int depth) {
    volatile unsigned char block[stack_frame_bytes];
    for (std::size_t i = 0; i < stack_frame_bytes; ++i)
        block[i] = static_cast<unsigned char>(static_cast<std::size_t>(depth) + i);
    if (depth == never_stop_at_depth) return block[0];
    return burn_stack_forever(depth + 1) + block[stack_frame_bytes - 1];
}

}  // namespace goro_test
