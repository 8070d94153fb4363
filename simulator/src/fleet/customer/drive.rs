//! The car's side of a drive: where it is every 30 s, and the fixes its unit reports on the way.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::Context;
use crate::fleet::backend::Backend;
use crate::fleet::city::Position;
use crate::fleet::recorder::Op;
use crate::unit::Fix;

/// A unit reports every 30 s while the car moves.
const FIX_INTERVAL: TimeDelta = TimeDelta::seconds(30);

/// Drives from `from` towards `to` at `speed_kmh` for at most `budget_s` seconds, reporting a
/// fix every 30 s and a standing fix on arrival; where the car stopped.
pub(super) async fn drive<B: Backend>(
    context: &Context<B>,
    car: Uuid,
    from: Position,
    to: Position,
    speed_kmh: f64,
    budget_s: f64,
    battery: &mut f64,
) -> Position {
    let full_s = from.distance_m(to) / (speed_kmh / 3.6);
    let drive_s = full_s.min(budget_s).max(1.0);
    let end = from.towards(to, drive_s / full_s.max(1.0));
    let heading = from.heading_to(to);
    let started = context.now();
    let arrival = started + from_seconds(drive_s);
    let mut tick = started + FIX_INTERVAL;
    while tick < arrival {
        context.sleep_until(tick).await;
        let along = seconds(tick - started) / drive_s;
        *battery = (*battery - 0.05).max(5.0);
        let fix = fix_at(from.towards(end, along), tick, speed_kmh, heading, *battery);
        report(context, car, fix, false).await;
        tick += FIX_INTERVAL;
    }
    context.sleep_until(arrival).await;
    report(
        context,
        car,
        fix_at(end, arrival, 0.0, heading, *battery),
        true,
    )
    .await;
    end
}

async fn report<B: Backend>(context: &Context<B>, car: Uuid, fix: Fix, stopped: bool) {
    let recorder = &context.recorder;
    let sent = context.backend.report(car, fix, stopped);
    if let Err(error) = recorder.measure(Op::Position, sent).await {
        recorder.error(Op::Position, &error);
    }
}

fn fix_at(
    position: Position,
    at: DateTime<Utc>,
    speed_kmh: f64,
    heading: f64,
    battery: f64,
) -> Fix {
    let mut fix = Fix::new(position.lat, position.lon, at);
    fix.speed_kmh = Some(speed_kmh);
    fix.heading_deg = Some(heading);
    fix.battery_pct = Some((battery * 10.0).round() / 10.0);
    fix
}

pub(super) fn seconds(delta: TimeDelta) -> f64 {
    delta.num_milliseconds() as f64 / 1_000.0
}

pub(super) fn from_seconds(seconds: f64) -> TimeDelta {
    TimeDelta::milliseconds((seconds.max(0.0) * 1_000.0) as i64)
}
