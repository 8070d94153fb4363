//! The replicated log: fenced appends, ordered reading, parts joined or dropped, and the loss
//! of one server of three.

use async_nats::HeaderMap;
use futures_util::StreamExt;
use tokio::sync::oneshot;

use cluster::{AppendError, Entry, Lease, Log, LogReader, Role, connect};

use crate::{PATIENCE, is_leader, settled, wait_for};
use cluster::testing::NatsCluster;

/// Reads entries until the reader has consumed the log up to `last`.
async fn read_up_to(reader: &mut LogReader, last: u64) -> Vec<Entry> {
    let mut entries = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while reader.consumed() < last {
            match reader.next().await {
                Some(Ok(entry)) => entries.push(entry),
                Some(Err(error)) => panic!("{error}"),
                None => panic!("the reader ended"),
            }
        }
    })
    .await
    .expect("caught up in time");
    entries
}

#[tokio::test]
async fn a_stale_writer_is_fenced() {
    let cluster = NatsCluster::start().await;
    let config = cluster.config("fence", "node-a", 1_000);
    let nats = connect(&config).await.expect("connected");
    let log = Log::open(&nats, &config).await.expect("the stream");
    let old = log.writer_at(log.last_sequence().await.expect("read"));
    let first = settled(|| old.append("rentals", b"one")).await;
    assert_eq!(first, 1);

    let new = log.writer_at(log.last_sequence().await.expect("read"));
    assert_eq!(new.append("rentals", b"two").await.expect("appended"), 2);
    let refused = old.append("rentals", b"stale").await;
    assert!(
        matches!(refused, Err(AppendError::Fenced { expected: 1, .. })),
        "{refused:?}"
    );
    // Still fenced: it does not learn the new sequence by itself.
    assert!(matches!(
        old.append("cars", b"again").await,
        Err(AppendError::Fenced { .. })
    ));
    assert_eq!(log.last_sequence().await.expect("read"), 2);
    assert!(matches!(
        new.append("no.such", b"x").await,
        Err(AppendError::InvalidStore { .. })
    ));
}

#[tokio::test]
async fn a_reader_gets_every_entry_in_order_with_large_ones_joined_and_broken_ones_dropped() {
    let cluster = NatsCluster::start().await;
    let config = cluster.config("read", "node-a", 1_000);
    let nats = connect(&config).await.expect("connected");
    let log = Log::open(&nats, &config).await.expect("the stream");
    let writer = log.writer_at(0);
    settled(|| writer.append("rentals", b"r1")).await;
    writer.append("cars", b"c1").await.expect("appended");
    // Two and a half times the server's largest message.
    let large: Vec<u8> = (0..(5 * 1024 * 1024 / 2))
        .map(|i| (i % 251) as u8)
        .collect();
    let large_at = writer
        .append("cars", &large)
        .await
        .expect("appended in parts");
    assert!(large_at >= 5, "{large_at}: three parts after two entries");

    // A writer that died after two parts of three: published by hand.
    let jetstream = async_nats::jetstream::new(nats.client().clone());
    for index in 0..2 {
        let mut headers = HeaderMap::new();
        headers.insert("Evr-Group", (large_at + 1).to_string().as_str());
        headers.insert("Evr-Part", index.to_string().as_str());
        headers.insert("Evr-Parts", "3");
        jetstream
            .publish_with_headers("read.wal.cars", headers, "lost".into())
            .await
            .expect("sent")
            .await
            .expect("stored");
    }
    let successor = log.writer_at(log.last_sequence().await.expect("read"));
    let last = successor.append("rentals", b"r2").await.expect("appended");

    let mut reader = log.read_from(0).await.expect("a reader");
    let entries = read_up_to(&mut reader, last).await;
    let seen: Vec<(&str, usize)> = entries
        .iter()
        .map(|entry| (entry.store.as_str(), entry.payload.len()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("rentals", 2),
            ("cars", 2),
            ("cars", large.len()),
            ("rentals", 2)
        ]
    );
    assert_eq!(entries[2].payload.as_ref(), large.as_slice());
    assert_eq!(entries[2].sequence, large_at);
    assert_eq!(entries[3].payload.as_ref(), b"r2");
    assert!(
        entries
            .windows(2)
            .all(|pair| pair[0].sequence < pair[1].sequence)
    );
    assert_eq!(reader.discarded(), 1);

    // A follower starting later reads only what follows its position, and then what comes.
    let mut follower = log.read_from(entries[1].sequence).await.expect("a reader");
    let next = successor.append("cars", b"c2").await.expect("appended");
    let tail = read_up_to(&mut follower, next).await;
    let stores: Vec<&str> = tail.iter().map(|entry| entry.store.as_str()).collect();
    assert_eq!(stores, vec!["cars", "rentals", "cars"]);
}

#[tokio::test]
async fn appends_and_renewals_go_on_with_one_server_of_three_down() {
    let mut cluster = NatsCluster::start().await;
    let config = cluster.config("r3", "node-a", 3_000);
    let nats = connect(&config).await.expect("connected");
    let log = Log::open(&nats, &config).await.expect("the stream");
    let writer = log.writer_at(0);
    settled(|| writer.append("rentals", b"before")).await;
    let lease = Lease::open(&nats, &config, &config.advertise_url)
        .await
        .expect("the bucket");
    let (_stop, stopped) = oneshot::channel();
    let (mut role, _task) = lease.spawn(stopped);
    let (_, leader) = wait_for(&mut role, is_leader).await;
    let Role::Leader {
        revision: before, ..
    } = leader
    else {
        panic!("{leader:?}");
    };

    // Kill a server this client is not connected to (the client would reconnect to another,
    // but that is the client's business, not the replication's).
    let connected = nats.client().server_info().port;
    let victim = (0..3)
        .find(|index| cluster.client_ports[*index] != connected)
        .expect("another server");
    cluster.kill(victim);

    // Appends succeed once the stream has a leader among the two left (an election if the
    // killed server led it), and keep succeeding.
    let mut appended = 0;
    tokio::time::timeout(PATIENCE, async {
        while appended < 10 {
            match writer.append("rentals", b"after").await {
                Ok(_) => appended += 1,
                Err(AppendError::Unavailable { .. }) if appended == 0 => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(error) => panic!("{error}"),
            }
        }
    })
    .await
    .expect("appends with two servers of three");
    assert_eq!(log.last_sequence().await.expect("read"), 11);
    wait_for(
        &mut role,
        |role| matches!(role, Role::Leader { revision, .. } if *revision > before + 1),
    )
    .await;
}
