// runtime/src/timer.cpp — the 4-ary timer heap. Invariants: see
// runtime/detail/timer.hpp.

#include "runtime/detail/timer.hpp"

#include <mutex>

#include "runtime/detail/trace.hpp"

namespace goro::detail {

void timer_heap::add(timer_node* t) {
    std::lock_guard<spinlock> g(lock);
    add_locked(t);
}

void timer_heap::add_locked(timer_node* t) {
    t->heap = this;
    t->heap_index = static_cast<std::int32_t>(nodes.size());
    nodes.push_back({t->when_ns, t});
    sift_up(nodes.size() - 1);
    publish_earliest();
}

bool timer_heap::remove(timer_node* t) {
    std::lock_guard<spinlock> g(lock);
    if (t->heap != this || t->heap_index < 0) return false;
    remove_at_locked(static_cast<std::size_t>(t->heap_index));
    publish_earliest();
    return true;
}

void timer_heap::remove_at_locked(std::size_t i) {
    timer_node* gone = nodes[i].node;
    entry last = nodes.back();
    nodes.pop_back();
    gone->heap_index = -1;
    gone->heap = nullptr;
    if (i == nodes.size()) return;  // removed the last slot
    nodes[i] = last;
    last.node->heap_index = static_cast<std::int32_t>(i);
    sift_up(i);
    sift_down(static_cast<std::size_t>(last.node->heap_index));
}

int timer_heap::run_expired(std::int64_t now_ns, bool try_only) {
    if (earliest_ns.load(std::memory_order_acquire) > now_ns) return 0;
    if (try_only) {
        if (!lock.try_lock()) return 0;
    } else {
        lock.lock();
    }
    int fired = 0;
    // Fibers a timer readies are the timers' doing in the trace.
    const bool traced = trace_on();
    if (traced) [[unlikely]] trace_set_readier(trace_readier::timer);
    while (!nodes.empty() && nodes.front().when_ns <= now_ns) {
        timer_node* t = nodes.front().node;
        const std::int64_t period = t->period_ns;  // a one-shot t may vanish once fired
        remove_at_locked(0);
        t->fire(t);
        ++fired;
        if (period > 0) {
            t->when_ns += period * (1 + (now_ns - t->when_ns) / period);
            add_locked(t);
        }
    }
    if (traced) [[unlikely]] trace_set_readier(trace_readier::scheduler);
    publish_earliest();
    lock.unlock();
    return fired;
}

void timer_heap::sift_up(std::size_t i) {
    entry t = nodes[i];
    while (i > 0) {
        std::size_t parent = (i - 1) / 4;
        if (nodes[parent].when_ns <= t.when_ns) break;
        nodes[i] = nodes[parent];
        nodes[i].node->heap_index = static_cast<std::int32_t>(i);
        i = parent;
    }
    nodes[i] = t;
    t.node->heap_index = static_cast<std::int32_t>(i);
}

void timer_heap::sift_down(std::size_t i) {
    const std::size_t n = nodes.size();
    entry t = nodes[i];
    for (;;) {
        std::size_t first = i * 4 + 1;
        if (first >= n) break;
        std::size_t best = first;
        std::size_t end = first + 4 < n ? first + 4 : n;
        for (std::size_t c = first + 1; c < end; ++c)
            if (nodes[c].when_ns < nodes[best].when_ns) best = c;
        if (nodes[best].when_ns >= t.when_ns) break;
        nodes[i] = nodes[best];
        nodes[i].node->heap_index = static_cast<std::int32_t>(i);
        i = best;
    }
    nodes[i] = t;
    t.node->heap_index = static_cast<std::int32_t>(i);
}

}  // namespace goro::detail
