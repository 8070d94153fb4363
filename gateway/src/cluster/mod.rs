//! Cluster mode: several nodes over NATS JetStream, one of them the leader (see
//! docs/architecture.md, "Cluster mode").

pub mod follow;
pub mod node;
pub mod replicator;
pub mod standby;
