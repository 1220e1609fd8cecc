//! hil's integration tests that need no service: the simulator, the CLI, scenario files, field import, reports, fuzzing and the docs' examples.
//!
//! One test binary (a module per file) so that hil is linked once for all of
//! them; `cargo nextest` still runs each test in its own process.

#[path = "../support/mod.rs"]
mod support;

mod adaptive_response;
mod bridge;
mod broker_faults;
mod cli;
mod field_cases;
mod field_cli;
mod field_props;
mod fuzz_readme;
mod link_faults;
mod nightly_workflow;
mod parser_props;
mod readme_examples;
mod reports;
mod scenario_errors;
mod sim_blackhole;
mod sim_broker_settings;
mod sim_power_cycle;
mod sim_scenarios;
