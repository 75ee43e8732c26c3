// runtime/src/faults.cpp — GORO_FAULTS, parsed once (runtime/detail/faults.hpp).

#include "runtime/detail/faults.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

namespace goro::detail {

namespace {

constexpr int site_count = static_cast<int>(fault_site::count);

struct site_rule {
    bool armed = false;
    std::uint64_t skip = 0;
    std::uint64_t count = UINT64_MAX;  // fail every call after the skipped ones
    int error = 0;
    std::atomic<std::uint64_t> calls{0};
};

struct fault_settings {
    bool any = false;
    site_rule rules[site_count];
};

const char* const site_names[site_count] = {"stack_mmap", "stack_guard", "thread_create", "epoll_ctl", "accept"};
const int default_errors[site_count] = {ENOMEM, ENOMEM, EAGAIN, ENOMEM, EMFILE};

int errno_named(const std::string& name) {
    static const struct {
        const char* name;
        int value;
    } names[] = {{"ENOMEM", ENOMEM}, {"EAGAIN", EAGAIN},   {"EMFILE", EMFILE},     {"ENFILE", ENFILE},
                 {"ENOBUFS", ENOBUFS}, {"ENOSPC", ENOSPC}, {"EPERM", EPERM},       {"EINTR", EINTR},
                 {"ECONNABORTED", ECONNABORTED}, {"EPROTO", EPROTO}, {"EINVAL", EINVAL}};
    for (const auto& n : names)
        if (name == n.name) return n.value;
    return 0;
}

bool parse_count(const std::string& text, std::uint64_t* out) {
    if (text.empty()) return false;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (*end != '\0') return false;
    *out = v;
    return true;
}

void parse_item(fault_settings& s, const std::string& item) {
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos) return;
    const std::string name = item.substr(0, eq);
    int site = -1;
    for (int i = 0; i < site_count; ++i)
        if (name == site_names[i]) site = i;
    if (site < 0) return;
    // SKIP[/COUNT][/ERRNO]
    std::string fields[3];
    int n = 0;
    std::size_t start = eq + 1;
    while (n < 3) {
        const std::size_t slash = item.find('/', start);
        fields[n++] = item.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    site_rule& r = s.rules[site];
    if (!parse_count(fields[0], &r.skip)) return;
    r.count = UINT64_MAX;
    r.error = default_errors[site];
    for (int i = 1; i < n; ++i) {
        std::uint64_t c = 0;
        if (parse_count(fields[i], &c))
            r.count = c;
        else if (const int e = errno_named(fields[i]))
            r.error = e;
        else
            return;
    }
    r.armed = true;
    s.any = true;
}

void parse_env(fault_settings& s) {
    const char* env = std::getenv("GORO_FAULTS");
    if (!env) return;
    const std::string all(env);
    std::size_t start = 0;
    while (start <= all.size()) {
        std::size_t comma = all.find(',', start);
        if (comma == std::string::npos) comma = all.size();
        parse_item(s, all.substr(start, comma - start));
        start = comma + 1;
    }
}

fault_settings& settings() {
    static fault_settings s;
    static const bool parsed = (parse_env(s), true);  // once, thread-safely
    (void)parsed;
    return s;
}

}  // namespace

bool inject_fault(fault_site site, int* error) noexcept {
    fault_settings& s = settings();
    if (!s.any) return false;
    site_rule& r = s.rules[static_cast<int>(site)];
    if (!r.armed) return false;
    const std::uint64_t call = r.calls.fetch_add(1, std::memory_order_relaxed);
    if (call < r.skip || call - r.skip >= r.count) return false;
    *error = r.error;
    return true;
}

void inject_thread_create_fault() {
    int error = 0;
    if (inject_fault(fault_site::thread_create, &error))
        throw std::system_error(error, std::system_category(), "thread_create (GORO_FAULTS)");
}

}  // namespace goro::detail
