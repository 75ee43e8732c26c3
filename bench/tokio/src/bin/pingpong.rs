//! pingpong: two tasks, two channels of capacity 1 (Go's unbuffered
//! channels, BENCHMARKS.md), n round trips. Prints ns per round trip.
//! Go counterpart: bench/go/pingpong/main.go.
//!
//! Usage: pingpong [n]   (default 1,000,000)
use std::time::Instant;
use tokio::sync::mpsc;

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    tokio_bench::runtime().block_on(async move {
        let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
        let start = Instant::now();
        let a = tokio::spawn(async move {
            let mut wrong = 0u64;
            for i in 0..n {
                ping_tx.send(i).await.unwrap();
                if pong_rx.recv().await.unwrap() != i {
                    wrong += 1;
                }
            }
            wrong
        });
        let b = tokio::spawn(async move {
            for _ in 0..n {
                let v = ping_rx.recv().await.unwrap();
                pong_tx.send(v).await.unwrap();
            }
        });
        let wrong = a.await.unwrap();
        b.await.unwrap();
        let ns = tokio_bench::ns_since(start);
        if wrong != 0 {
            eprintln!("pingpong: {} of {} values came back wrong", wrong, n);
            std::process::exit(1);
        }
        println!("pingpong {:.1} ns/roundtrip", ns / n as f64);
    });
}
