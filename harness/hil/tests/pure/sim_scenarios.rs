//! Every scenario in `scenarios/` on the simulator: it passes its oracles,
//! its transcript matches the stored insta snapshot, two runs with one seed
//! give byte-identical traces, and another seed runs too.
//!
//! Accept an intended change with `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test -p hil --test pure sim_scenarios`).

use std::path::{Path, PathBuf};

use hil::backend::Backend;
use hil::oracle::Status;
use hil::scenario::{self, Scenario};
use hil::sim::SimBackend;
use hil::trace::sink::VecSink;
use hil::trace::Record;
use hil::transcript::Transcript;

fn scenario_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    hil::discover::scenario_files(&[root]).expect("scenarios/ readable")
}

fn load(path: &Path) -> Scenario {
    scenario::load(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario
}

fn run(scenario: &Scenario, seed: u64) -> Vec<Record> {
    let mut sink = VecSink::default();
    SimBackend::new()
        .run(scenario, seed, &mut sink)
        .unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
    sink.records
}

/// Runs `f` over the scenarios on every core, in a stable order of results.
fn each_scenario<T: Send>(f: impl Fn(&Path, &Scenario) -> T + Sync) -> Vec<(String, T)> {
    let mut files = scenario_files();
    assert!(files.len() >= 15, "the scenario library is there");
    // SIM_SCENARIO=<part of a file name> narrows the run while debugging.
    if let Ok(only) = std::env::var("SIM_SCENARIO") {
        files.retain(|p| p.to_string_lossy().contains(&only));
    }
    let jobs: Vec<(PathBuf, Scenario)> = files.iter().map(|p| (p.clone(), load(p))).collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((path, scenario)) = jobs.get(i) else {
                    return;
                };
                let out = f(path, scenario);
                results
                    .lock()
                    .unwrap()
                    .push((i, scenario.name.clone(), out));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _, _)| *i);
    results.into_iter().map(|(_, n, t)| (n, t)).collect()
}

#[test]
fn every_scenario_passes_and_matches_its_snapshot() {
    let results = each_scenario(|_, scenario| {
        let records = run(scenario, scenario.seed);
        let failures: Vec<String> = scenario
            .expect
            .iter()
            .map(|e| e.oracle.verdict(&records))
            .filter(|v| v.status == Status::Fail)
            .map(|v| format!("{v:?}"))
            .collect();
        (Transcript::render_snapshot(&records), failures)
    });
    let mut failed = Vec::new();
    for (name, (transcript, failures)) in &results {
        if !failures.is_empty() {
            failed.push(format!("{name}: {failures:#?}"));
        }
        insta::assert_snapshot!(name.as_str(), transcript);
    }
    assert!(failed.is_empty(), "oracle failures:\n{}", failed.join("\n"));
}

#[test]
fn same_seed_same_trace_other_seed_runs() {
    let results = each_scenario(|_, scenario| {
        let a = run(scenario, scenario.seed);
        let b = run(scenario, scenario.seed);
        let other = run(scenario, scenario.seed.wrapping_add(1000));
        let first_difference = a.iter().zip(&b).position(|(x, y)| x != y).map(|i| {
            format!(
                "record #{i}:\n  {}\n  {}",
                a[i].to_json_line(),
                b[i].to_json_line()
            )
        });
        let same = a == b;
        (same, first_difference, a.len(), other.len())
    });
    for (name, (same, diff, len, other_len)) in results {
        assert!(same, "{name}: two runs with one seed differ at {diff:?}");
        assert!(len > 2 && other_len > 2, "{name}: empty traces");
    }
}
