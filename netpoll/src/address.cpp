// netpoll/src/address.cpp — socket addresses, "host:port" parsing (Go's
// SplitHostPort) and name resolution without stalling a worker.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <string>

#include <goro/blocking.hpp>
#include <goro/net.hpp>

#include "netpoll/detail/net_internal.hpp"

namespace goro::net {

// ------------------------------------------------------------------ errors

namespace {

class net_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "goro.net"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::closed: return "use of closed network connection";
        case errc::timeout: return "i/o timeout";
        case errc::invalid_address: return "invalid address";
        case errc::unknown_network: return "unknown network";
        case errc::host_not_found: return "no such host";
        case errc::canceled: return "operation was canceled";
        case errc::eof: return "EOF";
        case errc::unexpected_eof: return "unexpected EOF";
        }
        return "unknown goro.net error";
    }
    bool equivalent(int value, const std::error_condition& condition) const noexcept override {
        if (static_cast<errc>(value) == errc::timeout) return condition == std::errc::timed_out;
        if (static_cast<errc>(value) == errc::canceled) return condition == std::errc::operation_canceled;
        return default_error_condition(value) == condition;
    }
};

}  // namespace

const std::error_category& net_category() noexcept {
    static const net_error_category category;
    return category;
}

// ------------------------------------------------------------------ address

address::address() noexcept : storage_{}, size_(0) { storage_.ss_family = AF_UNSPEC; }

address::address(const sockaddr* sa, socklen_t len) noexcept : storage_{}, size_(0) {
    if (!sa || len == 0 || len > sizeof storage_) {
        storage_.ss_family = AF_UNSPEC;
        return;
    }
    std::memcpy(&storage_, sa, len);
    size_ = len;
}

// size_ 1 marks the pipe address: no real sockaddr is shorter than its
// family field.
address address::pipe() noexcept {
    address a;
    a.size_ = 1;
    return a;
}

int address::family() const noexcept { return size_ == 0 ? AF_UNSPEC : storage_.ss_family; }

int address::port() const noexcept {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

std::string address::ip() const {
    char text[INET6_ADDRSTRLEN] = "";
    switch (family()) {
    case AF_INET:
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text, sizeof text);
        return text;
    case AF_INET6:
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text, sizeof text);
        return text;
    case AF_UNIX: {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
        const std::size_t path_bytes = size_ > offsetof(sockaddr_un, sun_path) ? size_ - offsetof(sockaddr_un, sun_path) : 0;
        if (path_bytes == 0) return "";
        if (un->sun_path[0] == '\0') return "@" + std::string(un->sun_path + 1, path_bytes - 1);
        return std::string(un->sun_path, strnlen(un->sun_path, path_bytes));
    }
    default:
        return "";
    }
}

std::string address::to_string() const {
    switch (family()) {
    case AF_INET: return ip() + ":" + std::to_string(port());
    case AF_INET6: return "[" + ip() + "]:" + std::to_string(port());
    case AF_UNIX: return ip();
    default: return size_ == 1 ? "pipe" : "<nil>";
    }
}

bool operator==(const address& a, const address& b) noexcept {
    return a.size_ == b.size_ && std::memcmp(&a.storage_, &b.storage_, a.size_) == 0;
}

address address::unix_path(std::string_view path) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (path.size() >= sizeof un.sun_path)
        throw std::system_error(make_error_code(errc::invalid_address), "unix address too long: " + std::string(path));
    std::memcpy(un.sun_path, path.data(), path.size());
    if (!path.empty() && path[0] == '@') un.sun_path[0] = '\0';  // the abstract namespace
    return address(reinterpret_cast<const sockaddr*>(&un),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path.empty() || path[0] == '@' ? 0 : 1)));
}

namespace detail {

bool split_host_port(std::string_view host_port, std::string_view& host, std::string_view& port, std::error_code& ec) {
    ec = errc::invalid_address;
    const std::size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos) return false;  // missing port in address
    if (!host_port.empty() && host_port[0] == '[') {
        const std::size_t close = host_port.find(']');
        if (close == std::string_view::npos || close + 1 != colon) return false;
        host = host_port.substr(1, close - 1);
    } else {
        host = host_port.substr(0, colon);
        if (host.find(':') != std::string_view::npos) return false;  // too many colons
    }
    port = host_port.substr(colon + 1);
    if (port.empty()) return false;
    ec.clear();
    return true;
}

bool parse_port(std::string_view port, int& out) noexcept {
    if (port.empty() || port.size() > 5) return false;
    int value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    if (value > 65535) return false;
    out = value;
    return true;
}

bool parse_numeric(std::string_view host, int port, int family_wanted, address& out) noexcept {
    // inet_pton reads a C string: a NUL would end the host early, and
    // "1.2.3.4\0junk" would pass for 1.2.3.4.
    if (host.find('\0') != std::string_view::npos) return false;
    std::string text(host);
    if (family_wanted != AF_INET6) {
        sockaddr_in in{};
        if (inet_pton(AF_INET, text.c_str(), &in.sin_addr) == 1) {
            in.sin_family = AF_INET;
            in.sin_port = htons(static_cast<std::uint16_t>(port));
            out = address(reinterpret_cast<const sockaddr*>(&in), sizeof in);
            return true;
        }
    }
    if (family_wanted != AF_INET) {
        sockaddr_in6 in6{};
        if (inet_pton(AF_INET6, text.c_str(), &in6.sin6_addr) == 1) {
            in6.sin6_family = AF_INET6;
            in6.sin6_port = htons(static_cast<std::uint16_t>(port));
            out = address(reinterpret_cast<const sockaddr*>(&in6), sizeof in6);
            return true;
        }
    }
    return false;
}

int network_family(std::string_view network) noexcept {
    if (network == "tcp4" || network == "udp4") return AF_INET;
    if (network == "tcp6" || network == "udp6") return AF_INET6;
    return AF_UNSPEC;
}

bool is_stream_network(std::string_view n) noexcept { return n == "tcp" || n == "tcp4" || n == "tcp6"; }
bool is_packet_network(std::string_view n) noexcept { return n == "udp" || n == "udp4" || n == "udp6"; }

std::vector<address> resolve_for(std::string_view network, std::string_view host_port, bool for_listen,
                                 std::error_code& ec) {
    ec.clear();
    if (!is_stream_network(network) && !is_packet_network(network)) {
        ec = errc::unknown_network;
        return {};
    }
    std::string_view host, port_text;
    if (!split_host_port(host_port, host, port_text, ec)) return {};
    const int family = network_family(network);
    int port = 0;
    std::string service(port_text);
    if (!parse_port(port_text, port)) {
        // A service name ("http"): the services database is a local file.
        // It is looked up as a C string, so a NUL would cut it short.
        if (port_text.find('\0') != std::string_view::npos) {
            ec = errc::invalid_address;
            return {};
        }
        servent entry;
        servent* found = nullptr;
        char buffer[1024];
        std::string proto = is_packet_network(network) ? "udp" : "tcp";
        if (getservbyname_r(service.c_str(), proto.c_str(), &entry, buffer, sizeof buffer, &found) != 0 || !found) {
            ec = errc::invalid_address;
            return {};
        }
        port = ntohs(static_cast<std::uint16_t>(found->s_port));
    }
    std::vector<address> result;
    address numeric;
    if (host.empty()) {
        // Listen: every local address (dual-stack for "tcp"); dial: this host.
        if (for_listen)
            parse_numeric(family == AF_INET ? "0.0.0.0" : "::", port, family, numeric);
        else
            parse_numeric(family == AF_INET6 ? "::1" : "127.0.0.1", port, family, numeric);
        result.push_back(numeric);
        return result;
    }
    if (parse_numeric(host, port, family, numeric)) {
        result.push_back(numeric);
        return result;
    }
    // No name holds a NUL, and getaddrinfo would look up only what precedes it.
    if (host.find('\0') != std::string_view::npos) {
        ec = errc::host_not_found;
        return {};
    }
    // A name: getaddrinfo reads files and may ask DNS, so it runs on the
    // blocking pool and only this fiber waits.
    std::string name(host);
    int gai_error = 0;
    std::vector<address> found = goro::blocking([&] {
        std::vector<address> out;
        addrinfo hints{};
        hints.ai_family = family;
        hints.ai_socktype = is_packet_network(network) ? SOCK_DGRAM : SOCK_STREAM;
        hints.ai_flags = AI_ADDRCONFIG;
        addrinfo* list = nullptr;
        gai_error = getaddrinfo(name.c_str(), nullptr, &hints, &list);
        if (gai_error == EAI_BADFLAGS || gai_error == EAI_NONAME) {
            hints.ai_flags = 0;  // no configured address of a family: try without AI_ADDRCONFIG
            gai_error = getaddrinfo(name.c_str(), nullptr, &hints, &list);
        }
        if (gai_error != 0) return out;
        for (addrinfo* a = list; a; a = a->ai_next) {
            address addr(a->ai_addr, a->ai_addrlen);
            if (addr.family() != AF_INET && addr.family() != AF_INET6) continue;
            if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
        }
        freeaddrinfo(list);
        return out;
    });
    if (found.empty()) {
        ec = errc::host_not_found;
        return {};
    }
    for (address& a : found) {
        if (a.family() == AF_INET)
            reinterpret_cast<sockaddr_in*>(const_cast<sockaddr*>(a.data()))->sin_port = htons(static_cast<std::uint16_t>(port));
        else
            reinterpret_cast<sockaddr_in6*>(const_cast<sockaddr*>(a.data()))->sin6_port = htons(static_cast<std::uint16_t>(port));
    }
    std::stable_partition(found.begin(), found.end(), [](const address& a) { return a.family() == AF_INET; });
    return found;
}

}  // namespace detail

address address::parse(std::string_view host_port, std::error_code& ec) noexcept {
    std::string_view host, port_text;
    int port = 0;
    address out;
    if (!detail::split_host_port(host_port, host, port_text, ec)) return {};
    if (!detail::parse_port(port_text, port)) {
        ec = errc::invalid_address;
        return {};
    }
    if (host.empty()) host = "::";
    if (!detail::parse_numeric(host, port, AF_UNSPEC, out)) {
        ec = errc::invalid_address;
        return {};
    }
    return out;
}

address address::parse(std::string_view host_port) {
    std::error_code ec;
    address a = parse(host_port, ec);
    if (ec) throw std::system_error(ec, "address " + std::string(host_port));
    return a;
}

std::vector<address> resolve(std::string_view network, std::string_view host_port, std::error_code& ec) {
    return detail::resolve_for(network, host_port, false, ec);
}

std::vector<address> resolve(std::string_view network, std::string_view host_port) {
    std::error_code ec;
    auto result = resolve(network, host_port, ec);
    if (ec) throw std::system_error(ec, "lookup " + std::string(host_port));
    return result;
}

}  // namespace goro::net
