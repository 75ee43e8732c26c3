// tests/gdb/parked.cpp — the program tests/gdb/gdb_test.sh debugs: fibers
// parked in known functions (a channel receive, a sleep, a mutex), a
// buffered channel with known contents, and main stopped in gdb_checkpoint
// once every one of them is parked.
#include <chrono>
#include <sstream>
#include <string>

#include <goro/goro.hpp>

#include "runtime/detail/gdb_script.hpp"

// The test loads the extension through this program's .debug_gdb_scripts
// section, from the source tree: libgoro's own entry names the installed
// path, which a build tree does not have (scripts/install-check.sh checks
// that one).
#ifdef GORO_TEST_GDB_SCRIPT
GORO_GDB_SCRIPT_ENTRY(GORO_TEST_GDB_SCRIPT);
#endif

namespace {

// After a call, so that the call is not a tail call: the caller's frame
// stays on the stack for the backtrace to show.
inline void keep_frame() { __asm__ volatile("" ::: "memory"); }

__attribute__((noinline)) void wait_on_channel(goro::chan<int> never) {
    auto v = never.recv();
    (void)v;
    keep_frame();
}

__attribute__((noinline)) void sleep_a_long_time() {
    goro::sleep_for(std::chrono::hours(1));
    keep_frame();
}

__attribute__((noinline)) void wait_on_mutex(goro::mutex& mu) {
    {
        std::lock_guard<goro::mutex> hold(mu);
    }
    keep_frame();
}

bool all_parked() {
    std::ostringstream out;
    goro::dump_fibers(out);
    const std::string dump = out.str();
    return dump.find("[chan receive") != std::string::npos && dump.find("[sleep") != std::string::npos &&
           dump.find("[mutex") != std::string::npos;
}

}  // namespace

// The debugger's breakpoint: ch and mu are in scope here.
extern "C" __attribute__((noinline)) void gdb_checkpoint(const goro::chan<int>& ch, const goro::mutex& mu) {
    __asm__ volatile("" : : "r"(&ch), "r"(&mu) : "memory");
}

int main() {
    goro::mutex mu;  // outlives the run: the waiter may still unlock it as main returns
    return goro::run([&mu] {
        auto never = goro::make_chan<int>();
        auto ch = goro::make_chan<int>(4);
        ch.send(7);
        ch.send(8);
        mu.lock();
        goro::go(goro::spawn_options{.name = "receiver"}, [never] { wait_on_channel(never); });
        goro::go([] { sleep_a_long_time(); });
        goro::go([&mu] { wait_on_mutex(mu); });
        while (!all_parked()) goro::sleep_for(std::chrono::milliseconds(1));
        gdb_checkpoint(ch, mu);
        mu.unlock();
        never.close();
        return 0;
    });
}
