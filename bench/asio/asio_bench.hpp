// asio_bench.hpp: what the C++20-coroutine versions of the bench workloads
// share, on standalone Asio (Debian's libasio-dev 1.22).
//
// Tasks are C++20 stackless coroutines (asio::awaitable) started with
// asio::co_spawn. They run on one asio::io_context that BENCH_WORKERS
// threads (default 2) run: the pattern Asio's documentation gives for an
// io_context on several threads, with the concurrency hint telling it how
// many. Every thread takes handlers from the context's one shared queue;
// there is no per-thread queue and no work stealing.
//
// Go's channels are asio::experimental::concurrent_channel (a mutex inside;
// capacity 0 is an unbuffered, rendezvous channel). Operations complete with
// asio::as_tuple(asio::use_awaitable), so a closed channel is an error code,
// not an exception.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/concurrent_channel.hpp>

#include "../bench_common.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace asio_bench {

using bench::arg_n;
using bench::ns_since;
using bench::status_bytes;
using bench::workers;

using asio::awaitable;
using asio::use_awaitable;
constexpr auto nothrow_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

template <class T>
using channel = asio::experimental::concurrent_channel<void(asio::error_code, T)>;

// Go's sync.WaitGroup for coroutines: add, done from each task, and one
// co_await wait(), which a channel of capacity 1 wakes.
//
// The count and the channel live in a shared state that done() holds while
// it runs: the last done() wakes the waiter, which may return and destroy
// the wait group on another thread while try_send is still inside the
// channel's implementation.
class wait_group {
public:
    explicit wait_group(asio::any_io_executor ex) : state_(std::make_shared<state>(ex)) {}
    void add(long n) { state_->count.fetch_add(n, std::memory_order_relaxed); }
    void done() {
        const std::shared_ptr<state> keep = state_;  // taken while the count is not yet zero
        if (keep->count.fetch_sub(1, std::memory_order_acq_rel) == 1) keep->zero.try_send(asio::error_code{}, 0);
    }
    awaitable<void> wait() {
        if (state_->count.load(std::memory_order_acquire) == 0) co_return;
        co_await state_->zero.async_receive(nothrow_awaitable);
    }

private:
    struct state {
        explicit state(asio::any_io_executor ex) : zero(ex, 1) {}
        std::atomic<long> count{0};
        channel<int> zero;
    };
    std::shared_ptr<state> state_;
};

// Runs the coroutine main_task() on an io_context that workers() threads
// run, and returns once every coroutine has finished. main_task sets the
// exit status through its reference argument.
template <class MainTask>
int run(MainTask main_task) {
    const int n = workers();
    asio::io_context ctx(n);
    int status = 0;
    asio::co_spawn(ctx, main_task(status), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    std::vector<std::thread> helpers;
    for (int i = 1; i < n; ++i) helpers.emplace_back([&] { ctx.run(); });
    ctx.run();
    for (auto& t : helpers) t.join();
    return status;
}

}  // namespace asio_bench
