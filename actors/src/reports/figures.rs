//! The reports' figures, computed from the projected records at query time: pure functions
//! of the trips, cars and balances, tested without a store.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Offset, TimeDelta, Utc};

use super::areas::Areas;
use super::model::{CarFacts, Trip};
use crate::ids::{CustomerId, ReservationId, VehicleId};

/// The local day of the revenue report: Florianópolis keeps UTC−03:00 all year.
pub fn local_offset() -> FixedOffset {
    // -3 h is within the range FixedOffset accepts, so the fallback never runs.
    FixedOffset::west_opt(3 * 3600).unwrap_or(Utc.fix())
}

/// How revenue is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// By local day (UTC−03:00) of the money's movement.
    Day,
    /// By car.
    Vehicle,
    /// By the neighbourhood of the car's position at the rental's start (see `areas`).
    Area,
}

/// One row of the revenue report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueRow {
    /// The day (`YYYY-MM-DD`), the car's id, or the area's name (`unknown` when not known).
    pub key: String,
    /// Captured from holds.
    pub captured_cents: i64,
    /// Charged beyond holds.
    pub extra_cents: i64,
    /// Refunded.
    pub refunded_cents: i64,
    /// Captured plus extra minus refunded.
    pub revenue_cents: i64,
    /// Reservations whose money moved in the row.
    pub reservations: usize,
}

/// Revenue in `[from, to)`, grouped, rows in key order.
pub(crate) fn revenue(
    trips: &[Trip],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: GroupBy,
    areas: &Areas,
) -> Vec<RevenueRow> {
    let offset = local_offset();
    let mut rows: BTreeMap<String, (RevenueRow, Vec<Option<ReservationId>>)> = BTreeMap::new();
    for trip in trips {
        for movement in trip.money.iter().filter(|m| from <= m.at && m.at < to) {
            let key = match group_by {
                GroupBy::Day => movement.at.with_timezone(&offset).date_naive().to_string(),
                GroupBy::Vehicle => trip
                    .vehicle_id
                    .map_or_else(|| "unknown".to_owned(), |id| id.to_string()),
                GroupBy::Area => areas.name_of(trip.start_place),
            };
            let (row, seen) = rows.entry(key.clone()).or_insert_with(|| {
                (
                    RevenueRow {
                        key,
                        captured_cents: 0,
                        extra_cents: 0,
                        refunded_cents: 0,
                        revenue_cents: 0,
                        reservations: 0,
                    },
                    Vec::new(),
                )
            });
            row.captured_cents += movement.captured_cents;
            row.extra_cents += movement.extra_cents;
            row.refunded_cents += movement.refunded_cents;
            row.revenue_cents += movement.revenue_cents();
            if !seen.contains(&trip.reservation_id) {
                seen.push(trip.reservation_id);
                row.reservations += 1;
            }
        }
    }
    rows.into_values().map(|(row, _)| row).collect()
}

/// One car's utilisation over a span.
#[derive(Debug, Clone, PartialEq)]
pub struct UtilisationRow {
    /// The car.
    pub vehicle_id: VehicleId,
    /// Its plate, when an event told it.
    pub plate: Option<String>,
    /// Hours under a rental (from the unlock to the release) within the span.
    pub hours_rented: f64,
    /// Hours registered and not retired within the span (up to now).
    pub hours_in_service: f64,
    /// `hours_rented / hours_in_service` (0 without service time).
    pub utilisation: f64,
}

/// A car's plate, hours rented and time in service, while they are summed.
type CarTime = (Option<String>, TimeDelta, (DateTime<Utc>, DateTime<Utc>));

fn overlap(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> TimeDelta {
    let start = a.0.max(b.0);
    let end = a.1.min(b.1);
    if end > start {
        end - start
    } else {
        TimeDelta::zero()
    }
}

fn hours(span: TimeDelta) -> f64 {
    span.num_milliseconds() as f64 / 3_600_000.0
}

/// Utilisation per car over `[from, to)`, counted up to `now`. A car whose registration is
/// older than the log is taken as in service from `from`.
pub(crate) fn utilisation(
    trips: &[Trip],
    cars: &[(VehicleId, CarFacts)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<UtilisationRow> {
    let end = to.min(now);
    let mut by_car: BTreeMap<VehicleId, CarTime> = BTreeMap::new();
    for (id, car) in cars {
        let service = (
            car.registered_at.unwrap_or(from),
            car.retired_at.unwrap_or(end),
        );
        by_car.insert(*id, (car.plate.clone(), TimeDelta::zero(), service));
    }
    for trip in trips {
        let (Some(vehicle), Some(started)) = (trip.vehicle_id, trip.started_at) else {
            continue;
        };
        let entry = by_car
            .entry(vehicle)
            .or_insert_with(|| (trip.plate.clone(), TimeDelta::zero(), (from, end)));
        if entry.0.is_none() {
            entry.0 = trip.plate.clone();
        }
        let released = trip.released_at.unwrap_or(now);
        entry.1 += overlap((started, released), (from, end));
    }
    by_car
        .into_iter()
        .map(|(vehicle_id, (plate, rented, service))| {
            let in_service = hours(overlap(service, (from, end)));
            let rented = hours(rented);
            UtilisationRow {
                vehicle_id,
                plate,
                hours_rented: rented,
                hours_in_service: in_service,
                utilisation: if in_service > 0.0 {
                    (rented / in_service).min(1.0)
                } else {
                    0.0
                },
            }
        })
        .collect()
}

/// No-shows, cancellations, late returns and what is owed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Reservations that became no-shows in the span.
    pub no_shows: usize,
    /// Their fees.
    pub no_show_fees_cents: i64,
    /// Reservations cancelled in the span.
    pub cancellations: usize,
    /// Rentals that ended in the span after their booked end.
    pub late_returns: usize,
    /// Their overtime and late fees.
    pub overtime_cents: i64,
    /// Rentals that ended in the span with money the card refused.
    pub refused_at_end: usize,
    /// What those refusals came to.
    pub refused_at_end_cents: i64,
    /// Customers who owe money now.
    pub customers_owing: usize,
    /// What they owe now.
    pub outstanding_cents: i64,
}

/// The summary of `[from, to)`; the balances are the current ones.
pub(crate) fn summary(
    trips: &[Trip],
    balances: &[(CustomerId, i64)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Summary {
    let within = |at: Option<DateTime<Utc>>| at.is_some_and(|at| from <= at && at < to);
    let mut summary = Summary::default();
    for trip in trips {
        if within(trip.no_show_at) {
            summary.no_shows += 1;
            summary.no_show_fees_cents += trip.no_show_fee_cents;
        }
        if within(trip.cancelled_at) {
            summary.cancellations += 1;
        }
        if within(trip.released_at) {
            if trip.returned_late() {
                summary.late_returns += 1;
                summary.overtime_cents += trip.overtime_cents;
            }
            if trip.outstanding_cents > 0 {
                summary.refused_at_end += 1;
                summary.refused_at_end_cents += trip.outstanding_cents;
            }
        }
    }
    for (_, owed) in balances.iter().filter(|(_, owed)| *owed > 0) {
        summary.customers_owing += 1;
        summary.outstanding_cents += owed;
    }
    summary
}

/// A trip's state as its events tell it.
pub(crate) fn status(trip: &Trip) -> &'static str {
    if trip.cancelled_at.is_some() {
        "cancelled"
    } else if trip.no_show_at.is_some() {
        "no_show"
    } else if trip.released_at.is_some() {
        "completed"
    } else if trip.started_at.is_some() {
        "active"
    } else if trip.confirmed_at.is_some() {
        "confirmed"
    } else {
        "unknown"
    }
}

/// Whether a trip belongs in a statement of `[from, to)`: booked to start in it.
pub(crate) fn in_statement(
    trip: &Trip,
    customer: CustomerId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> bool {
    trip.customer_id == Some(customer)
        && trip
            .start_at
            .or(trip.started_at)
            .is_some_and(|start| from <= start && start < to)
}

/// Kilometres along a track (great-circle legs between consecutive points).
pub fn distance_km(points: &[(f64, f64)]) -> f64 {
    points
        .windows(2)
        .map(|leg| haversine_km(leg[0], leg[1]))
        .sum()
}

fn haversine_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6_371.0;
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

#[cfg(test)]
#[path = "figures_tests.rs"]
mod tests;

/// One trip of a customer's statement.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementLine {
    /// The reservation.
    pub reservation_id: Option<ReservationId>,
    /// The car.
    pub vehicle_id: Option<VehicleId>,
    /// Its plate.
    pub plate: Option<String>,
    /// Its model.
    pub model: Option<String>,
    /// The booked window.
    pub start_at: Option<DateTime<Utc>>,
    /// The booked end.
    pub end_at: Option<DateTime<Utc>>,
    /// When the doors opened.
    pub started_at: Option<DateTime<Utc>>,
    /// When the rental ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// `confirmed`, `active`, `completed`, `cancelled`, `no_show`.
    pub status: &'static str,
    /// Kilometres driven, from the car's thinned track, when it is known.
    pub distance_km: Option<f64>,
    /// Every hold together.
    pub hold_cents: i64,
    /// What the rental cost (or the no-show fee).
    pub total_cents: i64,
    /// Of which overtime and the late fee.
    pub overtime_cents: i64,
    /// Taken from the card (captured and extra, less refunds).
    pub paid_cents: i64,
    /// Refunded.
    pub refunded_cents: i64,
    /// What the card refused at the end.
    pub outstanding_cents: i64,
}

/// A trip as a statement line, with the distance the caller measured.
pub(crate) fn statement_line(trip: &Trip, distance_km: Option<f64>) -> StatementLine {
    StatementLine {
        reservation_id: trip.reservation_id,
        vehicle_id: trip.vehicle_id,
        plate: trip.plate.clone(),
        model: trip.model.clone(),
        start_at: trip.start_at,
        end_at: trip.end_at,
        started_at: trip.started_at,
        ended_at: trip.released_at,
        status: status(trip),
        distance_km,
        hold_cents: trip.hold_cents,
        total_cents: if trip.no_show_at.is_some() {
            trip.no_show_fee_cents
        } else {
            trip.total_cents
        },
        overtime_cents: trip.overtime_cents,
        paid_cents: trip.money.iter().map(|m| m.revenue_cents()).sum(),
        refunded_cents: trip.money.iter().map(|m| m.refunded_cents).sum(),
        outstanding_cents: trip.outstanding_cents,
    }
}
