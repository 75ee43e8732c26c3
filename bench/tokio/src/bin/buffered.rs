//! buffered: one producer, one consumer, a channel of capacity 1024. Prints
//! ns per item. Go counterpart: bench/go/buffered/main.go.
//!
//! Usage: buffered [n]   (default 10,000,000)
use std::time::Instant;
use tokio::sync::mpsc;

fn main() {
    let n = tokio_bench::arg_n(10_000_000);
    tokio_bench::runtime().block_on(async move {
        let (tx, mut rx) = mpsc::channel::<u64>(1024);
        let start = Instant::now();
        let producer = tokio::spawn(async move {
            for i in 0..n {
                tx.send(i).await.unwrap();
            }
            // Dropping the last sender closes the channel.
        });
        let consumer = tokio::spawn(async move {
            let (mut count, mut sum) = (0u64, 0u64);
            while let Some(v) = rx.recv().await {
                count += 1;
                sum += v;
            }
            (count, sum)
        });
        producer.await.unwrap();
        let (count, sum) = consumer.await.unwrap();
        let ns = tokio_bench::ns_since(start);
        let want = n * n.saturating_sub(1) / 2;
        if count != n || sum != want {
            eprintln!("buffered: received {} items summing to {}, want {} summing to {}", count, sum, n, want);
            std::process::exit(1);
        }
        println!("buffered {:.1} ns/item", ns / n as f64);
    });
}
