// goro/singleflight.hpp — golang.org/x/sync/singleflight's Group.Do: calls
// with one key that overlap share one execution of the function.
//
//   goro::singleflight<std::string, config> loads;
//   config c = loads.call(path, [&] { return load_config(path); });
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <goro/mutex.hpp>
#include <goro/wait_group.hpp>

namespace goro {

// Go's singleflight.Group. call(key, fn) runs fn unless a call with the same
// key is already running, in which case it waits for that one and returns
// its value (a copy), or rethrows its exception (the same exception object in
// every caller). Once the running call has finished, the key is forgotten: a
// later call runs fn again. Works from fibers and plain threads, in any mix.
template <class K, class V, class Hash = std::hash<K>, class KeyEqual = std::equal_to<K>>
class singleflight {
public:
    singleflight() = default;
    singleflight(const singleflight&) = delete;
    singleflight& operator=(const singleflight&) = delete;

    template <class F>
    V call(const K& key, F&& fn) {
        std::unique_lock lock(mu_);
        if (auto it = calls_.find(key); it != calls_.end()) {
            std::shared_ptr<flight> running = it->second;
            lock.unlock();
            running->finished.wait();
            return running->result();
        }
        auto mine = std::make_shared<flight>();
        mine->finished.add(1);
        calls_.emplace(key, mine);
        lock.unlock();

        try {
            mine->value.emplace(std::invoke(std::forward<F>(fn)));
        } catch (...) {
            mine->error = std::current_exception();
        }
        // Forget the key before releasing the waiters: a call that starts
        // once this one has returned runs fn again.
        lock.lock();
        calls_.erase(key);
        lock.unlock();
        mine->finished.done();
        return mine->result();
    }

private:
    struct flight {
        wait_group finished;
        std::optional<V> value;
        std::exception_ptr error;
        V result() const {
            if (error) std::rethrow_exception(error);
            return *value;
        }
    };

    mutex mu_;
    std::unordered_map<K, std::shared_ptr<flight>, Hash, KeyEqual> calls_;
};

}  // namespace goro
