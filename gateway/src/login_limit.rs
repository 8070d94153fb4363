//! Login limits that slow down password guessing without letting anyone lock a victim out.
//!
//! The policy. No refusal charges another limit: a refused attempt costs the victim's account
//! nothing, and a refusal by the account's limit costs the address nothing.
//!
//! 1. **Per account, failed logins only** (`server.login_per_email_per_min` failures a minute,
//!    in bursts of as many). A correct password never spends this budget, and neither does an
//!    attempt refused by a limit. While the budget is spent, an address that failed against the
//!    account in the last [`FAILURE_MEMORY`] is refused (429, `Retry-After` until the budget has
//!    room again) before its password is checked. Any other address is let through: a correct
//!    login from an address that did not fail is never blocked by this limit, so whoever floods
//!    an account with wrong passwords does not lock its owner out. Each failure marks its
//!    address, so once the budget is spent an attacker needs a fresh address per guess, on top
//!    of the per-address limit and the cost of argon2 on every guess.
//! 2. **Per client address, every attempt the account's limit let through**
//!    (`server.login_per_ip_per_min`, in bursts of as many), failed or not, whatever the
//!    account: it bounds how fast one address guesses across all accounts.
//! 3. A successful login forgets that address's failures against the account (a customer who
//!    mistyped, then got it right, is not refused later for the mistake); the account's budget
//!    refills with time only, so logging in does not hand guessers a fresh budget.
//!
//! The e-mail is the account's key whether or not an account has it, so the answers do not
//! tell which e-mails are registered. An IPv6 address is counted by its /64
//! ([`crate::client_addr::ClientAddr::limit_key`]).
//!
//! Memory: an account is remembered only after a failure, and forgotten by
//! [`LoginLimits::forget_idle`] (on the server's timer, with the other limiters) once its
//! budget is full again and its failures are older than [`FAILURE_MEMORY`]. What is kept is
//! therefore bounded by the failures of the last few minutes, which the per-address limit
//! bounds in turn.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::nanos::Nanos;

use crate::rate_limit::RateLimiter;

/// How long a failed login marks its address for the account it failed against.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(10 * 60);

/// What an account's failures left behind.
struct Account<I> {
    /// When the failure budget is back to full (GCRA's theoretical arrival time): a failure
    /// fits the budget while `now >= budget_full - burst_span`.
    budget_full: I,
    /// The addresses that failed against the account, with their last failure.
    failed_from: HashMap<String, I>,
}

/// The two login limits of the policy above.
pub struct LoginLimits<C: Clock = DefaultClock> {
    per_address: RateLimiter<C>,
    accounts: Mutex<HashMap<String, Account<C::Instant>>>,
    /// One failure's share of a minute.
    interval: Nanos,
    /// The burst beyond one failure: `(failures_per_min - 1) × interval`.
    burst_span: Nanos,
    clock: C,
}

impl LoginLimits {
    /// `failures_per_min` failed logins per account, `attempts_per_min` attempts per address.
    pub fn per_minute(failures_per_min: u32, attempts_per_min: u32) -> Self {
        LoginLimits::with_clock(failures_per_min, attempts_per_min, DefaultClock::default())
    }
}

impl<C: Clock + Clone> LoginLimits<C> {
    /// As [`LoginLimits::per_minute`], on `clock` (tests drive a fake one).
    pub fn with_clock(failures_per_min: u32, attempts_per_min: u32, clock: C) -> Self {
        let failures = NonZeroU32::new(failures_per_min).unwrap_or(NonZeroU32::MIN);
        let interval = Nanos::from(Duration::from_secs(60) / failures.get());
        LoginLimits {
            per_address: RateLimiter::with_clock(attempts_per_min, clock.clone()),
            accounts: Mutex::new(HashMap::new()),
            interval,
            burst_span: Nanos::from(Duration::from(interval) * (failures.get() - 1)),
            clock,
        }
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Account<C::Instant>>> {
        // The map holds no invariant a panicking holder could break halfway.
        self.accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Before the password is checked: takes one attempt from `address`, and refuses an
    /// address that failed against `account` while its failure budget is spent. `Err(wait)`:
    /// refused, retry after `wait`.
    pub fn admit(&self, account: &str, address: &str) -> Result<(), Duration> {
        // The account's limit only looks, so that its refusals cost the address nothing.
        self.refused_by_account(account, address)
            .map_or(Ok(()), Err)?;
        self.per_address.check(address)
    }

    /// How long `address` must wait when it failed against `account` recently and the
    /// account's budget is spent; `None` when it may try.
    fn refused_by_account(&self, account: &str, address: &str) -> Option<Duration> {
        let now = self.clock.now();
        let accounts = self.accounts();
        let state = accounts.get(account)?;
        let room_at = state.budget_full.saturating_sub(self.burst_span);
        let failed_here = state
            .failed_from
            .get(address)
            .is_some_and(|at| Duration::from(now.duration_since(*at)) < FAILURE_MEMORY);
        (now < room_at && failed_here).then(|| Duration::from(room_at.duration_since(now)))
    }

    /// A wrong password (or an unknown e-mail) from `address`: spends one failure of the
    /// account's budget if it has one left, and marks the address either way.
    pub fn failed(&self, account: &str, address: &str) {
        let now = self.clock.now();
        let mut accounts = self.accounts();
        let state = accounts
            .entry(account.to_owned())
            .or_insert_with(|| Account {
                budget_full: now,
                failed_from: HashMap::new(),
            });
        if now >= state.budget_full.saturating_sub(self.burst_span) {
            state.budget_full = state.budget_full.max(now) + self.interval;
        }
        state.failed_from.insert(address.to_owned(), now);
    }

    /// A correct password from `address`: its failures against the account are forgotten.
    pub fn succeeded(&self, account: &str, address: &str) {
        let now = self.clock.now();
        let mut accounts = self.accounts();
        if let Some(state) = accounts.get_mut(account) {
            state.failed_from.remove(address);
            if state.failed_from.is_empty() && state.budget_full <= now {
                accounts.remove(account);
            }
        }
    }

    /// Forgets failures older than [`FAILURE_MEMORY`], accounts with a full budget and no
    /// failure left, and idle addresses; gives their memory back.
    pub fn forget_idle(&self) {
        self.per_address.forget_idle();
        let now = self.clock.now();
        let mut accounts = self.accounts();
        accounts.retain(|_, state| {
            state
                .failed_from
                .retain(|_, at| Duration::from(now.duration_since(*at)) < FAILURE_MEMORY);
            state.failed_from.shrink_to_fit();
            !state.failed_from.is_empty() || state.budget_full > now
        });
        accounts.shrink_to_fit();
    }

    /// How many accounts and addresses are remembered.
    pub fn keys(&self) -> (usize, usize) {
        (self.accounts().len(), self.per_address.keys())
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    const VICTIM: &str = "maria@example.com";
    const ATTACKER: &str = "198.51.100.66";
    const OWNER: &str = "203.0.113.7";

    /// 5 failures a minute per account, 30 attempts a minute per address.
    fn limits() -> (LoginLimits<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (LoginLimits::with_clock(5, 30, clock.clone()), clock)
    }

    /// An attempt with a wrong password: whether it was let through to the password check.
    fn guess(limits: &LoginLimits<FakeRelativeClock>, account: &str, address: &str) -> bool {
        let admitted = limits.admit(account, address).is_ok();
        if admitted {
            limits.failed(account, address);
        }
        admitted
    }

    #[test]
    fn a_flood_of_wrong_passwords_does_not_lock_the_owner_out() {
        let (limits, _clock) = limits();
        let admitted = (0..30).filter(|_| guess(&limits, VICTIM, ATTACKER)).count();
        assert_eq!(
            admitted, 5,
            "the account's budget, then the attacker is refused"
        );
        let wait = limits.admit(VICTIM, ATTACKER).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        // The owner, from an address that never failed, gets through at once.
        assert!(limits.admit(VICTIM, OWNER).is_ok());
        limits.succeeded(VICTIM, OWNER);
        assert!(limits.admit(VICTIM, OWNER).is_ok());
    }

    #[test]
    fn refusals_charge_no_other_limit() {
        let (limits, _clock) = limits();
        // The attacker spends its address's 30 attempts on other accounts, then is refused by
        // the per-address limit, again and again, on the victim's e-mail.
        for n in 0..30 {
            assert!(guess(&limits, &format!("other{n}@example.com"), ATTACKER));
        }
        for _ in 0..100 {
            assert!(limits.admit(VICTIM, ATTACKER).is_err());
        }
        // None of that spent the victim's budget: all 5 failures are still there.
        for n in 0..5 {
            assert!(guess(&limits, VICTIM, &format!("192.0.2.{n}")));
        }
        assert!(limits.admit(VICTIM, "192.0.2.0").is_err());

        // Refusals by the account's limit do not spend the address's attempts either.
        let (limits, _clock) = self::limits();
        for _ in 0..5 {
            assert!(guess(&limits, VICTIM, ATTACKER));
        }
        for _ in 0..100 {
            assert!(limits.admit(VICTIM, ATTACKER).is_err());
        }
        // 5 of the 30 attempts were spent; the 25 left are the address's.
        let left = (0..30)
            .filter(|n| limits.admit(&format!("x{n}@example.com"), ATTACKER).is_ok())
            .count();
        assert_eq!(left, 25);
    }

    #[test]
    fn once_the_budget_is_spent_each_new_address_gets_one_guess() {
        let (limits, _clock) = limits();
        for _ in 0..5 {
            assert!(guess(&limits, VICTIM, ATTACKER));
        }
        for n in 0..20 {
            let address = format!("192.0.2.{n}");
            assert!(guess(&limits, VICTIM, &address), "a fresh address");
            assert!(
                limits.admit(VICTIM, &address).is_err(),
                "then refused: it failed"
            );
        }
    }

    #[test]
    fn a_correct_login_forgets_that_address_failures_only() {
        let (limits, _clock) = limits();
        for _ in 0..4 {
            assert!(guess(&limits, VICTIM, OWNER), "the owner mistyping");
        }
        assert!(guess(&limits, VICTIM, ATTACKER));
        assert!(limits.admit(VICTIM, OWNER).is_err());
        assert!(limits.admit(VICTIM, ATTACKER).is_err());
        // Suppose the owner's correct login had come in first: it forgets the owner's
        // mistakes, not the attacker's, and gives the budget back to no one.
        limits.succeeded(VICTIM, OWNER);
        assert!(limits.admit(VICTIM, OWNER).is_ok());
        assert!(limits.admit(VICTIM, ATTACKER).is_err());
    }

    #[test]
    fn the_budget_refills_with_time_and_old_failures_are_forgotten() {
        let (limits, clock) = limits();
        for _ in 0..5 {
            assert!(guess(&limits, VICTIM, ATTACKER));
        }
        assert!(limits.admit(VICTIM, ATTACKER).is_err());
        clock.advance(Duration::from_secs(12));
        assert!(guess(&limits, VICTIM, ATTACKER), "one failure's share back");
        assert!(limits.admit(VICTIM, ATTACKER).is_err());
        clock.advance(Duration::from_secs(60));
        for _ in 0..5 {
            assert!(guess(&limits, VICTIM, ATTACKER), "a full budget again");
        }
        assert_eq!(limits.keys().0, 1);
        // Within the memory, a spent budget keeps the account; past it, nothing is left.
        clock.advance(Duration::from_secs(61));
        limits.forget_idle();
        assert_eq!(limits.keys().0, 1, "its failures are still recent");
        clock.advance(FAILURE_MEMORY);
        limits.forget_idle();
        assert_eq!(limits.keys(), (0, 0));
    }

    #[test]
    fn memory_is_given_back_for_many_accounts_and_addresses() {
        let (limits, clock) = limits();
        for n in 0..1000 {
            let address = format!("10.0.{}.{}", n / 256, n % 256);
            assert!(guess(&limits, &format!("user{n}@example.com"), &address));
        }
        assert_eq!(limits.keys(), (1000, 1000));
        limits.succeeded("user0@example.com", "10.0.0.0");
        clock.advance(FAILURE_MEMORY + Duration::from_secs(1));
        limits.forget_idle();
        assert_eq!(limits.keys(), (0, 0));
    }
}
