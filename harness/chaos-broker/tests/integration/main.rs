//! The chaos broker's integration tests in one binary (a module per file):
//! behaviour over in-memory streams, the differential test against a real
//! mosquitto, property tests, the standalone binary and the broker on turmoil.

#[path = "../support/mod.rs"]
mod support;

mod behaviour;
mod differential;
mod proptests;
mod standalone;
mod turmoil;
