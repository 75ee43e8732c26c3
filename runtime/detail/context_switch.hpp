// runtime/detail/context_switch.hpp — the raw fcontext jump, wrapped with the
// sanitizer annotations every switch needs (docs/hacking.md, "Switching").
//
// Debian's Boost 1.74 is an fcontext build, so Boost's own sanitizer support
// does not apply; we annotate each jump ourselves:
//   ASan: __sanitizer_start_switch_fiber right before the jump (with a null
//         fake-stack slot when the departing fiber will never run again) and
//         __sanitizer_finish_switch_fiber right after landing.
//   TSan: __tsan_switch_to_fiber as the last call before the jump; fibers are
//         created and destroyed around their lives.
// With neither sanitizer these compile to nothing.
#pragma once

#include <cstddef>

#include <boost/context/detail/fcontext.hpp>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORO_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define GORO_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GORO_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define GORO_TSAN 1
#endif

#ifdef GORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef GORO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace goro::detail {

namespace ctx = boost::context::detail;

// Where a context's stack lies, for ASan.
struct stack_bounds {
    const void* bottom = nullptr;  // lowest address
    std::size_t size = 0;
};

inline void asan_start_switch(void** fake_stack_save, stack_bounds target) noexcept {
#ifdef GORO_ASAN
    __sanitizer_start_switch_fiber(fake_stack_save, target.bottom, target.size);
#else
    (void)fake_stack_save;
    (void)target;
#endif
}

inline void asan_finish_switch(void* fake_stack_save) noexcept {
#ifdef GORO_ASAN
    __sanitizer_finish_switch_fiber(fake_stack_save, nullptr, nullptr);
#else
    (void)fake_stack_save;
#endif
}

inline void asan_unpoison(const void* low, std::size_t size) noexcept {
#ifdef GORO_ASAN
    __asan_unpoison_memory_region(low, size);
#else
    (void)low;
    (void)size;
#endif
}

inline void* tsan_current_fiber() noexcept {
#ifdef GORO_TSAN
    return __tsan_get_current_fiber();
#else
    return nullptr;
#endif
}

inline void* tsan_create_fiber() noexcept {
#ifdef GORO_TSAN
    return __tsan_create_fiber(0);
#else
    return nullptr;
#endif
}

inline void tsan_destroy_fiber(void* f) noexcept {
#ifdef GORO_TSAN
    if (f) __tsan_destroy_fiber(f);
#else
    (void)f;
#endif
}

inline void tsan_switch_to(void* f) noexcept {
#ifdef GORO_TSAN
    __tsan_switch_to_fiber(f, 0);
#else
    (void)f;
#endif
}

constexpr bool running_under_tsan() noexcept {
#ifdef GORO_TSAN
    return true;
#else
    return false;
#endif
}

}  // namespace goro::detail
