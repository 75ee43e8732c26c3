// examples/virtual_time_test.cpp — testing timing code on virtual time.
//
// A retrying fetcher with exponential back-off and a deadline, and a cache
// whose entries expire, are tested the way goro::synctest allows: the tests
// sleep through minutes of back-off and hours of expiry, finish at once, and
// check exact durations. Each GORO_TEST_CASE body runs in a bubble
// (goro::synctest::run), which also fails the test if a fiber is left
// blocked for good when the body returns.
//
//   build/examples/virtual_time_test        # runs the tests (doctest)
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <goro/doctest.hpp>
#include <goro/goro.hpp>

#include <chrono>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

using namespace std::chrono_literals;

// ---------------------------------------------------------------- the code

// Calls attempt() until it succeeds, sleeping 1 s, 2 s, 4 s, ... between
// tries, and gives up when the context ends. Returns the number of tries, or
// nullopt when it gave up.
template <class Attempt>
std::optional<int> retry_with_backoff(const goro::context& ctx, Attempt attempt) {
    auto delay = 1s;
    for (int tries = 1;; ++tries) {
        if (attempt()) return tries;
        const int which = goro::select(goro::recv(ctx.done()), goro::recv(goro::after(delay)));
        if (which == 0) return std::nullopt;
        delay *= 2;
    }
}

// A map whose entries live for `ttl`; a janitor fiber sweeps every `sweep`.
class expiring_cache {
public:
    expiring_cache(std::chrono::nanoseconds ttl, std::chrono::nanoseconds sweep) : ttl_(ttl) {
        janitor_.add(1);
        goro::go([this, sweep, stop = stop_] {
            struct done_on_exit {
                goro::wait_group& wg;
                ~done_on_exit() { wg.done(); }
            } done{janitor_};
            goro::ticker tick(sweep);
            for (;;) {
                if (goro::select(goro::recv(stop), goro::recv(tick.c)) == 0) return;
                std::lock_guard<goro::mutex> g(lock_);
                for (auto it = entries_.begin(); it != entries_.end();)
                    it = it->second.expires <= goro::now() ? entries_.erase(it) : std::next(it);
            }
        });
    }
    ~expiring_cache() {
        stop_.close();
        janitor_.wait();  // it may be mid-sweep: it touches *this until it returns
    }

    void put(const std::string& key, std::string value) {
        std::lock_guard<goro::mutex> g(lock_);
        entries_[key] = {std::move(value), goro::now() + ttl_};
    }
    std::size_t size() {
        std::lock_guard<goro::mutex> g(lock_);
        return entries_.size();
    }

private:
    struct entry {
        std::string value;
        goro::time_point expires;
    };
    std::chrono::nanoseconds ttl_;
    goro::mutex lock_;
    std::map<std::string, entry> entries_;
    goro::chan<std::monostate> stop_ = goro::make_chan<std::monostate>();
    goro::wait_group janitor_;
};

// --------------------------------------------------------------- the tests

GORO_TEST_CASE("retry: backs off 1 s, 2 s, 4 s between tries") {
    const auto start = goro::now();
    std::vector<std::chrono::seconds> tried_at;
    const auto tries = retry_with_backoff(goro::background(), [&] {
        tried_at.push_back(std::chrono::duration_cast<std::chrono::seconds>(goro::now() - start));
        return tried_at.size() == 4;
    });
    CHECK(tries == 4);
    CHECK(tried_at == std::vector<std::chrono::seconds>{0s, 1s, 3s, 7s});
}

GORO_TEST_CASE("retry: gives up exactly when the context's deadline passes") {
    const auto start = goro::now();
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 10s);
    const auto tries = retry_with_backoff(ctx, [] { return false; });
    CHECK(!tries);
    CHECK(goro::now() - start == 10s);  // tries at 0, 1, 3 and 7 s; the 8 s wait is cut short
    cancel();
}

GORO_TEST_CASE("cache: entries leave at the first sweep after their time to live") {
    expiring_cache cache(1h, 10min);
    cache.put("a", "1");
    goro::sleep_for(30min);
    cache.put("b", "2");
    goro::sleep_for(30min);
    goro::synctest::wait();  // let the janitor finish its sweep at 1 h
    CHECK(cache.size() == 1);  // "a" expired at 1 h exactly and was swept then
    goro::sleep_for(40min);
    goro::synctest::wait();
    CHECK(cache.size() == 0);  // "b" expired at 1 h 30, swept by the sweep due then
}
