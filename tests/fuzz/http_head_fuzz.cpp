// http_head_fuzz: http_raw's request-head parser (examples/http_head.hpp)
// on arbitrary bytes. Checks that it never crashes and that its answers
// hold together the way http_raw relies on:
//  - a complete head ends with its empty line, within max_head_bytes, and
//    its fields agree with its request line (is_head: the method is HEAD;
//    http10: the version is 1.0; content_length fits in 18 digits);
//  - the server parses whatever it has read so far, so any prefix of the
//    input must answer incomplete or exactly what the whole input answers;
//  - pipelined bytes after a complete head do not change it: the head alone
//    parses the same;
//  - incomplete is only ever said of at most max_head_bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "http_head.hpp"

namespace {

using example::parse_head;
using example::parse_status;
using example::request;

const char* name(parse_status s) {
    switch (s) {
    case parse_status::complete: return "complete";
    case parse_status::incomplete: return "incomplete";
    case parse_status::bad_request: return "bad_request";
    case parse_status::not_implemented: return "not_implemented";
    }
    return "?";
}

[[noreturn]] void fail(const char* what, std::string_view input, std::size_t at, parse_status whole, parse_status part) {
    std::fprintf(stderr, "http_head_fuzz: %s (input %zu bytes, at %zu: whole %s, part %s)\n", what, input.size(), at,
                 name(whole), name(part));
    std::abort();
}

bool same(const request& a, const request& b) {
    return a.head_length == b.head_length && a.content_length == b.content_length && a.http10 == b.http10 &&
           a.is_head == b.is_head && a.wants_close == b.wants_close && a.wants_keep_alive == b.wants_keep_alive &&
           a.expects_continue == b.expects_continue;
}

// The prefix of `data` of length n must agree with the whole's answer.
void check_prefix(std::string_view data, std::size_t n, parse_status whole, const request& whole_req) {
    request req;
    const parse_status part = parse_head(data.substr(0, n), req);
    if (part == parse_status::incomplete) return;
    if (part != whole) fail("a prefix answers differently from the whole", data, n, whole, part);
    if (part == parse_status::complete && !same(req, whole_req))
        fail("a prefix parses to another request", data, n, whole, part);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const std::string_view data(reinterpret_cast<const char*>(bytes), size);
    request req;
    const parse_status status = parse_head(data, req);

    if (status == parse_status::incomplete && size > example::max_head_bytes)
        fail("incomplete beyond max_head_bytes", data, size, status, status);
    if (status == parse_status::complete) {
        const std::size_t h = req.head_length;
        if (h == 0 || h > size || h > example::max_head_bytes) fail("head_length out of range", data, h, status, status);
        if (data[h - 1] != '\n') fail("head does not end with a line feed", data, h, status, status);
        if (req.content_length > 999'999'999'999'999'999ULL) fail("content_length beyond 18 digits", data, h, status, status);
        if (req.is_head && data.find("HEAD ") == std::string_view::npos) fail("is_head without HEAD", data, h, status, status);
        if (req.http10 && data.substr(0, h).find("HTTP/1.0") == std::string_view::npos)
            fail("http10 without HTTP/1.0", data, h, status, status);
        // The head alone, and the head followed by anything, is the same request.
        check_prefix(data, h, status, req);
        // Cut just before the head's end: that must still be incomplete.
        request cut;
        const parse_status part = parse_head(data.substr(0, h - 1), cut);
        if (part != parse_status::incomplete) fail("a head one byte short is not incomplete", data, h - 1, status, part);
    }

    // Prefixes a read could have stopped at: after and before each line feed
    // (where lines are judged), and a few spread over the input. Bounded, so
    // a long input costs a bounded number of re-parses.
    int cuts = 0;
    for (std::size_t i = data.find('\n'); i != std::string_view::npos && cuts < 64; i = data.find('\n', i + 1), ++cuts) {
        check_prefix(data, i, status, req);
        check_prefix(data, i + 1, status, req);
    }
    for (std::size_t k = 1; k < 8; ++k) check_prefix(data, size * k / 8, status, req);
    return 0;
}
