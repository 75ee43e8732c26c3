// bench_common.hpp: what the C++ benchmark programs of every runtime share
// (goro's in bench/goro, Boost.Fiber's in bench/fiber, Asio's in bench/asio):
// the size argument, the worker count the peers take from BENCH_WORKERS,
// wall-clock timing and the /proc/self/status readings of the memory workload.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

namespace bench {

// The first argument as n, or fallback.
inline long arg_n(int argc, char** argv, long fallback) { return argc > 1 ? std::atol(argv[1]) : fallback; }

// BENCH_WORKERS, default 2: the worker threads of the peers (goro reads
// GORO_MAXPROCS itself).
inline int workers() {
    const char* v = std::getenv("BENCH_WORKERS");
    const int n = v ? std::atoi(v) : 2;
    return n > 0 ? n : 2;
}

inline double ns_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
}

// The field `key` ("VmRSS", "VmPTE") of /proc/self/status, in bytes.
inline long long status_bytes(std::string_view key) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':')
            return std::stoll(line.substr(key.size() + 1)) * 1024;  // "VmRSS:   1234 kB"
    }
    std::fprintf(stderr, "memory: no %.*s in /proc/self/status\n", static_cast<int>(key.size()), key.data());
    std::exit(1);
}

}  // namespace bench
