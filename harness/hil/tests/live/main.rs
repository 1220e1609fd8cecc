//! hil's live tests: real time against a real mosquitto (a process or a container) and the chaos broker on real TCP, through the fault proxy.
//!
//! One test binary (a module per file) so that hil is linked once for all of
//! them; `cargo nextest` still runs each test in its own process.

#[path = "../support/mod.rs"]
mod support;

mod live_blackbox;
mod live_brokers;
mod live_chaos_faults;
mod live_compare;
mod live_interrupt;
mod live_lab;
mod live_mosquitto;
mod live_scenarios;
