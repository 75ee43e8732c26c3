// kv_server: an in-memory key-value server speaking the Redis protocol (RESP2),
// one fiber per connection, so redis-cli and redis-benchmark work unchanged.
// Commands: PING, ECHO, GET, SET (EX, PX, NX, XX, KEEPTTL), DEL, EXISTS, INCR,
// DECR, MGET, MSET, EXPIRE, TTL, PTTL, DBSIZE, FLUSHALL, QUIT, and as much of
// COMMAND and CONFIG GET as the tools ask for when they start.
//
//   kv_server --listen 127.0.0.1:0        # prints where it listens: 127.0.0.1:40123
//   redis-cli -p 40123 set greeting hello
//   redis-benchmark -p 40123 -t set,get -q
//   printf 'PING\r\n' | nc -q1 127.0.0.1 40123   # inline commands work too
//
// Keys live in sharded hash maps, each shard guarded by a goro::mutex that is
// never held across I/O. All the commands found in one read are answered in
// order with one write (pipelining). A key with a deadline expires when it is
// touched, or when a sweeper fiber finds it. SIGINT or SIGTERM closes the
// listener and every connection, waits for their fibers and exits with 0.
// The listening and the shutdown, shared by the example servers, are in
// server.hpp.
#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <goro/goro.hpp>

#include "resp.hpp"    // request_reader: the RESP2 and inline-command parser
#include "server.hpp"  // the listen / accept / shut-down skeleton the example servers share

using namespace std::chrono_literals;

namespace {

using example::parse_integer;
using example::request_reader;

constexpr std::int64_t never = INT64_MAX;  // the deadline of a key that does not expire

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

// ---------------------------------------------------------------- replies (RESP2)

void reply_header(std::string& out, char type, long long n) {  // ":42", "*3", "$5"
    char digits[24];
    out += type;
    out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr).append("\r\n");
}
void reply_integer(std::string& out, long long n) { reply_header(out, ':', n); }
void reply_array(std::string& out, std::size_t n) { reply_header(out, '*', static_cast<long long>(n)); }
void reply_nil(std::string& out) { out += "$-1\r\n"; }
void reply_status(std::string& out, std::string_view s) { out.append("+").append(s).append("\r\n"); }
void reply_bulk(std::string& out, std::string_view s) {
    reply_header(out, '$', static_cast<long long>(s.size()));
    out.append(s).append("\r\n");
}
// Error text may quote the client's bytes; a line break in it would end the reply early.
void reply_error(std::string& out, std::string_view text) {
    const std::size_t from = out.size() + 5;
    out.append("-ERR ").append(text);
    std::replace_if(out.begin() + static_cast<std::ptrdiff_t>(from), out.end(),
                    [](char c) { return c == '\r' || c == '\n'; }, ' ');
    out += "\r\n";
}

// ---------------------------------------------------------------- the key space

struct entry {
    std::string value;
    std::int64_t expires_at = never;  // steady-clock milliseconds
};

struct key_hash {
    using is_transparent = void;  // lets find() take a string_view: no std::string built per lookup
    std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
};

struct alignas(64) shard {  // a cache line each, so two workers' locks do not share one
    goro::mutex lock;
    std::unordered_map<std::string, entry, key_hash, std::equal_to<>> keys;
    std::size_t sweep_cursor = 0;  // the bucket the sweeper looks at next

    static bool expired(const entry& e) { return e.expires_at != never && e.expires_at <= now_ms(); }

    // The key's entry, or null if there is none or it has expired (then it is erased).
    entry* find(std::string_view key) {
        auto it = keys.find(key);
        if (it == keys.end()) return nullptr;
        if (!expired(it->second)) return &it->second;
        keys.erase(it);
        return nullptr;
    }
    // True if the key was there and alive.
    bool erase(std::string_view key) {
        auto it = keys.find(key);
        if (it == keys.end()) return false;
        const bool alive = !expired(it->second);
        keys.erase(it);
        return alive;
    }
    entry& insert(std::string_view key) { return keys.emplace(std::string(key), entry{}).first->second; }
};

class keyspace {
public:
    static constexpr std::size_t shard_count = 16;

    std::size_t shard_index(std::string_view key) const { return (key_hash{}(key) >> 7) % shard_count; }
    shard& shard_for(std::string_view key) { return shards_[shard_index(key)]; }

    // Locks the shards of several keys (every stride-th of `keys`) in index
    // order, so multi-key commands are atomic and cannot deadlock each other.
    class multi_lock {
    public:
        multi_lock(keyspace& db, std::span<const std::string_view> keys, std::size_t stride) : db_(db) {
            for (std::size_t i = 0; i < keys.size(); i += stride) mask_ |= 1u << db.shard_index(keys[i]);
            for (std::size_t i = 0; i < shard_count; ++i)
                if (mask_ >> i & 1) db_.shards_[i].lock.lock();
        }
        ~multi_lock() {
            for (std::size_t i = 0; i < shard_count; ++i)
                if (mask_ >> i & 1) db_.shards_[i].lock.unlock();
        }
        multi_lock(const multi_lock&) = delete;
        multi_lock& operator=(const multi_lock&) = delete;

    private:
        keyspace& db_;
        std::uint32_t mask_ = 0;
    };

    std::size_t size() {  // like Redis, counts expired keys not yet swept
        std::size_t total = 0;
        for (shard& s : shards_) {
            std::lock_guard hold(s.lock);
            total += s.keys.size();
        }
        return total;
    }

    void clear() {
        for (shard& s : shards_) {
            decltype(s.keys) doomed;  // freed at the end of this iteration, outside the lock
            std::lock_guard hold(s.lock);
            doomed.swap(s.keys);
        }
    }

    // Drops the expired keys in the next `budget` buckets of each shard.
    void sweep_expired(std::size_t budget) {
        std::vector<std::string_view> expired;
        for (shard& s : shards_) {
            std::lock_guard hold(s.lock);
            const std::int64_t now = now_ms();
            const std::size_t buckets = s.keys.bucket_count();
            s.sweep_cursor %= buckets;  // the table may have been resized since
            for (std::size_t n = 0; n < std::min(budget, buckets); ++n) {
                const std::size_t bucket = s.sweep_cursor;
                s.sweep_cursor = (bucket + 1) % buckets;
                for (auto it = s.keys.begin(bucket); it != s.keys.end(bucket); ++it)
                    if (it->second.expires_at <= now) expired.push_back(it->first);
            }
            for (std::string_view key : expired) s.keys.erase(s.keys.find(key));  // erasing keeps other keys' views valid
            expired.clear();
        }
    }

private:
    std::array<shard, shard_count> shards_;
};

// ---------------------------------------------------------------- commands

// One command being run: its words (the name first) and where its reply goes.
struct call {
    keyspace& db;
    std::span<const std::string_view> args;
    std::string& out;
    bool close_after_reply = false;
};

// The deadline `amount` seconds (or milliseconds) from now; false where Redis
// would call it an invalid expire time (it would overflow).
bool deadline_after(long long amount, bool seconds, std::int64_t& deadline) {
    if (seconds && (amount > LLONG_MAX / 1000 || amount < LLONG_MIN / 1000)) return false;
    if (seconds) amount *= 1000;
    const std::int64_t now = now_ms();
    if (amount > LLONG_MAX - now) return false;
    deadline = now + amount;
    return true;
}

void cmd_get(call& c) {
    shard& s = c.db.shard_for(c.args[1]);
    std::lock_guard hold(s.lock);
    if (entry* e = s.find(c.args[1])) reply_bulk(c.out, e->value);
    else reply_nil(c.out);
}

// SET key value [NX|XX] [EX seconds|PX milliseconds|KEEPTTL], with Redis's
// option rules: all syntax errors are found before the number is read.
void cmd_set(call& c) {
    bool nx = false, xx = false, keep_ttl = false;
    char unit = 0;  // 's' after EX, 'm' after PX
    std::string_view amount;
    for (std::size_t i = 3; i < c.args.size(); ++i) {
        const std::string_view opt = c.args[i];
        const bool has_value = i + 1 < c.args.size();
        if (equals_ignoring_case(opt, "nx") && !xx) nx = true;
        else if (equals_ignoring_case(opt, "xx") && !nx) xx = true;
        else if (equals_ignoring_case(opt, "keepttl") && unit == 0) keep_ttl = true;
        else if (equals_ignoring_case(opt, "ex") && !keep_ttl && unit != 'm' && has_value) unit = 's', amount = c.args[++i];
        else if (equals_ignoring_case(opt, "px") && !keep_ttl && unit != 's' && has_value) unit = 'm', amount = c.args[++i];
        else return reply_error(c.out, "syntax error");
    }
    std::int64_t deadline = never;
    long long n = 0;
    if (unit != 0 && !parse_integer(amount, n)) return reply_error(c.out, "value is not an integer or out of range");
    if (unit != 0 && (n <= 0 || !deadline_after(n, unit == 's', deadline)))
        return reply_error(c.out, "invalid expire time in 'set' command");

    shard& s = c.db.shard_for(c.args[1]);
    std::lock_guard hold(s.lock);
    entry* e = s.find(c.args[1]);
    if ((nx && e) || (xx && !e)) return reply_nil(c.out);
    if (!e) e = &s.insert(c.args[1]);
    e->value.assign(c.args[2]);  // overwriting reuses the old value's memory
    if (!keep_ttl) e->expires_at = deadline;
    reply_status(c.out, "OK");
}

// INCR and DECR: the value must read as an integer; the key keeps its deadline.
void add_to_integer(call& c, long long delta) {
    shard& s = c.db.shard_for(c.args[1]);
    std::lock_guard hold(s.lock);
    entry* e = s.find(c.args[1]);
    long long value = 0;
    if (e && !parse_integer(e->value, value)) return reply_error(c.out, "value is not an integer or out of range");
    if ((delta < 0 && value == LLONG_MIN) || (delta > 0 && value == LLONG_MAX))
        return reply_error(c.out, "increment or decrement would overflow");
    value += delta;
    if (!e) e = &s.insert(c.args[1]);
    char digits[24];
    e->value.assign(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
    reply_integer(c.out, value);
}
void cmd_incr(call& c) { add_to_integer(c, 1); }
void cmd_decr(call& c) { add_to_integer(c, -1); }

void cmd_mget(call& c) {
    const auto keys = c.args.subspan(1);
    keyspace::multi_lock hold(c.db, keys, 1);
    reply_array(c.out, keys.size());
    for (std::string_view key : keys) {
        if (entry* e = c.db.shard_for(key).find(key)) reply_bulk(c.out, e->value);
        else reply_nil(c.out);
    }
}

void cmd_mset(call& c) {
    if (c.args.size() % 2 == 0) return reply_error(c.out, "wrong number of arguments for 'mset' command");
    const auto pairs = c.args.subspan(1);
    keyspace::multi_lock hold(c.db, pairs, 2);
    for (std::size_t i = 0; i < pairs.size(); i += 2) {
        shard& s = c.db.shard_for(pairs[i]);
        entry* e = s.find(pairs[i]);
        if (!e) e = &s.insert(pairs[i]);
        e->value.assign(pairs[i + 1]);
        e->expires_at = never;
    }
    reply_status(c.out, "OK");
}

void cmd_del(call& c) {
    const auto keys = c.args.subspan(1);
    keyspace::multi_lock hold(c.db, keys, 1);
    long long removed = 0;
    for (std::string_view key : keys) removed += c.db.shard_for(key).erase(key);
    reply_integer(c.out, removed);
}

void cmd_exists(call& c) {  // a key named twice counts twice, as in Redis
    const auto keys = c.args.subspan(1);
    keyspace::multi_lock hold(c.db, keys, 1);
    long long found = 0;
    for (std::string_view key : keys) found += c.db.shard_for(key).find(key) != nullptr;
    reply_integer(c.out, found);
}

void cmd_expire(call& c) {
    long long seconds;
    std::int64_t deadline;
    if (!parse_integer(c.args[2], seconds)) return reply_error(c.out, "value is not an integer or out of range");
    if (!deadline_after(seconds, true, deadline)) return reply_error(c.out, "invalid expire time in 'expire' command");
    shard& s = c.db.shard_for(c.args[1]);
    std::lock_guard hold(s.lock);
    entry* e = s.find(c.args[1]);
    if (!e) return reply_integer(c.out, 0);
    if (deadline <= now_ms()) s.erase(c.args[1]);  // a deadline in the past deletes the key
    else e->expires_at = deadline;
    reply_integer(c.out, 1);
}

// TTL and PTTL: -2 for a missing key, -1 for one that does not expire.
void reply_time_to_live(call& c, bool in_seconds) {
    shard& s = c.db.shard_for(c.args[1]);
    std::lock_guard hold(s.lock);
    const entry* e = s.find(c.args[1]);
    if (!e || e->expires_at == never) return reply_integer(c.out, e ? -1 : -2);
    const long long left = std::max<long long>(0, e->expires_at - now_ms());
    reply_integer(c.out, in_seconds ? (left + 500) / 1000 : left);  // rounded, as Redis does
}
void cmd_ttl(call& c) { reply_time_to_live(c, true); }
void cmd_pttl(call& c) { reply_time_to_live(c, false); }

void cmd_ping(call& c) {
    if (c.args.size() > 2) reply_error(c.out, "wrong number of arguments for 'ping' command");
    else if (c.args.size() == 2) reply_bulk(c.out, c.args[1]);
    else reply_status(c.out, "PONG");
}
void cmd_echo(call& c) { reply_bulk(c.out, c.args[1]); }
void cmd_dbsize(call& c) { reply_integer(c.out, static_cast<long long>(c.db.size())); }
void cmd_flushall(call& c) {  // FLUSHALL [SYNC|ASYNC]: both flush at once here
    if (c.args.size() > 2 ||
        (c.args.size() == 2 && !equals_ignoring_case(c.args[1], "sync") && !equals_ignoring_case(c.args[1], "async")))
        return reply_error(c.out, "syntax error");
    c.db.clear();
    reply_status(c.out, "OK");
}
void cmd_quit(call& c) {
    reply_status(c.out, "OK");
    c.close_after_reply = true;
}
// redis-cli asks for COMMAND DOCS to show hints; an empty array means "none".
void cmd_command(call& c) { reply_array(c.out, 0); }
// redis-benchmark asks for "save" and "appendonly" and warns unless it gets a
// name/value pair back; other parameters are unknown (an empty array, as Redis).
void cmd_config(call& c) {
    if (!equals_ignoring_case(c.args[1], "get"))
        return reply_error(c.out, "unknown subcommand '" + std::string(c.args[1].substr(0, 128)) + "'. Try CONFIG HELP.");
    if (c.args.size() < 3) return reply_error(c.out, "wrong number of arguments for 'config|get' command");
    static constexpr std::pair<std::string_view, std::string_view> known[] = {{"save", ""}, {"appendonly", "no"}};
    std::vector<std::pair<std::string_view, std::string_view>> found;
    for (std::string_view name : c.args.subspan(2))
        for (const auto& parameter : known)
            if (equals_ignoring_case(name, parameter.first)) found.push_back(parameter);
    reply_array(c.out, 2 * found.size());
    for (const auto& [name, value] : found) {
        reply_bulk(c.out, name);
        reply_bulk(c.out, value);
    }
}

struct command {
    std::string_view name;  // lower case, as error messages print it
    int arity;              // as Redis counts: n means exactly n words, -n at least n
    void (*run)(call&);
};

constexpr command commands[] = {  // the busiest first: lookup is a linear scan
    {"get", 2, cmd_get},        {"set", -3, cmd_set},         {"mget", -2, cmd_mget},      {"mset", -3, cmd_mset},
    {"del", -2, cmd_del},       {"exists", -2, cmd_exists},   {"incr", 2, cmd_incr},       {"decr", 2, cmd_decr},
    {"expire", 3, cmd_expire},  {"ttl", 2, cmd_ttl},          {"pttl", 2, cmd_pttl},       {"ping", -1, cmd_ping},
    {"echo", 2, cmd_echo},      {"dbsize", 1, cmd_dbsize},    {"flushall", -1, cmd_flushall},
    {"quit", -1, cmd_quit},     {"command", -1, cmd_command}, {"config", -2, cmd_config},
};

void execute(call& c) {
    const std::string_view name = c.args[0];
    const command* cmd = std::find_if(std::begin(commands), std::end(commands),
                                      [&](const command& k) { return equals_ignoring_case(k.name, name); });
    if (cmd == std::end(commands)) {
        std::string quoted;  // Redis quotes the first arguments, about 128 bytes of them
        for (std::size_t i = 1; i < c.args.size() && quoted.size() < 128; ++i)
            quoted.append("'").append(c.args[i].substr(0, 128 - quoted.size())).append("' ");
        return reply_error(c.out, "unknown command '" + std::string(name.substr(0, 128)) +
                                      "', with args beginning with: " + quoted);
    }
    const std::size_t words = c.args.size(), arity = static_cast<std::size_t>(std::abs(cmd->arity));
    if (cmd->arity > 0 ? words != arity : words < arity)
        return reply_error(c.out, "wrong number of arguments for '" + std::string(cmd->name) + "' command");
    cmd->run(c);
}

// ---------------------------------------------------------------- connections

// Answers commands until the client leaves, misbehaves or is closed on us.
void serve(goro::net::conn& conn, keyspace& db) {
    request_reader reader;
    std::vector<std::string_view> words;
    std::string out, error;
    std::error_code ec;
    for (bool closing = false; !closing;) {
        const std::span<char> room = reader.room();
        const std::size_t n = conn.read(room.data(), room.size(), ec);
        if (ec || n == 0) return;
        reader.filled(n);
        for (;;) {  // every complete command read so far, in order
            const auto result = reader.next(words, error);
            if (result == request_reader::result::need_more) break;
            if (result == request_reader::result::malformed) {
                reply_error(out, error);
                closing = true;
                break;
            }
            call c{db, words, out};
            execute(c);
            if (c.close_after_reply) {
                closing = true;
                break;
            }
        }
        if (out.empty()) continue;
        conn.write(out, ec);  // this batch's replies, all in one write
        if (ec) return;
        out.clear();
        if (out.capacity() > (1 << 20)) std::string().swap(out);  // do not keep a huge reply's memory
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen_address = "127.0.0.1:6379";
    if (!example::parse_flags(argc, argv, listen_address)) return 2;

    return goro::run([&] {
        keyspace db;
        auto stop_sweeping = goro::make_chan<int>();
        goro::wait_group sweeper;
        sweeper.add(1);
        goro::go([&] {  // drops the expired keys nobody asks for
            auto tick = goro::tick(100ms);
            while (goro::select(goro::recv(tick), goro::recv(stop_sweeping)) == 0) db.sweep_expired(1024);
            sweeper.done();
        });

        const int status = example::serve_until_signal("kv_server", listen_address, [&db](goro::net::conn& conn) {
            try {
                serve(conn, db);
            } catch (const std::bad_alloc&) {  // a huge request or value: drop this client, not the server
                std::fprintf(stderr, "kv_server: out of memory, closing a connection\n");
            }
        });

        stop_sweeping.close();
        sweeper.wait();
        return status;
    });
}
