// server.hpp: what the Asio echo and http servers share: --listen, the
// bound address on stdout, an acceptor coroutine spawning a coroutine per
// connection, and exit status 0 on SIGTERM or SIGINT (as the Go servers).
#pragma once

#include "asio_bench.hpp"

#include <csignal>
#include <string>
#include <string_view>

namespace asio_bench {

// serve(socket) is the connection's coroutine.
template <class Serve>
int serve_until_signal(const char* name, int argc, char** argv, Serve serve) {
    std::string listen = "127.0.0.1:0";
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--listen" && i + 1 < argc) {
            listen = argv[++i];
        } else if (arg.starts_with("--listen=")) {
            listen = arg.substr(9);
        } else {
            std::fprintf(stderr, "usage: %s [--listen HOST:PORT]   (default 127.0.0.1:0)\n", name);
            return 2;
        }
    }
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        std::fprintf(stderr, "%s: --listen %s: want HOST:PORT\n", name, listen.c_str());
        return 2;
    }
    const int n = workers();
    asio::io_context ctx(n);
    asio::ip::tcp::acceptor acceptor(ctx);
    try {
        std::string host = listen.substr(0, colon);
        if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
        const asio::ip::tcp::endpoint at(asio::ip::make_address(host.empty() ? "0.0.0.0" : host),
                                         static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
        acceptor.open(at.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(at);
        acceptor.listen(asio::socket_base::max_listen_connections);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: listen %s: %s\n", name, listen.c_str(), e.what());
        return 1;
    }
    const auto bound = acceptor.local_endpoint();
    std::printf("%s:%u\n", bound.address().to_string().c_str(), bound.port());
    std::fflush(stdout);

    asio::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([](const asio::error_code&, int) {
        std::fflush(nullptr);
        std::_Exit(0);
    });
    asio::co_spawn(ctx, [&]() -> awaitable<void> {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(nothrow_awaitable);
            if (ec) {  // out of descriptors and the like: back off and retry, as Go's servers do
                asio::steady_timer pause(ctx, std::chrono::milliseconds(5));
                co_await pause.async_wait(nothrow_awaitable);
                continue;
            }
            asio::error_code ignored;
            socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // Go's default
            asio::co_spawn(ctx, serve(std::move(socket)), asio::detached);
        }
    }, asio::detached);
    std::vector<std::thread> helpers;
    for (int i = 1; i < n; ++i) helpers.emplace_back([&] { ctx.run(); });
    ctx.run();
    for (auto& t : helpers) t.join();
    return 0;
}

}  // namespace asio_bench
