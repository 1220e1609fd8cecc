//! The embedded shell's integration tests in one binary (a module per
//! file): against a real mosquitto, in the turmoil simulator, and with a
//! persisted offline queue. They run with and without `alloc`
//! (`--no-default-features --features embedded-tokio`).

#[path = "../support/mod.rs"]
mod support;

mod mosquitto;
mod offline_queue;
mod sim;
