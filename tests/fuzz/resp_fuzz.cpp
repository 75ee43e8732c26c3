// resp_fuzz: kv_server's request parser (examples/resp.hpp) on arbitrary
// bytes. The first byte picks how the rest is cut into reads; the rest is
// what the client sent. Checks that it never crashes and that:
//  - the commands (and the protocol error, if any) are the same whether the
//    bytes arrive in one read or in many small ones: the reader resumes a
//    command where it stopped and must not depend on where reads end;
//  - a command has at least one word (empty ones are skipped), and a
//    malformed request always says why;
//  - the commands, written back as RESP multibulk, parse to themselves.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "resp.hpp"

namespace {

using example::request_reader;

struct outcome {
    std::vector<std::vector<std::string>> commands;
    std::string error;  // empty unless the request was malformed

    bool operator==(const outcome&) const = default;
};

[[noreturn]] void fail(const char* what, std::size_t size) {
    std::fprintf(stderr, "resp_fuzz: %s (input %zu bytes)\n", what, size);
    std::abort();
}

// Feeds `data` to a fresh reader in reads of the lengths next_read() gives
// (at most what room() offers), parsing after each read as serve() does.
template <class NextRead>
outcome parse_all(std::string_view data, NextRead next_read) {
    request_reader reader;
    std::vector<std::string_view> words;
    outcome out;
    std::size_t at = 0;
    while (at < data.size()) {
        const std::span<char> room = reader.room();
        const std::size_t n = std::min({next_read(), room.size(), data.size() - at});
        std::memcpy(room.data(), data.data() + at, n);
        reader.filled(n);
        at += n;
        for (;;) {
            const auto r = reader.next(words, out.error);
            if (r == request_reader::result::need_more) break;
            if (r == request_reader::result::malformed) {
                if (out.error.empty()) fail("malformed without a reason", data.size());
                return out;
            }
            if (words.empty()) fail("a command without words", data.size());
            out.commands.emplace_back(words.begin(), words.end());
        }
        if (!out.error.empty()) fail("an error left behind by need_more", data.size());
    }
    return out;
}

std::string encode(const std::vector<std::vector<std::string>>& commands) {
    std::string out;
    for (const auto& words : commands) {
        out += "*" + std::to_string(words.size()) + "\r\n";
        for (const auto& w : words) out += "$" + std::to_string(w.size()) + "\r\n" + w + "\r\n";
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    // Lines up to max_line_bytes wait for their end; past it they are refused,
    // and whether that happens first depends on the reads. Stay below it.
    if (size == 0 || size > example::max_line_bytes / 2) return 0;
    const std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);

    const outcome whole = parse_all(data, [] { return SIZE_MAX; });
    std::uint32_t state = bytes[0] * 2654435761u + 1;  // read lengths 1..16, from the first byte
    const outcome pieces = parse_all(data, [&state] {
        state = state * 1664525u + 1013904223u;
        return std::size_t{1} + (state >> 28);
    });
    if (!(whole == pieces)) fail("reads cut elsewhere give other commands", size);

    const std::string again = encode(whole.commands);
    const outcome reparsed = parse_all(again, [] { return SIZE_MAX; });
    if (!reparsed.error.empty() || reparsed.commands != whole.commands) fail("commands do not round-trip as RESP", size);
    return 0;
}
