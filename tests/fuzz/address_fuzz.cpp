// address_fuzz: goro::net::address::parse(host_port, ec) on arbitrary bytes.
// Checks that it never crashes, that an address it accepts prints as
// something it accepts again, as the same address, printed the same way
// (to_string() is canonical), and that it accepts only what can be a
// numeric "host:port": digits, hex letters, '.', ':' and brackets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>

#include <sys/socket.h>

#include <goro/net.hpp>

namespace {

void fail(const char* what, std::string_view input, const std::string& printed) {
    std::fprintf(stderr, "address_fuzz: %s\n  input:   \"%.*s\" (%zu bytes)\n  printed: \"%s\"\n", what,
                 static_cast<int>(input.size()), input.data(), input.size(), printed.c_str());
    std::abort();
}

bool numeric_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':' ||
           c == '[' || c == ']';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::error_code ec;
    const goro::net::address a = goro::net::address::parse(input, ec);
    if (ec) {
        // A failed parse returns the empty address, never half of one.
        if (a.family() != AF_UNSPEC) fail("failed parse returned an address", input, a.to_string());
        return 0;
    }
    const std::string printed = a.to_string();
    if (a.family() != AF_INET && a.family() != AF_INET6) fail("parsed to neither IPv4 nor IPv6", input, printed);
    for (char c : input)
        if (!numeric_char(c)) fail("accepted a character no numeric address has", input, printed);

    std::error_code ec2;
    const goro::net::address b = goro::net::address::parse(printed, ec2);
    if (ec2) fail("to_string() does not parse back", input, printed);
    if (!(a == b)) fail("to_string() parses back to another address", input, printed);
    if (b.to_string() != printed) fail("to_string() is not canonical", input, printed);
    if (b.port() != a.port() || b.ip() != a.ip()) fail("port() or ip() differ after a round trip", input, printed);
    return 0;
}
