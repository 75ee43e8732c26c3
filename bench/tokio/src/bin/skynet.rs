//! skynet: a 10-ary tree of tasks down to n leaves; each leaf sends its
//! ordinal, each parent sums its 10 children from one channel and sends the
//! sum up. Go's unbuffered channel is mpsc::channel(1) (BENCHMARKS.md).
//! Go counterpart: bench/go/skynet/main.go.
//!
//! Usage: skynet [n]   (a power of 10; default 1,000,000)
use std::time::Instant;
use tokio::sync::mpsc;

const FANOUT: u64 = 10;

fn skynet(parent: mpsc::Sender<u64>, num: u64, size: u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async move {
        if size == 1 {
            parent.send(num).await.unwrap();
            return;
        }
        let (tx, mut rx) = mpsc::channel(1);
        let child = size / FANOUT;
        for i in 0..FANOUT {
            tokio::spawn(skynet(tx.clone(), num + i * child, child));
        }
        drop(tx);
        let mut sum = 0;
        for _ in 0..FANOUT {
            sum += rx.recv().await.unwrap();
        }
        parent.send(sum).await.unwrap();
    })
}

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    let mut leaves = 1;
    while leaves < n {
        leaves *= FANOUT;
    }
    if n < 1 || leaves != n {
        eprintln!("skynet: n must be a power of 10, not {}", n);
        std::process::exit(2);
    }
    tokio_bench::runtime().block_on(async move {
        tokio::spawn(async move {
            let (tx, mut rx) = mpsc::channel(1);
            let start = Instant::now();
            tokio::spawn(skynet(tx, 0, n));
            let sum = rx.recv().await.unwrap();
            let ns = tokio_bench::ns_since(start);
            if sum != n * (n - 1) / 2 {
                eprintln!("skynet: sum is {}, want {}", sum, n * (n - 1) / 2);
                std::process::exit(1);
            }
            println!("skynet {:.1} ms", ns / 1e6);
        })
        .await
        .unwrap();
    });
}
