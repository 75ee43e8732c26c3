// search_timeout: "Go Concurrency Patterns" in miniature. Three fake search
// backends answer after random delays; each query goes to replicas of every
// backend, takes the first reply per backend, and gives up on whatever has
// not answered when the request's context times out. Shows select over
// results and ctx.done(), replicas racing on one channel, goro::after, and
// cancellation reaching fibers that are still working.
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

struct result {
    std::string backend;
    std::string text;
};

// One replica of a backend: works for a random time, unless the request is
// cancelled first, then offers its result (only the first replica's is taken:
// the channel has room for one, the others give up via default).
void replica(goro::context ctx, std::string backend, int replica_no, std::chrono::milliseconds work,
             goro::chan<result> replies) {
    switch (goro::select(goro::recv(goro::after(work)), goro::recv(ctx.done()))) {
        case 0:
            goro::select(goro::send(replies, result{backend, backend + " result from replica " +
                                                                 std::to_string(replica_no)}),
                         goro::default_case());
            break;
        case 1:
            std::printf("  %s replica %d: cancelled (%s)\n", backend.c_str(), replica_no,
                        ctx.err().message().c_str());
            break;
    }
}

int main() {
    return goro::run([] {
        std::mt19937 rng{std::random_device{}()};
        std::uniform_int_distribution<int> work_ms(5, 120);
        const std::vector<std::string> backends = {"web", "image", "video"};
        for (int query = 1; query <= 3; ++query) {
            std::printf("query %d:\n", query);
            auto [ctx, cancel] = goro::with_timeout(goro::background(), 80ms);
            std::vector<goro::chan<result>> replies;
            for (const auto& b : backends) {
                replies.push_back(goro::make_chan<result>(1));
                for (int r = 1; r <= 2; ++r) goro::go(replica, ctx, b, r, std::chrono::milliseconds(work_ms(rng)), replies.back());
            }
            // Collect one reply per backend, or stop at the deadline.
            std::vector<goro::select_case> cases;
            result got;
            for (auto& c : replies) cases.emplace_back(goro::recv(c, got));
            cases.emplace_back(goro::recv(ctx.done()));
            for (std::size_t answered = 0; answered < backends.size();) {
                const int i = goro::select(cases);
                if (i == static_cast<int>(backends.size())) {
                    std::printf("  timed out: %s\n", ctx.err().message().c_str());
                    break;
                }
                std::printf("  %s\n", got.text.c_str());
                cases[static_cast<std::size_t>(i)] = goro::recv(goro::chan<result>{});  // answered: never again
                ++answered;
            }
            cancel();                    // tell the replicas still working to stop
            goro::sleep_for(10ms);       // let their goodbyes print before the next query
        }
    });
}
