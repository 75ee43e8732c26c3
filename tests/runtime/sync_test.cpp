// tests/runtime/sync_test.cpp — wait_group, mutex, rw_mutex, once and cond,
// from fibers on runtimes of 1, 2, 4 and 8 workers and from plain threads.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/dump.hpp"
#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro_test::eventually;
using goro_test::for_each_procs;
using goro_test::plain_thread;

namespace {

constexpr const char* negative_counter = "sync: negative WaitGroup counter";

static_assert(std::is_base_of_v<std::logic_error, goro::panic_error>);

// A bounded FIFO built the textbook way on one mutex and two conds.
class bounded_queue {
public:
    explicit bounded_queue(std::size_t capacity) : capacity_(capacity) {}

    void push(long value) {
        std::lock_guard lock(mu_);
        while (items_.size() == capacity_) not_full_.wait();
        items_.push_back(value);
        not_empty_.signal();
    }

    // Blocks until an item arrives; nullopt once closed and drained.
    std::optional<long> pop() {
        std::lock_guard lock(mu_);
        while (items_.empty() && !closed_) not_empty_.wait();
        if (items_.empty()) return std::nullopt;
        const long value = items_.front();
        items_.pop_front();
        not_full_.signal();
        return value;
    }

    void close() {
        std::lock_guard lock(mu_);
        closed_ = true;
        not_empty_.broadcast();
    }

private:
    goro::mutex mu_;
    goro::cond not_empty_{mu_};
    goro::cond not_full_{mu_};
    std::deque<long> items_;
    const std::size_t capacity_;
    bool closed_ = false;
};

// Sum of 0 .. n-1.
long sum_below(long n) { return n * (n - 1) / 2; }

}  // namespace

TEST_SUITE("sync") {

// ---------------------------------------------------------------------------
// wait_group

TEST_CASE("wait_group: wait returns only after every fiber called done") {
    for_each_procs([](int) {
        const int n = goro_test::stress(1000, 20'000);
        std::atomic<int> finished{0};
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([&, i] {
                if (i % 3 == 0) goro::yield();
                finished.fetch_add(1);
                wg.done();
            });
        wg.wait();
        CHECK(finished.load() == n);
    });
}

TEST_CASE("wait_group: fibers add to the counter for the fibers they spawn") {
    for_each_procs([](int) {
        const int depth = goro_test::sanitized && !goro_test::long_mode() ? 4 : 6;
        std::atomic<int> nodes{0};
        goro::wait_group wg;
        struct spawner {
            goro::wait_group& wg;
            std::atomic<int>& nodes;
            void operator()(int depth) const {
                nodes.fetch_add(1);
                if (depth > 0) {
                    wg.add(3);  // before done(), so the counter never touches zero early
                    for (int k = 0; k < 3; ++k) goro::go(*this, depth - 1);
                }
                wg.done();
            }
        };
        wg.add(1);
        goro::go(spawner{wg, nodes}, depth);
        wg.wait();
        int expected = 0;
        for (int level = 0, width = 1; level <= depth; ++level, width *= 3) expected += width;
        CHECK(nodes.load() == expected);
    });
}

TEST_CASE("wait_group: several fibers waiting at once are all released by the last done") {
    for_each_procs([](int) {
        const int waiters = 16;
        goro::wait_group wg, woke;
        wg.add(3);
        woke.add(waiters);
        std::atomic<int> counter_done{0}, early{0};
        for (int i = 0; i < waiters; ++i)
            goro::go([&] {
                wg.wait();
                if (counter_done.load() != 3) early.fetch_add(1);
                woke.done();
            });
        for (int i = 0; i < 3; ++i) {
            goro::sleep_for(1ms);  // give the waiters time to park (not needed for correctness)
            counter_done.fetch_add(1);
            wg.done();
        }
        wg.wait();  // the main fiber is one more waiter
        woke.wait();
        CHECK(early.load() == 0);
    });
}

TEST_CASE("wait_group: can be reused once wait has returned") {
    for_each_procs([](int) {
        goro::wait_group wg;
        std::atomic<int> count{0};
        int wrong_rounds = 0;
        for (int round = 1; round <= 50; ++round) {
            wg.add(10);
            for (int i = 0; i < 10; ++i)
                goro::go([&] {
                    count.fetch_add(1);
                    wg.done();
                });
            wg.wait();
            if (count.load() != 10 * round) ++wrong_rounds;
        }
        CHECK(wrong_rounds == 0);
    });
}

TEST_CASE("wait_group: a negative counter throws panic_error with Go's message and leaves the counter unchanged") {
    for_each_procs([](int) {
        goro::wait_group wg;
        CHECK_THROWS_WITH_AS(wg.done(), negative_counter, goro::panic_error);
        CHECK_THROWS_WITH_AS(wg.add(-1), negative_counter, goro::panic_error);
        wg.wait();  // still zero

        wg.add(2);
        CHECK_THROWS_WITH_AS(wg.add(-3), negative_counter, goro::panic_error);
        CHECK_THROWS_AS(wg.add(-3), std::logic_error);

        // A waiter is not released by the failed add: the counter is still 2.
        std::atomic<bool> waiter_returned{false};
        goro::wait_group waiter_done;
        waiter_done.add(1);
        goro::go([&] {
            wg.wait();
            waiter_returned = true;
            waiter_done.done();
        });
        for (int i = 0; i < 20; ++i) goro::yield();
        CHECK_FALSE(waiter_returned.load());

        CHECK_NOTHROW(wg.done());
        CHECK_NOTHROW(wg.done());
        CHECK_THROWS_WITH_AS(wg.done(), negative_counter, goro::panic_error);
        waiter_done.wait();
        CHECK(waiter_returned.load());
        wg.wait();
    });
}

TEST_CASE("wait_group: a plain thread waits for fibers, and a fiber waits for a plain thread") {
    for_each_procs([](int) {
        const int n = 100;
        goro::wait_group fibers_done, thread_done;
        fibers_done.add(n);
        thread_done.add(1);
        std::atomic<int> count{0};
        int seen_by_thread = -1;
        plain_thread t([&] {
            fibers_done.wait();
            seen_by_thread = count.load();
            thread_done.done();
        });
        for (int i = 0; i < n; ++i)
            goro::go([&] {
                count.fetch_add(1);
                fibers_done.done();
            });
        thread_done.wait();
        CHECK(seen_by_thread == n);
        t.join();
    });
}

// wait_group::go (Go 1.25's WaitGroup.Go)

TEST_CASE("wait_group: go runs each function on its own fiber and wait returns once all have returned") {
    for_each_procs([](int) {
        const int n = goro_test::stress(1000, 20'000);
        std::atomic<int> finished{0};
        goro::wait_group wg;
        for (int i = 0; i < n; ++i)
            wg.go([&, i] {
                if (i % 3 == 0) goro::yield();
                finished.fetch_add(1);
            });
        wg.wait();
        CHECK(finished.load() == n);
    });
}

TEST_CASE("wait_group: go holds the counter until the function returns, not until it starts") {
    for_each_procs([](int) {
        goro::wait_group wg, started;
        auto gate = goro::make_chan<int>();
        std::atomic<bool> returned{false};
        started.add(1);
        wg.go([&] {
            started.done();
            gate.recv();
            returned = true;
        });
        started.wait();
        std::atomic<bool> waited{false};
        goro::wait_group waiter;
        waiter.add(1);
        goro::go([&] {
            wg.wait();
            waited = true;
            waiter.done();
        });
        goro::yield();
        CHECK_FALSE(waited.load());
        gate.send(1);
        waiter.wait();
        CHECK(returned.load());
        CHECK(waited.load());
    });
}

TEST_CASE("wait_group: go decay-copies a move-only callable, and fibers it runs may call go on the same group") {
    for_each_procs([](int) {
        std::atomic<int> sum{0};
        goro::wait_group wg;
        auto value = std::make_unique<int>(5);
        wg.go([&, v = std::move(value)] {
            for (int k = 0; k < 3; ++k) wg.go([&, x = *v] { sum.fetch_add(x); });
            sum.fetch_add(*v);
        });
        wg.wait();
        CHECK(sum.load() == 20);
    });
}

TEST_CASE("wait_group: go records the caller as the fiber's spawn site") {
    goro::config cfg;
    cfg.procs = 2;
    goro::run(cfg, [] {
        goro::wait_group wg;
        auto gate = goro::make_chan<int>();
        std::atomic<std::uint64_t> id{0};
        // clang-format off
        const int line = __LINE__; wg.go([&] { id = goro::fiber_id(); gate.recv(); });
        // clang-format on
        std::string text;
        std::vector<goro_test::dump_entry> entries;
        const bool parked = eventually([&] {
            std::ostringstream out;
            goro::dump_fibers(out);
            text = out.str();
            entries = goro_test::parse_dump(text);
            const auto* f = goro_test::find_fiber(entries, id.load());
            return id.load() != 0 && f != nullptr && goro_test::contains(f->reason, "chan receive");
        });
        CHECK_MESSAGE(parked, text);
        const auto* f = goro_test::find_fiber(entries, id.load());
        CHECK_MESSAGE(f != nullptr, text);
        if (f != nullptr) CHECK_MESSAGE(goro_test::site_is(f->spawned_at, "sync_test.cpp", line), text);
        gate.send(1);
        wg.wait();
    });
}

// ---------------------------------------------------------------------------
// mutex

TEST_CASE("mutex: thousands of fibers incrementing a plain counter under the lock lose no update") {
    for_each_procs([](int) {
        const int fibers = goro_test::stress(2000, 20'000);
        const int iterations = 50;
        goro::mutex mu;
        long counter = 0;
        std::atomic<int> inside{0}, overlaps{0};
        goro::wait_group wg;
        wg.add(fibers);
        for (int f = 0; f < fibers; ++f)
            goro::go([&, f] {
                for (int i = 0; i < iterations; ++i) {
                    mu.lock();
                    if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
                    ++counter;
                    if ((i + f) % 16 == 0) goro::yield();  // hold the lock across a switch: others queue up
                    inside.fetch_sub(1);
                    mu.unlock();
                }
                wg.done();
            });
        wg.wait();
        CHECK(overlaps.load() == 0);
        CHECK(counter == static_cast<long>(fibers) * iterations);
    });
}

TEST_CASE("mutex: try_lock succeeds only while the mutex is free, from any fiber or thread") {
    for_each_procs([](int) {
        goro::mutex mu;
        CHECK(mu.try_lock());
        CHECK_FALSE(mu.try_lock());  // not recursive

        bool fiber_got_it = true;
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            fiber_got_it = mu.try_lock();
            wg.done();
        });
        wg.wait();
        CHECK_FALSE(fiber_got_it);

        bool thread_got_it = true;
        {
            plain_thread t([&] { thread_got_it = mu.try_lock(); });
            t.join();
        }
        CHECK_FALSE(thread_got_it);

        mu.unlock();
        wg.add(1);
        goro::go([&] {
            fiber_got_it = mu.try_lock();
            if (fiber_got_it) mu.unlock();
            wg.done();
        });
        wg.wait();
        CHECK(fiber_got_it);
        CHECK(mu.try_lock());
        mu.unlock();
    });
}

TEST_CASE("mutex: std::lock_guard, std::unique_lock and std::scoped_lock over two goro mutexes") {
    for_each_procs([](int) {
        goro::mutex a, b;
        long under_a = 0, under_b = 0;  // guarded by a and by b
        const int fibers = 100, iterations = 40;
        goro::wait_group wg;
        wg.add(fibers);
        for (int f = 0; f < fibers; ++f)
            goro::go([&, f] {
                for (int i = 0; i < iterations; ++i) {
                    switch ((f + i) % 4) {
                    case 0: {
                        std::lock_guard guard(a);
                        goro::yield();
                        ++under_a;
                        break;
                    }
                    case 1: {
                        std::scoped_lock both(a, b);
                        goro::yield();
                        ++under_a;
                        ++under_b;
                        break;
                    }
                    case 2: {
                        std::scoped_lock both(b, a);  // the other order: std::lock avoids the deadlock
                        ++under_a;
                        goro::yield();
                        ++under_b;
                        break;
                    }
                    default: {
                        std::unique_lock la(a, std::defer_lock), lb(b, std::defer_lock);
                        std::lock(lb, la);
                        ++under_a;
                        ++under_b;
                        lb.unlock();
                        goro::yield();
                        lb.lock();
                        la.unlock();
                        break;
                    }
                    }
                }
                wg.done();
            });
        wg.wait();
        CHECK(under_a == static_cast<long>(fibers) * iterations);
        CHECK(under_b == static_cast<long>(fibers) * iterations * 3 / 4);

        std::unique_lock held(a);
        bool other_owns = true;
        wg.add(1);
        goro::go([&] {
            std::unique_lock attempt(a, std::try_to_lock);
            other_owns = attempt.owns_lock();
            wg.done();
        });
        wg.wait();
        CHECK(held.owns_lock());
        CHECK_FALSE(other_owns);
    });
}

TEST_CASE("mutex: a fiber other than the locker may unlock it, which hands it to a waiter") {
    for_each_procs([](int) {
        goro::mutex mu;
        goro::wait_group locked;
        locked.add(1);
        goro::go([&] {
            mu.lock();
            locked.done();  // and exits holding the lock
        });
        locked.wait();

        std::atomic<bool> waiter_got_it{false};
        goro::wait_group waiter_done;
        waiter_done.add(1);
        goro::go([&] {
            mu.lock();
            waiter_got_it = true;
            waiter_done.done();  // exits holding the lock too
        });
        for (int i = 0; i < 20; ++i) goro::yield();
        CHECK_FALSE(waiter_got_it.load());

        mu.unlock();  // the main fiber unlocks what another fiber locked
        waiter_done.wait();
        CHECK(waiter_got_it.load());

        plain_thread t([&] { mu.unlock(); });  // and a plain thread unlocks the waiter's lock
        t.join();
        CHECK(mu.try_lock());
        mu.unlock();
    });
}

TEST_CASE("mutex: a waiting fiber is not starved by a fiber that relocks it in a loop") {
    // The hog holds the lock for at least 1 ms per iteration and relocks right
    // after unlocking, so a mutex that always lets the running fiber barge in
    // never hands the lock to the waiter. Go's rule (starvation mode after the
    // waiter waited 1 ms) gives it the lock within a few iterations; the bound
    // allows a thousand, about a second of the hog's time.
    for_each_procs([](int) {
        constexpr int bound = 1000;
        constexpr int give_up = 2 * bound;
        goro::mutex mu;
        std::atomic<int> hog_iterations{0};
        std::atomic<bool> waiter_done{false};
        int at_request = -1, at_acquire = -1;
        goro::wait_group hog_started, finished;
        hog_started.add(1);
        finished.add(2);

        goro::go([&] {
            for (int i = 0; i < give_up && !waiter_done.load(); ++i) {
                mu.lock();
                hog_iterations.fetch_add(1);
                if (i == 0) hog_started.done();
                goro::sleep_for(1ms);
                mu.unlock();
            }
            finished.done();
        });
        hog_started.wait();
        goro::go([&] {
            at_request = hog_iterations.load();
            mu.lock();
            at_acquire = hog_iterations.load();
            waiter_done = true;
            mu.unlock();
            finished.done();
        });
        finished.wait();

        CHECK(at_request >= 1);
        CHECK(at_acquire >= at_request);
        CHECK(at_acquire - at_request <= bound);
    });
}

TEST_CASE("mutex: plain threads and fibers contending for one mutex lose no update") {
    for_each_procs([](int) {
        const int threads = 2, fibers = 50;
        const int iterations = goro_test::stress(1000, 10'000);
        goro::mutex mu;
        long counter = 0;
        std::atomic<int> inside{0}, overlaps{0};
        auto critical_section = [&] {
            if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
            ++counter;
            inside.fetch_sub(1);
        };

        std::vector<std::unique_ptr<plain_thread>> plain;
        for (int t = 0; t < threads; ++t)
            plain.push_back(std::make_unique<plain_thread>([&] {
                for (int i = 0; i < iterations; ++i) {
                    std::lock_guard guard(mu);
                    critical_section();
                }
            }));
        goro::wait_group wg;
        wg.add(fibers);
        for (int f = 0; f < fibers; ++f)
            goro::go([&] {
                for (int i = 0; i < iterations; ++i) {
                    std::lock_guard guard(mu);
                    critical_section();
                    if (i % 8 == 0) goro::yield();  // a plain thread may block on the OS meanwhile
                }
                wg.done();
            });
        wg.wait();
        for (auto& t : plain) t->join();
        CHECK(overlaps.load() == 0);
        CHECK(counter == static_cast<long>(threads + fibers) * iterations);
    });
}

// ---------------------------------------------------------------------------
// rw_mutex

TEST_CASE("rw_mutex: readers hold the read lock at the same time") {
    // Each reader waits, inside its read lock, until every reader is inside:
    // impossible unless the readers really share the lock.
    for_each_procs([](int) {
        const int readers = 8;
        goro::rw_mutex rw;
        std::atomic<int> inside{0}, met{0};
        std::atomic<bool> gave_up{false};
        goro::wait_group wg;
        wg.add(readers);
        for (int r = 0; r < readers; ++r)
            goro::go([&] {
                rw.lock_shared();
                inside.fetch_add(1);
                if (eventually([&] { return inside.load() == readers || gave_up.load(); }, 5s) &&
                    inside.load() == readers) {
                    met.fetch_add(1);
                } else {
                    gave_up = true;
                }
                rw.unlock_shared();
                wg.done();
            });
        wg.wait();
        CHECK(met.load() == readers);
    });
}

TEST_CASE("rw_mutex: a writer excludes readers and other writers") {
    for_each_procs([](int) {
        const int writers = 4, readers = 16, iterations = 100;
        goro::rw_mutex rw;
        long value = 0;  // written under the write lock, read under the read lock
        std::atomic<int> writers_in{0}, readers_in{0}, violations{0}, torn_reads{0};
        goro::wait_group wg;
        wg.add(writers + readers);
        for (int w = 0; w < writers; ++w)
            goro::go([&] {
                for (int i = 0; i < iterations; ++i) {
                    rw.lock();
                    if (writers_in.fetch_add(1) != 0 || readers_in.load() != 0) violations.fetch_add(1);
                    ++value;
                    goro::yield();
                    ++value;  // readers must never see an odd value
                    if (readers_in.load() != 0) violations.fetch_add(1);
                    writers_in.fetch_sub(1);
                    rw.unlock();
                    goro::yield();
                }
                wg.done();
            });
        for (int r = 0; r < readers; ++r)
            goro::go([&] {
                for (int i = 0; i < iterations; ++i) {
                    rw.lock_shared();
                    readers_in.fetch_add(1);
                    if (writers_in.load() != 0) violations.fetch_add(1);
                    if (value % 2 != 0) torn_reads.fetch_add(1);
                    goro::yield();
                    if (writers_in.load() != 0) violations.fetch_add(1);
                    readers_in.fetch_sub(1);
                    rw.unlock_shared();
                }
                wg.done();
            });
        wg.wait();
        CHECK(violations.load() == 0);
        CHECK(torn_reads.load() == 0);
        CHECK(value == 2L * writers * iterations);
    });
}

TEST_CASE("rw_mutex: try_lock_shared and try_lock fail while a writer holds it; std::shared_lock works") {
    for_each_procs([](int) {
        goro::rw_mutex rw;
        rw.lock();
        CHECK_FALSE(rw.try_lock_shared());
        CHECK_FALSE(rw.try_lock());
        bool fiber_read = true;
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            fiber_read = rw.try_lock_shared();
            wg.done();
        });
        wg.wait();
        CHECK_FALSE(fiber_read);
        rw.unlock();

        {
            std::shared_lock first(rw);
            CHECK(first.owns_lock());
            std::shared_lock second(rw, std::try_to_lock);  // readers share
            CHECK(second.owns_lock());
            CHECK_FALSE(rw.try_lock());  // readers keep writers out

            bool other_fiber_read = false;
            wg.add(1);
            goro::go([&] {
                {
                    std::shared_lock third(rw);
                    other_fiber_read = third.owns_lock();
                }  // released before done(), so the writer below finds no reader
                wg.done();
            });
            wg.wait();
            CHECK(other_fiber_read);
        }

        CHECK(rw.try_lock());
        rw.unlock();
        {
            std::unique_lock writer(rw);
            CHECK(writer.owns_lock());
            CHECK_FALSE(rw.try_lock_shared());
        }
        CHECK(rw.try_lock_shared());
        rw.unlock_shared();
    });
}

TEST_CASE("rw_mutex: a waiting writer is not starved by a stream of overlapping readers") {
    // Each reader keeps its read lock until a later reader got in (or until it
    // has waited long enough), so while new readers are admitted the lock is
    // never free of readers and a writer would wait until the stream ends.
    // Go's rule (a waiting writer keeps new readers out) lets the writer in as
    // soon as the readers inside leave. Every read section lasts at least
    // 100 us, so the bound below is a quarter of a second of reading or more.
    for_each_procs([](int) {
        const int readers = 4;
        constexpr long bound = 10'000;
        constexpr long give_up = 2 * bound;
        goro::rw_mutex rw;
        std::atomic<long> acquisitions{0};
        std::atomic<bool> writer_done{false};
        long at_request = -1, at_acquire = -1;
        goro::wait_group stream_started, finished;
        stream_started.add(readers);
        finished.add(readers + 1);

        for (int r = 0; r < readers; ++r)
            goro::go([&] {
                bool first = true;
                while (!writer_done.load() && acquisitions.load() < give_up) {
                    rw.lock_shared();
                    const long mine = acquisitions.fetch_add(1) + 1;
                    if (first) stream_started.done();
                    first = false;
                    goro::sleep_for(100us);
                    for (int naps = 0; naps < 200 && acquisitions.load() == mine && !writer_done.load(); ++naps)
                        goro::sleep_for(100us);
                    rw.unlock_shared();
                }
                finished.done();
            });
        stream_started.wait();
        goro::go([&] {
            at_request = acquisitions.load();
            rw.lock();
            at_acquire = acquisitions.load();
            writer_done = true;
            rw.unlock();
            finished.done();
        });
        finished.wait();

        CHECK(at_request >= readers);
        CHECK(at_acquire >= at_request);
        CHECK(at_acquire - at_request <= bound);
    });
}

// ---------------------------------------------------------------------------
// once

TEST_CASE("once: the function runs exactly once and every caller returns after it completed") {
    for_each_procs([](int) {
        const int callers = 200;
        goro::once once;
        std::atomic<int> runs{0}, early{0};
        std::atomic<bool> completed{false};
        auto initialize = [&] {
            runs.fetch_add(1);
            for (int k = 0; k < 10; ++k) goro::yield();
            goro::sleep_for(2ms);  // the other callers arrive meanwhile
            completed = true;
        };
        goro::wait_group wg;
        wg.add(callers);
        for (int i = 0; i < callers; ++i)
            goro::go([&] {
                once.call(initialize);
                if (!completed.load()) early.fetch_add(1);
                wg.done();
            });
        bool thread_saw_completed = false;
        plain_thread t([&] {
            once.call(initialize);
            thread_saw_completed = completed.load();
        });
        wg.wait();
        t.join();
        CHECK(runs.load() == 1);
        CHECK(early.load() == 0);
        CHECK(thread_saw_completed);
    });
}

TEST_CASE("once: if the function throws, the exception propagates and the once still counts as done") {
    for_each_procs([](int) {
        goro::once once;
        int runs = 0;
        auto throwing = [&] {
            ++runs;
            throw std::runtime_error("first");
        };
        auto counting = [&] { ++runs; };
        CHECK_THROWS_WITH_AS(once.call(throwing), "first", std::runtime_error);
        CHECK_NOTHROW(once.call(counting));
        CHECK(runs == 1);

        // Under contention: one caller runs f and gets its exception, the
        // others wait for it and then return normally without running f.
        goro::once contended;
        const int callers = 50;
        std::atomic<int> contended_runs{0}, threw{0}, returned{0};
        goro::wait_group wg;
        wg.add(callers);
        for (int i = 0; i < callers; ++i)
            goro::go([&] {
                try {
                    contended.call([&] {
                        contended_runs.fetch_add(1);
                        goro::sleep_for(2ms);
                        throw std::runtime_error("boom");
                    });
                    returned.fetch_add(1);
                } catch (const std::runtime_error&) {
                    threw.fetch_add(1);
                }
                wg.done();
            });
        wg.wait();
        CHECK(contended_runs.load() == 1);
        CHECK(threw.load() == 1);
        CHECK(returned.load() == callers - 1);
    });
}

// ---------------------------------------------------------------------------
// cond

TEST_CASE("cond: signal wakes exactly one waiter at a time, and wait returns holding the lock") {
    for_each_procs([](int) {
        const int waiters = 4;
        goro::mutex mu;
        goro::cond cv(mu);
        int waiting = 0;  // guarded by mu
        std::atomic<int> returned{0}, lock_not_held{0};
        goro::wait_group wg;
        wg.add(waiters);
        for (int w = 0; w < waiters; ++w)
            goro::go([&] {
                mu.lock();
                ++waiting;
                cv.wait();  // Go's Cond has no spurious wake-ups
                if (mu.try_lock()) lock_not_held.fetch_add(1);
                returned.fetch_add(1);
                mu.unlock();
                wg.done();
            });
        // A waiter counts itself while holding mu and wait() releases mu only
        // once it is queued: seeing all counted under mu means all are queued.
        CHECK(eventually([&] {
            std::lock_guard guard(mu);
            return waiting == waiters;
        }));

        for (int i = 1; i <= waiters; ++i) {
            {
                std::lock_guard guard(mu);
                cv.signal();
            }
            CHECK(eventually([&] { return returned.load() >= i; }));
            for (int k = 0; k < 20; ++k) goro::yield();  // a wrongly woken second waiter would show up now
            CHECK(returned.load() == i);
        }
        wg.wait();
        CHECK(lock_not_held.load() == 0);
    });
}

TEST_CASE("cond: broadcast wakes every waiter") {
    for_each_procs([](int) {
        const int waiters = 32;
        goro::mutex mu;
        goro::cond cv(mu);
        int waiting = 0;  // guarded by mu
        std::atomic<int> returned{0};
        goro::wait_group wg;
        wg.add(waiters);
        for (int w = 0; w < waiters; ++w)
            goro::go([&] {
                std::lock_guard guard(mu);
                ++waiting;
                cv.wait();
                returned.fetch_add(1);
                wg.done();
            });
        CHECK(eventually([&] {
            std::lock_guard guard(mu);
            return waiting == waiters;
        }));
        {
            std::lock_guard guard(mu);
            cv.broadcast();
        }
        wg.wait();
        CHECK(returned.load() == waiters);
    });
}

TEST_CASE("cond: a signal with no waiter is not remembered") {
    for_each_procs([](int) {
        goro::mutex mu;
        goro::cond cv(mu);
        cv.signal();
        cv.broadcast();
        bool waiting = false;  // guarded by mu
        std::atomic<bool> returned{false};
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            std::lock_guard guard(mu);
            waiting = true;
            cv.wait();
            returned = true;
            wg.done();
        });
        CHECK(eventually([&] {
            std::lock_guard guard(mu);
            return waiting;
        }));
        for (int k = 0; k < 20; ++k) goro::yield();
        CHECK_FALSE(returned.load());
        {
            std::lock_guard guard(mu);
            cv.signal();
        }
        wg.wait();
        CHECK(returned.load());
    });
}

TEST_CASE("cond: a bounded queue on two conds moves every item from producers to consumers") {
    for_each_procs([](int) {
        const int producers = 4, consumers = 4;
        const long per_producer = goro_test::stress(2000, 50'000);
        bounded_queue queue(8);
        std::atomic<long> sum{0}, count{0};
        goro::wait_group produced, consumed;
        produced.add(producers);
        consumed.add(consumers);
        for (int p = 0; p < producers; ++p)
            goro::go([&, p] {
                for (long i = 0; i < per_producer; ++i) queue.push(p * per_producer + i);
                produced.done();
            });
        for (int c = 0; c < consumers; ++c)
            goro::go([&] {
                while (std::optional<long> v = queue.pop()) {
                    sum.fetch_add(*v);
                    count.fetch_add(1);
                }
                consumed.done();
            });
        produced.wait();
        queue.close();
        consumed.wait();
        CHECK(count.load() == producers * per_producer);
        CHECK(sum.load() == sum_below(producers * per_producer));
    });
}

TEST_CASE("cond: plain threads and fibers share a queue guarded by goro::mutex and goro::cond") {
    for_each_procs([](int) {
        const long per_producer = goro_test::stress(2000, 20'000);
        const int producers = 3, consumers = 3;  // one of each is a plain thread
        bounded_queue queue(4);
        std::atomic<long> sum{0}, count{0};
        goro::wait_group produced, consumed;
        produced.add(producers);
        consumed.add(consumers);
        auto produce = [&](int p) {
            for (long i = 0; i < per_producer; ++i) queue.push(p * per_producer + i);
            produced.done();
        };
        auto consume = [&] {
            while (std::optional<long> v = queue.pop()) {
                sum.fetch_add(*v);
                count.fetch_add(1);
            }
            consumed.done();
        };
        plain_thread thread_producer([&] { produce(0); });
        plain_thread thread_consumer(consume);
        for (int p = 1; p < producers; ++p) goro::go(produce, p);
        for (int c = 1; c < consumers; ++c) goro::go(consume);
        produced.wait();
        queue.close();
        consumed.wait();
        thread_producer.join();
        thread_consumer.join();
        CHECK(count.load() == producers * per_producer);
        CHECK(sum.load() == sum_below(producers * per_producer));
    });
}

TEST_CASE("cond: works with an rw_mutex as its lock") {
    for_each_procs([](int) {
        goro::rw_mutex rw;
        goro::cond cv(rw);
        int stage = 0;  // guarded by rw (write side)
        goro::wait_group wg;
        const int waiters = 8;
        wg.add(waiters);
        std::atomic<int> saw_stage{0};
        for (int w = 0; w < waiters; ++w)
            goro::go([&] {
                rw.lock();
                while (stage == 0) cv.wait();
                if (stage == 1) saw_stage.fetch_add(1);
                rw.unlock();
                wg.done();
            });
        goro::sleep_for(1ms);
        rw.lock();
        stage = 1;
        cv.broadcast();
        rw.unlock();
        wg.wait();
        CHECK(saw_stage.load() == waiters);
    });
}

// ---------------------------------------------------------------------------
// no runtime at all

TEST_CASE("sync types work between plain threads when no runtime is running") {
    goro::mutex mu;
    goro::wait_group wg;
    goro::once once;
    goro::rw_mutex rw;
    goro::cond cv(mu);
    long counter = 0;  // guarded by mu
    std::atomic<int> once_runs{0};
    bool ready = false;  // guarded by mu
    std::atomic<int> readers_seen_ready{0};

    const int threads = 4, iterations = 2000;
    wg.add(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            once.call([&] { once_runs.fetch_add(1); });
            for (int i = 0; i < iterations; ++i) {
                std::lock_guard guard(mu);
                ++counter;
            }
            {
                std::unique_lock lock(mu);
                while (!ready) cv.wait();
            }
            {
                std::shared_lock read(rw);
                readers_seen_ready.fetch_add(1);
            }
            wg.done();
        });
    {
        std::lock_guard guard(mu);
        ready = true;
        cv.broadcast();
    }
    wg.wait();
    for (std::thread& t : pool) t.join();
    CHECK(counter == static_cast<long>(threads) * iterations);
    CHECK(once_runs.load() == 1);
    CHECK(readers_seen_ready.load() == threads);
    CHECK_THROWS_WITH_AS(wg.done(), negative_counter, goro::panic_error);
    CHECK(mu.try_lock());
    mu.unlock();
}

}  // TEST_SUITE("sync")
