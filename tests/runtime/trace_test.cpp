// tests/runtime/trace_test.cpp — the execution trace (goro::trace_start,
// goro::trace_stop, GORO_TRACE): a known workload is traced, the JSON is
// read back (tests/support/json.hpp) and checked against what the workload
// did: every fiber that ran has slices on a worker track, the ping-pong's
// stretches end in channel parks, every flow has both ends inside slices
// of the right fibers, slices on one track never overlap. Also: a second
// trace after a first, GORO_TRACE in a child process, and
// scripts/trace-view.py drawing a trace.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/json.hpp"
#include "support/procs.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
namespace json = goro_test::json;

namespace {

std::string temp_path(const char* what) {
    static int counter = 0;
    return "/tmp/goro-trace-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + what;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::int64_t ns_of(const json::value& micros) { return std::llround(micros.num() * 1000.0); }

struct slice {
    std::int64_t tid = 0, start = 0, end = 0;
    std::string name, cat, stop, reason;
    std::uint64_t fiber = 0;
    std::string fiber_name;
};

struct flow_end {
    std::int64_t tid = 0, ts = 0;
    std::uint64_t fiber = 0;
};

// What a trace file says, in the shapes the checks need.
struct trace_model {
    bool valid = false;
    std::string error;
    std::vector<slice> slices;                           // every X event
    std::map<std::uint64_t, std::vector<flow_end>> starts, ends;  // flow id -> its s / f events
    std::map<std::int64_t, std::string> track_names;      // tid -> thread_name
    std::size_t spawn_instants = 0;
    std::size_t lost_marks = 0;
    double lost_marked = 0;  // the marks' counts, summed
    double lost_events = -1;
};

trace_model load_trace(const std::string& path) {
    trace_model m;
    const std::string text = read_file(path);
    json::parser p(text);
    auto doc = p.parse();
    if (!doc) {
        m.error = "not JSON: " + p.error();
        return m;
    }
    if (!doc->is_object() || !(*doc)["traceEvents"].is_array()) {
        m.error = "no traceEvents array";
        return m;
    }
    m.valid = true;
    m.lost_events = (*doc)["otherData"]["lost_events"].num();
    for (const json::value& e : (*doc)["traceEvents"].items) {
        const std::string ph = e["ph"].str();
        const auto tid = static_cast<std::int64_t>(e["tid"].num());
        if (ph == "X") {
            slice s;
            s.tid = tid;
            s.start = ns_of(e["ts"]);
            s.end = s.start + ns_of(e["dur"]);
            s.name = e["name"].str();
            s.cat = e["cat"].str();
            s.fiber = static_cast<std::uint64_t>(e["args"]["fiber"].num());
            s.fiber_name = e["args"]["name"].str();
            s.stop = e["args"]["stop"].str();
            s.reason = e["args"]["reason"].str();
            m.slices.push_back(s);
        } else if (ph == "s" || ph == "f") {
            flow_end f{tid, ns_of(e["ts"]), static_cast<std::uint64_t>(e["args"]["fiber"].num())};
            (ph == "s" ? m.starts : m.ends)[static_cast<std::uint64_t>(e["id"].num())].push_back(f);
        } else if (ph == "M" && e["name"].str() == "thread_name") {
            m.track_names[tid] = e["args"]["name"].str();
        } else if (ph == "i" && e["name"].str() == "go") {
            ++m.spawn_instants;
        } else if (ph == "i" && e["name"].str() == "events lost") {
            ++m.lost_marks;
            m.lost_marked += e["args"]["count"].num();
        }
    }
    return m;
}

// Ms' tracks are numbered from 1; other threads' from 1000.
bool worker_track(std::int64_t tid) { return tid >= 1 && tid < 1000; }

// The slice on `tid` that holds `ts`, or null.
const slice* slice_at(const trace_model& m, std::int64_t tid, std::int64_t ts, bool fibers_only) {
    for (const slice& s : m.slices)
        if (s.tid == tid && s.start <= ts && ts <= s.end && (!fibers_only || s.cat == "fiber")) return &s;
    return nullptr;
}

// Problems with the trace as a whole, one line each (empty: none).
std::string general_problems(const trace_model& m) {
    std::string out;
    // Slices on one track never overlap.
    std::map<std::int64_t, std::vector<const slice*>> by_track;
    for (const slice& s : m.slices) by_track[s.tid].push_back(&s);
    for (auto& [tid, list] : by_track) {
        std::sort(list.begin(), list.end(), [](const slice* a, const slice* b) { return a->start < b->start; });
        for (std::size_t i = 1; i < list.size(); ++i)
            if (list[i]->start < list[i - 1]->end)
                out += "overlap on tid " + std::to_string(tid) + ": " + list[i - 1]->name + " and " + list[i]->name +
                       " at " + std::to_string(list[i]->start) + "\n";
        if (!m.track_names.count(tid)) out += "tid " + std::to_string(tid) + " has no thread_name\n";
    }
    // Every flow has one start and one end; the start lies in a slice on its
    // track, the end in a slice of the readied fiber.
    for (auto& [id, list] : m.starts) {
        if (list.size() != 1 || !m.ends.count(id) || m.ends.at(id).size() != 1) {
            out += "flow " + std::to_string(id) + " lacks a matching end\n";
            continue;
        }
        const flow_end& s = list[0];
        const flow_end& f = m.ends.at(id)[0];
        if (!slice_at(m, s.tid, s.ts, false)) out += "flow " + std::to_string(id) + " starts outside any slice\n";
        const slice* target = slice_at(m, f.tid, f.ts, true);
        if (!target)
            out += "flow " + std::to_string(id) + " ends outside any fiber slice\n";
        else if (target->fiber != f.fiber || s.fiber != f.fiber)
            out += "flow " + std::to_string(id) + " ends in fiber " + std::to_string(target->fiber) + "'s slice, not " +
                   std::to_string(f.fiber) + "'s\n";
    }
    for (auto& [id, list] : m.ends)
        if (!m.starts.count(id)) out += "flow " + std::to_string(id) + " has an end but no start\n";
    for (const slice& s : m.slices)
        if (s.cat == "fiber" && s.fiber == 0) out += "a fiber slice without args.fiber\n";
    return out;
}

std::size_t slices_of(const trace_model& m, std::uint64_t fiber) {
    std::size_t n = 0;
    for (const slice& s : m.slices)
        if (s.cat == "fiber" && s.fiber == fiber && worker_track(s.tid)) ++n;
    return n;
}

std::size_t channel_parks_of(const trace_model& m, std::uint64_t fiber) {
    std::size_t n = 0;
    for (const slice& s : m.slices)
        if (s.cat == "fiber" && s.fiber == fiber && s.stop == "park" &&
            (s.reason == "chan receive" || s.reason == "chan send"))
            ++n;
    return n;
}

// Flows that start in a slice named `from` and end in fiber `to`'s slice.
std::size_t flows_from(const trace_model& m, const std::string& from, std::uint64_t to) {
    std::size_t n = 0;
    for (auto& [id, list] : m.starts) {
        if (!m.ends.count(id)) continue;
        const slice* s = slice_at(m, list[0].tid, list[0].ts, false);
        if (s && s->name == from && m.ends.at(id)[0].fiber == to) ++n;
    }
    return n;
}

// The fibers the workload ran, by what they are.
struct workload_ids {
    std::mutex lock;
    std::uint64_t ping = 0, pong = 0, main = 0;
    int blocking_answer = 0;
    std::vector<std::uint64_t> all;
    void note(std::uint64_t id) {
        std::lock_guard<std::mutex> g(lock);
        all.push_back(id);
    }
};

void spawn_tree(int depth, goro::wait_group& wg, workload_ids& ids) {
    ids.note(goro::fiber_id());
    if (depth == 0) return;
    for (int i = 0; i < 2; ++i) {
        wg.add(1);
        goro::go([depth, &wg, &ids] {
            spawn_tree(depth - 1, wg, ids);
            wg.done();
        });
    }
}

// Ping-pong between two named fibers n times, a spawn tree, a sleep and a
// goro::blocking call, all from main.
void traced_workload(int n, workload_ids& ids) {
    ids.main = goro::fiber_id();
    ids.note(ids.main);
    auto to_pong = goro::make_chan<int>();
    auto to_ping = goro::make_chan<int>();
    goro::wait_group wg;
    wg.add(2);
    goro::go(goro::spawn_options{.stack_size = 0, .name = "ping"}, [&] {
        ids.ping = goro::fiber_id();
        ids.note(ids.ping);
        for (int i = 0; i < n; ++i) {
            to_pong.send(i);
            to_ping.recv();
        }
        wg.done();
    });
    goro::go(goro::spawn_options{.stack_size = 0, .name = "pong"}, [&] {
        ids.pong = goro::fiber_id();
        ids.note(ids.pong);
        for (int i = 0; i < n; ++i) to_ping.send(*to_pong.recv());
        wg.done();
    });
    goro::wait_group tree;
    spawn_tree(3, tree, ids);
    tree.wait();
    goro::sleep_for(1ms);
    ids.blocking_answer = goro::blocking([] {
        std::this_thread::sleep_for(1ms);
        return 42;
    });
    wg.wait();
}

constexpr int ping_pongs = 50;

}  // namespace

TEST_CASE("trace: a traced workload's JSON has slices, stop reasons and flows") {
    goro_test::in_procs_subcases([](const goro::config& cfg) {
        const std::string path = temp_path("workload.json");
        workload_ids ids;
        bool started = false, started_twice = true;
        goro::run(cfg, [&] {
            started = goro::trace_start(path);
            started_twice = goro::trace_start(path + ".second");  // one trace at a time
            traced_workload(ping_pongs, ids);
            goro::trace_stop();
        });
        REQUIRE(started);
        CHECK_FALSE(started_twice);
        CHECK(ids.blocking_answer == 42);
        const trace_model m = load_trace(path);
        std::remove(path.c_str());
        REQUIRE_MESSAGE(m.valid, m.error);
        CHECK(m.lost_events == 0);
        const std::string problems = general_problems(m);
        CHECK_MESSAGE(problems.empty(), problems);

        for (std::uint64_t id : ids.all) CHECK_MESSAGE(slices_of(m, id) >= 1, "fiber ", id, " has no slice");
        CHECK(m.spawn_instants >= 2 + 14);  // ping, pong and the tree's 14

        // An unbuffered ping-pong: every round, ping's send completes only
        // with pong parked in its receive or ping parked in its send, and
        // the same for the reply; so the pair parks 2N times at least. On
        // one worker the schedule is fixed: each parks every round.
        const std::size_t ping_parks = channel_parks_of(m, ids.ping);
        const std::size_t pong_parks = channel_parks_of(m, ids.pong);
        CHECK(ping_parks + pong_parks >= 2 * static_cast<std::size_t>(ping_pongs));
        CHECK(ping_parks >= 1);
        CHECK(pong_parks >= 1);
        if (cfg.procs == 1) {
            CHECK(ping_parks >= static_cast<std::size_t>(ping_pongs));
            CHECK(pong_parks >= static_cast<std::size_t>(ping_pongs));
        }
        bool named = false;
        for (const slice& s : m.slices)
            if (s.fiber == ids.ping && s.fiber_name == "ping" && s.name == "ping") named = true;
        CHECK(named);
        // Wake-ups drawn from the partner, from the sleep's timer and from
        // the pool thread that ran the blocking call.
        CHECK(flows_from(m, "pong", ids.ping) + flows_from(m, "ping", ids.pong) >= 1);
        CHECK(flows_from(m, "timer", ids.main) >= 1);
        CHECK(flows_from(m, "blocking call", ids.main) == 1);
        bool pool_track = false;
        for (const slice& s : m.slices)
            if (s.name == "blocking call" && !worker_track(s.tid) && s.fiber == ids.main) pool_track = true;
        CHECK(pool_track);
        for (auto& [tid, name] : m.track_names)
            if (worker_track(tid)) CHECK(name == "M" + std::to_string(tid - 1));
    });
}

TEST_CASE("trace: trace_stop then trace_start again writes a second valid trace") {
    const std::string first = temp_path("first.json");
    const std::string second = temp_path("second.json");
    workload_ids ids1, ids2;
    bool ok1 = false, ok2 = false, running_after_stop = true;
    goro::run(goro::config{.procs = 2, .stack_size = 0}, [&] {
        ok1 = goro::trace_start(first);
        traced_workload(10, ids1);
        goro::trace_stop();
        goro::trace_stop();  // a second stop does nothing
        running_after_stop = goro::trace_running();
        ok2 = goro::trace_start(second);
        traced_workload(10, ids2);
        // Left running: run's end stops it and finishes the file.
    });
    CHECK(ok1);
    CHECK(ok2);
    CHECK_FALSE(running_after_stop);
    CHECK_FALSE(goro::trace_running());
    CHECK_FALSE(goro::trace_start(first + ".outside"));  // no runtime runs
    for (const auto& [path, ids] : {std::pair{first, &ids1}, std::pair{second, &ids2}}) {
        const trace_model m = load_trace(path);
        std::remove(path.c_str());
        REQUIRE_MESSAGE(m.valid, m.error);
        const std::string problems = general_problems(m);
        CHECK_MESSAGE(problems.empty(), problems);
        CHECK(slices_of(m, ids->ping) >= 1);
        CHECK(slices_of(m, ids->pong) >= 1);
    }
}

TEST_CASE("trace: trace_start and trace_stop from a plain thread") {
    const std::string path = temp_path("plain.json");
    bool ok = false;
    goro::run(goro::config{.procs = 2, .stack_size = 0}, [&] {
        goro_test::plain_thread starter([&] { ok = goro::trace_start(path); });
        starter.join();
        auto c = goro::make_chan<int>();
        // A plain thread readies a fiber: its flow starts on the thread's track.
        goro_test::plain_thread sender([&] { c.send(7); });
        CHECK(*c.recv() == 7);
        sender.join();
        goro_test::plain_thread stopper([] { goro::trace_stop(); });
        stopper.join();
    });
    CHECK(ok);
    const trace_model m = load_trace(path);
    std::remove(path.c_str());
    REQUIRE_MESSAGE(m.valid, m.error);
    const std::string problems = general_problems(m);
    CHECK_MESSAGE(problems.empty(), problems);
    CHECK(slices_of(m, 1) >= 1);
}

TEST_CASE("trace: the netpoller as a readier") {
    goro_test::in_procs_subcases([](const goro::config& cfg) {
        const std::string path = temp_path("netpoll.json");
        std::uint64_t reader = 0;
        std::string got;
        goro::run(cfg, [&] {
            goro::trace_start(path);
            goro::net::listener ln = goro::net::listen("tcp", "127.0.0.1:0");
            goro::wait_group done;
            done.add(1);
            goro::go(goro::spawn_options{.stack_size = 0, .name = "reader"}, [&] {
                reader = goro::fiber_id();
                goro::net::conn c = ln.accept();
                char buf[5] = {};
                c.read_full(buf, sizeof buf);  // parks in IO wait until the poller sees the bytes
                got.assign(buf, sizeof buf);
                done.done();
            });
            goro::net::conn out = goro::net::dial("tcp", ln.local_address().to_string());
            // Write once the reader is parked on the socket (the fiber dump
            // says so), so that the poller is what wakes it.
            goro_test::eventually([] {
                std::ostringstream dump;
                goro::dump_fibers(dump);
                return dump.str().find("IO wait") != std::string::npos;
            });
            out.write("hello");
            done.wait();
            goro::trace_stop();
        });
        CHECK(got == "hello");
        const trace_model m = load_trace(path);
        std::remove(path.c_str());
        REQUIRE_MESSAGE(m.valid, m.error);
        const std::string problems = general_problems(m);
        CHECK_MESSAGE(problems.empty(), problems);
        CHECK(flows_from(m, "netpoll", reader) + flows_from(m, "netpoll wait", reader) >= 1);
        bool io_park = false;
        for (const slice& s : m.slices)
            if (s.fiber == reader && s.reason == "IO wait") io_park = true;
        CHECK(io_park);
    });
}

GORO_SCENARIO(trace_env) {
    return goro::run([] {
        workload_ids ids;
        traced_workload(20, ids);
        goro_test::emit("ping", ids.ping);
    });
}

TEST_CASE("trace: GORO_TRACE=FILE traces a whole run") {
    const std::string path = temp_path("env.json");
    const goro_test::proc_result r = goro_test::run_self("trace_env", {"GORO_TRACE=" + path});
    REQUIRE_MESSAGE(r.exit_status == 0, goro_test::describe(r));
    const trace_model m = load_trace(path);
    std::remove(path.c_str());
    REQUIRE_MESSAGE(m.valid, m.error);
    const std::string problems = general_problems(m);
    CHECK_MESSAGE(problems.empty(), problems);
    const std::uint64_t ping = goro_test::emitted(r.out, "ping");
    CHECK(ping != 0);
    CHECK(channel_parks_of(m, ping) >= 1);
    CHECK(slices_of(m, 1) >= 1);  // main, from its first stretch
}

// Two chunks for a long ping-pong: the writer falls behind, and the
// recording threads drop events rather than wait.
GORO_SCENARIO(trace_lossy) {
    return goro::run(goro::config{.procs = 2, .stack_size = 0}, [] {
        workload_ids ids;
        traced_workload(goro_test::sanitized ? 5000 : 50000, ids);
    });
}

TEST_CASE("trace: full buffers drop events, count them, and leave the JSON consistent") {
    const std::string path = temp_path("lossy.json");
    const goro_test::proc_result r =
        goro_test::run_self("trace_lossy", {"GORO_TRACE=" + path, "GORO_TRACE_CHUNKS=2"}, std::chrono::seconds(300));
    REQUIRE_MESSAGE(r.exit_status == 0, goro_test::describe(r));
    const trace_model m = load_trace(path);
    std::remove(path.c_str());
    REQUIRE_MESSAGE(m.valid, m.error);
    const std::string problems = general_problems(m);
    CHECK_MESSAGE(problems.empty(), problems);
    CHECK(m.slices.size() > 100);
    // Whether the writer fell behind depends on the machine; when it did,
    // the total is in otherData and every lost event is in some mark's
    // count, those that ran to the stop included (marked there).
    CHECK(m.lost_marked == m.lost_events);
    if (m.lost_events > 0) CHECK(m.lost_marks >= 1);
}

TEST_CASE("trace: scripts/trace-view.py draws a trace as a PNG") {
    const std::string path = temp_path("view.json");
    goro::run(goro::config{.procs = 2, .stack_size = 0}, [&] {
        goro::trace_start(path);
        workload_ids ids;
        traced_workload(10, ids);
        goro::trace_stop();
    });
    const std::string png = path + ".png";
    const std::string command = "/usr/bin/python3 " GORO_SOURCE_ROOT "/scripts/trace-view.py " + path + " -o " + png +
                                " >/dev/null 2>&1";
    const int rc = std::system(command.c_str());
    const std::string image = read_file(png);
    std::remove(path.c_str());
    std::remove(png.c_str());
    CHECK_MESSAGE(rc == 0, "trace-view.py failed (python3-matplotlib: scripts/install-deps.sh): ", command);
    CHECK(image.size() > 1000);
    CHECK(image.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
}
