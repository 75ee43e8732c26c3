//! select: 4 producers each send their share of 0 .. n-1 on their own
//! channel of capacity 1 (Go's unbuffered channel); one consumer receives all
//! n values with tokio::select! over the four receivers, which picks among
//! ready branches at random, as Go's select does. Verifies the sum and the
//! count per branch. Go counterpart: bench/go/select/main.go.
//!
//! Usage: select [n]   (default 4,000,000)
use std::time::Instant;
use tokio::sync::mpsc;

const PRODUCERS: u64 = 4;

fn main() {
    let n = tokio_bench::arg_n(4_000_000);
    tokio_bench::runtime().block_on(async move {
        let mut rxs = Vec::new();
        let start = Instant::now();
        let mut producers = Vec::new();
        for p in 0..PRODUCERS {
            let (tx, rx) = mpsc::channel::<u64>(1);
            rxs.push(rx);
            producers.push(tokio::spawn(async move {
                for i in n * p / PRODUCERS..n * (p + 1) / PRODUCERS {
                    tx.send(i).await.unwrap();
                }
            }));
        }
        let mut rxs: [mpsc::Receiver<u64>; 4] = rxs.try_into().unwrap();
        let consumer = tokio::spawn(async move {
            let (mut sum, mut counts) = (0u64, [0u64; 4]);
            let [r0, r1, r2, r3] = &mut rxs;
            for _ in 0..n {
                let (v, k) = tokio::select! {
                    Some(v) = r0.recv() => (v, 0),
                    Some(v) = r1.recv() => (v, 1),
                    Some(v) = r2.recv() => (v, 2),
                    Some(v) = r3.recv() => (v, 3),
                };
                sum += v;
                counts[k] += 1;
            }
            (sum, counts)
        });
        let (sum, counts) = consumer.await.unwrap();
        for p in producers {
            p.await.unwrap();
        }
        let ns = tokio_bench::ns_since(start);
        let want = n * n.saturating_sub(1) / 2;
        let mut ok = sum == want;
        for p in 0..PRODUCERS {
            ok = ok && counts[p as usize] == n * (p + 1) / PRODUCERS - n * p / PRODUCERS;
        }
        if !ok {
            eprintln!(
                "select: received {}+{}+{}+{} values summing to {}, want {} summing to {}",
                counts[0], counts[1], counts[2], counts[3], sum, n, want
            );
            std::process::exit(1);
        }
        println!("select {:.1} ns/op", ns / n as f64);
    });
}
