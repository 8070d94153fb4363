//! The leader's lease: one holder at a time, and a holder that stops renewing steps down
//! before anyone else can take over.

use tokio::sync::oneshot;

use cluster::{Acquisition, Holder, Lease, Role, connect};

use crate::{PATIENCE, is_leader, settled, wait_for};
use cluster::testing::NatsCluster;

async fn lease(cluster: &NatsCluster, node: &str, ttl_ms: u64) -> (cluster::Nats, Lease) {
    let config = cluster.config("lease", node, ttl_ms);
    let nats = connect(&config).await.expect("connected");
    let lease = Lease::open(&nats, &config, &config.advertise_url)
        .await
        .expect("the lease's bucket");
    (nats, lease)
}

#[tokio::test]
async fn of_two_contenders_exactly_one_leads() {
    let cluster = NatsCluster::start().await;
    let (_a_nats, a) = lease(&cluster, "node-a", 1_000).await;
    let (_b_nats, b) = lease(&cluster, "node-b", 1_000).await;

    let won = settled(|| a.try_acquire()).await;
    assert!(matches!(won, Acquisition::Won { .. }), "{won:?}");
    let lost = settled(|| b.try_acquire()).await;
    assert!(matches!(lost, Acquisition::Lost { .. }), "{lost:?}");
    // Reads may be served by any replica: the holder shows once that replica has it.
    let holder = settled(|| async {
        match b.current_holder().await {
            Ok(Some(holder)) => Ok(holder),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(&holder, a.me());
    let Acquisition::Won { revision, .. } = won else {
        return;
    };
    // A renewal by a revision that is no longer the last one is refused.
    let Ok(Acquisition::Won {
        revision: renewed, ..
    }) = a.renew(revision).await
    else {
        panic!("the holder renews by its revision");
    };
    assert!(renewed > revision);
    assert!(matches!(
        a.renew(revision).await,
        Ok(Acquisition::Lost { .. })
    ));
    a.release(renewed).await.expect("released");
    settled(|| async {
        match b.current_holder().await {
            Ok(None) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // Both tasks compete; one leads, and the other names it.
    let (stop_a, a_stopped) = oneshot::channel();
    let (stop_b, b_stopped) = oneshot::channel();
    let (mut a_role, a_task) = a.spawn(a_stopped);
    let (mut b_role, b_task) = b.spawn(b_stopped);
    let (_, first) = tokio::time::timeout(PATIENCE, async {
        tokio::select! {
            seen = wait_for(&mut a_role, is_leader) => seen,
            seen = wait_for(&mut b_role, is_leader) => seen,
        }
    })
    .await
    .expect("a leader in time");
    let a_leads = is_leader(&a_role.borrow());
    let (leader_role, follower_role, leader_node, stop_leader, leader_task) = if a_leads {
        (&mut a_role, &mut b_role, "node-a", stop_a, a_task)
    } else {
        (&mut b_role, &mut a_role, "node-b", stop_b, b_task)
    };
    let leader_holder = Holder {
        node_id: leader_node.into(),
        url: format!("http://{leader_node}.test:8080"),
    };
    let Role::Leader {
        revision: first_revision,
        ..
    } = first
    else {
        panic!("{first:?}");
    };
    // Two renewals later the leader still leads and the other follows it.
    for _ in 0..2 {
        wait_for(
            leader_role,
            |role| matches!(role, Role::Leader { revision, .. } if *revision > first_revision),
        )
        .await;
    }
    assert!(leader_role.borrow().is_leader_now());
    let named = Role::Follower {
        leader: Some(leader_holder),
    };
    let (_, follower) = wait_for(follower_role, |role| *role == named).await;
    assert!(!follower.is_leader_now());

    // A clean stop steps down first, then releases, and the other node takes over.
    let _ = stop_leader.send(());
    leader_task.await.expect("the lease task ended");
    assert!(!is_leader(&leader_role.borrow()));
    wait_for(follower_role, is_leader).await;
}

#[tokio::test]
async fn a_leader_that_cannot_renew_steps_down_before_another_takes_over() {
    let cluster = NatsCluster::start().await;
    let (a_nats, a) = lease(&cluster, "node-a", 1_000).await;
    let (_b_nats, b) = lease(&cluster, "node-b", 1_000).await;
    let (_stop_a, a_stopped) = oneshot::channel();
    let (mut a_role, _a_task) = a.spawn(a_stopped);
    let (_, a_leader) = wait_for(&mut a_role, is_leader).await;
    let (_stop_b, b_stopped) = oneshot::channel();
    let (mut b_role, _b_task) = b.spawn(b_stopped);
    wait_for(&mut b_role, |role| {
        matches!(role, Role::Follower { leader: Some(_) })
    })
    .await;

    // Node A loses its connection: its renewals fail from now on.
    let last_valid = match a_role.borrow().clone() {
        Role::Leader { valid_until, .. } => valid_until,
        other => panic!("{other:?} after {a_leader:?}"),
    };
    a_nats.client().drain().await.expect("drained");

    let b_leads = tokio::spawn(async move { wait_for(&mut b_role, is_leader).await });
    let (a_stepped_down, a_follower) = wait_for(&mut a_role, |role| !is_leader(role)).await;
    let (b_won, _) = b_leads.await.expect("the watcher ran");
    assert!(!a_follower.is_leader_now());
    assert!(
        a_stepped_down < b_won,
        "node A must stop leading before node B leads"
    );
    // Whatever A published last, its validity ended before B could win.
    assert!(last_valid <= b_won);
}

#[tokio::test]
async fn a_held_lease_expires_only_after_its_holder_stopped_counting_on_it() {
    let cluster = NatsCluster::start().await;
    let (_a_nats, a) = lease(&cluster, "node-a", 600).await;
    let (_b_nats, b) = lease(&cluster, "node-b", 600).await;
    let Acquisition::Won { valid_until, .. } = settled(|| a.try_acquire()).await else {
        panic!("node A should win an empty bucket");
    };
    // B keeps trying; A never renews.
    let won_at = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(Acquisition::Won { .. }) = b.try_acquire().await {
                return tokio::time::Instant::now();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the lease expired");
    assert!(valid_until < won_at);
    settled(|| async {
        match a.current_holder().await {
            Ok(Some(holder)) if holder == *b.me() => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}
