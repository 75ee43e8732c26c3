// tests/install/every_layer.cpp — a program that scripts/install-check.sh
// builds against the installed library twice: with the compiler that built
// the library and with the other one (g++ and clang++). It calls into every
// layer through the installed headers, so a type that differs between the
// two (as goro::source_location once did: std::source_location under GCC,
// goro's own class under Clang 14 with libstdc++ 12) fails to link, and a
// layout that differs fails here at run time. Prints what failed and exits
// 1, or exits 0.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <tuple>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "every_layer: %s\n", what);
    ++failures;
}

void runtime_and_sync() {
    goro::wait_group wg;
    goro::mutex lock;
    std::atomic<int> ran{0};
    for (int i = 0; i < 4; ++i) {
        wg.add(1);
        goro::go([&](int n) {
            std::lock_guard<goro::mutex> hold(lock);
            ran += n;
            wg.done();
        }, i + 1);
    }
    wg.add(1);
    goro::go(goro::spawn_options{.name = "named"}, [&] { wg.done(); });
    wg.wait();
    expect(ran == 10, "fibers and a wait_group");
    std::ostringstream dump;
    goro::dump_fibers(dump);
    expect(dump.str().find("every_layer.cpp") != std::string::npos, "a spawn site in the fiber dump");
}

void channels_and_select() {
    auto c = goro::make_chan<std::string>();
    goro::send_chan<std::string> out = c;
    goro::recv_chan<std::string> in = c;
    goro::go([out] {
        out.send("over a channel");
        out.close();
    });
    std::string got;
    bool ok = false;
    const int chosen = goro::select(goro::recv(in, got, ok), goro::recv(goro::after(60s)));
    expect(chosen == 0 && ok && got == "over a channel", "a select receiving from a fiber");
    expect(!in.recv(), "a closed channel");
    auto b = goro::make_chan<int>(1);
    expect(goro::select(goro::send(b, 1), goro::default_case()) == 0 && b.recv() == 1, "a buffered send case");
}

void time_and_context() {
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 1ms);
    goro::select(goro::recv(ctx.done()));
    expect(ctx.err() == goro::context_errc::deadline_exceeded, "a context's deadline");
    cancel();
    goro::sleep_for(1ms);
}

void net_over_loopback() {
    auto ln = goro::net::listen("tcp", "127.0.0.1:0");
    const goro::net::address where = ln.local_address();
    goro::go([&ln] {
        goro::net::conn c = ln.accept();
        char buffer[16];
        const std::size_t n = c.read(buffer, sizeof buffer);
        c.write(buffer, n);
    });
    goro::net::conn c = goro::net::dial("tcp", where.to_string());
    c.write("ping");
    char back[4];
    c.read_full(back, sizeof back);
    expect(std::string(back, 4) == "ping", "a TCP echo");
    c.close();
    ln.close();
    expect(c.remote_address() == where, "a closed conn's remote address");
}

// io::pipe and net::pipe: conn's layout (a socket or an in-memory stream)
// and the io templates, instantiated here and in the library alike.
void pipes() {
    auto [r, w] = goro::io::pipe();
    goro::go([w = std::move(w)]() mutable {
        goro::io::write_string(w, "through");
        w.close();
    });
    expect(goro::io::read_all(r) == "through", "an io::pipe");
    auto [a, b] = goro::net::pipe();
    goro::go([a = std::move(a)]() mutable {
        a.write("pipe");
        a.close();
    });
    goro::io::pipe_reader r2;
    goro::io::pipe_writer w2;
    std::tie(r2, w2) = goro::io::pipe();
    goro::net::conn& peer = b;  // Clang 14 cannot capture a structured binding
    goro::go([&peer, &w2] {
        goro::io::copy(w2, peer);
        w2.close();
    });
    expect(goro::io::read_all(r2) == "pipe", "io::copy from a net::pipe");
    expect(b.remote_address().to_string() == "pipe", "a net::pipe's address");
}

}  // namespace

int main() {
    return goro::run([] {
        runtime_and_sync();
        channels_and_select();
        time_and_context();
        net_over_loopback();
        pipes();
        return failures == 0 ? 0 : 1;
    });
}
