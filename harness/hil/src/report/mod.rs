//! Reports of a sweep (many runs), nextest style: the runner
//! ([`crate::sweep`]) emits typed [`ReportEvent`]s in a stable order, and
//! reporters consume them and never reach back into the runner.
//!
//! - [`terminal`]: a line per run, failures with the replay command, a
//!   summary line (and an indicatif progress bar when stderr is a terminal);
//! - [`junit`]: `junit.xml` (quick-junit), one testcase per scenario × seed ×
//!   backend;
//! - [`summary`]: `summary.json`, every verdict, counts, timings, versions;
//! - [`scorecard`]: `hil compare`'s side-by-side table of DUTs (text, JSON, HTML);
//! - [`html`]: `index.html`, one self-contained page, failures first, an SVG
//!   timeline per run ([`svg`]).
//!
//! Sweeps of several seeds also get a [`diversity`] line per scenario (in
//! the terminal and in `summary.json`): how many distinct traces the seeds
//! gave.
//!
//! [`ReportDir`] writes the three files of `--report DIR` again after every
//! finished run, each atomically (temp file + rename), so a sweep that is
//! killed midway leaves a valid report of what finished.

pub mod diversity;
pub mod html;
pub mod junit;
pub mod scorecard;
pub mod summary;
pub mod svg;
pub mod terminal;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::run::{RunReport, RunStatus};
use crate::trace::Record;

/// What the sweep is, known before anything runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// `run` or `fuzz`.
    pub command: String,
    /// The backend's name (`sim`, ...).
    pub backend: String,
    /// How many runs are planned (after `--partition`).
    pub planned: usize,
    /// `K/N` when partitioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// The seeds as given (`1..1000`, `42`, or `scenario` for each file's own).
    pub seeds: String,
    /// How many runs go at once.
    pub jobs: usize,
    /// Versions of the harness and the driver.
    pub versions: Versions,
}

/// Versions recorded in reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    pub hil: String,
    pub resilient_mqtt: String,
}

impl Versions {
    /// This build's versions.
    pub fn current() -> Versions {
        Versions {
            hil: env!("CARGO_PKG_VERSION").to_string(),
            resilient_mqtt: DRIVER_VERSION.to_string(),
        }
    }
}

/// The driver's version (the workspace builds hil against this path).
const DRIVER_VERSION: &str = "0.1.0";

/// One finished run, as reporters see it.
#[derive(Debug, Clone, Copy)]
pub struct Finished<'a> {
    /// Position in the plan (0-based); events come in this order.
    pub index: usize,
    pub report: &'a RunReport,
    /// The run's trace (empty when the run directory could not be written).
    pub records: &'a [Record],
    /// Wall time the run took.
    pub elapsed: Duration,
    /// Set when the run directory could not be written (an infrastructure
    /// failure of the harness itself).
    pub io_error: Option<&'a str>,
    /// The trace's [`diversity::fingerprint`] (None without a trace).
    pub fingerprint: Option<u64>,
}

/// What the runner tells reporters.
#[derive(Debug, Clone, Copy)]
pub enum ReportEvent<'a> {
    /// Before the first run.
    Started(&'a Plan),
    /// A run finished (in plan order).
    RunFinished(Finished<'a>),
    /// After the last run, or after Ctrl-C once the runs in flight finished.
    Finished {
        interrupted: bool,
        elapsed: Duration,
    },
}

/// Consumes events.
pub trait Reporter {
    fn handle(&mut self, event: &ReportEvent<'_>) -> io::Result<()>;
}

/// Counts of a sweep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub planned: usize,
    pub completed: usize,
    pub passed: usize,
    pub failed: usize,
    pub infrastructure_errors: usize,
}

impl Counts {
    pub fn add(&mut self, status: RunStatus) {
        self.completed += 1;
        match status {
            RunStatus::Pass => self.passed += 1,
            RunStatus::Fail => self.failed += 1,
            RunStatus::InfrastructureError => self.infrastructure_errors += 1,
        }
    }
}

/// A finished run kept by the file reporters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    #[serde(flatten)]
    pub report: RunReport,
    pub elapsed_ms: u64,
}

/// Writes `bytes` to `path` atomically: a temp file beside it, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Most timelines of passing runs kept in `index.html` (the first run of
/// each scenario, up to this many); failing runs always keep theirs.
pub const MAX_PASSING_TIMELINES: usize = 20;

/// `--report DIR`: `junit.xml`, `summary.json` and `index.html`, written
/// again (atomically) after every finished run and at the end.
pub struct ReportDir {
    dir: PathBuf,
    plan: Option<Plan>,
    runs: Vec<RunEntry>,
    /// The SVG of each run, kept for failing runs and each scenario's first.
    timelines: Vec<Option<String>>,
    counts: Counts,
    diversity: diversity::Diversity,
    interrupted: bool,
    finished: bool,
    elapsed: Duration,
}

impl ReportDir {
    /// Creates `dir` (and parents).
    pub fn create(dir: &Path) -> io::Result<ReportDir> {
        std::fs::create_dir_all(dir)?;
        Ok(ReportDir {
            dir: dir.to_path_buf(),
            plan: None,
            runs: Vec::new(),
            timelines: Vec::new(),
            counts: Counts::default(),
            diversity: diversity::Diversity::default(),
            interrupted: false,
            finished: false,
            elapsed: Duration::ZERO,
        })
    }

    /// Where it writes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write_all(&self) -> io::Result<()> {
        let Some(plan) = &self.plan else {
            return Ok(());
        };
        let state = summary::State {
            finished: self.finished,
            interrupted: self.interrupted,
            elapsed: self.elapsed,
        };
        let s = summary::render(
            plan,
            &self.counts,
            &self.runs,
            &self.diversity.lines(),
            &state,
        );
        write_atomic(&self.dir.join("summary.json"), s.as_bytes())?;
        let j = junit::render(plan, &self.runs, self.elapsed)?;
        write_atomic(&self.dir.join("junit.xml"), j.as_bytes())?;
        let h = html::render(plan, &self.counts, &self.runs, &self.timelines, &state);
        write_atomic(&self.dir.join("index.html"), h.as_bytes())
    }
}

impl Reporter for ReportDir {
    fn handle(&mut self, event: &ReportEvent<'_>) -> io::Result<()> {
        match event {
            ReportEvent::Started(plan) => {
                self.plan = Some((*plan).clone());
                self.counts.planned = plan.planned;
            }
            ReportEvent::RunFinished(f) => {
                self.counts.add(f.report.status);
                if let Some(h) = f.fingerprint {
                    self.diversity.add(&f.report.scenario, h);
                }
                let first = !self
                    .runs
                    .iter()
                    .any(|r| r.report.scenario == f.report.scenario);
                let kept_passing = self
                    .timelines
                    .iter()
                    .zip(&self.runs)
                    .filter(|(t, r)| t.is_some() && r.report.status == RunStatus::Pass)
                    .count();
                let keep = f.report.status != RunStatus::Pass
                    || (first && kept_passing < MAX_PASSING_TIMELINES);
                self.timelines.push(keep.then(|| {
                    svg::render(&svg::Timeline::from_records(f.records, f.report.end_ms))
                }));
                self.runs.push(RunEntry {
                    report: f.report.clone(),
                    elapsed_ms: f.elapsed.as_millis() as u64,
                });
            }
            ReportEvent::Finished {
                interrupted,
                elapsed,
            } => {
                self.interrupted = *interrupted;
                self.finished = true;
                self.elapsed = *elapsed;
            }
        }
        self.write_all()
    }
}

/// `status` as the reports spell it.
pub fn status_word(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Pass => "pass",
        RunStatus::Fail => "fail",
        RunStatus::InfrastructureError => "infrastructure_error",
    }
}

/// The failure text of a run: each failing oracle's message, the
/// infrastructure error if any, and the replay command.
pub fn failure_text(r: &RunReport) -> String {
    use crate::oracle::Status;
    let mut t = String::new();
    if let Some(e) = &r.error {
        t.push_str(&format!("infrastructure: {e}\n"));
    }
    for v in &r.verdicts {
        if v.status != Status::Fail {
            continue;
        }
        let name = if v.params.is_empty() {
            v.oracle.clone()
        } else {
            format!("{} {}", v.oracle, v.params)
        };
        for f in &v.failures {
            t.push_str(&format!("{name}: {f}\n"));
        }
    }
    t.push_str(&format!("replay: {}\n", r.replay));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_driver_version_is_the_driver_crates() {
        let manifest =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../driver/Cargo.toml");
        let t: toml::Value = toml::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
        assert_eq!(t["package"]["version"].as_str(), Some(DRIVER_VERSION));
    }

    #[test]
    fn atomic_writes_leave_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
