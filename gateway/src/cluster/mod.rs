//! Cluster mode: several nodes over NATS JetStream, one of them the leader (see
//! docs/architecture.md, "Cluster mode").

pub mod standby;
