//! What replication costs: durable writes and bookings over HTTP on a single node and on a
//! cluster-mode leader, in the same run, with the same client code.
//!
//! - Durable writes: `POST /v1/vehicles` by 64 back-office connections (one durable commit
//!   each, the car's record and its unit's credential).
//! - Bookings: `POST /v1/reservations` by 64 customers' apps (the workload of the reservation
//!   benchmark: calendars, the durable booking, the card hold, the confirmation).
//!
//! The leader runs in this process on a real three-server NATS cluster on loopback ports
//! (`sync_interval: always`, three replicas), every commit acknowledged only after JetStream
//! acknowledged its batch. The NATS servers share the two cores with the node and the load
//! generator, so the cluster figures are a floor; the ratio is what the code costs.

use benches::bookings::{Bookings, PAIRS};
use benches::driver::{CONNECTIONS, Connection, Driver, Workload, expect_json};
use benches::identity::vehicle_body;
use benches::leader::LeaderNode;
use benches::measure::LoadGroup;
use benches::runtime;
use benches::server::{BenchServer, Car, Rider, register_cars, register_unconfirmed_riders};
use cluster::testing::NatsCluster;
use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;

/// Car numbers of the registration workload start here, past the cars of the bookings.
const REGISTRATIONS_FROM: u64 = 1_000_000;
/// Numbers each connection may use: more than any run sends.
const PER_CONNECTION: u64 = 1_000_000;

/// Car registrations as the admin: connection `c`'s request `seq` registers car
/// `REGISTRATIONS_FROM + c × PER_CONNECTION + seq`, a plate of its own.
struct Registrations {
    admin_token: String,
}

#[derive(Deserialize)]
struct Registered {
    id: String,
}

impl Workload for Registrations {
    async fn send(&self, connection: &Connection, seq: u64) -> Result<u64, String> {
        let n = REGISTRATIONS_FROM + connection.index as u64 * PER_CONNECTION + seq;
        let n = u32::try_from(n).map_err(|_| format!("car number {n} out of range"))?;
        let request = connection
            .client
            .post(connection.url("/v1/vehicles"))
            .bearer_auth(&self.admin_token)
            .json(&vehicle_body(n));
        let registered: Registered = expect_json(request, 201).await?;
        if registered.id.is_empty() {
            return Err("a car without an id".into());
        }
        Ok(1)
    }
}

/// Each rider paired with a car, as the bookings workload takes them.
fn pairs(riders: Vec<Rider>, cars: Vec<Car>) -> Vec<(String, String)> {
    riders
        .into_iter()
        .zip(cars)
        .map(|(rider, car)| (rider.access_token, car.id))
        .collect()
}

/// The settings both servers share: bookings up to 7 days ahead, and no e-mail
/// confirmation (the leader's mail cannot be read from here, and sign-up is not measured).
fn adjust(config: &mut actors::Config) {
    config.rental.max_days_ahead = 7;
    config.notify.require_email_confirmation = false;
}

fn replication(criterion: &mut Criterion) {
    let rt = runtime();
    let client = reqwest::Client::new();
    let mut group = LoadGroup::new(criterion, "cluster", &rt);

    let single = rt.block_on(BenchServer::start(adjust));
    let cars = rt.block_on(single.register_cars(0, PAIRS));
    let riders = rt.block_on(register_unconfirmed_riders(
        &client,
        single.address,
        0,
        PAIRS,
    ));
    let driver = Driver::new(single.address, CONNECTIONS);
    let admin_token = single.admin_token.clone();
    group.bench(
        "durable_writes/single_node",
        &driver,
        Registrations { admin_token },
        1,
    );
    group.bench(
        "bookings/single_node",
        &driver,
        Bookings::new(pairs(riders, cars)),
        1,
    );
    rt.block_on(single.stop());

    let nats = rt.block_on(NatsCluster::start());
    let leader = rt.block_on(LeaderNode::start(&nats, "bench", adjust));
    let cars = rt.block_on(register_cars(
        &client,
        leader.address,
        &leader.admin_token,
        0,
        PAIRS,
    ));
    let riders = rt.block_on(register_unconfirmed_riders(
        &client,
        leader.address,
        0,
        PAIRS,
    ));
    let driver = Driver::new(leader.address, CONNECTIONS);
    let admin_token = leader.admin_token.clone();
    group.bench(
        "durable_writes/cluster_leader",
        &driver,
        Registrations { admin_token },
        1,
    );
    group.bench(
        "bookings/cluster_leader",
        &driver,
        Bookings::new(pairs(riders, cars)),
        1,
    );
    group.finish();
    rt.block_on(leader.stop());
    drop(nats);
}

criterion_group!(benches, replication);
criterion_main!(benches);
