// tests/netpoll/net_support.hpp — small helpers the socket tests share.
#pragma once

#include <sys/resource.h>

#include <string>
#include <utility>

#include <goro/goro.hpp>

namespace goro_test {

// A connected pair over loopback TCP: (dialled end, accepted end).
inline std::pair<goro::net::conn, goro::net::conn> tcp_pair(const char* host = "127.0.0.1:0") {
    auto ln = goro::net::listen("tcp", host);
    auto client = goro::net::dial("tcp", ln.local_address().to_string());
    auto server = ln.accept();
    return {std::move(client), std::move(server)};
}

// Raises the soft descriptor limit towards want (never past the hard limit);
// returns the soft limit now in force.
inline rlim_t raise_fd_limit(rlim_t want) {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < want) {
        lim.rlim_cur = want < lim.rlim_max ? want : lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
        getrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur;
}

inline std::string unique_socket_path(const char* tag) {
    return "/tmp/goro-test-" + std::string(tag) + "-" + std::to_string(::getpid()) + ".sock";
}

}  // namespace goro_test
