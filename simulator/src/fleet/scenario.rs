//! The scenario: every car and every customer's plan, drawn from the seed before the run, so
//! the same seed plays the same city (races between customers may still end differently).
//!
//! Plans are fitted into the run: a customer who returns the car on time does so before the
//! run's end; those who come back late or never show up book two hours from the moment they
//! appear, early in the run, so that their reservation ends (and the no-show fee or the late
//! fee is charged) soon after it. The run therefore lasts its duration plus at most about 40
//! minutes of tail.

use chrono::TimeDelta;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::city::{City, Position};
use actors::domain::samples::{self, cards};

/// A car of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct CarPlan {
    /// Its number in the scenario.
    pub index: u64,
    /// Its plate.
    pub plate: String,
    /// Model name.
    pub model: &'static str,
    /// Model year.
    pub year: u16,
    /// Price per hour, centavos.
    pub hourly_rate_cents: i64,
    /// Battery capacity.
    pub battery_kwh: f64,
    /// Range on a full battery.
    pub range_km: f64,
    /// Paint.
    pub color: &'static str,
    /// Where it waits when the run starts.
    pub parked_at: Position,
}

/// How a customer's card answers a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardKind {
    /// Approves.
    Approves,
    /// Declines every hold.
    Declines,
    /// Has no funds for a hold.
    InsufficientFunds,
}

impl CardKind {
    /// The sandbox card number that answers this way.
    pub fn number(self, index: u64) -> &'static str {
        match self {
            CardKind::Approves if index.is_multiple_of(2) => cards::VISA,
            CardKind::Approves => cards::MASTERCARD,
            CardKind::Declines => cards::DECLINED,
            CardKind::InsufficientFunds => cards::INSUFFICIENT_FUNDS,
        }
    }
}

/// What a customer means to do with the car they book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Picks it up, drives `legs` legs with a locked stop between two, and releases it after
    /// `usage` (before the reservation ends).
    Drive {
        /// Straight-line legs, 1 to 3.
        legs: u8,
        /// How long they keep the car.
        usage: TimeDelta,
    },
    /// Drives like [`Intent::Drive`] but releases the car `by` after the reservation's end.
    ReturnLate {
        /// How late.
        by: TimeDelta,
    },
    /// Cancels `after` the booking, before the start.
    Cancel {
        /// Delay after booking.
        after: TimeDelta,
    },
    /// Never comes to the car.
    NoShow,
    /// Drives `legs` legs and never releases the car: the system ends the rental after
    /// `rental.auto_end_after_min`.
    NeverRelease {
        /// Straight-line legs, 1 or 2.
        legs: u8,
    },
    /// Asks to unlock and to cancel at the same moment, during the unlock grace: exactly one
    /// of the two may succeed. If the unlock wins, drives and releases as planned.
    CancelWhileUnlocking,
}

/// One customer's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPlan {
    /// Their number in the scenario.
    pub index: u64,
    /// Their card.
    pub card: CardKind,
    /// Where they are when they look for a car.
    pub home: Position,
    /// When, after the run starts, they register and book.
    pub appears_after: TimeDelta,
    /// How long after booking the reservation starts.
    pub lead: TimeDelta,
    /// Length of the reservation, whole hours.
    pub hours: u32,
    /// What they do with it.
    pub intent: Intent,
    /// Seed of their own choices during the run (destinations, speeds, stops).
    pub seed: u64,
}

/// The whole scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The fleet.
    pub cars: Vec<CarPlan>,
    /// The customers.
    pub customers: Vec<CustomerPlan>,
    /// After how long past its end the services end a rental nobody released.
    pub auto_end_after: TimeDelta,
}

/// Sizes and bounds of a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScenarioSpec {
    /// Cars.
    pub cars: u64,
    /// Customers.
    pub customers: u64,
    /// Simulated length of the run.
    pub duration: TimeDelta,
    /// Seed.
    pub seed: u64,
    /// Shortest and longest reservation, hours (the services' rule).
    pub hours: (u32, u32),
    /// The services' `rental.auto_end_after_min`.
    pub auto_end_after: TimeDelta,
}

const MODELS: [(&str, u16, i64, f64, f64); 5] = [
    ("BYD Dolphin", 2025, 3_900, 44.9, 291.0),
    ("BYD Dolphin Mini", 2025, 2_900, 38.0, 280.0),
    ("Renault Kwid E-Tech", 2024, 2_500, 26.8, 185.0),
    ("GWM Ora 03", 2024, 4_200, 48.0, 232.0),
    ("Volvo EX30", 2025, 5_500, 51.0, 250.0),
];
const COLORS: [&str; 5] = ["white", "silver", "black", "blue", "red"];

impl Scenario {
    /// Draws the scenario of `spec` in `city`.
    pub fn generate(spec: &ScenarioSpec, city: &City) -> Scenario {
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let cars = (0..spec.cars)
            .map(|index| car(index, city, &mut rng))
            .collect();
        let customers = (0..spec.customers)
            .map(|index| customer(index, spec, city, &mut rng))
            .collect();
        Scenario {
            cars,
            customers,
            auto_end_after: spec.auto_end_after,
        }
    }
}

fn car(index: u64, city: &City, rng: &mut StdRng) -> CarPlan {
    let (model, year, rate, battery_kwh, range_km) = MODELS[rng.random_range(0..MODELS.len())];
    let place = city.pick_place(rng);
    CarPlan {
        index,
        plate: samples::plate(index),
        model,
        year,
        hourly_rate_cents: rate,
        battery_kwh,
        range_km,
        color: COLORS[rng.random_range(0..COLORS.len())],
        parked_at: city.near(place, rng),
    }
}

fn minutes(rng: &mut StdRng, from: i64, to: i64) -> TimeDelta {
    TimeDelta::minutes(rng.random_range(from..=to.max(from)))
}

fn customer(index: u64, spec: &ScenarioSpec, city: &City, rng: &mut StdRng) -> CustomerPlan {
    let run = spec.duration.num_minutes().max(1);
    let card = match rng.random_range(0..100) {
        0..5 => CardKind::Declines,
        5..8 => CardKind::InsufficientFunds,
        _ => CardKind::Approves,
    };
    let home = city.near(city.pick_place(rng), rng);
    let (min_hours, max_hours) = spec.hours;
    let mut hours = rng.random_range(min_hours..=max_hours);
    let mut lead = if rng.random_bool(0.7) {
        TimeDelta::zero()
    } else {
        minutes(rng, 10, 45)
    };
    let (appears_after, intent) = match rng.random_range(0..100) {
        0..10 => {
            lead = minutes(rng, 20, 90);
            let after = minutes(rng, 1, lead.num_minutes() - 5);
            (
                minutes(rng, 0, run - lead.num_minutes()),
                Intent::Cancel { after },
            )
        }
        10..22 => {
            hours = min_hours;
            lead = TimeDelta::zero();
            (
                minutes(rng, 0, (run - 60 * i64::from(hours)).max(10)),
                Intent::NoShow,
            )
        }
        22..30 => {
            hours = min_hours;
            lead = TimeDelta::zero();
            let by = minutes(rng, 5, 30);
            let appears = minutes(rng, 0, (run - 60 * i64::from(hours)).max(10));
            (appears, Intent::ReturnLate { by })
        }
        30..33 => {
            // Early in the run, so that the automatic end falls soon after it.
            hours = min_hours;
            lead = TimeDelta::zero();
            let latest = run - 60 * i64::from(hours) - spec.auto_end_after.num_minutes();
            let appears = minutes(rng, 0, latest.max(10));
            let legs = rng.random_range(1..=2);
            (appears, Intent::NeverRelease { legs })
        }
        33..36 => {
            // Books a little ahead, so that the race falls in the unlock grace.
            lead = minutes(rng, 20, 40);
            let appears = minutes(rng, 0, (run - lead.num_minutes() - 20).max(0));
            (appears, Intent::CancelWhileUnlocking)
        }
        _ => {
            // Leaves at least 20 minutes of driving before the run's end.
            let appears = minutes(rng, 0, run - lead.num_minutes() - 20);
            let left = run - appears.num_minutes() - lead.num_minutes();
            let booked = 60 * i64::from(hours);
            let usage = minutes(rng, 15, (left.min(booked) * 9 / 10).max(15));
            let legs = rng.random_range(1..=3);
            (appears, Intent::Drive { legs, usage })
        }
    };
    CustomerPlan {
        index,
        card,
        home,
        appears_after,
        lead,
        hours,
        intent,
        seed: rng.random(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::config::FleetConfig;

    fn spec(seed: u64, minutes: i64) -> ScenarioSpec {
        ScenarioSpec {
            cars: 300,
            customers: 2_000,
            duration: TimeDelta::minutes(minutes),
            seed,
            hours: (2, 6),
            auto_end_after: TimeDelta::minutes(60),
        }
    }

    fn city() -> City {
        City::new(&FleetConfig::default().service_area)
    }

    #[test]
    fn the_same_seed_gives_the_same_scenario_and_another_seed_another() {
        let city = city();
        let first = Scenario::generate(&spec(42, 120), &city);
        assert_eq!(first, Scenario::generate(&spec(42, 120), &city));
        assert_ne!(first, Scenario::generate(&spec(43, 120), &city));
    }

    #[test]
    fn plans_fit_the_run_and_the_rules() {
        let city = city();
        for minutes in [30, 120, 600] {
            let run = TimeDelta::minutes(minutes);
            let scenario = Scenario::generate(&spec(7, minutes), &city);
            for plan in &scenario.customers {
                assert!((2..=6).contains(&plan.hours), "{plan:?}");
                assert!(city.contains(plan.home));
                let booked = TimeDelta::hours(i64::from(plan.hours));
                match plan.intent {
                    Intent::Drive { legs, usage } => {
                        assert!((1..=3).contains(&legs));
                        assert!(usage <= booked, "{plan:?}");
                        if minutes >= 60 {
                            assert!(plan.appears_after + plan.lead + usage <= run, "{plan:?}");
                        }
                    }
                    Intent::Cancel { after } => assert!(after < plan.lead, "{plan:?}"),
                    Intent::ReturnLate { by } => {
                        assert!(by > TimeDelta::zero() && plan.lead.is_zero());
                        assert!(
                            plan.appears_after + booked + by
                                <= run.max(booked) + TimeDelta::minutes(50)
                        );
                    }
                    Intent::NoShow => {
                        assert!(
                            plan.appears_after + plan.lead + booked
                                <= run.max(booked) + TimeDelta::minutes(60)
                        );
                    }
                    Intent::NeverRelease { legs } => {
                        assert!((1..=2).contains(&legs) && plan.lead.is_zero());
                        assert!(
                            plan.appears_after + booked + TimeDelta::minutes(60)
                                <= run.max(booked + TimeDelta::minutes(60))
                                    + TimeDelta::minutes(10),
                            "{plan:?}"
                        );
                    }
                    Intent::CancelWhileUnlocking => {
                        assert!(plan.lead >= TimeDelta::minutes(20), "{plan:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_behaviour_and_card_kind_occurs() {
        let scenario = Scenario::generate(&spec(1, 120), &city());
        let count = |wanted: fn(&CustomerPlan) -> bool| {
            scenario
                .customers
                .iter()
                .filter(|plan| wanted(plan))
                .count()
        };
        assert!(count(|p| matches!(p.intent, Intent::Drive { .. })) > 1_000);
        assert!(count(|p| matches!(p.intent, Intent::ReturnLate { .. })) > 50);
        assert!(count(|p| matches!(p.intent, Intent::Cancel { .. })) > 50);
        assert!(count(|p| p.intent == Intent::NoShow) > 50);
        assert!(count(|p| matches!(p.intent, Intent::NeverRelease { .. })) > 20);
        assert!(count(|p| p.intent == Intent::CancelWhileUnlocking) > 20);
        assert!(count(|p| p.card == CardKind::Declines) > 20);
        assert!(count(|p| p.card == CardKind::InsufficientFunds) > 10);
        let places: std::collections::HashSet<String> = scenario
            .cars
            .iter()
            .map(|car| format!("{:.2}", car.parked_at.lat))
            .collect();
        assert!(places.len() > 5, "cars spread over the city");
    }
}
