//! The domain's own measurements, emitted through the `metrics` facade: whatever recorder the
//! process installs (the gateway's Prometheus exporter) collects them; without one they cost a
//! no-op. Names follow Prometheus conventions: an `ev_rental_` prefix, `_total` for counters,
//! base units (`_seconds`) in the name.

use std::time::Duration;

use crate::error_kind::ErrorKind;

/// Bookings asked for, by outcome (`confirmed` or the refusal's kind).
pub const BOOKINGS: &str = "ev_rental_bookings_total";
/// Lock and unlock commands sent to car units, by action and result.
pub const LOCK_COMMANDS: &str = "ev_rental_lock_commands_total";
/// Time from sending a lock or unlock command to the unit's answer (or its expiry).
pub const LOCK_COMMAND_DURATION: &str = "ev_rental_lock_command_duration_seconds";
/// Calls to the payment provider, by operation and result.
pub const PAYMENT_CALLS: &str = "ev_rental_payment_provider_calls_total";
/// Time a payment provider call took.
pub const PAYMENT_CALL_DURATION: &str = "ev_rental_payment_provider_call_duration_seconds";
/// 1 while the circuit breaker around the payment provider is open (calls fail fast), else 0.
pub const PAYMENT_CIRCUIT_OPEN: &str = "ev_rental_payment_provider_circuit_open";
/// Position fixes received from car units, by result.
pub const FIXES: &str = "ev_rental_fixes_total";
/// Records removed by the retention jobs, by kind.
pub const PURGED: &str = "ev_rental_retention_purged_total";
/// Attempts to send a notification, by channel and outcome.
pub const NOTIFICATION_ATTEMPTS: &str = "ev_rental_notification_attempts_total";
/// Domain events moved from the stores' outboxes to every subscriber, by source store.
pub const EVENTS_RELAYED: &str = "ev_rental_events_relayed_total";
/// Batches of events a subscriber did not take (they are offered again), by subscriber.
pub const EVENT_DELIVERY_FAILURES: &str = "ev_rental_event_delivery_failures_total";

/// Registers the help text of every domain metric with the installed recorder (call once,
/// after installing it).
pub fn describe() {
    metrics::describe_gauge!(
        PAYMENT_CIRCUIT_OPEN,
        "1 while the circuit breaker around the payment provider is open (calls fail fast without reaching it), else 0"
    );
    metrics::describe_counter!(
        BOOKINGS,
        "Bookings asked for, by outcome: confirmed, or the kind of refusal"
    );
    metrics::describe_counter!(
        LOCK_COMMANDS,
        "Lock and unlock commands to car units, by action and result (done, failed, expired, refused)"
    );
    metrics::describe_histogram!(
        LOCK_COMMAND_DURATION,
        metrics::Unit::Seconds,
        "Time from sending a lock or unlock command to the unit's answer or the command's expiry"
    );
    metrics::describe_counter!(
        PAYMENT_CALLS,
        "Calls to the payment provider, by operation and result (ok, declined, insufficient_funds, unknown_token, invalid, unavailable, timeout)"
    );
    metrics::describe_histogram!(
        PAYMENT_CALL_DURATION,
        metrics::Unit::Seconds,
        "Time a payment provider call took, by operation"
    );
    metrics::describe_counter!(
        PURGED,
        "Records removed by the retention jobs, by kind: idempotency_keys, positions, sandbox_idempotency"
    );
    metrics::describe_counter!(
        NOTIFICATION_ATTEMPTS,
        "Attempts to send an e-mail or an operator webhook, by channel and outcome: delivered, retrying, gave_up"
    );
    metrics::describe_counter!(
        EVENTS_RELAYED,
        "Domain events delivered from a store's outbox to every subscriber, by source store"
    );
    metrics::describe_counter!(
        EVENT_DELIVERY_FAILURES,
        "Batches of domain events a subscriber did not take (they are offered again), by subscriber"
    );
    metrics::describe_counter!(
        FIXES,
        "Position fixes received from car units, by result: stored (flagged ones included), duplicate, flagged, rejected"
    );
}

/// Counts one booking's outcome.
pub(crate) fn booking(outcome: Result<(), ErrorKind>) {
    let outcome = match outcome {
        Ok(()) => "confirmed",
        Err(kind) => kind.code(),
    };
    metrics::counter!(BOOKINGS, "outcome" => outcome).increment(1);
}

/// Counts one command to a unit and how long it took to settle.
pub(crate) fn lock_command(action: &'static str, result: &'static str, took: Duration) {
    metrics::counter!(LOCK_COMMANDS, "action" => action, "result" => result).increment(1);
    metrics::histogram!(LOCK_COMMAND_DURATION, "action" => action).record(took.as_secs_f64());
}

/// Counts one call to the payment provider.
pub(crate) fn payment_call(operation: &'static str, result: &'static str, took: Duration) {
    metrics::counter!(PAYMENT_CALLS, "operation" => operation, "result" => result).increment(1);
    metrics::histogram!(PAYMENT_CALL_DURATION, "operation" => operation).record(took.as_secs_f64());
}

/// Sets whether the payment provider's circuit is open.
pub(crate) fn payment_circuit_open(open: bool) {
    metrics::gauge!(PAYMENT_CIRCUIT_OPEN).set(if open { 1.0 } else { 0.0 });
}

/// Counts records a retention job removed.
pub(crate) fn purged(kind: &'static str, count: usize) {
    if count > 0 {
        metrics::counter!(PURGED, "kind" => kind).increment(count as u64);
    }
}

/// Counts one batch's fixes by result.
pub(crate) fn fixes(stored: u32, duplicates: u32, flagged: u32, rejected: usize) {
    for (result, count) in [
        ("stored", u64::from(stored)),
        ("duplicate", u64::from(duplicates)),
        ("flagged", u64::from(flagged)),
        ("rejected", rejected as u64),
    ] {
        if count > 0 {
            metrics::counter!(FIXES, "result" => result).increment(count);
        }
    }
}

/// Counts one notification attempt by its outcome.
pub(crate) fn notification(channel: &'static str, outcome: &'static str) {
    metrics::counter!(NOTIFICATION_ATTEMPTS, "channel" => channel, "outcome" => outcome)
        .increment(1);
}

/// Counts events relayed from one store.
pub(crate) fn events_relayed(store: &str, count: usize) {
    metrics::counter!(EVENTS_RELAYED, "source" => store.to_owned()).increment(count as u64);
}

/// Counts a batch a subscriber did not take.
pub(crate) fn event_delivery_failed(subscriber: &'static str) {
    metrics::counter!(EVENT_DELIVERY_FAILURES, "subscriber" => subscriber).increment(1);
}
