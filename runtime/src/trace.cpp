// runtime/src/trace.cpp — the execution trace: per-thread record buffers,
// the writer thread that turns them into Chrome trace-event JSON, and
// goro::trace_start / goro::trace_stop (docs/tracing.md; docs/design.md,
// "Execution trace").
//
// Invariants and who guards what:
//   - A session is one trace, from start to stop. `the_trace_switch.on` is
//     true only while a session is open; `session` names it (a number that
//     only grows). trace_control serialises start and stop.
//   - Every recording thread owns one trace_buffer (found through a
//     thread_local holder). Its `busy` flag is a lock that only the owner
//     takes on the recording path (uncontended: its own line) and that the
//     stopper and the thread's exit take to harvest it. Under it: session,
//     chunk, used records, tid, seq, lost, open_fiber.
//   - registry::lock guards the buffer lists, the chunk pool (free and full
//     chunks), the session's tracks, the lost count and the writer's wake-up.
//     Lock order: a buffer's busy flag, then registry::lock; the stopper
//     never holds registry::lock while it waits for a buffer.
//   - Memory is bounded: a session has chunk_count() chunks. A thread with no
//     chunk to write into drops its events and counts them; the next chunk
//     it gets says how many were lost before it (the JSON marks the spot).
//   - A chunk belongs to its thread until handed to the full queue, then to
//     the writer until it goes back to the free list. Chunks of one thread
//     reach the queue in order, and the writer alone converts, so each
//     thread's records are read in the order they were written.
//   - Buffers are never freed (a thread about to record may still hold a
//     pointer to one); a buffer whose thread exited is reused by the next
//     thread that records. Chunks are freed when their session ends.

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <goro/blocking.hpp>
#include <goro/trace.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/trace.hpp"

namespace goro::detail {

trace_switch the_trace_switch;

namespace {

constexpr std::size_t chunk_records = 1024;  // 64 KiB a chunk
constexpr std::size_t default_chunk_count = 64;  // 4 MiB a session
constexpr std::uint32_t first_thread_tid = 1000;  // tracks of threads that are not Ms

enum class record_kind : std::uint8_t { run_begin, run_end, ready, spawn, steal, scope_enter, scope_exit, aux_begin, aux_end };

// One event, as the recording thread saw it: 64 bytes, a cache line.
struct record {
    record_kind kind;
    std::uint8_t code;   // run_end: why; ready: trace_readier
    std::uint16_t p;     // run_begin: P index + 1
    std::uint32_t line;  // spawn site line
    std::int64_t ts;
    std::uint64_t fiber;    // the fiber it is about
    std::uint64_t flow;     // run_begin: flow in; ready, spawn: flow out
    std::uint64_t context;  // the fiber whose stretch it happened in (0: none)
    std::uint64_t arg;      // steal: victim P; aux: fiber or count
    const char* name;       // fiber name, or the aux slice's
    const char* file;       // spawn site file
};
static_assert(sizeof(record) == 64);

struct chunk {
    std::uint32_t tid = 0;
    std::uint64_t lost_before = 0;  // events this thread dropped just before this chunk
    std::size_t used = 0;
    record records[chunk_records];
};

struct alignas(64) trace_buffer {
    std::atomic<bool> busy{false};
    std::uint64_t session = 0;  // 0: in none
    chunk* current = nullptr;
    std::uint32_t tid = 0;
    std::uint32_t seq = 0;         // flow ids
    std::uint64_t lost = 0;        // dropped since the last chunk
    std::uint64_t open_fiber = 0;  // between run_begin and run_end

    void lock() noexcept {
        while (busy.exchange(true, std::memory_order_acquire))
            while (busy.load(std::memory_order_relaxed)) sched_yield();
    }
    void unlock() noexcept { busy.store(false, std::memory_order_release); }
};

struct track {
    std::uint32_t tid;
    std::string name;
};

struct registry {
    std::mutex lock;
    std::condition_variable wake_writer;
    std::vector<trace_buffer*> all;
    std::vector<trace_buffer*> unowned;
    std::vector<chunk*> free_chunks;
    std::atomic<std::size_t> free_count{0};
    std::deque<chunk*> full;
    std::vector<track> tracks;
    bool session_open = false;
    bool writer_stop = false;
    std::uint64_t session = 0;
    std::uint32_t next_thread_tid = first_thread_tid;
    std::uint64_t lost = 0;
    // Events threads dropped with no later chunk of theirs to mark the spot
    // (the losses ran to the end of the session): (tid, count), marked at
    // the stop.
    std::vector<std::pair<std::uint32_t, std::uint64_t>> trailing_lost;
    std::int64_t start_ns = 0;
    std::int64_t stop_ns = 0;
};

registry& reg() {
    static registry* const r = new registry;  // outlives every thread that may record
    return *r;
}

// trace_control: start and stop, one at a time.
std::mutex& control_lock() {
    static std::mutex* const m = new std::mutex;
    return *m;
}
bool session_active = false;  // control_lock
std::FILE* session_file = nullptr;  // control_lock until the writer owns it
// control_lock. Never destroyed: a process that exits with a trace on must
// not meet a joinable std::thread's destructor (std::terminate).
std::thread& writer_thread() {
    static std::thread* const t = new std::thread;
    return *t;
}

__attribute__((tls_model("initial-exec"))) thread_local trace_readier this_thread_readier = trace_readier::scheduler;
__attribute__((tls_model("initial-exec"))) thread_local bool this_thread_exited = false;

struct buffer_holder {
    trace_buffer* buffer = nullptr;
    ~buffer_holder();
};

std::uint64_t session_bits(std::uint64_t session) noexcept { return (session & 0xfff) << 52; }

// Under b's lock: take a free chunk for b, if the session still has one.
// With `full`, first hand b's full chunk to the writer.
void swap_chunk_locked(trace_buffer* b, bool hand_off) noexcept {
    registry& r = reg();
    std::lock_guard<std::mutex> g(r.lock);
    if (hand_off && b->current) {
        r.full.push_back(b->current);
        r.wake_writer.notify_one();
    }
    b->current = nullptr;
    if (!r.session_open || r.free_chunks.empty()) return;
    chunk* c = r.free_chunks.back();
    r.free_chunks.pop_back();
    r.free_count.store(r.free_chunks.size(), std::memory_order_relaxed);
    c->tid = b->tid;
    c->used = 0;
    c->lost_before = b->lost;
    r.lost += b->lost;
    b->lost = 0;
    b->current = c;
}

// Under b's lock: put b in `session`, with a track of its own.
bool join_session_locked(trace_buffer* b, std::uint64_t session) noexcept {
    registry& r = reg();
    machine* m = current_machine();
    std::lock_guard<std::mutex> g(r.lock);
    if (!r.session_open || r.session != session) return false;
    b->session = session;
    b->current = nullptr;
    b->seq = 0;
    b->lost = 0;
    b->open_fiber = 0;
    char name[64];
    if (m) {
        b->tid = static_cast<std::uint32_t>(m->id) + 1;
        std::snprintf(name, sizeof name, "M%d", m->id);
    } else {
        b->tid = r.next_thread_tid++;
        char thread_name[32] = "";
        pthread_getname_np(pthread_self(), thread_name, sizeof thread_name);
        std::snprintf(name, sizeof name, "%s (thread %u)", thread_name[0] ? thread_name : "thread",
                      b->tid - first_thread_tid);
    }
    try {
        r.tracks.push_back({b->tid, name});
    } catch (...) {
    }
    return true;
}

// Under b's lock: give whatever b holds of its session back (its partial
// chunk to the writer), and leave the session.
void leave_session_locked(trace_buffer* b, std::vector<chunk*>* harvested) noexcept {
    if (b->session == 0) return;
    registry& r = reg();
    {
        std::lock_guard<std::mutex> g(r.lock);
        r.lost += b->lost;
        if (b->lost > 0) {
            try {
                r.trailing_lost.emplace_back(b->tid, b->lost);
            } catch (...) {
                // counted in r.lost all the same; only the mark is missing
            }
        }
        if (b->current) {
            if (harvested)
                harvested->push_back(b->current);
            else
                r.full.push_back(b->current);
            r.wake_writer.notify_one();
        }
    }
    b->current = nullptr;
    b->lost = 0;
    b->session = 0;
    b->open_fiber = 0;
}

buffer_holder::~buffer_holder() {
    this_thread_exited = true;
    if (!buffer) return;
    buffer->lock();
    leave_session_locked(buffer, nullptr);
    buffer->unlock();
    registry& r = reg();
    std::lock_guard<std::mutex> g(r.lock);
    r.unowned.push_back(buffer);
}

trace_buffer* take_buffer() noexcept {
    registry& r = reg();
    std::lock_guard<std::mutex> g(r.lock);
    if (!r.unowned.empty()) {
        trace_buffer* b = r.unowned.back();
        r.unowned.pop_back();
        return b;
    }
    try {
        auto* b = new trace_buffer;
        r.all.push_back(b);
        return b;
    } catch (...) {
        return nullptr;
    }
}

// Never inlined, for the reason current_machine() is not: fibers migrate,
// and a cached thread-local address would be another thread's.
__attribute__((noinline)) trace_buffer* this_thread_buffer() noexcept {
    asm volatile("" ::: "memory");
    if (this_thread_exited) return nullptr;
    static thread_local buffer_holder holder;
    if (!holder.buffer) holder.buffer = take_buffer();
    return holder.buffer;
}

// Appends rec to this thread's buffer; fills in the context fiber and, for
// readies and spawns, a fresh flow id, which it returns (0: not recorded).
std::uint64_t append(record rec) noexcept {
    trace_buffer* b = this_thread_buffer();
    if (!b) return 0;
    b->lock();
    const std::uint64_t session = the_trace_switch.session.load(std::memory_order_acquire);
    if (b->session != session && !join_session_locked(b, session)) {
        b->unlock();
        return 0;
    }
    if (!b->current) {
        // Dropping: ask the pool again only when it has something.
        if (reg().free_count.load(std::memory_order_relaxed) != 0) swap_chunk_locked(b, false);
        if (!b->current) {
            ++b->lost;
            b->unlock();
            return 0;
        }
    }
    if (rec.context == 0) rec.context = b->open_fiber;
    if (rec.kind == record_kind::run_begin) b->open_fiber = rec.fiber;
    if (rec.kind == record_kind::run_end) b->open_fiber = 0;
    if (rec.kind == record_kind::ready || rec.kind == record_kind::spawn)
        rec.flow = session_bits(session) | (static_cast<std::uint64_t>(b->tid) << 32) | ++b->seq;
    chunk* c = b->current;
    c->records[c->used++] = rec;
    if (c->used == chunk_records) swap_chunk_locked(b, true);
    b->unlock();
    return rec.flow;
}

std::uint64_t id_of(const fiber* f) noexcept { return f->id.load(std::memory_order_relaxed); }

std::uint64_t context_fiber() noexcept {
    machine* m = current_machine();
    return m && m->current ? id_of(m->current) : 0;
}

// ------------------------------------------------------------ the writer

const char* stop_name(std::uint8_t code, const char** reason) {
    *reason = nullptr;
    switch (static_cast<trace_stop>(code)) {
    case trace_stop::yield: return "yield";
    case trace_stop::preempted: return "preempted";
    case trace_stop::exit: return "exit";
    case trace_stop::abandoned: return "abandoned";
    }
    if (code < wait_reason_count) {
        *reason = wait_reason_name(static_cast<wait_reason>(code));
        return "park";
    }
    return "unknown";
}

const char* readier_name(std::uint8_t code) {
    switch (static_cast<trace_readier>(code)) {
    case trace_readier::scheduler: return "scheduler";
    case trace_readier::timer: return "timer";
    case trace_readier::netpoll: return "netpoll";
    case trace_readier::thread: return "thread";
    case trace_readier::blocking: return "blocking call";
    }
    return "scheduler";
}

// Turns one session's records into the JSON file. Runs on the writer
// thread only; owns the file once started.
class json_writer {
public:
    json_writer(std::FILE* file, std::int64_t start_ns, std::uint64_t session)
        : file_(file), start_ns_(start_ns), session_(session), pid_(static_cast<long>(::getpid())) {
        out_ = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    }

    void convert(const chunk& c) {
        track_state& t = tracks_[c.tid];
        if (c.lost_before > 0 && c.used > 0) {
            // Whatever was open is unknown now: its end may be among the lost.
            const std::int64_t at = next_ts(t, c.records[0].ts);
            begin_event("events lost", "goro", 'i', c.tid, at);
            out_ += ",\"s\":\"t\",\"args\":{\"count\":" + std::to_string(c.lost_before) + "}}";
            t.open = open_kind::none;
            t.pending.clear();
            t.fresh = false;
        }
        if (c.lost_before > 0 && c.used == 0) trailing_lost_[c.tid] += c.lost_before;  // marked at the stop
        for (std::size_t i = 0; i < c.used; ++i) convert(c.tid, t, c.records[i]);
        if (out_.size() > (1u << 20)) flush();
    }

    void finish(std::int64_t stop_ns, const std::vector<track>& tracks, std::uint64_t lost,
                const std::vector<std::pair<std::uint32_t, std::uint64_t>>& trailing_lost) {
        for (auto& [tid, t] : tracks_) {
            if (t.open == open_kind::fiber) close_fiber(tid, t, next_ts(t, stop_ns), "trace stop", nullptr);
            if (t.open == open_kind::aux) close_aux(tid, t, next_ts(t, stop_ns), 0);
        }
        // Losses that no later chunk marked: their spot is the end.
        for (const auto& [tid, count] : trailing_lost) trailing_lost_[tid] += count;
        for (const auto& [tid, count] : trailing_lost_) {
            track_state& t = tracks_[tid];
            begin_event("events lost", "goro", 'i', tid, next_ts(t, stop_ns));
            out_ += ",\"s\":\"t\",\"args\":{\"count\":" + std::to_string(count) + "}}";
        }
        begin_meta("process_name", 0);
        out_ += ",\"args\":{\"name\":\"goro\"}}";
        for (const track& tr : tracks) {
            begin_meta("thread_name", tr.tid);
            out_ += ",\"args\":{\"name\":";
            quote(tr.name.c_str());
            out_ += "}}";
            begin_meta("thread_sort_index", tr.tid);
            out_ += ",\"args\":{\"sort_index\":" + std::to_string(tr.tid) + "}}";
        }
        out_ += "\n],\"otherData\":{\"producer\":\"goro execution trace\",\"clock\":\"CLOCK_MONOTONIC\",";
        out_ += "\"start_ns\":" + std::to_string(start_ns_) + ",\"lost_events\":" + std::to_string(lost) +
                ",\"unmatched_flows\":" + std::to_string(flow_starts_.size() + flow_ends_.size()) + "}}\n";
        flush();
        std::fclose(file_);
    }

private:
    enum class open_kind : std::uint8_t { none, fiber, aux };
    struct flow_half {
        std::uint32_t tid;
        std::int64_t ts;
        std::uint64_t fiber;  // the fiber readied
    };
    struct pending_flow {
        bool start;
        std::uint64_t id;
        flow_half half;
    };
    struct track_state {
        std::int64_t last = -1;  // the last timestamp given on this track
        bool fresh = true;       // nothing emitted yet
        open_kind open = open_kind::none;
        std::int64_t start = 0;
        std::uint64_t fiber = 0;
        const char* name = nullptr;
        const char* file = nullptr;
        std::uint32_t line = 0;
        int p = -1;
        std::uint64_t aux_arg = 0;
        // Flow halves inside the open slice: kept only if the slice is
        // written (its end may be lost).
        std::vector<pending_flow> pending;
    };

    // Timestamps on one track strictly increase: slices never overlap and
    // a flow's end lies inside its slice even when two clock reads agree.
    std::int64_t next_ts(track_state& t, std::int64_t ts_ns) {
        std::int64_t rel = ts_ns - start_ns_;
        if (rel < 0) rel = 0;
        if (rel <= t.last) rel = t.last + 1;
        t.last = rel;
        return rel;
    }

    void time(std::int64_t rel_ns) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(rel_ns / 1000),
                      static_cast<long long>(rel_ns % 1000));
        out_ += buf;
    }

    void quote(const char* s) {
        out_ += '"';
        for (; s && *s; ++s) {
            const unsigned char ch = static_cast<unsigned char>(*s);
            if (ch == '"' || ch == '\\') {
                out_ += '\\';
                out_ += static_cast<char>(ch);
            } else if (ch < 0x20) {
                char esc[8];
                std::snprintf(esc, sizeof esc, "\\u%04x", ch);
                out_ += esc;
            } else {
                out_ += static_cast<char>(ch);
            }
        }
        out_ += '"';
    }

    void separate() {
        if (!first_) out_ += ",\n";
        first_ = false;
    }

    void begin_event(const char* name, const char* cat, char ph, std::uint32_t tid, std::int64_t ts) {
        separate();
        out_ += "{\"name\":";
        quote(name);
        out_ += ",\"cat\":\"";
        out_ += cat;
        out_ += "\",\"ph\":\"";
        out_ += ph;
        out_ += "\",\"pid\":" + std::to_string(pid_) + ",\"tid\":" + std::to_string(tid) + ",\"ts\":";
        time(ts);
    }

    void begin_meta(const char* name, std::uint32_t tid) {
        separate();
        out_ += "{\"name\":\"";
        out_ += name;
        out_ += "\",\"ph\":\"M\",\"pid\":" + std::to_string(pid_) + ",\"tid\":" + std::to_string(tid);
    }

    void fiber_args(std::uint64_t fiber, const char* name, const char* file, std::uint32_t line) {
        out_ += "\"fiber\":" + std::to_string(fiber);
        if (name) {
            out_ += ",\"name\":";
            quote(name);
        }
        if (file && *file) {
            const std::string site = std::string(file) + ":" + std::to_string(line);
            out_ += ",\"site\":";
            quote(site.c_str());
        }
    }

    std::string slice_name(std::uint64_t fiber, const char* name) {
        if (name) return name;
        return "fiber " + std::to_string(fiber);
    }

    void close_fiber(std::uint32_t tid, track_state& t, std::int64_t end, const char* stop, const char* reason) {
        const std::string name = slice_name(t.fiber, t.name);
        begin_event(name.c_str(), "fiber", 'X', tid, t.start);
        out_ += ",\"dur\":";
        time(end - t.start);
        out_ += ",\"args\":{";
        fiber_args(t.fiber, t.name, t.file, t.line);
        if (t.p >= 0) out_ += ",\"p\":" + std::to_string(t.p);
        out_ += ",\"stop\":\"";
        out_ += stop;
        out_ += '"';
        if (reason) {
            out_ += ",\"reason\":";
            quote(reason);
        }
        out_ += "}}";
        t.open = open_kind::none;
        commit_flows(t);
    }

    void close_aux(std::uint32_t tid, track_state& t, std::int64_t end, std::uint64_t end_arg) {
        begin_event(t.name, "scheduler", 'X', tid, t.start);
        out_ += ",\"dur\":";
        time(end - t.start);
        out_ += ",\"args\":{";
        bool comma = false;
        if (t.aux_arg) {
            out_ += "\"fiber\":" + std::to_string(t.aux_arg);
            comma = true;
        }
        if (end_arg) {
            if (comma) out_ += ',';
            out_ += "\"readied\":" + std::to_string(end_arg);
        }
        out_ += "}}";
        t.open = open_kind::none;
        commit_flows(t);
    }

    void note_flow(track_state& t, bool start, std::uint64_t id, flow_half h) {
        if (t.open == open_kind::none) {
            start ? flow_start(id, h) : flow_end(id, h);
            return;
        }
        t.pending.push_back({start, id, h});
    }

    void commit_flows(track_state& t) {
        for (const pending_flow& f : t.pending) f.start ? flow_start(f.id, f.half) : flow_end(f.id, f.half);
        t.pending.clear();
    }

    // A stretch of `fiber` that began before the trace did (or before this
    // thread's first record): open it at the trace's start.
    void open_implicit(track_state& t, std::uint64_t fiber) {
        t.open = open_kind::fiber;
        t.start = next_ts(t, start_ns_);
        t.fiber = fiber;
        t.name = nullptr;
        t.file = nullptr;
        t.line = 0;
        t.p = -1;
    }

    // Makes sure a slice encloses an event at ts on this track (a flow's
    // start needs one): the open one, or a short slice of the readier's.
    // Returns the event's timestamp.
    std::int64_t enclose(std::uint32_t tid, track_state& t, const record& r) {
        if (t.open == open_kind::none && t.fresh && r.context != 0) open_implicit(t, r.context);
        t.fresh = false;
        if (t.open != open_kind::none) return next_ts(t, r.ts);
        const std::int64_t start = next_ts(t, r.ts);
        const std::int64_t at = next_ts(t, r.ts);
        const std::int64_t end = next_ts(t, r.ts);
        begin_event(readier_name(r.code), "scheduler", 'X', tid, start);
        out_ += ",\"dur\":";
        time(end - start);
        out_ += ",\"args\":{}}";
        return at;
    }

    void flow_event(char ph, std::uint64_t id, const flow_half& h) {
        begin_event("wakeup", "flow", ph, h.tid, h.ts);
        out_ += ",\"id\":" + std::to_string(id & ((std::uint64_t{1} << 52) - 1));
        if (ph == 'f') out_ += ",\"bp\":\"e\"";
        out_ += ",\"args\":{\"fiber\":" + std::to_string(h.fiber) + "}}";
    }

    void flow_start(std::uint64_t id, flow_half h) {
        auto it = flow_ends_.find(id);
        if (it == flow_ends_.end()) {
            flow_starts_.emplace(id, h);
            return;
        }
        flow_event('s', id, h);
        flow_event('f', id, it->second);
        flow_ends_.erase(it);
    }

    void flow_end(std::uint64_t id, flow_half h) {
        if ((id & ~((std::uint64_t{1} << 52) - 1)) != session_bits(session_)) return;  // an older trace's
        auto it = flow_starts_.find(id);
        if (it == flow_starts_.end()) {
            flow_ends_.emplace(id, h);
            return;
        }
        flow_event('s', id, it->second);
        flow_event('f', id, h);
        flow_starts_.erase(it);
    }

    void convert(std::uint32_t tid, track_state& t, const record& r) {
        switch (r.kind) {
        case record_kind::run_begin: {
            const std::int64_t at = next_ts(t, r.ts);
            if (t.open == open_kind::fiber) close_fiber(tid, t, at, "unknown", nullptr);
            if (t.open == open_kind::aux) close_aux(tid, t, at, 0);
            t.fresh = false;
            t.open = open_kind::fiber;
            t.start = next_ts(t, r.ts);
            t.fiber = r.fiber;
            t.name = r.name;
            t.file = r.file;
            t.line = r.line;
            t.p = static_cast<int>(r.p) - 1;
            if (r.flow) note_flow(t, false, r.flow, {tid, next_ts(t, r.ts), r.fiber});
            break;
        }
        case record_kind::run_end: {
            if (t.open == open_kind::none && t.fresh) open_implicit(t, r.fiber);
            t.fresh = false;
            if (t.open != open_kind::fiber || t.fiber != r.fiber) {
                t.open = open_kind::none;  // its start was lost
                t.pending.clear();
                break;
            }
            const char* reason = nullptr;
            const char* stop = stop_name(r.code, &reason);
            close_fiber(tid, t, next_ts(t, r.ts), stop, reason);
            break;
        }
        case record_kind::ready:
            note_flow(t, true, r.flow, {tid, enclose(tid, t, r), r.fiber});
            break;
        case record_kind::spawn: {
            const std::int64_t at = enclose(tid, t, r);
            begin_event("go", "goro", 'i', tid, at);
            out_ += ",\"s\":\"t\",\"args\":{";
            fiber_args(r.fiber, r.name, r.file, r.line);
            out_ += "}}";
            note_flow(t, true, r.flow, {tid, next_ts(t, r.ts), r.fiber});
            break;
        }
        case record_kind::steal:
            begin_event("steal", "scheduler", 'i', tid, next_ts(t, r.ts));
            out_ += ",\"s\":\"t\",\"args\":{\"fiber\":" + std::to_string(r.fiber) + ",\"from_p\":" +
                    std::to_string(r.arg) + "}}";
            t.fresh = false;
            break;
        case record_kind::scope_enter:
        case record_kind::scope_exit:
            begin_event(r.kind == record_kind::scope_enter ? "blocking_scope enter" : "blocking_scope exit", "goro",
                        'i', tid, next_ts(t, r.ts));
            out_ += ",\"s\":\"t\",\"args\":{\"fiber\":" + std::to_string(r.fiber) + "}}";
            t.fresh = false;
            break;
        case record_kind::aux_begin: {
            const std::int64_t at = next_ts(t, r.ts);
            if (t.open == open_kind::fiber) close_fiber(tid, t, at, "unknown", nullptr);
            if (t.open == open_kind::aux) close_aux(tid, t, at, 0);
            t.fresh = false;
            t.open = open_kind::aux;
            t.start = next_ts(t, r.ts);
            t.name = r.name;
            t.aux_arg = r.arg;
            break;
        }
        case record_kind::aux_end:
            t.fresh = false;
            if (t.open == open_kind::aux) close_aux(tid, t, next_ts(t, r.ts), r.arg);
            break;
        }
    }

    void flush() {
        if (!out_.empty()) std::fwrite(out_.data(), 1, out_.size(), file_);
        out_.clear();
    }

    std::FILE* file_;
    const std::int64_t start_ns_;
    const std::uint64_t session_;
    const long pid_;
    std::string out_;
    bool first_ = true;
    std::unordered_map<std::uint32_t, track_state> tracks_;
    std::unordered_map<std::uint32_t, std::uint64_t> trailing_lost_;  // losses with no chunk after them, per track
    std::unordered_map<std::uint64_t, flow_half> flow_starts_;
    std::unordered_map<std::uint64_t, flow_half> flow_ends_;
};

void writer_main(std::FILE* file, std::int64_t start_ns, std::uint64_t session) noexcept {
    pthread_setname_np(pthread_self(), "goro-trace");
    block_async_signals(nullptr);
    registry& r = reg();
    json_writer w(file, start_ns, session);
    std::vector<chunk*> batch;
    for (;;) {
        bool done = false;
        {
            std::unique_lock<std::mutex> g(r.lock);
            r.wake_writer.wait(g, [&] { return !r.full.empty() || r.writer_stop; });
            batch.assign(r.full.begin(), r.full.end());
            r.full.clear();
            done = r.writer_stop && batch.empty();
        }
        if (done) break;
        try {
            for (chunk* c : batch) w.convert(*c);
        } catch (...) {
            // Out of memory while formatting: the rest of these chunks is lost.
        }
        std::lock_guard<std::mutex> g(r.lock);
        for (chunk* c : batch) r.free_chunks.push_back(c);
        r.free_count.store(r.free_chunks.size(), std::memory_order_relaxed);
    }
    std::vector<track> tracks;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> trailing_lost;
    std::uint64_t lost = 0;
    std::int64_t stop_ns = 0;
    {
        std::lock_guard<std::mutex> g(r.lock);
        tracks = r.tracks;
        trailing_lost.swap(r.trailing_lost);
        lost = r.lost;
        stop_ns = r.stop_ns;
    }
    try {
        w.finish(stop_ns, tracks, lost, trailing_lost);
    } catch (...) {
    }
    note_runtime_thread(-1);
}

// GORO_TRACE_CHUNKS=n: the session's chunks (64 KiB each), 2 to 65536.
std::size_t chunk_count() noexcept {
    if (const char* env = std::getenv("GORO_TRACE_CHUNKS")) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && n >= 2 && n <= 65536) return static_cast<std::size_t>(n);
    }
    return default_chunk_count;
}

// Under control_lock.
bool start_session(const char* path) noexcept {
    if (session_active) return false;
    std::FILE* file = std::fopen(path, "w");
    if (!file) return false;
    registry& r = reg();
    std::uint64_t session = 0;
    std::int64_t start_ns = 0;
    try {
        std::lock_guard<std::mutex> g(r.lock);
        const std::size_t chunks = chunk_count();
        for (std::size_t i = 0; i < chunks; ++i) r.free_chunks.push_back(new chunk);
        r.free_count.store(r.free_chunks.size(), std::memory_order_relaxed);
        r.full.clear();
        r.tracks.clear();
        r.writer_stop = false;
        r.next_thread_tid = first_thread_tid;
        r.lost = 0;
        r.trailing_lost.clear();
        r.start_ns = start_ns = trace_clock();
        session = ++r.session;
        r.session_open = true;
    } catch (...) {
        std::lock_guard<std::mutex> g(r.lock);
        for (chunk* c : r.free_chunks) delete c;
        r.free_chunks.clear();
        std::fclose(file);
        return false;
    }
    note_runtime_thread(1);
    try {
        writer_thread() = std::thread(writer_main, file, start_ns, session);
    } catch (const std::system_error&) {
        note_runtime_thread(-1);
        std::lock_guard<std::mutex> g(r.lock);
        r.session_open = false;
        for (chunk* c : r.free_chunks) delete c;
        r.free_chunks.clear();
        r.free_count.store(0, std::memory_order_relaxed);
        std::fclose(file);
        return false;
    }
    session_file = file;
    session_active = true;
    the_trace_switch.session.store(session, std::memory_order_release);
    the_trace_switch.on.store(true, std::memory_order_release);
    return true;
}

// Under control_lock.
void stop_session() noexcept {
    if (!session_active) return;
    registry& r = reg();
    std::vector<trace_buffer*> buffers;
    {
        std::lock_guard<std::mutex> g(r.lock);
        r.session_open = false;
        the_trace_switch.on.store(false, std::memory_order_seq_cst);
        r.stop_ns = trace_clock();
        buffers = r.all;
    }
    // Each thread's partial chunk, in the order of its full ones (a thread
    // that holds its lock now hands its full chunk on first).
    std::vector<chunk*> harvested;
    harvested.reserve(buffers.size());
    for (trace_buffer* b : buffers) {
        b->lock();
        leave_session_locked(b, &harvested);
        b->unlock();
    }
    {
        std::lock_guard<std::mutex> g(r.lock);
        for (chunk* c : harvested) r.full.push_back(c);
        r.writer_stop = true;
        r.wake_writer.notify_all();
    }
    writer_thread().join();
    std::lock_guard<std::mutex> g(r.lock);
    for (chunk* c : r.free_chunks) delete c;
    r.free_chunks.clear();
    r.free_count.store(0, std::memory_order_relaxed);
    session_file = nullptr;
    session_active = false;
}

}  // namespace

// ------------------------------------------------------------- the hooks

std::int64_t trace_clock() noexcept { return monotonic_now_ns(); }

void trace_run_begin(fiber* f, int p_index) noexcept {
    record r{};
    r.kind = record_kind::run_begin;
    r.p = static_cast<std::uint16_t>(p_index + 1);
    r.ts = trace_clock();
    r.fiber = id_of(f);
    r.flow = f->trace_flow;
    f->trace_flow = 0;
    r.name = f->name.load(std::memory_order_relaxed);
    r.file = f->site_file.load(std::memory_order_relaxed);
    r.line = f->site_line.load(std::memory_order_relaxed);
    append(r);
}

void trace_run_end(std::uint64_t fiber_id, std::uint8_t why) noexcept {
    record r{};
    r.kind = record_kind::run_end;
    r.code = why;
    r.ts = trace_clock();
    r.fiber = fiber_id;
    append(r);
}

void trace_ready(fiber* f) noexcept {
    record r{};
    r.kind = record_kind::ready;
    r.ts = trace_clock();
    r.fiber = id_of(f);
    r.context = context_fiber();
    r.code = static_cast<std::uint8_t>(current_machine() ? this_thread_readier : trace_readier::thread);
    f->trace_flow = append(r);
}

void trace_spawn(fiber* f) noexcept {
    record r{};
    r.kind = record_kind::spawn;
    r.ts = trace_clock();
    r.fiber = id_of(f);
    r.context = context_fiber();
    r.code = static_cast<std::uint8_t>(current_machine() ? this_thread_readier : trace_readier::thread);
    r.name = f->name.load(std::memory_order_relaxed);
    r.file = f->site_file.load(std::memory_order_relaxed);
    r.line = f->site_line.load(std::memory_order_relaxed);
    f->trace_flow = append(r);
}

void trace_steal(fiber* f, int victim_p) noexcept {
    record r{};
    r.kind = record_kind::steal;
    r.ts = trace_clock();
    r.fiber = id_of(f);
    r.arg = static_cast<std::uint64_t>(victim_p);
    append(r);
}

void trace_blocking_scope(bool enter) noexcept {
    record r{};
    r.kind = enter ? record_kind::scope_enter : record_kind::scope_exit;
    r.ts = trace_clock();
    r.fiber = context_fiber();
    append(r);
}

void trace_aux_begin(const char* name, std::int64_t start_ns, std::uint64_t arg) noexcept {
    record r{};
    r.kind = record_kind::aux_begin;
    r.ts = start_ns;
    r.name = name;
    r.arg = arg;
    append(r);
}

void trace_aux_end(std::uint64_t arg) noexcept {
    record r{};
    r.kind = record_kind::aux_end;
    r.ts = trace_clock();
    r.arg = arg;
    append(r);
}

void trace_poll_batch(const char* name, std::int64_t start_ns, fiber** batch, int n) noexcept {
    trace_aux_begin(name, start_ns, 0);
    for (int i = 0; i < n; ++i) trace_ready(batch[i]);
    trace_aux_end(static_cast<std::uint64_t>(n));
}

void trace_set_readier(trace_readier r) noexcept { this_thread_readier = r; }

void trace_run_started() noexcept {
    const char* path = std::getenv("GORO_TRACE");
    if (!path || !*path) return;
    std::lock_guard<std::mutex> g(control_lock());
    if (!start_session(path)) {
        std::fprintf(stderr, "goro: GORO_TRACE=%s: cannot start the trace: %s\n", path, std::strerror(errno));
    }
}

void trace_run_ending() noexcept {
    std::lock_guard<std::mutex> g(control_lock());
    stop_session();
}

}  // namespace goro::detail

namespace goro {

bool trace_start(const std::string& path) {
    detail::plain_thread_scope scope;  // a trace belongs to a running runtime
    if (!scope.sched) return false;
    std::lock_guard<std::mutex> g(detail::control_lock());
    return detail::start_session(path.c_str());
}

void trace_stop() {
    // Joining the writer may take a while (it writes what is left): let
    // the caller's P go meanwhile, as a blocking_scope does.
    blocking_scope guard;
    std::lock_guard<std::mutex> g(detail::control_lock());
    detail::stop_session();
}

bool trace_running() noexcept { return detail::trace_on(); }

}  // namespace goro
