//! `hil reproduce`: runs a scenario over a seed range on every core and
//! finds the first seed whose oracle failures match the case's failure
//! ([`FailureSpec`]: same oracle, same message kind). Workers take seeds
//! in order; once a seed matched, no worker starts a higher one, and the
//! answer is the lowest matching seed, so the result does not depend on
//! thread timing.
//!
//! Runs are judged in memory (no run directories): the replay command
//! `hil run SCENARIO --seed N` writes the full run when wanted.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::failure::FailureSpec;
use crate::backend::Backend;
use crate::oracle::{Status, Verdict};
use crate::scenario::Scenario;
use crate::seeds::SeedRange;
use crate::trace::sink::{TraceSink, VecSink};
use crate::trace::{Actor, Event, Record};

/// Runs `scenario` with `seed` on `backend` and judges it, in memory, as
/// `run::run` does (run_start, the backend, run_end, every oracle).
pub fn judge(
    backend: &dyn Backend,
    scenario: &Scenario,
    seed: u64,
) -> Result<(Vec<Verdict>, usize), String> {
    let mut sink = VecSink::default();
    let start = Record::new(
        0,
        Actor::Harness,
        Event::RunStart {
            scenario: scenario.name.clone(),
            seed,
            backend: backend.name().to_string(),
        },
    );
    sink.emit(start).map_err(|e| e.to_string())?;
    let outcome = backend
        .run(scenario, seed, &mut sink)
        .map_err(|e| e.to_string())?;
    let last = sink.records.last().map(|r| r.t_ms).unwrap_or(0);
    sink.emit(Record::new(
        outcome.end_ms.max(last),
        Actor::Harness,
        Event::RunEnd,
    ))
    .map_err(|e| e.to_string())?;
    let verdicts = scenario
        .expect
        .iter()
        .map(|e| e.oracle.verdict(&sink.records))
        .collect();
    Ok((verdicts, sink.records.len()))
}

/// Whether `verdicts` show the case's failure; the matching message.
pub fn matches(failure: Option<&FailureSpec>, verdicts: &[Verdict]) -> Option<String> {
    match failure {
        Some(f) => f.matching(verdicts).map(|m| format!("{}: {m}", f.oracle)),
        None => verdicts.iter().find(|v| v.status == Status::Fail).map(|v| {
            format!(
                "{}: {}",
                v.oracle,
                v.failures.first().map(|f| f.message.as_str()).unwrap_or("")
            )
        }),
    }
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub seed: u64,
    /// The oracle and its failure message.
    pub message: String,
}

/// The outcome of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub found: Option<Found>,
    /// Runs made.
    pub runs: usize,
}

/// Searches `seeds` with one backend per worker. `Err` on the first
/// infrastructure failure.
pub fn search(
    scenario: &Scenario,
    failure: Option<&FailureSpec>,
    seeds: SeedRange,
    workers: Vec<Box<dyn Backend + Send>>,
) -> Result<Search, String> {
    let seeds: Vec<u64> = seeds.iter().collect();
    let next = AtomicUsize::new(0);
    let best = AtomicU64::new(u64::MAX);
    let runs = AtomicUsize::new(0);
    let found: Mutex<Vec<Found>> = Mutex::new(Vec::new());
    let error: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for backend in workers {
            let (next, best, runs, found, error, seeds) =
                (&next, &best, &runs, &found, &error, &seeds);
            s.spawn(move || loop {
                if error.lock().map(|e| e.is_some()).unwrap_or(true) || crate::sweep::interrupted()
                {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&seed) = seeds.get(i) else { break };
                if seed >= best.load(Ordering::SeqCst) {
                    break;
                }
                runs.fetch_add(1, Ordering::SeqCst);
                match judge(backend.as_ref(), scenario, seed) {
                    Ok((verdicts, _)) => {
                        if let Some(message) = matches(failure, &verdicts) {
                            best.fetch_min(seed, Ordering::SeqCst);
                            if let Ok(mut f) = found.lock() {
                                f.push(Found { seed, message });
                            }
                        }
                    }
                    Err(e) => {
                        if let Ok(mut slot) = error.lock() {
                            slot.get_or_insert(format!("seed {seed}: {e}"));
                        }
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut f = found.into_inner().unwrap_or_else(|p| p.into_inner());
    f.sort_by_key(|x| x.seed);
    Ok(Search {
        found: f.into_iter().next(),
        runs: runs.into_inner(),
    })
}

/// [`search`] with one backend on this thread (the live backend).
pub fn search_serial(
    scenario: &Scenario,
    failure: Option<&FailureSpec>,
    seeds: SeedRange,
    backend: &dyn Backend,
) -> Result<Search, String> {
    let mut runs = 0;
    for seed in seeds.iter() {
        if crate::sweep::interrupted() {
            break;
        }
        runs += 1;
        let (verdicts, _) =
            judge(backend, scenario, seed).map_err(|e| format!("seed {seed}: {e}"))?;
        if let Some(message) = matches(failure, &verdicts) {
            return Ok(Search {
                found: Some(Found { seed, message }),
                runs,
            });
        }
    }
    Ok(Search { found: None, runs })
}
