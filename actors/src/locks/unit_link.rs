//! How the locks service's commands reach the car units: one explicit choice, made by whoever
//! starts the system.
//!
//! There is no default. The in-process units obey every command they are given, so a server
//! that fell back on them would report every car as unlocked while no real car had heard a
//! thing; production must name its link ([`UnitLink::Remote`]), and the obedient units exist
//! only where they are asked for, behind the `in-process-units` feature.
//!
//! That feature is named for what it brings rather than folded into `testing` because the
//! simulator needs the in-process units in its release build (its in-process backend has no
//! network between services and cars), and nothing else of the test support. The `testing`
//! feature enables it too.
//!
//! Either way a command is handed over without waiting, and the answer comes back later through
//! [`LocksHandle::acknowledge`].

use std::sync::Arc;

use crate::commands::UnitCommand;
use crate::ids::VehicleId;

use super::LocksHandle;
use super::connections::UnitConnections;
#[cfg(any(test, feature = "in-process-units"))]
use super::in_process::InProcessUnits;

/// Where the locks service's commands go.
#[derive(Clone)]
pub enum UnitLink {
    /// The real car units, each connected to this process over the network: whatever serves
    /// their connections (the gateway's WebSocket channel) attaches them to these
    /// [`UnitConnections`], and a command reaches a unit only while it is connected.
    Remote(Arc<UnitConnections>),
    /// Units simulated in this process, answering as they are scripted to (obeying unless told
    /// otherwise): tests and the in-process simulator.
    #[cfg(any(test, feature = "in-process-units"))]
    InProcess(InProcessUnits),
}

impl UnitLink {
    /// The production link, with no unit connected yet.
    pub fn remote() -> Self {
        UnitLink::Remote(Arc::default())
    }

    /// The connections a remote link sends through, for the server that accepts them; `None`
    /// for units in this process.
    pub fn connections(&self) -> Option<&Arc<UnitConnections>> {
        match self {
            UnitLink::Remote(connections) => Some(connections),
            #[cfg(any(test, feature = "in-process-units"))]
            UnitLink::InProcess(_) => None,
        }
    }

    /// Whether a command sent to the car's unit now would reach it: its connection is open
    /// (remote), or it is not scripted offline (in process). What operators see as "offline".
    pub fn reachable(&self, vehicle: VehicleId) -> bool {
        match self {
            UnitLink::Remote(connections) => connections.is_connected(vehicle),
            #[cfg(any(test, feature = "in-process-units"))]
            UnitLink::InProcess(units) => units.reachable(vehicle),
        }
    }

    /// Hands `command` to the car's unit if it can be reached, without waiting for it; returns
    /// whether it was handed over. A command not handed over stays pending until the unit
    /// connects (and fetches its pending commands) or the command expires.
    pub(crate) fn deliver(&self, vehicle: VehicleId, command: UnitCommand) -> bool {
        match self {
            UnitLink::Remote(connections) => connections.deliver(vehicle, command),
            #[cfg(any(test, feature = "in-process-units"))]
            UnitLink::InProcess(units) => units.deliver(vehicle, command),
        }
    }

    /// Gives in-process units the locks service their answers go to, once it runs; remote units
    /// answer through their connections and need nothing.
    #[cfg_attr(not(any(test, feature = "in-process-units")), allow(unused_variables))]
    pub(crate) fn bind(&self, locks: &Arc<LocksHandle>) {
        match self {
            UnitLink::Remote(_) => {}
            #[cfg(any(test, feature = "in-process-units"))]
            UnitLink::InProcess(units) => units.bind(locks),
        }
    }
}
