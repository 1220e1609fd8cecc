//! The live suite: every scenario in `scenarios/` tagged `live` runs on the
//! live backend against a real mosquitto (through the fault proxy), at its
//! `live_time_scale`, and every oracle of the scenario must pass. (~2 min
//! of wall time; the chaos broker runs the same files with
//! `hil run --backend live --broker chaos`.)

use std::path::Path;

use hil::backend::Backend;
use hil::live::{BrokerKind, LiveBackend};
use hil::oracle::{Outcome, Trace};
use hil::trace::sink::VecSink;

#[test]
fn every_live_tagged_scenario_passes_its_oracles_against_mosquitto() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let files = hil::discover::scenario_files(&[root]).expect("scenarios/ is readable");
    let mut ran = Vec::new();
    let mut failures = Vec::new();
    for f in files {
        let loaded = hil::scenario::load(&f).unwrap_or_else(|e| panic!("{e}"));
        let s = loaded.scenario;
        if !s.tags.iter().any(|t| t == "live") {
            continue;
        }
        assert!(
            s.duration.as_millis() as f64 * s.live_time_scale <= 60_000.0,
            "{}: a live scenario must take at most 60 s of wall time",
            s.name
        );
        let mut sink = VecSink::default();
        LiveBackend::new(BrokerKind::Mosquitto)
            .run(&s, s.seed, &mut sink)
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let trace = Trace::new(&sink.records);
        // `never_stalls` is judged on the simulator only: on the wall clock
        // (scaled by live_time_scale) it measures this machine's scheduler
        // under load, not the DUT (a loaded 2-core CI host stalls a task
        // for a second now and then).
        for e in s
            .expect
            .iter()
            .filter(|e| e.oracle.name() != "never_stalls")
        {
            if let Outcome::Fail(f) = e.oracle.check(&trace) {
                failures.push(format!("{}: {}: {:?}", s.name, e.oracle.name(), f));
            }
        }
        ran.push(s.name);
    }
    assert!(ran.len() >= 5, "live-tagged scenarios: {ran:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
