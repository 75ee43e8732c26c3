//! select: 4 producers each send their share of 0 .. n-1 (producer p sends
//! p*n/4 .. (p+1)*n/4 - 1) on their own channel of capacity 1 (Go's
//! unbuffered channel, as bench/README.md maps it); one consumer receives all n
//! values with a 4-branch tokio::select!, left to pick among the ready
//! branches at random, as Go's select does. Verifies the sum and how many
//! values came through each branch; prints the wall time per select.
//! Go counterpart: bench/go/select/main.go; goro's: bench/goro/select.cpp.
//!
//! The five tasks are joined by awaiting their JoinHandles (the consumer's
//! returns its tally), Go's wait group for five.
//!
//! Usage: select [n]   (default n = 4,000,000; BENCH_WORKERS sets the workers)
use std::time::Instant;
use tokio::sync::mpsc;

const PRODUCERS: u64 = 4;

fn main() {
    let n = tokio_bench::arg_n(4_000_000);
    tokio_bench::run(async move {
        let mut txs = Vec::new();
        let mut rxs = Vec::new();
        for _ in 0..PRODUCERS {
            let (tx, rx) = mpsc::channel::<u64>(1);
            txs.push(tx);
            rxs.push(rx);
        }
        let mut rxs: [mpsc::Receiver<u64>; PRODUCERS as usize] =
            rxs.try_into().expect("one receiver a producer");

        let start = Instant::now();
        let mut producers = Vec::new();
        for (p, tx) in (0..PRODUCERS).zip(txs) {
            producers.push(tokio::spawn(async move {
                for i in n * p / PRODUCERS..n * (p + 1) / PRODUCERS {
                    tx.send(i).await.expect("the consumer is alive");
                }
            }));
        }
        let consumer = tokio::spawn(async move {
            let (mut sum, mut counts) = (0u64, [0u64; PRODUCERS as usize]);
            let [r0, r1, r2, r3] = &mut rxs;
            for _ in 0..n {
                // A branch whose channel has closed (its producer is done)
                // is disabled; the producers together send exactly n values.
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
        for p in producers {
            p.await.expect("a producer panicked");
        }
        let (sum, counts) = consumer.await.expect("the consumer panicked");
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
