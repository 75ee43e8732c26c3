// port_checksums: a Go pipeline ported construct for construct; docs/porting.md
// sets the two side by side. Inputs go down a channel to four workers that
// checksum them under an errgroup; the first failure cancels the rest and
// comes back out of wait(). The inputs are generated, standing in for files.
//
// It runs the pipeline twice: once over good inputs (each sum is checked
// against a plain loop) and once with an unreadable input in the middle (the
// failure must come back and no fiber may be left behind).
#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <goro/goro.hpp>

namespace {

struct result {
    std::string name;
    std::uint32_t sum = 0;
};

// Go's `defer f()`: C++ runs it from a destructor, on return and on throw.
template <class F>
struct deferred {
    F f;
    ~deferred() { f(); }
};
template <class F>
deferred(F) -> deferred<F>;

// FNV-1a over content made from the name: the stand-in for reading a file.
// An input named "unreadable..." fails as a file that cannot be opened.
std::uint32_t checksum(const std::string& name) {
    if (name.rfind("unreadable", 0) == 0) throw std::runtime_error("open " + name + ": permission denied");
    std::uint32_t h = 2166136261u;
    const std::size_t size = 4096 + name.size() * 97;
    for (std::size_t i = 0; i < size; ++i) {
        h ^= static_cast<unsigned char>(name[i % name.size()] + i);
        h *= 16777619u;
    }
    return h;
}

// func walk(ctx context.Context, names []string, out chan<- string) error
void walk(const goro::context& ctx, const std::vector<std::string>& names, goro::send_chan<std::string> out) {
    for (const std::string& name : names) {
        // select { case out <- name: case <-ctx.Done(): return ctx.Err() }
        if (goro::select(goro::send(out, name), goro::recv(ctx.done())) == 1) throw std::system_error(ctx.err());
    }
}

// func digest(ctx context.Context, in <-chan string, out chan<- result) error
void digest(const goro::context& ctx, goro::recv_chan<std::string> in, goro::send_chan<result> out) {
    for (std::string name : in) {
        result r{name, checksum(name)};
        if (goro::select(goro::send(out, std::move(r)), goro::recv(ctx.done())) == 1)
            throw std::system_error(ctx.err());
    }
}

// func checksumAll(ctx context.Context, names []string) (map[string]uint32, error)
std::map<std::string, std::uint32_t> checksum_all(const goro::context& parent, const std::vector<std::string>& names) {
    goro::errgroup g(parent);  // g, ctx := errgroup.WithContext(parent)
    const goro::context ctx = g.context();

    auto paths = goro::make_chan<std::string>();
    // Captures by value: a channel is a reference, and ctx is a handle. Only
    // `names` is taken by reference, and it outlives g.wait() below.
    g.go([ctx, &names, paths] {
        deferred close_paths{[paths] { paths.close(); }};  // defer close(paths)
        walk(ctx, names, paths);
    });

    auto results = goro::make_chan<result>();
    constexpr int digesters = 4;
    for (int i = 0; i < digesters; ++i) g.go([ctx, paths, results] { digest(ctx, paths, results); });
    // go func() { g.Wait(); close(results) }(): the range below ends once
    // every function of g has returned, failed or not.
    goro::go([&g, results] {
        try {
            g.wait();
        } catch (...) {
            // Only the range is ended here; the caller's g.wait() rethrows it.
        }
        results.close();
    });

    std::map<std::string, std::uint32_t> sums;
    for (result r : results) sums[r.name] = r.sum;
    g.wait();  // if err := g.Wait(); err != nil { return nil, err }
    return sums;
}

std::vector<std::string> make_names(int n, int unreadable_at) {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s-%03d", i == unreadable_at ? "unreadable" : "input", i);
        names.emplace_back(buf);
    }
    return names;
}

}  // namespace

int main() {
    return goro::run([]() -> int {
        // ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
        // would go here in a command-line tool; the background is enough.
        const goro::context ctx = goro::background();

        const std::vector<std::string> names = make_names(64, -1);
        const auto sums = checksum_all(ctx, names);
        int wrong = 0;
        for (const std::string& name : names) {
            auto it = sums.find(name);
            if (it == sums.end() || it->second != checksum(name)) ++wrong;
        }
        std::printf("checksummed %zu inputs: %d wrong\n", sums.size(), wrong);
        if (sums.size() != names.size() || wrong != 0) return 1;

        try {
            checksum_all(ctx, make_names(64, 20));
            std::printf("the unreadable input was not reported\n");
            return 1;
        } catch (const std::runtime_error& e) {
            std::printf("failed as it should: %s\n", e.what());
        }
        // Every fiber of both pipelines has finished: only main is left.
        for (int i = 0; i < 1000 && goro::num_fibers() > 1; ++i) goro::sleep_for(std::chrono::milliseconds(1));
        std::printf("fibers left: %zu\n", goro::num_fibers());
        return goro::num_fibers() == 1 ? 0 : 1;
    });
}
