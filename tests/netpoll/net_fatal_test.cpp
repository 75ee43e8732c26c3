// tests/netpoll/net_fatal_test.cpp — netpoller behaviour that needs its own
// process: the deadlock detector with I/O and blocking calls in flight, the
// EMFILE back-off under a lowered RLIMIT_NOFILE, signal delivery (to
// channels and to signal_notify_context), and a fiber abandoned in an I/O
// wait when its run returns.

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <tuple>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "netpoll/net_support.hpp"
#include "support/procs.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using namespace goro_test;

namespace net = goro::net;

GORO_SCENARIO(io_wait_is_not_a_deadlock) {
    goro::config cfg;
    cfg.procs = 1;
    return goro::run(cfg, [] {
        net::conn reader, writer;
        std::tie(reader, writer) = tcp_pair();
        // Every fiber waits on I/O; only another process's (or thread's)
        // write can wake one. That is no deadlock: Go does not report it.
        std::thread t([fd = writer.native_handle()] {
            std::this_thread::sleep_for(150ms);
            (void)!::write(fd, "!", 1);
        });
        char c = 0;
        const std::size_t n = reader.read(&c, 1);
        t.join();
        emit("read", n);
        return c == '!' ? 0 : 1;
    });
}

GORO_SCENARIO(deadlock_beside_an_idle_listener) {
    return goro::run([] {
        auto ln = net::listen("tcp", "127.0.0.1:0");  // open, but nobody waits on it
        auto never = goro::make_chan<int>();
        (void)never.recv();
        return 0;
    });
}

GORO_SCENARIO(blocking_call_is_not_a_deadlock) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        auto result = goro::make_chan<int>();
        goro::go([result]() mutable {
            result.send(goro::blocking([] {
                std::this_thread::sleep_for(150ms);
                return 9;
            }));
        });
        emit("value", static_cast<unsigned long long>(*result.recv()));
        return 0;
    });
}

GORO_SCENARIO(accept_backs_off_when_out_of_descriptors) {
    return goro::run([] {
        auto ln = net::listen("tcp", "127.0.0.1:0");
        // The client connects before the table is full: the connection waits
        // in the backlog for an accept that has no descriptor to give it.
        net::conn client = net::dial("tcp", ln.local_address().to_string());
        rlimit lim{};
        getrlimit(RLIMIT_NOFILE, &lim);
        lim.rlim_cur = 64;
        setrlimit(RLIMIT_NOFILE, &lim);
        std::vector<int> fillers;
        for (;;) {
            const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (fd < 0) break;
            fillers.push_back(fd);
        }
        goro::go([&] {
            // Free the table once accept has backed off at least twice.
            eventually([&] { return ln.accept_backoffs() >= 2; });
            for (int fd : fillers) ::close(fd);
            fillers.clear();
        });
        net::conn server = ln.accept();
        emit("backoffs", ln.accept_backoffs());
        client.write("ok");
        char buffer[2];
        server.read_full(buffer, 2);
        emit("payload_ok", std::string(buffer, 2) == "ok");
        return 0;
    });
}

namespace {
void* disposition(int signo) {
    struct sigaction current {};
    sigaction(signo, nullptr, &current);
    return (current.sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(current.sa_sigaction)
                                           : reinterpret_cast<void*>(current.sa_handler);
}
}  // namespace

// Go's signal.Ignore, Ignored and Reset.
GORO_SCENARIO(signal_ignore_and_reset) {
    return goro::run([] {
        auto sig = goro::make_chan<int>(4);
        goro::signal_notify(sig, {SIGUSR1});
        goro::signal_ignore({SIGUSR1});
        emit("ignored", goro::signal_ignored(SIGUSR1));
        ::raise(SIGUSR1);  // ignored: neither delivered nor fatal
        goro::signal_notify(sig, {SIGUSR1});  // asks for it again: caught, no longer ignored
        emit("ignored_after_notify", goro::signal_ignored(SIGUSR1));
        ::raise(SIGUSR1);
        emit("got", static_cast<unsigned long long>(*sig.recv()));
        goro::sleep_for(20ms);
        emit("nothing_more", !sig.try_recv());

        goro::signal_reset({SIGUSR1});
        emit("usr1_default", disposition(SIGUSR1) == reinterpret_cast<void*>(SIG_DFL));
        // SIGQUIT's default in a goro program is goro's fiber dump.
        void* const dump = disposition(SIGQUIT);
        goro::signal_notify(sig, {SIGQUIT});
        emit("quit_caught", disposition(SIGQUIT) != dump);
        goro::signal_reset({SIGQUIT});
        emit("quit_dump_back", disposition(SIGQUIT) == dump);
        // Reset of everything: what notify or ignore touched goes back.
        goro::signal_notify(sig, {SIGUSR2});
        goro::signal_ignore({SIGWINCH});
        goro::signal_reset();
        emit("all_default", disposition(SIGUSR2) == reinterpret_cast<void*>(SIG_DFL) &&
                                disposition(SIGWINCH) == reinterpret_cast<void*>(SIG_DFL));
        bool refused = false;
        try {
            goro::signal_ignore({SIGKILL});
        } catch (const goro::panic_error&) {
            refused = true;
        }
        emit("kill_refused", refused);
        return 0;
    });
}

// GORO_FAULTS=accept=...: accept4 itself fails as the kernel would. Out of
// descriptors or memory, accept backs off and serves the waiting client
// later; a client that gave up (ECONNABORTED) is skipped at once; any other
// error goes to the caller.
GORO_SCENARIO(accept_faults) {
    return goro::run([] {
        auto ln = net::listen("tcp", "127.0.0.1:0");
        net::conn client = net::dial("tcp", ln.local_address().to_string());
        std::error_code ec;
        net::conn server = ln.accept(ec);
        emit("accept_errno", static_cast<unsigned long long>(ec.value()));
        emit("backoffs", ln.accept_backoffs());
        if (!server) server = ln.accept();  // the client is still in the backlog
        client.write("ok");
        char buffer[2];
        server.read_full(buffer, 2);
        emit("payload_ok", std::string(buffer, 2) == "ok");
        return 0;
    });
}

GORO_SCENARIO(signals_arrive_on_channels) {
    return goro::run([] {
        auto sig = goro::make_chan<int>(4);
        goro::signal_notify(sig, {SIGUSR1, SIGTERM});
        std::thread([] { ::kill(::getpid(), SIGUSR1); }).detach();
        emit("first", static_cast<unsigned long long>(*sig.recv()));
        ::raise(SIGTERM);  // handled: does not kill the process
        emit("second", static_cast<unsigned long long>(*sig.recv()));
        goro::signal_stop(sig);
        return 0;
    });
}

// signal_notify_context on runtimes of each size (one run each, as
// registrations last for a run): a signal, the parent's cancel, and stop()
// each cancel the context; each fact is emitted once per run as 1 (or 0).
GORO_SCENARIO(signal_notify_context_cancels) {
    for (int procs : procs_values) {
        goro::config cfg;
        cfg.procs = procs;
        const int rc = goro::run(cfg, [] {
            const auto done_soon = [](const goro::context& c) {
                return goro::select(goro::recv(c.done()), goro::recv(goro::after(30s))) == 0;
            };
            {
                // A signal raised in this process cancels ctx.
                auto [ctx, stop] = goro::signal_notify_context(goro::background(), {SIGUSR1, SIGUSR2});
                emit("fresh_not_done", !ctx.err());
                ::raise(SIGUSR1);
                emit("signal_cancels", done_soon(ctx) && ctx.err() == goro::context_errc::canceled);
                // Still registered until stop(): a second one is caught too.
                ::raise(SIGUSR1);
                stop();
                stop();  // again: nothing happens
                emit("err_after_stop", ctx.err() == goro::context_errc::canceled);
            }
            {
                // From another thread, the other signal of the set.
                auto pair = goro::signal_notify_context(goro::background(), {SIGUSR1, SIGUSR2});
                std::thread([] { ::kill(::getpid(), SIGUSR2); }).detach();
                emit("thread_signal_cancels", done_soon(pair.first));
                pair.second();
            }
            {
                // The parent's cancel reaches it, and its fiber ends.
                const std::size_t before = goro::num_fibers();
                auto parent = goro::with_cancel(goro::background());
                auto pair = goro::signal_notify_context(parent.first, {SIGUSR1});
                parent.second();
                emit("parent_cancels", done_soon(pair.first) && pair.first.err() == goro::context_errc::canceled);
                emit("fiber_ends", eventually([before] { return goro::num_fibers() <= before; }));
                pair.second();
            }
            {
                // stop() alone cancels; a cancelled parent gives a cancelled ctx.
                auto pair = goro::signal_notify_context(goro::background(), {SIGUSR2});
                pair.second();
                emit("stop_cancels", done_soon(pair.first));
                auto parent = goro::with_cancel(goro::background());
                parent.second();
                auto born_done = goro::signal_notify_context(parent.first, {SIGUSR2});
                emit("born_done", born_done.first.err() == goro::context_errc::canceled);
                born_done.second();
            }
            {
                // A signal that cannot be caught throws, as signal_notify does.
                bool threw = false;
                try {
                    (void)goro::signal_notify_context(goro::background(), {SIGKILL});
                } catch (const goro::panic_error&) {
                    threw = true;
                }
                emit("uncatchable_throws", threw);
            }
        });
        if (rc != 0) return rc;
    }
    return 0;
}

namespace {
net::conn* abandoned_reader = nullptr;
net::conn* abandoned_peer = nullptr;
}  // namespace

GORO_SCENARIO(io_waiter_abandoned_at_run_end) {
    auto first = goro::run([] {
        net::conn a, b;
        std::tie(a, b) = tcp_pair();
        abandoned_reader = new net::conn(std::move(a));
        abandoned_peer = new net::conn(std::move(b));
        goro::go([] {
            char c;
            (void)abandoned_reader->read(&c, 1);  // still parked when main returns
        });
        goro::sleep_for(10ms);
        return 0;
    });
    // The next run makes the abandoned socket ready and closes it: the
    // poller must have forgotten the fiber, whose stack is gone.
    auto second = goro::run([] {
        abandoned_peer->write("late");
        goro::sleep_for(20ms);
        std::error_code ec;
        abandoned_reader->close(ec);
        emit("closed", !ec);
        return 0;
    });
    return first + second;
}

namespace {
// Sockets open now. Only sockets: what listen and dial would leak is one,
// while the runtime's other threads open and close files of their own at any
// time (sysmon's /proc/self/task/TID files, the symboliser's ELF files, the
// sanitizers' /proc/self/maps), which a count of every descriptor would take
// for a leak or, closed between two counts, for a negative one.
int open_sockets() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            char link[256];
            const std::string path = std::string("/proc/self/fd/") + e->d_name;
            const ssize_t len = ::readlink(path.c_str(), link, sizeof link - 1);
            if (len <= 0) continue;
            link[len] = '\0';
            if (std::strncmp(link, "socket:", 7) == 0) ++n;
        }
        ::closedir(d);
    }
    return n;
}
}  // namespace

// GORO_FAULTS=epoll_ctl=SKIP/COUNT: registrations SKIP.. fail with ENOMEM.
// Whichever call made the socket (listen, dial) gets the error and leaves no
// descriptor behind; the next call works.
GORO_SCENARIO(epoll_registration_fails) {
    return goro::run([] {
        std::error_code ec;
        net::listener first = net::listen("tcp", "127.0.0.1:0", ec);  // also starts the poller
        emit("first_listen_errno", static_cast<unsigned long long>(ec.value()));
        emit("first_listen_message_ok", ec.message() == "Cannot allocate memory");
        const int before = open_sockets();
        net::listener second = net::listen("tcp", "127.0.0.1:0", ec);
        emit("second_listen_errno", static_cast<unsigned long long>(ec.value()));
        emit("leaked", static_cast<unsigned long long>(open_sockets() - before));
        net::listener ln = net::listen("tcp", "127.0.0.1:0");  // works
        net::conn client = net::dial("tcp", ln.local_address().to_string());
        net::conn server = ln.accept();
        client.write("ok");
        char buffer[2];
        server.read_full(buffer, 2);
        emit("payload_ok", std::string(buffer, 2) == "ok");
        return 0;
    });
}

GORO_SCENARIO(epoll_registration_fails_for_dial) {
    return goro::run([] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");  // registration 0
        const int before = open_sockets();
        std::error_code ec;
        net::conn failed = net::dial("tcp", ln.local_address().to_string(), ec);  // 1: fails
        emit("dial_errno", static_cast<unsigned long long>(ec.value()));
        emit("leaked", static_cast<unsigned long long>(open_sockets() - before));
        net::conn client = net::dial("tcp", ln.local_address().to_string());
        net::conn server = ln.accept();
        server.write("yes");
        char buffer[3];
        client.read_full(buffer, 3);
        emit("payload_ok", std::string(buffer, 3) == "yes");
        return 0;
    });
}

TEST_CASE("fibers waiting on I/O are not a deadlock") {
    const proc_result r = run_self("io_wait_is_not_a_deadlock");
    CHECK_MESSAGE(r.exit_status == 0, describe(r));
    CHECK(emitted(r.out, "read") == 1);
}

TEST_CASE("an open listener nobody waits on does not hide a deadlock") {
    const proc_result r = run_self("deadlock_beside_an_idle_listener");
    CHECK_MESSAGE(r.exit_status == 2, describe(r));
    CHECK(first_line(r.err) == "fatal error: all fibers are asleep - deadlock!");
}

TEST_CASE("a fiber in a blocking call is not a deadlock") {
    const proc_result r = run_self("blocking_call_is_not_a_deadlock");
    CHECK_MESSAGE(r.exit_status == 0, describe(r));
    CHECK(emitted(r.out, "value") == 9);
}

TEST_CASE("accept backs off and retries when the descriptor table is full (EMFILE)") {
    const proc_result r = run_self("accept_backs_off_when_out_of_descriptors");
    CHECK_MESSAGE(r.exit_status == 0, describe(r));
    CHECK(emitted(r.out, "backoffs") >= 2);
    CHECK(emitted(r.out, "payload_ok") == 1);
}

TEST_CASE("epoll_ctl failing to register a socket: the call gets ENOMEM, nothing leaks, the next call works") {
    const proc_result r = run_self("epoll_registration_fails", {"GORO_FAULTS=epoll_ctl=0/2"});
    CHECK_MESSAGE(r.exit_status == 0, describe(r));
    CHECK(emitted(r.out, "first_listen_errno") == ENOMEM);
    CHECK(emitted(r.out, "first_listen_message_ok") == 1);
    CHECK(emitted(r.out, "second_listen_errno") == ENOMEM);
    CHECK(emitted(r.out, "leaked") == 0);
    CHECK(emitted(r.out, "payload_ok") == 1);

    const proc_result d = run_self("epoll_registration_fails_for_dial", {"GORO_FAULTS=epoll_ctl=1/1"});
    CHECK_MESSAGE(d.exit_status == 0, describe(d));
    CHECK(emitted(d.out, "dial_errno") == ENOMEM);
    CHECK(emitted(d.out, "leaked") == 0);
    CHECK(emitted(d.out, "payload_ok") == 1);
}

TEST_CASE("signal_ignore, signal_ignored and signal_reset, as Go's signal.Ignore, Ignored and Reset") {
    const proc_result r = run_self("signal_ignore_and_reset");
    CHECK_MESSAGE(r.exit_status == 0, describe(r));
    CHECK(emitted(r.out, "ignored") == 1);
    CHECK(emitted(r.out, "ignored_after_notify") == 0);
    CHECK(emitted(r.out, "got") == SIGUSR1);
    CHECK(emitted(r.out, "nothing_more") == 1);
    CHECK(emitted(r.out, "usr1_default") == 1);
    CHECK(emitted(r.out, "quit_caught") == 1);
    CHECK(emitted(r.out, "quit_dump_back") == 1);
    CHECK(emitted(r.out, "all_default") == 1);
    CHECK(emitted(r.out, "kill_refused") == 1);
}

TEST_CASE("signal_name prints signals as Go's os.Signal does") {
    CHECK(goro::signal_name(SIGINT) == "interrupt");
    CHECK(goro::signal_name(SIGTERM) == "terminated");
    CHECK(goro::signal_name(SIGHUP) == "hangup");
    CHECK(goro::signal_name(SIGUSR1) == "user defined signal 1");
    CHECK(goro::signal_name(SIGKILL) == "killed");
    CHECK(goro::signal_name(SIGQUIT) == "quit");
    CHECK(goro::signal_name(SIGRTMIN + 1) == "signal " + std::to_string(SIGRTMIN + 1));
    CHECK(goro::signal_name(0) == "signal 0");
}

TEST_CASE("accept failing in the kernel: back off for EMFILE/ENFILE/ENOBUFS/ENOMEM, skip ECONNABORTED, report the rest") {
    for (const char* err : {"EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"}) {
        const proc_result r = run_self("accept_faults", {std::string("GORO_FAULTS=accept=0/3/") + err});
        CHECK_MESSAGE(r.exit_status == 0, describe(r));
        CHECK_MESSAGE(emitted(r.out, "accept_errno") == 0, err);
        CHECK_MESSAGE(emitted(r.out, "backoffs") == 3, err);
        CHECK_MESSAGE(emitted(r.out, "payload_ok") == 1, err);
    }
    const proc_result aborted = run_self("accept_faults", {"GORO_FAULTS=accept=0/2/ECONNABORTED"});
    CHECK_MESSAGE(aborted.exit_status == 0, describe(aborted));
    CHECK(emitted(aborted.out, "accept_errno") == 0);
    CHECK(emitted(aborted.out, "backoffs") == 0);
    CHECK(emitted(aborted.out, "payload_ok") == 1);
    const proc_result other = run_self("accept_faults", {"GORO_FAULTS=accept=0/1/EPERM"});
    CHECK_MESSAGE(other.exit_status == 0, describe(other));
    CHECK(emitted(other.out, "accept_errno") == EPERM);
    CHECK(emitted(other.out, "backoffs") == 0);
    CHECK(emitted(other.out, "payload_ok") == 1);
}

TEST_CASE("signal_notify delivers signals to channels instead of killing the process") {
    const proc_result r = run_self("signals_arrive_on_channels");
    CHECK_MESSAGE(r.exit_status == 0, describe(r));
    CHECK(emitted(r.out, "first") == SIGUSR1);
    CHECK(emitted(r.out, "second") == SIGTERM);
}

TEST_CASE("signal_notify_context is cancelled by a signal, by its parent or by stop()") {
    const proc_result r = run_self("signal_notify_context_cancels");
    CHECK_MESSAGE(r.exit_status == 0, describe(r));
    const std::size_t runs = std::size(procs_values);
    for (const char* key : {"fresh_not_done", "signal_cancels", "err_after_stop", "thread_signal_cancels",
                            "parent_cancels", "fiber_ends", "stop_cancels", "born_done", "uncatchable_throws"}) {
        const std::vector<std::uint64_t> values = emitted_all(r.out, key);
        CHECK_MESSAGE(values == std::vector<std::uint64_t>(runs, 1), key);
    }
}

TEST_CASE("a fiber abandoned in an I/O wait is forgotten when its run returns") {
    const proc_result r = run_self("io_waiter_abandoned_at_run_end");
    CHECK_MESSAGE(r.exit_status == 0, describe(r));
    CHECK(emitted(r.out, "closed") == 1);
}
