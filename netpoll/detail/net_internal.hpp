// netpoll/detail/net_internal.hpp — helpers shared by the net sources.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include <goro/net.hpp>
#include <goro/runtime.hpp>

namespace goro::net::detail {

// Go's SplitHostPort: "host:port", "[v6]:port".
bool split_host_port(std::string_view host_port, std::string_view& host, std::string_view& port, std::error_code& ec);
bool parse_port(std::string_view port, int& out) noexcept;
bool parse_numeric(std::string_view host, int port, int family_wanted, address& out) noexcept;
int network_family(std::string_view network) noexcept;  // AF_INET for "tcp4"/"udp4", ...
bool is_stream_network(std::string_view network) noexcept;  // "tcp", "tcp4", "tcp6"
bool is_packet_network(std::string_view network) noexcept;  // "udp", "udp4", "udp6"
// Addresses for host_port; an empty host means every local address when
// for_listen, else this host's loopback.
std::vector<address> resolve_for(std::string_view network, std::string_view host_port, bool for_listen,
                                 std::error_code& ec);

// A deadline as the runtime's timers and the poller take it: steady-clock
// nanoseconds, 0 for none (Go's zero Time).
inline std::int64_t deadline_ns(time_point t) noexcept {
    if (t == time_point{}) return 0;
    const std::int64_t ns = goro::detail::saturating_ns(t.time_since_epoch());
    return ns <= 0 ? 1 : ns;  // any time before the clock's start is in the past
}

}  // namespace goro::net::detail
