//! yield: two tasks each yield n times (tokio::task::yield_now). Prints ns
//! per switch (total / 2n). Go counterpart: bench/go/yield/main.go.
//!
//! Usage: yield [n]   (default 1,000,000)
use std::time::Instant;

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    tokio_bench::runtime().block_on(async move {
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
            t.await.unwrap();
        }
        println!("yield {:.1} ns/switch", tokio_bench::ns_since(start) / (2 * n) as f64);
    });
}
