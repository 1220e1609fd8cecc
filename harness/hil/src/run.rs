//! One run: a scenario, a seed and a backend in; a run directory out.
//!
//! ```text
//! <out>/<scenario name>/<seed>/
//!     trace.jsonl      every event, one JSON object per line, flushed per line
//!     transcript.txt   the trace as stable text (crate::transcript)
//!     verdicts.json    the run's status, each oracle's verdict, the replay command
//!     ...              files the backend returned (`RunOutcome::artifacts`,
//!                      e.g. a board's board.json and console.log)
//! ```
//!
//! The trace is written as the backend emits it (through a
//! [`RunSink`]: time check, secrets removed), so a run that is killed still
//! leaves it. Oracles are judged only when the backend finished: a backend
//! error is an infrastructure failure, reported apart from DUT failures.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::{Artifact, Backend, BackendKind};
use crate::oracle::{Status, Verdict};
use crate::scenario::Scenario;
use crate::trace::sink::{RunSink, TraceSink};
use crate::trace::{Actor, Event, Record};
use crate::transcript::Transcript;

/// The default base directory for run directories.
pub const DEFAULT_OUT: &str = "reports/runs";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every oracle passed (or was inconclusive).
    Pass,
    /// An oracle failed: the DUT misbehaved.
    Fail,
    /// The harness or backend failed; the DUT was not judged.
    InfrastructureError,
}

/// What `verdicts.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub scenario: String,
    /// The scenario file, as given on the command line.
    pub path: String,
    pub seed: u64,
    pub backend: String,
    pub status: RunStatus,
    /// When the run ended (ms), if the backend finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
    pub verdicts: Vec<Verdict>,
    /// The infrastructure error, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The command that runs this again.
    pub replay: String,
    /// The run directory.
    pub dir: PathBuf,
}

/// What to run.
pub struct RunRequest<'a> {
    /// The scenario file as the user named it (for the replay command).
    pub path: &'a Path,
    pub scenario: &'a Scenario,
    pub seed: u64,
    pub backend: &'a dyn Backend,
    /// The command-line backend choice (for the replay command).
    pub kind: BackendKind,
    /// Base directory; the run goes to `<out>/<name>/<seed>/`.
    pub out: &'a Path,
}

/// `hil run <path> --seed N` (plus `--backend` when not the default, and
/// what the backend needs to be chosen again: [`Backend::replay_args`]).
pub fn replay_command(path: &Path, seed: u64, kind: BackendKind, backend: &dyn Backend) -> String {
    let mut c = format!("hil run {} --seed {seed}", path.display());
    if kind != BackendKind::Sim {
        c.push_str(&format!(" --backend {}", kind.as_str()));
    }
    c.push_str(&backend.replay_args());
    c
}

pub use crate::backend::shell_word;

/// Writes the files a backend returned into the run directory; `Ok(Err)`
/// names one that would leave it or replace the harness's own files (not
/// written).
fn write_artifacts(dir: &Path, artifacts: &[Artifact]) -> io::Result<Result<(), String>> {
    for a in artifacts {
        if !a.name_is_safe() {
            return Ok(Err(format!(
                "the backend returned a file named `{}`: not a plain file name of its own in the run directory",
                a.name
            )));
        }
        std::fs::write(dir.join(&a.name), &a.bytes)?;
    }
    Ok(Ok(()))
}

/// The run directory of `scenario` and `seed` under `out`.
pub fn run_dir(out: &Path, scenario: &str, seed: u64) -> PathBuf {
    out.join(scenario).join(seed.to_string())
}

/// Runs one scenario with one seed. `Err` only when the run directory
/// cannot be written; everything else ends up in the report.
pub fn run(req: &RunRequest<'_>) -> io::Result<RunReport> {
    run_with_records(req).map(|(report, _)| report)
}

/// [`run`], also returning the trace's records (for reports).
pub fn run_with_records(req: &RunRequest<'_>) -> io::Result<(RunReport, Vec<Record>)> {
    let dir = run_dir(req.out, &req.scenario.name, req.seed);
    std::fs::create_dir_all(&dir)?;
    let mut report = RunReport {
        scenario: req.scenario.name.clone(),
        path: req.path.display().to_string(),
        seed: req.seed,
        backend: req.backend.name().to_string(),
        status: RunStatus::InfrastructureError,
        end_ms: None,
        verdicts: Vec::new(),
        error: None,
        replay: replay_command(req.path, req.seed, req.kind, req.backend),
        dir: dir.clone(),
    };

    let mut secrets = Vec::new();
    let mut setup_error = None;
    if let Some(p) = &req.scenario.dut.password {
        match p.resolve() {
            Ok(s) => secrets.push(s),
            Err(e) => setup_error = Some(e),
        }
    }
    let file = BufWriter::new(File::create(dir.join("trace.jsonl"))?);
    let mut sink = RunSink::new(file, secrets);
    sink.emit(Record::new(
        0,
        Actor::Harness,
        Event::RunStart {
            scenario: req.scenario.name.clone(),
            seed: req.seed,
            backend: req.backend.name().to_string(),
        },
    ))?;
    let outcome = match setup_error {
        Some(e) => Err((e, Vec::new())),
        None => req
            .backend
            .run(req.scenario, req.seed, &mut sink)
            .map_err(|e| {
                let (e, artifacts) = e.into_parts();
                (e.to_string(), artifacts)
            }),
    };
    let artifacts = match outcome {
        Ok(o) => {
            let last = sink.records().last().map(|r| r.t_ms).unwrap_or(0);
            let end = o.end_ms.max(last);
            sink.emit(Record::new(end, Actor::Harness, Event::RunEnd))?;
            report.end_ms = Some(end);
            o.artifacts
        }
        Err((e, artifacts)) => {
            report.error = Some(e);
            artifacts
        }
    };
    if let Err(e) = write_artifacts(&dir, &artifacts)? {
        // A backend's bug: the run is not judged.
        report.error.get_or_insert(e);
    }
    let records = sink.into_records();
    std::fs::write(dir.join("transcript.txt"), Transcript::render(&records))?;
    if report.error.is_none() {
        report.verdicts = req
            .scenario
            .expect
            .iter()
            .map(|e| {
                e.oracle
                    .verdict_with(&records, req.backend.evidence(), req.backend.name())
            })
            .collect();
        report.status = if report.verdicts.iter().any(|v| v.status == Status::Fail) {
            RunStatus::Fail
        } else {
            RunStatus::Pass
        };
    }
    let json = serde_json::to_string_pretty(&report).map_err(io::Error::other)?;
    std::fs::write(dir.join("verdicts.json"), json + "\n")?;
    Ok((report, records))
}
