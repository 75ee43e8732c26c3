// tests/support/dump.hpp — reading fiber dumps (goro::dump_fibers, the
// deadlock report, SIGQUIT, panics). The format, one entry per fiber:
//
//   fiber 7 [sleep, 1.2s]:
//   sleeper()
//   \t/path/scheduler_test.cpp:118
//   goro::sleep_for(...)
//   \t/path/sleep.cpp:40
//   \tspawned at scheduler_test.cpp:120 in operator()
//
// Between the header and the spawn line, the call stack: a function a line,
// each followed by its "\tfile:line" where debug information has one.
// A named fiber shows its name after the id: fiber 1 "main" [running]:
// The bracket holds the state or wait reason, optionally followed by ", " and
// the time waited. Lines the parser does not know are skipped.
#pragma once

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace goro_test {

struct dump_entry {
    std::uint64_t id = 0;
    std::string name;        // empty unless the fiber was given one
    std::string state;       // the whole bracket: "sleep, 1.2s"
    std::string reason;      // the bracket up to its first comma: "sleep"
    std::string spawned_at;  // the text after "spawned at ", or empty
    std::vector<std::string> frames;      // the call stack's function lines, innermost first
    std::vector<std::string> frame_sites;  // each frame's "file:line", or empty
};

inline std::vector<dump_entry> parse_dump(const std::string& text) {
    std::vector<dump_entry> entries;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        start = end + 1;

        // "fiber <id> [<state>]:" or, for a named fiber, "fiber <id> "<name>" [<state>]:"
        if (line.rfind("fiber ", 0) == 0) {
            std::size_t at = 6;
            const std::size_t digits_end = line.find_first_not_of("0123456789", at);
            if (digits_end == std::string::npos || digits_end == at) continue;
            dump_entry e;
            e.id = std::strtoull(line.substr(at, digits_end - at).c_str(), nullptr, 10);
            at = digits_end;
            if (line.compare(at, 2, " \"") == 0) {
                const std::size_t name_end = line.find('"', at + 2);
                if (name_end == std::string::npos) continue;
                e.name = line.substr(at + 2, name_end - at - 2);
                at = name_end + 1;
            }
            if (line.compare(at, 2, " [") != 0 || line.size() < at + 4 ||
                line.compare(line.size() - 2, 2, "]:") != 0)
                continue;
            e.state = line.substr(at + 2, line.size() - 2 - (at + 2));
            e.reason = e.state.substr(0, e.state.find(','));
            entries.push_back(e);
            continue;
        }
        // "\tspawned at <site>" belongs to the entry above it.
        const std::string spawned = "spawned at ";
        const std::size_t text_start = line.find_first_not_of(" \t");
        if (!entries.empty() && entries.back().spawned_at.empty() && text_start != std::string::npos &&
            text_start > 0 && line.compare(text_start, spawned.size(), spawned) == 0) {
            entries.back().spawned_at = line.substr(text_start + spawned.size());
            continue;
        }
        // Stack lines come before the spawn line: a function, then "\tfile:line".
        if (entries.empty() || !entries.back().spawned_at.empty() || line.empty()) continue;
        dump_entry& e = entries.back();
        if (line[0] != '\t' && line[0] != '.') {
            e.frames.push_back(line);
            e.frame_sites.emplace_back();
        } else if (line[0] == '\t' && !e.frames.empty() && e.frame_sites.back().empty()) {
            e.frame_sites.back() = line.substr(1);
        }
    }
    return entries;
}

inline const dump_entry* find_fiber(const std::vector<dump_entry>& entries, std::uint64_t id) {
    for (const dump_entry& e : entries)
        if (e.id == id) return &e;
    return nullptr;
}

// Case-insensitive substring test: wait reasons may be spelled "mutex" or
// "sync.Mutex.Lock".
inline bool contains_nocase(const std::string& haystack, const std::string& needle) {
    auto lower = [](std::string s) {
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    };
    return lower(haystack).find(lower(needle)) != std::string::npos;
}

// The index of the first frame whose function line holds `function` (a name
// with its opening parenthesis, "blocked_here("), or -1.
inline int frame_index(const dump_entry& e, const std::string& function) {
    for (std::size_t i = 0; i < e.frames.size(); ++i)
        if (e.frames[i].find(function) != std::string::npos) return static_cast<int>(i);
    return -1;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// True if a spawn site ("path/to/file.cpp:12 in func") names `file_name`
// (matched as the path's last component) at `line`.
inline bool site_is(const std::string& spawned_at, const std::string& file_name, long line) {
    const std::string wanted = file_name + ":" + std::to_string(line);
    for (std::size_t at = spawned_at.find(wanted); at != std::string::npos;
         at = spawned_at.find(wanted, at + 1)) {
        const std::size_t after = at + wanted.size();
        const bool starts_component = at == 0 || spawned_at[at - 1] == '/' || spawned_at[at - 1] == ' ';
        const bool ends_number =
            after == spawned_at.size() || std::isdigit(static_cast<unsigned char>(spawned_at[after])) == 0;
        if (starts_component && ends_number) return true;
    }
    return false;
}

}  // namespace goro_test
