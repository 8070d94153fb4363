//! Appends per second against the three-server cluster, printed, never asserted (run with
//! `cargo test -p cluster --release --test cluster -- --ignored --nocapture append_rate`).

use std::time::Instant;

use cluster::{Log, connect};

use cluster::testing::NatsCluster;

#[tokio::test]
#[ignore = "a measurement, not a check: run it by name"]
async fn append_rate() {
    let cluster = NatsCluster::start().await;
    let config = cluster.config("rate", "node-a", 3_000);
    let nats = connect(&config).await.expect("connected");
    let log = Log::open(&nats, &config).await.expect("the stream");
    let writer = log.writer_at(0);
    crate::settled(|| writer.append("rentals", b"first")).await;
    for size in [256usize, 4096, 64 * 1024] {
        let payload = vec![7u8; size];
        let count = 500;
        let started = Instant::now();
        for _ in 0..count {
            writer.append("rentals", &payload).await.expect("appended");
        }
        let elapsed = started.elapsed();
        println!(
            "{size} B: {count} appends in {elapsed:?}, {:.0} appends/s, {:.2} ms each",
            f64::from(count) / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1000.0 / f64::from(count),
        );
    }
}
