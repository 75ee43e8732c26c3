//! buffered: one producer sends 0 .. n-1 on a channel of capacity 1024
//! (tokio::sync::mpsc::channel(1024)) and closes it by dropping its sender;
//! one consumer receives until the channel is closed. Verifies the count and
//! the sum; prints the wall time per item.
//! Go counterpart: bench/go/buffered/main.go; goro's: bench/goro/buffered.cpp.
//!
//! The two tasks are joined by awaiting their JoinHandles (the consumer's
//! returns its tally), Go's wait group for two.
//!
//! Usage: buffered [n]   (default n = 10,000,000; BENCH_WORKERS sets the workers)
use std::time::Instant;
use tokio::sync::mpsc;

fn main() {
    let n = tokio_bench::arg_n(10_000_000);
    tokio_bench::run(async move {
        let (tx, mut rx) = mpsc::channel::<u64>(1024);
        let start = Instant::now();
        let producer = tokio::spawn(async move {
            for i in 0..n {
                tx.send(i).await.expect("the consumer is alive");
            }
            // Dropping the only sender closes the channel.
        });
        let consumer = tokio::spawn(async move {
            let (mut count, mut sum) = (0u64, 0u64);
            while let Some(v) = rx.recv().await {
                count += 1;
                sum += v;
            }
            (count, sum)
        });
        producer.await.expect("the producer panicked");
        let (count, sum) = consumer.await.expect("the consumer panicked");
        let ns = tokio_bench::ns_since(start);

        let want = n * n.saturating_sub(1) / 2;
        if count != n || sum != want {
            eprintln!(
                "buffered: received {} items summing to {}, want {} summing to {}",
                count, sum, n, want
            );
            std::process::exit(1);
        }
        println!("buffered {:.1} ns/item", ns / n as f64);
    });
}
