// runtime/src/debug.cpp — GORO_DEBUG, read once, as Go reads GODEBUG: a
// comma-separated list of key=value settings; unknown keys are ignored, a
// value that is not a number counts as 0.

#include <cstdlib>
#include <cstring>
#include <string>

#include "runtime/detail/scheduler.hpp"

namespace goro::detail {

namespace {

int parse_number(const std::string& text) {
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || v < 0 || v > 1'000'000'000) return 0;
    return static_cast<int>(v);
}

debug_settings parse_debug(const char* env) {
    debug_settings d;
    if (!env) return d;
    std::string all(env);
    std::size_t start = 0;
    while (start <= all.size()) {
        std::size_t comma = all.find(',', start);
        if (comma == std::string::npos) comma = all.size();
        const std::string item = all.substr(start, comma - start);
        const std::size_t eq = item.find('=');
        if (eq != std::string::npos) {
            const std::string key = item.substr(0, eq);
            const int value = parse_number(item.substr(eq + 1));
            if (key == "stalls") d.stalls = value;
            else if (key == "schedtrace") d.schedtrace_ms = value;
            else if (key == "scheddetail") d.scheddetail = value;
            else if (key == "traps") d.traps = value;
        }
        start = comma + 1;
    }
    return d;
}

}  // namespace

const debug_settings& debug() noexcept {
    static const debug_settings settings = parse_debug(std::getenv("GORO_DEBUG"));
    return settings;
}

}  // namespace goro::detail
