// tests/netpoll/eintr_test.cpp — an EINTR storm: a signal (installed without
// SA_RESTART, so every blocking system call it lands in fails with EINTR)
// sent every few microseconds to every thread of the process, while the core
// scenarios run: channel hand-offs, sleeps and timer selects, mutex
// contention, a TCP echo of 1 MiB checked byte for byte, goro::blocking and
// plain threads waiting on fibers. Every result must be exact; nothing may
// hang. Run in a child process, which owns its signal dispositions.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "netpoll/net_support.hpp"
#include "support/dump.hpp"
#include "support/procs.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using goro_test::emit;
using goro_test::emitted;
using goro_test::proc_result;
using goro_test::run_self;
namespace net = goro::net;

namespace {

std::atomic<unsigned long long> interrupts{0};

void on_storm_signal(int) { interrupts.fetch_add(1, std::memory_order_relaxed); }

// Signals every other thread of the process, round after round, until told
// to stop.
class storm {
public:
    storm() {
        struct sigaction sa {};
        sa.sa_handler = on_storm_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;  // no SA_RESTART: blocking calls fail with EINTR
        sigaction(SIGUSR2, &sa, nullptr);
        thread_ = std::thread([this] { run(); });
    }
    ~storm() {
        stop_.store(true);
        thread_.join();
    }
    unsigned long long rounds() const { return rounds_.load(); }

private:
    void run() {
        const pid_t pid = ::getpid();
        const pid_t self = static_cast<pid_t>(::syscall(SYS_gettid));
        while (!stop_.load(std::memory_order_relaxed)) {
            if (DIR* d = ::opendir("/proc/self/task")) {
                while (dirent* e = ::readdir(d)) {
                    if (e->d_name[0] == '.') continue;
                    const pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
                    if (tid != self) ::syscall(SYS_tgkill, pid, tid, SIGUSR2);
                }
                ::closedir(d);
            }
            rounds_.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::sleep_for(20us);
        }
    }

    std::atomic<bool> stop_{false};
    std::atomic<unsigned long long> rounds_{0};
    std::thread thread_;
};

}  // namespace

namespace {

// One pass over the core scenarios; returns how many results were wrong.
int one_pass() {
    int failures = 0;
    goro::wait_group wg;

    // 1. Channel hand-offs between fibers on different workers.
    wg.go([&] {
        auto c = goro::make_chan<int>();
        goro::go([c] {
            for (int i = 0; i < 20000; ++i) c.send(i);
            c.close();
        });
        long sum = 0;
        for (int v : c) sum += v;
        if (sum != 20000L * 19999 / 2) ++failures;
    });

    // 2. Sleeps and timer selects.
    std::atomic<int> woke{0};
    for (int f = 0; f < 50; ++f) {
        wg.go([&] {
            for (int i = 0; i < 20; ++i) {
                goro::sleep_for(100us);
                (void)goro::select(goro::recv(goro::after(50us)));
                woke.fetch_add(1);
            }
        });
    }

    // 3. Mutex contention.
    goro::mutex lock;
    long counter = 0;
    for (int f = 0; f < 8; ++f) {
        wg.go([&] {
            for (int i = 0; i < 2000; ++i) {
                std::lock_guard<goro::mutex> hold(lock);
                ++counter;
            }
        });
    }

    // 4. 1 MiB over TCP loopback and back, byte for byte.
    std::atomic<bool> echo_ok{false};
    wg.go([&] {
        auto ends = goro_test::tcp_pair();
        net::conn& client = ends.first;
        net::conn& far = ends.second;
        goro::wait_group helpers;  // both finish before ends is destroyed
        helpers.go([&far] {
            char buf[4096];
            for (;;) {
                std::error_code ec;
                const std::size_t n = far.read(buf, sizeof buf, ec);
                if (ec || n == 0) break;
                far.write(buf, n);
            }
            far.close();
        });
        std::string data(1 << 20, '\0');
        std::mt19937 rng(7);
        for (char& ch : data) ch = static_cast<char>(rng());
        helpers.go([&client, &data] {
            client.write(data);
            client.shutdown(net::shutdown_how::write);
        });
        std::string back(data.size(), '\0');
        client.read_full(back.data(), back.size());
        echo_ok.store(back == data);
        char extra;
        std::error_code ec;
        (void)client.read(&extra, 1, ec);  // EOF once the echo fiber closes
        helpers.wait();
    });

    // 5. goro::blocking, whose pool threads sleep through the storm.
    std::atomic<int> blocked_calls{0};
    wg.go([&] {
        for (int i = 0; i < 20; ++i)
            blocked_calls.fetch_add(goro::blocking([] {
                std::this_thread::sleep_for(1ms);
                return 1;
            }));
    });

    // 6. A plain thread waiting on a channel that a fiber sends on.
    auto to_thread = goro::make_chan<int>();
    long plain_sum = 0;
    std::thread plain([to_thread, &plain_sum] {
        for (int v : to_thread) plain_sum += v;
    });
    wg.go([to_thread] {
        for (int i = 1; i <= 1000; ++i) {
            to_thread.send(i);
            if (i % 100 == 0) goro::sleep_for(200us);
        }
        to_thread.close();
    });

    wg.wait();
    plain.join();
    if (plain_sum != 1000L * 1001 / 2) ++failures;
    if (woke.load() != 50 * 20) ++failures;
    if (counter != 8 * 2000) ++failures;
    if (!echo_ok.load()) ++failures;
    if (blocked_calls.load() != 20) ++failures;
    return failures;
}

}  // namespace

GORO_SCENARIO(eintr_storm) {
    storm signals;
    constexpr int passes = 5;
    const int rc = goro::run(goro::config{.procs = 4}, [&]() -> int {
        int failures = 0;
        for (int pass = 0; pass < passes; ++pass) failures += one_pass();
        emit("passes", passes);
        emit("failures", static_cast<unsigned long long>(failures));
        return 0;
    });
    emit("interrupts", interrupts.load());
    emit("storm_rounds", signals.rounds());
    return rc;
}

TEST_CASE("an EINTR storm on every thread: channels, timers, mutexes, TCP, goro::blocking and plain threads stay exact") {
    const proc_result r = run_self("eintr_storm", {"GORO_DEBUG=traps=0"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK(emitted(r.out, "passes") == 5);
    CHECK(emitted(r.out, "failures") == 0);
    // The storm did land: handlers ran, many times over.
    CHECK(emitted(r.out, "interrupts") > 100);
}
