//! yield: two tasks each call tokio::task::yield_now() n times; prints the
//! wall time per switch, total / 2n.
//! Go counterpart: bench/go/yield/main.go; goro's: bench/goro/yield.cpp.
//!
//! In Tokio 1.24 a yielded task is not requeued at once: its wake-up is
//! deferred until its worker next parks (having run out of other tasks, or
//! for its periodic poll of the I/O and timer drivers), with a zero timeout.
//! The two tasks are joined by awaiting their JoinHandles, Go's wait group
//! for two.
//!
//! Usage: yield [n]   (default n = 1,000,000; BENCH_WORKERS sets the workers)
use std::time::Instant;

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    tokio_bench::run(async move {
        let start = Instant::now();
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                tokio::spawn(async move {
                    for _ in 0..n {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("a yielding task panicked");
        }
        let ns = tokio_bench::ns_since(start);
        println!("yield {:.1} ns/switch", ns / (2 * n) as f64);
    });
}
