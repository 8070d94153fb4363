//! Booking over HTTP: 64 customers' apps at once, each on its own keep-alive connection,
//! `POST /v1/reservations` on the real server (token check, window rules, the customer's and
//! the car's calendars, the durable booking, the card hold with the sandbox provider, the
//! confirmation), beside the bare axum server answering the same requests with no state,
//! driven by the same client code in the same run. The workload is `benches::bookings`.

use benches::bare;
use benches::bookings::{Bookings, PAIRS, WINDOW, WINDOWS, stand_in_pairs};
use benches::driver::{CONNECTIONS, Driver};
use benches::measure::LoadGroup;
use benches::runtime;
use benches::server::{BenchServer, print_flushes};
use chrono::{TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

fn reservations(criterion: &mut Criterion) {
    let rt = runtime();
    let bare_address = rt.block_on(bare::spawn());
    let server = rt.block_on(BenchServer::start(|config| {
        config.rental.max_days_ahead = 7;
    }));
    let count = PAIRS;
    let cars = rt.block_on(server.register_cars(0, count));
    let riders = rt.block_on(server.register_riders(0, count));
    let pairs = riders
        .into_iter()
        .zip(cars)
        .map(|(rider, car)| (rider.access_token, car.id))
        .collect();
    let bookings = Bookings::new(pairs);
    let last_start = bookings.first_start + WINDOW * (WINDOWS - 1) as i32;
    assert!(
        last_start < Utc::now() + TimeDelta::days(7),
        "windows beyond 7 days"
    );

    let mut group = LoadGroup::new(criterion, "reservations", &rt);
    let bare = Driver::new(bare_address, CONNECTIONS);
    group.bench("bare_axum", &bare, Bookings::new(stand_in_pairs()), 1);
    let real = Driver::new(server.address, CONNECTIONS);
    let before = server.flushes();
    group.bench("create_http/64_clients", &real, bookings, 1);
    group.finish();
    print_flushes(&before, &server.flushes());

    let services = server.system().services();
    for (kind, stats) in services.reservations.stats() {
        println!("{kind}: {stats:?}");
    }
    println!("charge: {:?}", services.billing.stats());
    rt.block_on(server.stop());
}

criterion_group!(benches, reservations);
criterion_main!(benches);
