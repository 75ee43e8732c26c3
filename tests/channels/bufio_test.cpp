// tests/channels/bufio_test.cpp — goro::io::buffered_reader and
// goro::io::scanner, after Go's bufio_test.go and scan_test.go: reads that
// arrive in pieces of every size, lines with and without "\r\n" and a last
// line without a newline, words, bytes, tokens too long for the buffer,
// errors from the source, and a scanner over an io::pipe fed by another
// fiber.
#include <goro/bufio.hpp>
#include <goro/goro.hpp>
#include <goro/io.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "support/procs.hpp"

using goro_test::for_each_procs;

namespace {

// A reader over a string that returns at most `chunk` bytes per read, then
// an error if one is set, else the end of the stream.
struct piecewise_reader {
    std::string data;
    std::size_t chunk = 1;
    std::error_code fail_with{};
    std::size_t at = 0;

    std::size_t read(void* out, std::size_t size, std::error_code& ec) {
        ec.clear();
        if (at == data.size()) {
            ec = fail_with;
            return 0;
        }
        const std::size_t n = std::min({size, chunk, data.size() - at});
        std::memcpy(out, data.data() + at, n);
        at += n;
        return n;
    }
    std::size_t read(void* out, std::size_t size) {
        std::error_code ec;
        const std::size_t n = read(out, size, ec);
        if (ec) throw std::system_error(ec);
        return n;
    }
};

std::vector<std::string> scan_all(goro::io::scanner<piecewise_reader>& s) {
    std::vector<std::string> out;
    while (s.scan()) out.emplace_back(s.text());
    return out;
}

}  // namespace

TEST_CASE("scanner: lines, with \\n, \\r\\n and no newline at the end, whatever the read sizes") {
    const std::string text = "first\nsecond\r\n\nfourth line\r\nlast";
    const std::vector<std::string> want = {"first", "second", "", "fourth line", "last"};
    for (std::size_t chunk : {1, 2, 3, 7, 64, 4096}) {
        piecewise_reader r{text, chunk};
        goro::io::scanner s(r);
        CHECK(scan_all(s) == want);
        CHECK(!s.error());
        CHECK(!s.scan());  // stays at the end
    }
}

TEST_CASE("scanner: empty input has no lines; a lone newline is one empty line") {
    piecewise_reader empty{"", 1};
    goro::io::scanner a(empty);
    CHECK(scan_all(a).empty());
    piecewise_reader newline{"\n", 1};
    goro::io::scanner b(newline);
    CHECK(scan_all(b) == std::vector<std::string>{""});
}

TEST_CASE("scanner: words and bytes") {
    piecewise_reader r{"  the quick\tbrown\n\nfox  ", 3};
    goro::io::scanner words(r);
    words.split(goro::io::scan_words);
    CHECK(scan_all(words) == std::vector<std::string>{"the", "quick", "brown", "fox"});

    piecewise_reader b{"abc", 2};
    goro::io::scanner bytes(b);
    bytes.split(goro::io::scan_bytes);
    CHECK(scan_all(bytes) == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("scanner: a token over the maximum stops with 'bufio.Scanner: token too long'") {
    piecewise_reader r{"short\n" + std::string(100, 'x') + "\nafter\n", 5};
    goro::io::scanner s(r);
    s.buffer(8, 32);
    CHECK(s.scan());
    CHECK(s.text() == "short");
    CHECK(!s.scan());
    CHECK(s.error() == goro::io::bufio_errc::token_too_long);
    CHECK(s.error().message() == "bufio.Scanner: token too long");
    // The default maximum is Go's 64 KiB; a line just under it is fine.
    piecewise_reader big{std::string(64 * 1024 - 1, 'y') + "\n", 1000};
    goro::io::scanner t(big);
    CHECK(t.scan());
    CHECK(t.text().size() == 64 * 1024 - 1);
}

TEST_CASE("scanner: the source's error ends the scan after the tokens read before it") {
    piecewise_reader r{"one\ntwo", 4, std::make_error_code(std::errc::connection_reset)};
    goro::io::scanner s(r);
    CHECK(scan_all(s) == std::vector<std::string>{"one", "two"});
    CHECK(s.error() == std::errc::connection_reset);
}

TEST_CASE("scanner: a split that never advances is stopped") {
    piecewise_reader r{"data", 4};
    goro::io::scanner s(r);
    s.split([](std::string_view, bool) { return goro::io::split_result{0, std::string_view{}}; });
    int tokens = 0;
    while (s.scan()) ++tokens;
    CHECK(tokens == 100);
    CHECK(s.error() == goro::io::bufio_errc::no_progress);
}

TEST_CASE("buffered_reader: read_string, read_byte, peek, discard and read across chunk boundaries") {
    for (std::size_t chunk : {1, 3, 16, 1000}) {
        piecewise_reader r{"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody!", chunk};
        goro::io::buffered_reader in(r, 16);
        std::error_code ec;
        CHECK(in.read_string('\n', ec) == "GET / HTTP/1.1\r\n");
        CHECK(!ec);
        CHECK(in.peek(4, ec) == "Host");
        CHECK(!ec);
        CHECK(in.read_string('\n') == "Host: x\r\n");
        CHECK(in.read_byte(ec) == '\r');
        CHECK(in.discard(1, ec) == 1);
        char buf[8];
        std::size_t got = 0;
        while (std::size_t n = in.read(buf + got, sizeof buf - got, ec)) got += n;
        CHECK(!ec);
        CHECK(std::string(buf, got) == "body!");
        CHECK(in.read_string('\n', ec).empty());
        CHECK(ec == goro::io::errc::eof);
        CHECK(!in.read_byte(ec));
        CHECK(!ec);
    }
}

TEST_CASE("buffered_reader: peek beyond the buffer is 'bufio: buffer full'; at the end, EOF with what there is") {
    piecewise_reader r{"0123456789abcdefXYZ", 5};
    goro::io::buffered_reader in(r, 16);
    std::error_code ec;
    CHECK(in.peek(20, ec) == "0123456789abcdef");
    CHECK(ec == goro::io::bufio_errc::buffer_full);
    CHECK(in.discard(16, ec) == 16);
    CHECK(in.peek(5, ec) == "XYZ");
    CHECK(ec == goro::io::errc::eof);
    CHECK(in.read_string('Z') == "XYZ");
    CHECK(in.read_string('\n') == "");  // the end: no delimiter, no throw
}

TEST_CASE("scanner over an io::pipe: lines written by another fiber in odd pieces") {
    for_each_procs([](int) {
        auto ends = goro::io::pipe();
        auto& r = ends.first;
        auto& w = ends.second;
        goro::go([&w] {
            const std::string text = "alpha\nbe";
            w.write(text.data(), text.size());
            w.write("ta\r\ngamma\n", 10);
            w.write("delta", 5);
            w.close();
        });
        goro::io::scanner lines(r);
        std::vector<std::string> got;
        while (lines.scan()) got.emplace_back(lines.text());
        CHECK(got == std::vector<std::string>{"alpha", "beta", "gamma", "delta"});
        CHECK(!lines.error());
    });
}
