//! The actor system as one unit: the seven service stores and the root supervisor.
//!
//! Start-up opens every store before any actor runs, so a service never starts on a store it
//! cannot read; shutdown stops the actors first (no more writes) and then closes every store,
//! which runs a final flush.

use std::time::Duration;

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use storage::{StorageError, Store};

use crate::billing::{self, BillingHandle, MercadoPagoProvider, PaymentProvider, SandboxProvider};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::customers::{self, CustomersHandle};
use crate::events::{EventRelay, EventSubscriber, RelayOptions};
use crate::location::{self, LocationHandle};
use crate::locks::{self, LocksHandle, UnitLink};
use crate::notifications::{self, NotificationsHandle};
use crate::ports::{LateBound, ReservationLookup};
use crate::reports::{self, ReportsHandle};
use crate::reservations::{self, ReservationsDeps, ReservationsHandle};
use crate::vehicles::{self, VehiclesHandle};

/// Names of the services; each has a store of the same name under the data directory.
pub const SERVICES: [&str; 8] = [
    "customers",
    "vehicles",
    "location",
    "reservations",
    "locks",
    "billing",
    "notifications",
    "reports",
];

pub use crate::ask::ASK_TIMEOUT;

/// Why the system could not start, answer or stop.
#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    /// A store could not be opened or closed.
    #[error("store: {0}")]
    Storage(#[from] StorageError),
    /// An actor could not be spawned.
    #[error("cannot start actor `{actor}`: {reason}")]
    Spawn {
        /// The actor.
        actor: String,
        /// What ractor said.
        reason: String,
    },
    /// An actor did not answer in time.
    #[error("`{actor}` did not answer within {timeout:?}")]
    Timeout {
        /// The actor asked.
        actor: String,
        /// How long it was given.
        timeout: Duration,
    },
    /// An actor's mailbox is closed: it has stopped.
    #[error("`{actor}` is not running")]
    Unavailable {
        /// The actor asked.
        actor: String,
    },
}

/// The seven service stores.
#[derive(Debug, Clone)]
pub struct Stores {
    stores: Vec<Store>,
}

impl Stores {
    /// Opens every service's store under the configured data directory.
    pub fn open(config: &Config) -> Result<Self, StorageError> {
        let stores = SERVICES
            .iter()
            .map(|service| Store::open(&config.storage, service))
            .collect::<Result<_, _>>()?;
        Ok(Stores { stores })
    }

    /// The store of `service`, one of [`SERVICES`].
    pub fn get(&self, service: &str) -> Option<&Store> {
        self.stores.iter().find(|store| store.name() == service)
    }

    /// Every store, in [`SERVICES`] order.
    pub fn all(&self) -> &[Store] {
        &self.stores
    }

    /// Flushes and closes every store; reports the first failure after trying them all.
    pub fn close(&self) -> Result<(), StorageError> {
        let mut first_error = None;
        for store in &self.stores {
            if let Err(error) = store.close() {
                tracing::error!(store = store.name(), %error, "final flush failed");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Messages of the root supervisor.
#[derive(Debug)]
pub enum RootMessage {
    /// Answers when the root is processing messages (readiness).
    Ping(RpcReplyPort<()>),
}

/// The root of the supervision tree. It outlives every failure below it: a child that stops
/// is logged and counted, never a reason for the root to stop (ractor's default would be).
struct Root;

impl Actor for Root {
    type Msg = RootMessage;
    type State = ();
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        _args: (),
    ) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        _state: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RootMessage::Ping(reply) => {
                // The asker may have timed out and gone; nothing to do then.
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        _state: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(child, error) = event {
            tracing::error!(child = %child.get_id(), %error, "service supervisor failed");
        }
        Ok(())
    }

    /// Stopping the root stops the service supervisors (and through them every entity) before
    /// the stores are closed, so no actor writes after the final flush.
    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        _state: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        myself
            .stop_children_and_wait(Some("shutdown".into()), Some(Duration::from_secs(10)))
            .await;
        Ok(())
    }
}

/// The services' handles: the whole API of the system.
#[derive(Clone)]
pub struct Services {
    /// Customers and their profiles.
    pub customers: CustomersHandle,
    /// The fleet.
    pub vehicles: VehiclesHandle,
    /// Where the cars are.
    pub location: LocationHandle,
    /// Bookings, who may open each car, and the rental workflow.
    pub reservations: ReservationsHandle,
    /// The car units' commands and their log.
    pub locks: LocksHandle,
    /// Holds and captures.
    pub billing: BillingHandle,
    /// E-mail and operator webhooks, queued durably and sent at least once.
    pub notifications: NotificationsHandle,
    /// The relay of every store's domain events to their subscribers.
    pub events: EventRelay,
    /// The operator's event log and the reports' projections.
    pub reports: ReportsHandle,
}

/// What a system runs with besides its configuration. Neither has a default: the clock decides
/// every deadline, and a link chosen by omission could send commands to units no car ever hears
/// (see [`UnitLink`]).
pub struct SystemOptions {
    /// Where time comes from.
    pub clock: SharedClock,
    /// How the locks service's commands reach the car units.
    pub units: UnitLink,
    /// Subscribers to the domain events besides the system's own, subscribed before the relay
    /// and the services' recovery start: one added after the start may miss an event the
    /// recovery wrote (a command in flight reconciled) and the relay already delivered.
    pub subscribers: Vec<Arc<dyn EventSubscriber>>,
}

/// A running actor system.
pub struct RentalSystem {
    stores: Stores,
    root: ActorRef<RootMessage>,
    root_task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    services: Services,
    clock: SharedClock,
    /// The strong references behind the services' late-bound slots (see `LateBound`).
    _bound: (Arc<dyn ReservationLookup>, Arc<LocksHandle>),
    /// How commands reach the car units (and so whether a unit is reachable).
    units: UnitLink,
    /// Periodic retention jobs; aborted at shutdown, or when the system is dropped, so that
    /// they do not keep its stores in memory.
    housekeeping: Vec<tokio::task::AbortHandle>,
}

impl Drop for RentalSystem {
    fn drop(&mut self) {
        for task in &self.housekeeping {
            task.abort();
        }
    }
}

fn spawn_error(actor: &str) -> impl FnOnce(ractor::SpawnErr) -> SystemError + '_ {
    move |error| SystemError::Spawn {
        actor: actor.to_owned(),
        reason: error.to_string(),
    }
}

impl RentalSystem {
    /// Opens the stores and starts every service under the root supervisor.
    pub async fn start(config: &Config, options: SystemOptions) -> Result<Self, SystemError> {
        let stores = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || Stores::open(&config))
                .await
                .map_err(|error| SystemError::Spawn {
                    actor: "stores".into(),
                    reason: error.to_string(),
                })??
        };
        let (root, root_task) = Actor::spawn(None, Root, ())
            .await
            .map_err(spawn_error("root"))?;
        let clock = options.clock;
        let parent = Some(root.get_cell());
        let store = |name: &str| {
            stores.get(name).cloned().ok_or_else(|| SystemError::Spawn {
                actor: name.to_owned(),
                reason: "no store".into(),
            })
        };

        let notifications = notifications::start(
            store("notifications")?,
            clock.clone(),
            config,
            parent.clone(),
        )
        .await
        .map_err(spawn_error("notifications"))?;
        let reservation_lookup: LateBound<dyn ReservationLookup> = LateBound::new("reservations");
        let units = options.units;
        let subscribers = options.subscribers;

        let billing_store = store("billing")?;
        let setup_failed = |reason: String| SystemError::Spawn {
            actor: "billing".into(),
            reason,
        };
        let provider: Arc<dyn PaymentProvider> = match config.billing.provider.as_str() {
            "stripe" => Arc::new(
                billing::StripeProvider::open(&billing_store, &config.billing)
                    .map_err(|error| setup_failed(error.to_string()))?,
            ),
            "mercadopago" => Arc::new(
                MercadoPagoProvider::from_config(&config.billing)
                    .map_err(|error| setup_failed(error.to_string()))?,
            ),
            _ => Arc::new(SandboxProvider::open(&billing_store)?),
        };
        let billing = billing::start(
            billing_store,
            provider,
            clock.clone(),
            config,
            parent.clone(),
        )
        .await
        .map_err(spawn_error("billing"))?;
        let customers = customers::start(
            store("customers")?,
            billing.clone(),
            reservation_lookup.clone(),
            clock.clone(),
            config,
            parent.clone(),
        )
        .await
        .map_err(spawn_error("customers"))?;
        let location = location::start(store("location")?, clock.clone(), config, parent.clone())
            .await
            .map_err(spawn_error("location"))?;
        let vehicles = vehicles::start(
            store("vehicles")?,
            location.clone(),
            reservation_lookup.clone(),
            clock.clone(),
            config,
            parent.clone(),
        )
        .await
        .map_err(spawn_error("vehicles"))?;
        let locks = locks::start(
            store("locks")?,
            units.clone(),
            location.clone(),
            clock.clone(),
            config,
            parent.clone(),
        )
        .await
        .map_err(spawn_error("locks"))?;
        let deps = ReservationsDeps {
            vehicles: vehicles.clone(),
            customers: customers.clone(),
            billing: billing.clone(),
            location: location.clone(),
            commands: Arc::new(locks.clone()),
        };
        let reservations = reservations::start(
            store("reservations")?,
            deps,
            clock.clone(),
            config,
            parent.clone(),
        )
        .await
        .map_err(spawn_error("reservations"))?;
        let reports = reports::start(store("reports")?, clock.clone(), config, parent)
            .await
            .map_err(spawn_error("reports"))?;
        let bound_lookup: Arc<dyn ReservationLookup> = Arc::new(reservations.clone());
        let bound_locks = Arc::new(locks.clone());
        reservation_lookup.bind(&bound_lookup);
        units.bind(&bound_locks);
        let units_link = units.clone();
        let events = EventRelay::new(stores.all(), RelayOptions::default());
        // Subscribed before the relay starts, so that no event leaves an outbox unseen by them.
        events.subscribe(Arc::new(reports.clone()));
        events.subscribe(Arc::new(notifications::EventMessages::new(
            notifications.clone(),
            Arc::new(customers.clone()),
        )));
        for subscriber in subscribers {
            events.subscribe(subscriber);
        }
        let mut housekeeping = vec![customers.purge_sessions_periodically()];
        housekeeping.extend(events.start());

        Ok(RentalSystem {
            stores,
            root,
            root_task: tokio::sync::Mutex::new(Some(root_task)),
            services: Services {
                customers,
                vehicles,
                location,
                reservations,
                locks,
                billing,
                notifications,
                events,
                reports,
            },
            clock,
            _bound: (bound_lookup, bound_locks),
            units: units_link,
            housekeeping,
        })
    }

    /// The services' handles.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The system's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Whether a command sent to the car's unit now would reach it (see
    /// [`UnitLink::reachable`]).
    pub fn unit_reachable(&self, vehicle: crate::ids::VehicleId) -> bool {
        self.units.reachable(vehicle)
    }

    /// The service stores.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// Succeeds when the root and every service supervisor answer within [`ASK_TIMEOUT`].
    pub async fn ready(&self) -> Result<(), SystemError> {
        let answer = ractor::call_t!(self.root, RootMessage::Ping, ASK_TIMEOUT.as_millis() as u64);
        answer.map_err(|error| match error {
            ractor::RactorErr::Timeout => SystemError::Timeout {
                actor: "root".into(),
                timeout: ASK_TIMEOUT,
            },
            _ => SystemError::Unavailable {
                actor: "root".into(),
            },
        })?;
        let services = &self.services;
        let checks = [
            services.customers.ping(),
            services.vehicles.ping(),
            services.location.ping(),
            services.reservations.ping(),
            services.locks.ping(),
            services.billing.ping(),
            services.notifications.ping(),
            services.reports.ping(),
        ];
        for check in checks {
            check.map_err(|error| SystemError::Unavailable {
                actor: error.to_string(),
            })?;
        }
        Ok(())
    }

    /// Stops every actor, then flushes and closes every store. Takes `&self` so that it works
    /// while request handlers still hold the system; a second call only re-checks the stores.
    pub async fn shutdown(&self) -> Result<(), SystemError> {
        for task in &self.housekeeping {
            task.abort();
        }
        self.root.stop(Some("shutdown".into()));
        if let Some(task) = self.root_task.lock().await.take()
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "root supervisor ended abnormally");
        }
        let stores = self.stores.clone();
        tokio::task::spawn_blocking(move || stores.close())
            .await
            .map_err(|error| SystemError::Spawn {
                actor: "stores".into(),
                reason: error.to_string(),
            })??;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn starts_answers_and_shuts_down_with_one_store_per_service() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.storage.data_dir = dir.path().to_owned();
        let options = SystemOptions {
            clock: Arc::new(crate::clock::SystemClock),
            units: UnitLink::remote(),
            subscribers: Vec::new(),
        };
        let system = RentalSystem::start(&config, options).await.unwrap();
        system.ready().await.unwrap();
        assert_eq!(system.stores().all().len(), SERVICES.len());
        system.shutdown().await.unwrap();
        for service in SERVICES {
            assert!(
                dir.path().join(service).is_dir(),
                "no store directory for {service}"
            );
        }
    }
}
