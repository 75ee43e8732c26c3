// tests/channels/io_pipe_test.cpp — goro::io::pipe and io's helpers (copy,
// copy_n, read_all, write_string): the cases of Go's io/pipe_test.go and
// io_test.go in spirit, over worker counts, fibers and plain threads.
#include <goro/goro.hpp>
#include <goro/io.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "support/procs.hpp"

using goro_test::eventually;
using goro_test::fiber_group;
using goro_test::for_each_procs;
using goro_test::plain_thread;

namespace {

// A writer into a string, optionally taking at most `limit` bytes per call
// without an error (a short writer, which copy must catch).
struct string_writer {
    std::string out;
    std::size_t limit = SIZE_MAX;
    std::size_t write(const void* data, std::size_t size, std::error_code& ec) noexcept {
        ec.clear();
        const std::size_t n = size < limit ? size : limit;
        out.append(static_cast<const char*>(data), n);
        return n;
    }
    std::size_t write(const void* data, std::size_t size) {
        std::error_code ec;
        return write(data, size, ec);
    }
};

// A reader over a string that hands out `chunk` bytes at a time.
struct string_reader {
    std::string in;
    std::size_t chunk = SIZE_MAX;
    std::size_t at = 0;
    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept {
        ec.clear();
        std::size_t n = in.size() - at;
        if (n > size) n = size;
        if (n > chunk) n = chunk;
        std::memcpy(data, in.data() + at, n);
        at += n;
        return n;
    }
    std::size_t read(void* data, std::size_t size) {
        std::error_code ec;
        return read(data, size, ec);
    }
};

static_assert(goro::io::reader<goro::io::pipe_reader>);
static_assert(goro::io::writer<goro::io::pipe_writer>);
static_assert(goro::io::closer<goro::io::pipe_reader> && goro::io::closer<goro::io::pipe_writer>);
static_assert(!goro::io::reader<goro::io::pipe_writer>);
static_assert(goro::io::reader<string_reader> && goro::io::writer<string_writer>);

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return s;
}

// The two ends in named members: lambdas capture these (Clang 14 cannot
// capture structured bindings).
struct ends {
    goro::io::pipe_reader r;
    goro::io::pipe_writer w;
};
ends make_pipe() {
    auto [r, w] = goro::io::pipe();
    return {std::move(r), std::move(w)};
}

const std::error_code custom_error = std::make_error_code(std::errc::connection_aborted);

}  // namespace

TEST_SUITE("io pipe") {

TEST_CASE("pipe: one write, one read (TestPipe1)") {
    for_each_procs([](int) {
        auto [r, w] = goro::io::pipe();
        goro::io::pipe_writer writer = std::move(w);
        fiber_group g;
        g.go([&writer] { writer.write(std::string_view("hello, world")); });
        char buf[64];
        std::error_code ec;
        const std::size_t n = r.read(buf, sizeof buf, ec);
        CHECK(!ec);
        CHECK(std::string(buf, n) == "hello, world");
        g.wait();
    });
}

TEST_CASE("pipe: a large write split over small reads (TestPipe2, TestPipe3)") {
    for_each_procs([](int) {
        ends p = make_pipe();
        const std::string data = pattern(static_cast<std::size_t>(goro_test::stress(200'000, 2'000'000)));
        std::size_t written = 0;
        std::error_code write_ec;
        fiber_group g;
        g.go([&] {
            written = p.w.write(data.data(), data.size(), write_ec);
            p.w.close();
        });
        std::string got;
        bool read_failed = false;
        char buf[7];  // small and odd, so reads end mid-write
        for (;;) {
            std::error_code ec;
            const std::size_t n = p.r.read(buf, sizeof buf, ec);
            if (ec) read_failed = true;
            if (n == 0 || ec) break;
            CHECK(n <= sizeof buf);
            got.append(buf, n);
        }
        g.wait();
        CHECK(!read_failed);
        CHECK(!write_ec);
        CHECK(written == data.size());
        CHECK(got == data);
    });
}

TEST_CASE("pipe: a write returns only once readers took all of it") {
    for_each_procs([](int) {
        ends p = make_pipe();
        std::atomic<bool> returned{false};
        std::size_t written = 0;
        fiber_group g;
        g.go([&] {
            written = p.w.write(std::string(100, 'x'));
            returned = true;
        });
        char buf[40];
        std::size_t got = 0;
        while (got < 60) got += p.r.read(buf, sizeof buf < 60 - got ? sizeof buf : 60 - got);
        CHECK(got == 60);
        CHECK(!returned.load());  // 40 bytes of it are still unread
        while (got < 100) got += p.r.read(buf, sizeof buf);
        g.wait();
        CHECK(returned.load());
        CHECK(written == 100);
    });
}

TEST_CASE("pipe: the writer's close gives EOF after the data, or its error (TestPipeReadClose)") {
    for_each_procs([](int) {
        for (const bool with_error : {false, true}) {
            ends p = make_pipe();
            fiber_group g;
            g.go([&] {
                p.w.write(std::string_view("abc"));
                if (with_error)
                    p.w.close_with_error(custom_error);
                else
                    p.w.close();
            });
            const std::string first = [&] {
                char buf[8];
                return std::string(buf, p.r.read(buf, sizeof buf));
            }();
            CHECK(first == "abc");
            char buf[8];
            std::error_code ec;
            const std::size_t n = p.r.read(buf, sizeof buf, ec);
            CHECK(n == 0);
            if (with_error)
                CHECK(ec == custom_error);
            else
                CHECK(!ec);  // EOF, as net::conn reports it
            // EOF (or the error) stays.
            std::error_code again;
            CHECK(p.r.read(buf, sizeof buf, again) == 0);
            CHECK(again == ec);
            g.wait();
        }
    });
}

TEST_CASE("pipe: close_with_error with no error is a plain close (EOF)") {
    for_each_procs([](int) {
        ends p = make_pipe();
        p.w.close_with_error({});
        char buf[4];
        std::error_code ec;
        CHECK(p.r.read(buf, sizeof buf, ec) == 0);
        CHECK(!ec);
        // The reader's close_with_error({}) gives writers closed_pipe.
        ends q = make_pipe();
        q.r.close_with_error({});
        std::error_code wec;
        CHECK(q.w.write(std::string_view("x"), wec) == 0);
        CHECK(wec == goro::io::errc::closed_pipe);
    });
}

TEST_CASE("pipe: closing the reader while a read is blocked (TestPipeReadClose2)") {
    for_each_procs([](int) {
        ends p = make_pipe();
        std::error_code ec;
        std::size_t n = 99;
        fiber_group g;
        g.go([&] {
            char buf[8];
            n = p.r.read(buf, sizeof buf, ec);
        });
        goro::yield();  // likely parked by now; either order must give the same
        p.r.close();
        g.wait();
        CHECK(n == 0);
        CHECK(ec == goro::io::errc::closed_pipe);
    });
}

TEST_CASE("pipe: closing the reader fails a blocked write (TestPipeWriteClose)") {
    for_each_procs([](int) {
        for (const bool with_error : {false, true}) {
            ends p = make_pipe();
            std::error_code ec;
            std::size_t n = 99;
            fiber_group g;
            g.go([&] { n = p.w.write(std::string(1000, 'y'), ec); });
            char buf[10];
            CHECK(p.r.read(buf, sizeof buf) == 10);  // part of it, then the close
            if (with_error)
                p.r.close_with_error(custom_error);
            else
                p.r.close();
            g.wait();
            CHECK(n == 10);  // what the reader took
            if (with_error)
                CHECK(ec == custom_error);
            else
                CHECK(ec == goro::io::errc::closed_pipe);
        }
    });
}

TEST_CASE("pipe: writes after the writer's own close fail; reads after the reader's own close fail") {
    for_each_procs([](int) {
        ends p = make_pipe();
        p.w.close();
        std::error_code ec;
        CHECK(p.w.write(std::string_view("late"), ec) == 0);
        CHECK(ec == goro::io::errc::closed_pipe);
        CHECK(ec == std::errc::broken_pipe);  // as a TCP write's EPIPE
        p.r.close();
        char buf[4];
        std::error_code rec;
        CHECK(p.r.read(buf, sizeof buf, rec) == 0);
        CHECK(rec == goro::io::errc::closed_pipe);  // the reader's own close wins over EOF
        // Closing again is harmless, as in Go.
        p.r.close();
        p.w.close();
        std::error_code cec;
        p.w.close(cec);
        CHECK(!cec);
    });
}

TEST_CASE("pipe: the first close's error sticks (TestPipeCloseError)") {
    for_each_procs([](int) {
        ends p = make_pipe();
        p.w.close_with_error(custom_error);
        p.w.close_with_error(std::make_error_code(std::errc::io_error));
        p.w.close();
        char buf[4];
        std::error_code ec;
        p.r.read(buf, sizeof buf, ec);
        CHECK(ec == custom_error);

        ends q = make_pipe();
        q.r.close_with_error(custom_error);
        q.r.close();
        std::error_code wec;
        q.w.write(std::string_view("x"), wec);
        CHECK(wec == custom_error);
    });
}

TEST_CASE("pipe: empty reads and writes return at once (TestWriteEmpty, TestWriteNil)") {
    for_each_procs([](int) {
        ends p = make_pipe();
        std::error_code ec;
        CHECK(p.w.write(nullptr, 0, ec) == 0);
        CHECK(!ec);
        CHECK(p.r.read(nullptr, 0, ec) == 0);
        CHECK(!ec);
        // An empty write reaches no reader: the next read gets real bytes.
        fiber_group g;
        g.go([&] {
            p.w.write(std::string_view(""));
            p.w.write(std::string_view("z"));
        });
        char c = 0;
        CHECK(p.r.read(&c, 1, ec) == 1);
        CHECK(c == 'z');
        g.wait();
    });
}

TEST_CASE("pipe: destroying an end closes it") {
    for_each_procs([](int) {
        goro::io::pipe_reader r;
        {
            auto [rr, ww] = goro::io::pipe();
            r = std::move(rr);
        }  // the writer is gone: EOF
        char buf[4];
        std::error_code ec;
        CHECK(r.read(buf, sizeof buf, ec) == 0);
        CHECK(!ec);

        goro::io::pipe_writer w;
        {
            auto [rr, ww] = goro::io::pipe();
            w = std::move(ww);
        }
        std::error_code wec;
        CHECK(w.write(std::string_view("x"), wec) == 0);
        CHECK(wec == goro::io::errc::closed_pipe);
    });
}

TEST_CASE("pipe: an end that holds no pipe fails cleanly") {
    goro::io::pipe_reader r;
    goro::io::pipe_writer w;
    CHECK(!r);
    CHECK(!w);
    char buf[4];
    std::error_code ec;
    CHECK(r.read(buf, sizeof buf, ec) == 0);
    CHECK(ec == goro::io::errc::closed_pipe);
    CHECK(w.write(buf, sizeof buf, ec) == 0);
    CHECK(ec == goro::io::errc::closed_pipe);
    CHECK_THROWS_AS(r.read(buf, sizeof buf), std::system_error);
    r.close(ec);
    CHECK(ec == goro::io::errc::closed_pipe);
}

TEST_CASE("pipe: the throwing overloads throw system_error naming the pipe") {
    for_each_procs([](int) {
        ends p = make_pipe();
        p.r.close_with_error(custom_error);
        std::string what;
        std::error_code code;
        try {
            p.w.write(std::string_view("x"));
        } catch (const std::system_error& e) {
            what = e.what();
            code = e.code();
        }
        CHECK(code == custom_error);
        CHECK(what.rfind("write pipe", 0) == 0);
        CHECK(std::string(goro::io::make_error_code(goro::io::errc::closed_pipe).message()) ==
              "io: read/write on closed pipe");
    });
}

TEST_CASE("pipe: concurrent writes are not interleaved (one write's bytes stay together)") {
    for_each_procs([](int) {
        const int writers = 6;
        const std::size_t block = 5000;
        const int rounds = goro_test::stress(20, 200);
        ends p = make_pipe();
        fiber_group g;
        std::atomic<int> writers_left{writers};
        for (int i = 0; i < writers; ++i) {
            g.go([&, i] {
                const std::string mine(block, static_cast<char>('A' + i));
                for (int k = 0; k < rounds; ++k) p.w.write(mine);
                if (--writers_left == 0) p.w.close();
            });
        }
        // One reader: the stream is whole blocks, one after another.
        std::string got;
        char buf[333];
        for (std::size_t n; (n = p.r.read(buf, sizeof buf)) != 0;) got.append(buf, n);
        g.wait();
        CHECK(got.size() == block * writers * static_cast<std::size_t>(rounds));
        bool whole_blocks = true;
        for (std::size_t at = 0; at + block <= got.size(); at += block)
            if (got.find_first_not_of(got[at], at) < at + block) whole_blocks = false;
        CHECK(whole_blocks);
    });
}

TEST_CASE("pipe: concurrent readers each get bytes of a single write") {
    for_each_procs([](int) {
        const int writers = 4;
        const int readers = 4;
        const std::size_t block = 3000;
        const int rounds = goro_test::stress(20, 200);
        ends p = make_pipe();
        std::atomic<int> writers_left{writers};
        std::atomic<int> mixed{0};
        std::vector<std::atomic<std::size_t>> per_writer(writers);
        fiber_group g;
        for (int i = 0; i < writers; ++i) {
            g.go([&, i] {
                const std::string mine(block, static_cast<char>('A' + i));
                for (int k = 0; k < rounds; ++k) p.w.write(mine);
                if (--writers_left == 0) p.w.close();
            });
        }
        for (int j = 0; j < readers; ++j) {
            g.go([&] {
                char buf[257];
                for (std::size_t n; (n = p.r.read(buf, sizeof buf)) != 0;) {
                    for (std::size_t k = 1; k < n; ++k)
                        if (buf[k] != buf[0]) ++mixed;
                    per_writer[static_cast<std::size_t>(buf[0] - 'A')] += n;
                }
            });
        }
        g.wait();
        CHECK(mixed.load() == 0);
        for (auto& n : per_writer) CHECK(n.load() == block * static_cast<std::size_t>(rounds));
    });
}

TEST_CASE("pipe: plain threads and fibers on either end") {
    for_each_procs([](int) {
        const std::string data = pattern(100'000);
        {  // writer on a plain thread, reader on a fiber
            ends p = make_pipe();
            plain_thread t([&] {
                p.w.write(data);
                p.w.close();
            });
            const std::string got = goro::io::read_all(p.r);
            t.join();
            CHECK(got == data);
        }
        {  // reader on a plain thread, writer on a fiber
            ends p = make_pipe();
            std::string got;
            plain_thread t([&] { got = goro::io::read_all(p.r); });
            p.w.write(data);
            p.w.close();
            t.join();
            CHECK(got == data);
        }
    });
}

TEST_CASE("io::copy moves everything until EOF") {
    for_each_procs([](int) {
        ends p = make_pipe();
        const std::string data = pattern(100'000);
        fiber_group g;
        g.go([&] {
            p.w.write(data);
            p.w.write(std::string_view("tail"));
            p.w.close();
        });
        string_writer out;
        std::error_code ec;
        const std::int64_t n = goro::io::copy(out, p.r, ec);
        g.wait();
        CHECK(!ec);
        CHECK(n == static_cast<std::int64_t>(data.size() + 4));
        CHECK(out.out == data + "tail");
    });
}

TEST_CASE("io::copy returns the first error, with the bytes copied before it") {
    for_each_procs([](int) {
        ends p = make_pipe();
        fiber_group g;
        g.go([&] {
            p.w.write(std::string_view("partial"));
            p.w.close_with_error(custom_error);
        });
        string_writer out;
        std::error_code ec;
        const std::int64_t n = goro::io::copy(out, p.r, ec);
        g.wait();
        CHECK(ec == custom_error);
        CHECK(n == 7);
        CHECK(out.out == "partial");

        // A write error: the pipe's reader is closed.
        ends q = make_pipe();
        q.r.close();
        string_reader in{"data"};
        std::error_code wec;
        CHECK(goro::io::copy(q.w, in, wec) == 0);
        CHECK(wec == goro::io::errc::closed_pipe);
        string_reader in2{"data"};
        CHECK_THROWS_AS(goro::io::copy(q.w, in2), std::system_error);
    });
}

TEST_CASE("io::copy reports a short write") {
    string_reader in{"0123456789"};
    string_writer out;
    out.limit = 3;
    std::error_code ec;
    CHECK(goro::io::copy(out, in, ec) == 3);
    CHECK(ec == goro::io::errc::short_write);
}

TEST_CASE("io::copy_n: exactly n bytes, EOF when the source is shorter, a negative n refused") {
    string_reader in{"0123456789", 3};
    string_writer out;
    std::error_code ec;
    CHECK(goro::io::copy_n(out, in, 5, ec) == 5);
    CHECK(!ec);
    CHECK(out.out == "01234");
    CHECK(goro::io::copy_n(out, in, 0, ec) == 0);
    CHECK(!ec);
    CHECK(goro::io::copy_n(out, in, 100, ec) == 5);
    CHECK(ec == goro::io::errc::eof);
    CHECK(out.out == "0123456789");
    CHECK(goro::io::copy_n(out, in, -1, ec) == 0);
    CHECK(ec == std::errc::invalid_argument);
    CHECK_THROWS_AS(goro::io::copy_n(out, in, 1), std::system_error);
    string_reader big{std::string(100'000, 'q')};
    string_writer out2;
    CHECK(goro::io::copy_n(out2, big, 70'000) == 70'000);
    CHECK(out2.out.size() == 70'000);
}

TEST_CASE("io::read_all and io::write_string") {
    string_reader empty{""};
    CHECK(goro::io::read_all(empty).empty());
    string_reader in{pattern(5000), 97};
    CHECK(goro::io::read_all(in) == pattern(5000));
    for_each_procs([](int) {
        ends p = make_pipe();
        fiber_group g;
        g.go([&] {
            CHECK(goro::io::write_string(p.w, "first ") == 6);
            std::error_code ec;
            goro::io::write_string(p.w, "second", ec);
            CHECK(!ec);
            p.w.close_with_error(custom_error);
        });
        std::error_code ec;
        const std::string got = goro::io::read_all(p.r, ec);
        g.wait();
        CHECK(got == "first second");  // what came before the error
        CHECK(ec == custom_error);
    });
}

TEST_CASE("pipe: the example of docs/api.md") {
    for_each_procs([](int) {
        auto [r, w] = goro::io::pipe();
        goro::go([w = std::move(w)]() mutable {
            goro::io::write_string(w, "hello through a pipe");
            w.close();
        });
        const std::string text = goro::io::read_all(r);
        CHECK(text == "hello through a pipe");
    });
}

}  // TEST_SUITE
