//! `summary.json`: the sweep for machines: the plan (backend, seeds,
//! partition, versions), whether it finished or was interrupted, counts,
//! wall time, and every run with its status, verdicts, replay command and
//! elapsed time, in plan order; for sweeps of several seeds, the
//! `seed_diversity` of each scenario (distinct traces from its seeds, see
//! `report::diversity`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::diversity::Line;
use super::{Counts, Plan, RunEntry};

/// The document's schema version (bump on incompatible changes).
pub const SCHEMA: u32 = 1;

/// Where the sweep is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// The sweep ended (all runs, or interrupted and drained).
    pub finished: bool,
    /// Ctrl-C stopped it before every planned run ran.
    pub interrupted: bool,
    /// Wall time so far (at the end: the whole sweep).
    pub elapsed: Duration,
}

/// The document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: u32,
    #[serde(flatten)]
    pub plan: Plan,
    /// `running` (written after each run), `finished` or `interrupted`.
    pub state: String,
    pub counts: Counts,
    pub elapsed_ms: u64,
    pub runs: Vec<RunEntry>,
    /// Per scenario run with two seeds or more: distinct traces from its
    /// seeds (absent when no scenario was).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seed_diversity: Vec<Line>,
}

/// Renders the document (pretty JSON, newline-terminated).
pub fn render(
    plan: &Plan,
    counts: &Counts,
    runs: &[RunEntry],
    seed_diversity: &[Line],
    state: &State,
) -> String {
    let doc = Summary {
        schema: SCHEMA,
        plan: plan.clone(),
        state: match (state.finished, state.interrupted) {
            (_, true) => "interrupted",
            (true, false) => "finished",
            (false, false) => "running",
        }
        .to_string(),
        counts: *counts,
        elapsed_ms: state.elapsed.as_millis() as u64,
        runs: runs.to_vec(),
        seed_diversity: seed_diversity.to_vec(),
    };
    serde_json::to_string_pretty(&doc).expect("the summary always serializes") + "\n"
}
