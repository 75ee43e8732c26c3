// runtime/src/fiber_local.cpp — goro::fiber_local: a small list of values per
// fiber, keyed by the fiber_local object's address. Only the fiber itself
// touches its list (and the scheduler stack when the fiber exits), so no lock
// is needed. Plain threads keep theirs in a thread_local list.

#include <memory>
#include <vector>

#include <goro/fiber_local.hpp>

#include "runtime/detail/fiber.hpp"
#include "runtime/detail/park.hpp"

namespace goro::detail {

struct local_slots {
    struct slot {
        const void* key;
        void* value;
        void (*destroy)(void*);
    };
    std::vector<slot> slots;

    ~local_slots() {
        // Destroy in reverse order of creation, like objects in a scope.
        for (auto it = slots.rbegin(); it != slots.rend(); ++it) it->destroy(it->value);
    }

    void* find_or_make(const void* key, void* (*make)(), void (*destroy)(void*)) {
        for (const slot& s : slots)
            if (s.key == key) return s.value;
        void* value = make();
        slots.push_back({key, value, destroy});
        return value;
    }
};

void destroy_fiber_locals(fiber* f) noexcept {
    // A destructor may use another fiber_local, creating a fresh list:
    // detach the list first and repeat until none is left, as pthread key
    // destructors do.
    while (local_slots* list = f->locals) {
        f->locals = nullptr;
        delete list;
    }
}

void* fiber_local_slot(const void* key, void* (*make)(), void (*destroy)(void*)) {
    if (fiber* f = current_fiber()) {
        if (!f->locals) f->locals = new local_slots;
        return f->locals->find_or_make(key, make, destroy);
    }
    static thread_local local_slots thread_slots;
    return thread_slots.find_or_make(key, make, destroy);
}

}  // namespace goro::detail
