// goro/fiber_local.hpp — storage per fiber, the replacement for thread_local.
#pragma once

#include <new>
#include <utility>

namespace goro {

namespace detail {
// The calling fiber's (or plain thread's) slot for key, created with make on
// first use and destroyed with destroy when the fiber exits (or the thread).
void* fiber_local_slot(const void* key, void* (*make)(), void (*destroy)(void*));
}  // namespace detail

// A variable with one instance per fiber. A fiber may move to another worker
// thread whenever it parks or yields, so `thread_local` (and errno across such
// a call) belongs to whichever worker runs it at the moment; fiber_local
// stays with the fiber. Each fiber's instance is value-initialised on its
// first get() and destroyed when the fiber exits. On a plain thread, get()
// returns that thread's instance.
//
//     static goro::fiber_local<int> request_id;
//     request_id.get() = 42;   // this fiber's, wherever it runs next
template <class T>
class fiber_local {
public:
    fiber_local() = default;
    fiber_local(const fiber_local&) = delete;
    fiber_local& operator=(const fiber_local&) = delete;

    T& get() {
        return *static_cast<T*>(detail::fiber_local_slot(
            this, [] { return static_cast<void*>(new T()); }, [](void* p) { delete static_cast<T*>(p); }));
    }
    T* operator->() { return &get(); }
    T& operator*() { return get(); }
};

}  // namespace goro
