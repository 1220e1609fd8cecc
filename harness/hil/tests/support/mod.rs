//! What hil's integration tests share: one copy, included by each test
//! binary (`tests/pure`, `tests/live`, `tests/boards`, `tests/live_cleanup.rs`).
#![allow(dead_code)]

pub mod cli;
pub mod proc;

/// Runs the scenario `text` on the simulator with `seed` and returns its
/// trace records (panics on a parse or run error).
pub fn sim_records(text: &str, seed: u64) -> Vec<hil::trace::Record> {
    use hil::backend::Backend;
    let (scenario, _) = hil::scenario::parse(text).unwrap_or_else(|e| panic!("{e:?}"));
    let mut sink = hil::trace::sink::VecSink::default();
    hil::sim::SimBackend::new()
        .run(&scenario, seed, &mut sink)
        .unwrap_or_else(|e| panic!("{e}"));
    sink.records
}
