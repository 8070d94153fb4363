//! Whole runs of the simulator against one server ([`single`]) and against a cluster whose
//! leader dies mid-run ([`failover`]) or is cut off from NATS ([`partition`]).

mod cluster;
mod failover;
mod partition;
mod single;
