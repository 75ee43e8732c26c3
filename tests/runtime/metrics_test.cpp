// tests/runtime/metrics_test.cpp — goro::write_metrics (Prometheus text)
// and GORO_DEBUG=schedtrace / scheddetail.
//
// The metrics are checked against counts the test makes itself: fibers it
// parks on a channel, switches it causes, workers it configured. Counters
// are read as deltas between two scrapes, so other tests' fibers in earlier
// runs do not matter (each run starts its counters at zero anyway).
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/procs.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using goro_test::for_each_procs;

namespace {

struct scrape {
    std::string text;
    std::map<std::string, double> samples;       // "name" or "name{label=\"v\"}" -> value
    std::map<std::string, std::string> types;     // family -> TYPE
    std::map<std::string, bool> helped;           // family -> has HELP
    std::vector<std::string> malformed;           // lines that are neither comments nor samples

    double operator[](const std::string& key) const {
        auto it = samples.find(key);
        return it == samples.end() ? -1 : it->second;
    }
};

scrape take_scrape() {
    std::ostringstream out;
    goro::write_metrics(out);
    scrape s;
    s.text = out.str();
    std::istringstream in(s.text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# HELP ", 0) == 0) {
            const std::string rest = line.substr(7);
            s.helped[rest.substr(0, rest.find(' '))] = true;
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            const std::string rest = line.substr(7);
            const auto sp = rest.find(' ');
            s.types[rest.substr(0, sp)] = sp == std::string::npos ? "" : rest.substr(sp + 1);
            continue;
        }
        const auto sp = line.rfind(' ');
        if (line.empty() || line[0] == '#' || sp == std::string::npos) {
            s.malformed.push_back(line);
            continue;
        }
        try {
            s.samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
        } catch (...) {
            s.malformed.push_back(line);
        }
    }
    return s;
}

// The family a sample belongs to: its name without labels or the
// histogram's _bucket/_sum/_count.
std::string family_of(const std::string& key) {
    std::string name = key.substr(0, key.find('{'));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
            name.rfind("goro_sched_latency_seconds", 0) == 0)
            return "goro_sched_latency_seconds";
    }
    return name;
}

}  // namespace

TEST_CASE("metrics: the Prometheus text has HELP and TYPE for every family, and the names docs/api.md lists") {
    for_each_procs([](int procs) {
        const scrape s = take_scrape();
        CHECK(s.malformed.empty());
        int without_type = 0, without_help = 0;
        for (const auto& [key, value] : s.samples) {
            (void)value;
            const std::string family = family_of(key);
            if (!s.types.count(family)) ++without_type;
            if (!s.helped.count(family)) ++without_help;
        }
        CHECK(without_type == 0);
        CHECK(without_help == 0);
        for (const char* name : {"goro_fibers", "goro_threads", "goro_procs", "goro_context_switches_total",
                                 "goro_steals_total", "goro_spins_total", "goro_global_queue_pushes_total",
                                 "goro_netpoll_waits_total", "goro_netpoll_wakeups_total", "goro_blocking_threads",
                                 "goro_stack_bytes_reserved", "goro_stack_bytes_resident",
                                 "goro_sched_latency_seconds_count", "goro_sched_latency_seconds_sum"})
            CHECK_MESSAGE(s.samples.count(name) == 1, name);
        CHECK(s.types.at("goro_context_switches_total") == "counter");
        CHECK(s.types.at("goro_fibers") == "gauge");
        CHECK(s.types.at("goro_sched_latency_seconds") == "histogram");
        CHECK(s["goro_procs"] == procs);
        CHECK(s["goro_threads"] >= 2);  // this worker and sysmon at least
        CHECK(s["goro_stack_bytes_reserved"] >= s["goro_stack_bytes_resident"]);
        CHECK(s["goro_stack_bytes_resident"] > 0);  // main's stack, at least its top page
    });
}

TEST_CASE("metrics: fibers parked on a channel are counted alive, waiting on 'chan receive', and parked once each") {
    for_each_procs([](int) {
        constexpr int n = 25;
        const scrape before = take_scrape();
        goro::chan<int> c = goro::make_chan<int>();
        goro::wait_group started;
        started.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([c, &started] {
                started.done();
                (void)c.recv();
            });
        started.wait();
        // Every receiver is parked once they have all called recv: wait for
        // the census to say so (the limit only turns a hang into a failure).
        scrape during;
        goro_test::eventually([&] {
            during = take_scrape();
            return during["goro_fibers_waiting{reason=\"chan receive\"}"] == n;
        });
        CHECK(during["goro_fibers_waiting{reason=\"chan receive\"}"] == n);
        CHECK(during["goro_fibers"] == before["goro_fibers"] + n);
        CHECK(during["goro_parks_total{reason=\"chan receive\"}"] - before["goro_parks_total{reason=\"chan receive\"}"] == n);
        CHECK(during["goro_fibers_started_total"] - before["goro_fibers_started_total"] == n);
        // Each receiver was switched into at least once.
        CHECK(during["goro_context_switches_total"] - before["goro_context_switches_total"] >= n);
        for (int i = 0; i < n; ++i) c.send(i);
        goro_test::eventually([] { return goro::num_fibers() == 1; });
        const scrape after = take_scrape();
        CHECK(after["goro_fibers_waiting{reason=\"chan receive\"}"] == 0);
        CHECK(after["goro_fibers"] == 1);
    });
}

TEST_CASE("metrics: the scheduling-latency histogram is cumulative and counts sampled hand-offs") {
    for_each_procs([](int) {
        goro::chan<int> ping = goro::make_chan<int>(), pong = goro::make_chan<int>();
        goro::go([&] {
            for (int i = 0; i < 400; ++i) pong.send(ping.recv().value());
        });
        for (int i = 0; i < 400; ++i) {
            ping.send(i);
            (void)pong.recv();
        }
        const scrape s = take_scrape();
        const double count = s["goro_sched_latency_seconds_count"];
        CHECK(count >= 800.0 / 8 / 2);  // one readied fiber in eight is sampled; 800 readies at least
        // The buckets in the order written (the sample map sorts by text).
        double last = 0;
        bool cumulative = true;
        int buckets = 0;
        std::istringstream in(s.text);
        std::string line;
        double inf = -1;
        while (std::getline(in, line)) {
            if (line.rfind("goro_sched_latency_seconds_bucket", 0) != 0) continue;
            ++buckets;
            const double v = std::stod(line.substr(line.rfind(' ') + 1));
            if (v < last) cumulative = false;
            last = v;
            if (line.find("le=\"+Inf\"") != std::string::npos) inf = v;
        }
        CHECK(buckets == 17);
        CHECK(cumulative);
        CHECK(inf == count);
        CHECK(s["goro_sched_latency_seconds_sum"] >= 0);
    });
}

TEST_CASE("metrics: outside goro::run the families are all there, with zeros") {
    const scrape s = take_scrape();
    CHECK(s.malformed.empty());
    CHECK(s["goro_fibers"] == 0);
    CHECK(s["goro_threads"] == 0);
    CHECK(s["goro_procs"] == goro::procs());
    CHECK(s["goro_sched_latency_seconds_count"] == 0);
}

// ---------------------------------------------------------------------------
// schedtrace

GORO_SCENARIO(schedtrace_busy) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        goro::chan<int> c = goro::make_chan<int>();
        goro::go([c] { (void)c.recv(); });  // one fiber parked for the detail lines
        const auto until = std::chrono::steady_clock::now() + 150ms;
        while (std::chrono::steady_clock::now() < until) goro::sleep_for(1ms);
        c.send(1);
    });
}

TEST_CASE("GORO_DEBUG=schedtrace=MS prints Go's SCHED line every MS ms; scheddetail=1 adds P, M and fiber lines") {
    {
        const goro_test::proc_result r = goro_test::run_self("schedtrace_busy", {"GORO_DEBUG=schedtrace=20"});
        CHECK_MESSAGE(r.exit_status == 0, goro_test::describe(r));
        std::istringstream in(r.err);
        std::string line;
        int sched_lines = 0, well_formed = 0;
        while (std::getline(in, line)) {
            if (line.rfind("SCHED ", 0) != 0) continue;
            ++sched_lines;
            // SCHED 40ms: procs=2 idleprocs=1 threads=3 spinningthreads=0 idlethreads=1 runqueue=0 [0 0]
            const bool ok = line.find("ms: procs=2 idleprocs=") != std::string::npos &&
                            line.find(" threads=") != std::string::npos &&
                            line.find(" spinningthreads=") != std::string::npos &&
                            line.find(" runqueue=") != std::string::npos && line.back() == ']' &&
                            std::count(line.begin() + static_cast<long>(line.find('[')), line.end(), ' ') == 1;
            if (ok) ++well_formed;
        }
        CHECK_MESSAGE(sched_lines >= 2, r.err);  // 150 ms at one line per 20 ms
        CHECK_MESSAGE(well_formed == sched_lines, r.err);
        CHECK(r.err.find("  P0: status=") == std::string::npos);
    }
    {
        const goro_test::proc_result r =
            goro_test::run_self("schedtrace_busy", {"GORO_DEBUG=schedtrace=20,scheddetail=1"});
        CHECK_MESSAGE(r.exit_status == 0, goro_test::describe(r));
        CHECK_MESSAGE(r.err.find("SCHED ") != std::string::npos, r.err);
        CHECK_MESSAGE(r.err.find("  P0: status=") != std::string::npos, r.err);
        CHECK_MESSAGE(r.err.find("  P1: status=") != std::string::npos, r.err);
        CHECK_MESSAGE(r.err.find("  M0: p=") != std::string::npos, r.err);
        CHECK_MESSAGE(r.err.find("  G1: status=") != std::string::npos, r.err);
        CHECK_MESSAGE(r.err.find("status=waiting(chan receive)") != std::string::npos, r.err);
    }
    {
        const goro_test::proc_result r = goro_test::run_self("schedtrace_busy", {"GORO_DEBUG"});
        CHECK(r.exit_status == 0);
        CHECK(r.err.find("SCHED ") == std::string::npos);
    }
}
