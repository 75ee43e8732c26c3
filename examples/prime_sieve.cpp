// prime_sieve: the concurrent prime sieve from Go's tour, one fiber per prime.
// A generator sends 2, 3, 4, ... down a chain of filters; each filter holds
// one prime, drops its multiples and passes everything else on. Every number
// that reaches the end of the chain is the next prime, and gets a filter of
// its own.
//
// Usage: prime_sieve [n]   (prints the first n primes, default 25)
#include <cstdio>
#include <cstdlib>

#include <goro/goro.hpp>

// Sends 2, 3, 4, ... on out, forever (the fiber is abandoned when main returns).
void generate(goro::chan<int> out) {
    for (int i = 2;; ++i) out.send(i);
}

// Copies the values from in to out, dropping multiples of prime.
void filter(goro::chan<int> in, goro::chan<int> out, int prime) {
    for (int v : in)
        if (v % prime != 0) out.send(v);
}

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 25;
    return goro::run([n] {
        auto numbers = goro::make_chan<int>();
        goro::go(generate, numbers);
        for (int i = 0; i < n; ++i) {
            const int prime = *numbers.recv();
            std::printf("%d\n", prime);
            auto rest = goro::make_chan<int>();
            goro::go(filter, numbers, rest, prime);
            numbers = rest;
        }
    });
}
