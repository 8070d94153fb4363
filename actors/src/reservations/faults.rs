//! Injected crashes, for the tests that stop the rental workflow between two of its steps.
//!
//! Outside tests a fault point is an empty function. In tests, a point armed with
//! [`Faults::arm`] stops the car's actor there: the test learns that it was reached, drops the
//! request that led there (its client is gone), and then lets the actor die with a panic, as a
//! crashed process would, before it restarts the system on the same data. From the crash on,
//! every fault point of that system panics at once: a dead process takes no further step, even
//! one an actor's retried ask would otherwise take before the restart.

/// Where the workflow can be stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultPoint {
    /// A booking's hold is placed; the reservation is not written.
    HoldPlaced,
    /// An extension's extra hold is placed; the new end is not written.
    ExtensionHeld,
    /// A command is marked in flight; it has not left.
    CommandMarked,
    /// The unit answered a command; the answer is not recorded here.
    CommandAnswered,
    /// A release's lock is done; nothing is settled.
    ReleaseLocked,
    /// A release is settled with billing; the completion is not written.
    ReleaseSettled,
}

#[cfg(not(test))]
mod inert {
    use super::FaultPoint;

    /// No faults outside tests.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Faults;

    impl Faults {
        pub(crate) fn new() -> Self {
            Faults
        }

        #[inline]
        pub(crate) async fn hit(&self, _point: FaultPoint) {}

        #[inline]
        pub(crate) fn stop_if_dead(&self) {}
    }
}
#[cfg(not(test))]
pub(crate) use inert::Faults;

#[cfg(test)]
pub(crate) use injected::Faults;
#[cfg(test)]
mod injected {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use tokio::sync::Notify;

    use super::FaultPoint;

    /// The fault armed, if any, and the two signals of a crash: reached, then die.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Faults {
        armed: Arc<Mutex<Option<FaultPoint>>>,
        reached: Arc<Notify>,
        die: Arc<Notify>,
        dead: Arc<AtomicBool>,
    }

    impl Faults {
        pub(crate) fn new() -> Self {
            Faults::default()
        }

        pub(crate) async fn hit(&self, point: FaultPoint) {
            if self.dead.load(Ordering::SeqCst) {
                panic!("the process crashed before {point:?}");
            }
            let fire = {
                let mut armed = self.armed.lock().unwrap_or_else(|e| e.into_inner());
                (*armed == Some(point)).then(|| armed.take()).is_some()
            };
            if fire {
                self.reached.notify_one();
                self.die.notified().await;
                if self.dead.load(Ordering::SeqCst) {
                    panic!("injected crash at {point:?}");
                }
            }
        }

        /// A crashed process does nothing more: an actor the supervisor restarted, or an ask
        /// retried on a fresh activation, must not reach another service (place a hold, send
        /// a command) on behalf of a process the test has already killed.
        pub(crate) fn stop_if_dead(&self) {
            if self.dead.load(Ordering::SeqCst) {
                panic!("the process crashed: no more work");
            }
        }

        /// Stops the next actor that reaches `point`.
        pub(crate) fn arm(&self, point: FaultPoint) {
            *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some(point);
        }

        /// Waits until an actor stopped at the armed point.
        pub(crate) async fn reached(&self) {
            self.reached.notified().await;
        }

        /// Lets the stopped actor go on, as if it had never stopped.
        pub(crate) fn resume(&self) {
            self.die.notify_one();
        }

        /// Lets the stopped actor die.
        pub(crate) fn crash(&self) {
            self.dead.store(true, Ordering::SeqCst);
            self.die.notify_one();
        }
    }
}
