// http_raw: an HTTP/1.1 keep-alive "Hello, World!" server on Asio's TCP
// sockets, a coroutine per connection, answering as bench/go/http_raw does
// (Go counterpart; goro's is examples/http_raw): it parses the request
// line (for the version) and the Connection, Content-Length and
// Transfer-Encoding headers, skips bodies, and answers pipelined requests in
// one write, flushing when no further request bytes are buffered or a
// buffer's worth is waiting. A malformed request gets 400 and a close.
// Loaded by bench/net.sh.
//
// Usage: asio_http_raw [--listen HOST:PORT]   (default 127.0.0.1:0)
//
// Prints the bound address as the first line of stdout; exits 0 on SIGTERM
// or SIGINT. BENCH_WORKERS sets the threads running the io_context.
#include "server.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

using namespace asio_bench;
using asio::ip::tcp;

namespace {

constexpr std::string_view keep_alive_answer =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
constexpr std::string_view close_answer =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!";
constexpr std::string_view bad_request = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::size_t buffer_size = 4096;  // a longer request or header line ends the connection, as in Go's

// The connection's read side: bytes [start, end) of a 4 KiB buffer.
struct reader {
    char buf[buffer_size];
    std::size_t start = 0, end = 0;

    std::size_t buffered() const { return end - start; }

    // Reads more; false at EOF, on an error or when one line fills the buffer.
    awaitable<bool> fill(tcp::socket& c) {
        if (start > 0) {
            std::memmove(buf, buf + start, end - start);
            end -= start;
            start = 0;
        }
        if (end == buffer_size) co_return false;
        auto [ec, n] = co_await c.async_read_some(asio::buffer(buf + end, buffer_size - end), nothrow_awaitable);
        if (ec) co_return false;
        end += n;
        co_return true;
    }

    // The next line without its "\n" or "\r\n"; nullopt when the peer has gone.
    awaitable<std::optional<std::string_view>> line(tcp::socket& c) {
        for (;;) {
            if (const void* nl = std::memchr(buf + start, '\n', end - start)) {
                std::size_t lo = start, hi = static_cast<const char*>(nl) - buf;
                start = hi + 1;
                if (hi > lo && buf[hi - 1] == '\r') --hi;
                co_return std::string_view(buf + lo, hi - lo);
            }
            if (!co_await fill(c)) co_return std::nullopt;
        }
    }

    awaitable<bool> discard(tcp::socket& c, std::size_t n) {
        for (;;) {
            const std::size_t take = std::min(n, buffered());
            start += take;
            n -= take;
            if (n == 0) co_return true;
            if (!co_await fill(c)) co_return false;
        }
    }
};

bool equal_fold(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
    return v;
}

// If line is the header field `want` (lower case), its trimmed value.
std::optional<std::string_view> header_is(std::string_view line, std::string_view want) {
    const auto colon = line.find(':');
    if (colon != want.size() || !equal_fold(line.substr(0, colon), want)) return std::nullopt;
    return trim(line.substr(colon + 1));
}

awaitable<void> serve(tcp::socket c) {
    auto r = std::make_unique<reader>();
    std::string out;
    out.reserve(buffer_size);
    auto fail = [&]() -> awaitable<void> {
        out += bad_request;
        co_await asio::async_write(c, asio::buffer(out), nothrow_awaitable);
    };
    for (;;) {
        auto request_line = co_await r->line(c);
        if (!request_line) co_return;
        if (request_line->empty()) continue;  // a stray CRLF between requests is allowed
        std::string_view fields[4];
        int count = 0;
        for (std::string_view rest = *request_line; count < 4;) {
            rest = trim(rest);
            if (rest.empty()) break;
            const auto space = std::min(rest.find(' '), rest.find('\t'));
            fields[count++] = rest.substr(0, space);
            rest = space == std::string_view::npos ? std::string_view() : rest.substr(space);
        }
        if (count != 3 || !fields[2].starts_with("HTTP/1.")) {
            co_await fail();
            co_return;
        }
        bool keep_alive = fields[2] != "HTTP/1.0";

        std::size_t body = 0;
        for (;;) {
            auto h = co_await r->line(c);
            if (!h) co_return;
            if (h->empty()) break;
            if (auto v = header_is(*h, "connection")) {
                if (equal_fold(*v, "close"))
                    keep_alive = false;
                else if (equal_fold(*v, "keep-alive"))
                    keep_alive = true;
            } else if (auto len = header_is(*h, "content-length")) {
                if (len->empty() || !std::all_of(len->begin(), len->end(), [](char ch) { return ch >= '0' && ch <= '9'; }) ||
                    len->size() > 12) {
                    co_await fail();
                    co_return;
                }
                body = std::stoull(std::string(*len));
            } else if (header_is(*h, "transfer-encoding")) {
                co_await fail();  // chunked bodies are beyond this server
                co_return;
            }
        }
        if (body > 0 && !co_await r->discard(c, body)) co_return;

        if (!keep_alive) {
            out += close_answer;
            co_await asio::async_write(c, asio::buffer(out), nothrow_awaitable);
            co_return;
        }
        out += keep_alive_answer;
        // More requests already read: answer them in the same write.
        if (r->buffered() == 0 || out.size() >= buffer_size) {
            auto [ec, n] = co_await asio::async_write(c, asio::buffer(out), nothrow_awaitable);
            if (ec) co_return;
            out.clear();
        }
    }
}

}  // namespace

int main(int argc, char** argv) { return serve_until_signal("asio_http_raw", argc, argv, serve); }
