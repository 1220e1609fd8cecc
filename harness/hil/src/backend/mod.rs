//! The seam between the harness and whatever runs a scenario: the
//! [`Backend`] trait and what crosses it ([`RunOutcome`] with its
//! [`Artifact`]s, [`BackendError`]), and the backend kinds the command
//! line names ([`BackendKind`]). This module knows no backend: the
//! simulator (`crate::sim`), real time (`crate::realtime`, with the live
//! and board DUT kinds) implement it, and one factory that depends on all
//! of them (`crate::backends`) makes them from a `BackendSpec`.
//!
//! A [`Backend`] owns the clock (simulated or wall), starts the broker, the
//! DUT (driver + workload application) and the observer, executes the
//! scenario's schedule (`Scenario::schedule`), and emits trace events as
//! they happen. The harness ([`crate::run`]) does the rest: the run
//! directory, `run_start` / `run_end`, secret redaction, oracles,
//! transcript, verdicts.
//!
//! # The contract a backend follows
//!
//! - Emit every event of the vocabulary in [`crate::trace::Event`] that its
//!   actors produce, with the actor named there, at the time it happened
//!   (milliseconds since the run started; never decreasing; the harness
//!   rejects time going backwards). Message ids: [`crate::trace::payload`].
//! - Do not emit `run_start` / `run_end`: the harness does.
//! - Execute `scenario.schedule.steps` in order, at their times: emit each
//!   step's `announce` events (actor `faults`) then apply its `action`.
//!   Steps at time 0 are applied before the DUT boots. A step it cannot
//!   apply: if the entry is `optional`, emit `unsupported{kind, backend}`
//!   once and skip that entry's remaining steps; otherwise return
//!   [`BackendError::Unsupported`].
//! - Take every random choice (latency, loss, jitter, client ids) from
//!   `seed`, so one scenario and one seed give a byte-identical trace (in
//!   the simulator).
//! - Return when the scenario's `duration` has passed, with the end time in
//!   [`RunOutcome`]; return `Err` only for failures of the harness's own
//!   infrastructure (the DUT misbehaving is never an error: oracles judge
//!   it from the trace).
//! - Files besides the trace (a board's `board.json`, `console.log`) are
//!   returned as [`Artifact`]s, in the outcome or, when the run failed, with
//!   the error ([`BackendError::with_artifacts`]); the harness writes them
//!   into the run directory. A backend never writes there itself.
//!
//! # Adding a backend
//!
//! Add a variant to [`BackendKind`] (and to `crate::backends::BackendSpec`
//! with what it needs from the command line), its module implementing
//! [`Backend`], and its arm in `crate::backends::create`. A new device
//! under test in real time (against a real broker, through the fault
//! proxies) is not a new backend but a DUT kind: see "Adding a DUT kind" in
//! `crate::realtime`.

pub mod replay;

use std::fmt;
use std::io;

use crate::duration::Dur;
use crate::scenario::Scenario;
use crate::trace::sink::TraceSink;

/// How a run ended, from the backend's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// When the run ended (normally the scenario's duration); the harness
    /// writes `run_end` at this time.
    pub end_ms: u64,
    /// Files for the run directory besides the trace.
    pub artifacts: Vec<Artifact>,
}

impl RunOutcome {
    /// A run that ended at `end_ms` and left no files.
    pub fn at(end_ms: u64) -> RunOutcome {
        RunOutcome {
            end_ms,
            artifacts: Vec::new(),
        }
    }
}

/// A file a backend leaves for the run directory (`board.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The file name inside the run directory (one plain name, no `/`).
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Artifact {
    pub fn new(name: &str, bytes: impl Into<Vec<u8>>) -> Artifact {
        Artifact {
            name: name.to_string(),
            bytes: bytes.into(),
        }
    }

    /// Whether `name` stays inside the run directory (a plain file name
    /// that does not replace one the harness writes).
    pub fn name_is_safe(&self) -> bool {
        let n = self.name.as_str();
        !n.is_empty()
            && n != "."
            && n != ".."
            && !n.contains(['/', '\\'])
            && !matches!(n, "trace.jsonl" | "transcript.txt" | "verdicts.json")
    }
}

/// Why a backend could not run a scenario (never a DUT failure).
#[derive(Debug)]
pub enum BackendError {
    /// This backend is not part of this build yet.
    NotBuilt {
        backend: &'static str,
        detail: &'static str,
    },
    /// A fault that is not `optional` cannot be applied by this backend.
    Unsupported {
        kind: String,
        backend: String,
        at: Dur,
    },
    /// The backend's own machinery failed (broker binary missing, port
    /// gone, simulation panicked...).
    Infrastructure(String),
    /// The trace could not be written.
    Trace(io::Error),
    /// `error`, and the files the backend left before it (see
    /// [`BackendError::with_artifacts`]).
    WithArtifacts {
        error: Box<BackendError>,
        artifacts: Vec<Artifact>,
    },
}

impl BackendError {
    /// This error carrying `artifacts` for the run directory (itself when
    /// there are none).
    pub fn with_artifacts(self, artifacts: Vec<Artifact>) -> BackendError {
        if artifacts.is_empty() {
            return self;
        }
        match self {
            BackendError::WithArtifacts {
                error,
                artifacts: mut a,
            } => {
                a.extend(artifacts);
                BackendError::WithArtifacts {
                    error,
                    artifacts: a,
                }
            }
            error => BackendError::WithArtifacts {
                error: Box::new(error),
                artifacts,
            },
        }
    }

    /// The error and the files that came with it.
    pub fn into_parts(self) -> (BackendError, Vec<Artifact>) {
        match self {
            BackendError::WithArtifacts { error, artifacts } => (*error, artifacts),
            e => (e, Vec::new()),
        }
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::NotBuilt { backend, detail } => {
                write!(f, "the {backend} backend is not built yet ({detail})")
            }
            BackendError::Unsupported { kind, backend, at } => write!(
                f,
                "the {backend} backend cannot apply the fault `{kind}` at {at}; mark it `optional = true` to skip it on this backend"
            ),
            BackendError::Infrastructure(m) => write!(f, "{m}"),
            BackendError::Trace(e) => write!(f, "cannot write the trace: {e}"),
            BackendError::WithArtifacts { error, .. } => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for BackendError {}

impl From<io::Error> for BackendError {
    fn from(e: io::Error) -> Self {
        BackendError::Trace(e)
    }
}

/// Something that runs scenarios.
pub trait Backend {
    /// The name used in traces, reports and replay commands (`sim`).
    fn name(&self) -> &str;

    /// What the replay command needs besides `--backend` to choose this
    /// backend again (` --board PROFILE` for a board); empty by default.
    fn replay_args(&self) -> String {
        String::new()
    }

    /// The trace evidence its DUT produces (which oracles it can judge:
    /// see `crate::oracle::Evidence`); everything by default, a black-box
    /// DUT seen from the wire less.
    fn evidence(&self) -> &[crate::oracle::Evidence] {
        crate::oracle::Evidence::ALL
    }

    /// Runs `scenario` with `seed`, emitting the world's events into `sink`
    /// as they happen (see the module documentation for the contract).
    fn run(
        &self,
        scenario: &Scenario,
        seed: u64,
        sink: &mut dyn TraceSink,
    ) -> Result<RunOutcome, BackendError>;
}

/// `s` as one word for a POSIX shell: as is when it holds only characters
/// no shell treats specially, else single-quoted.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:-+@,=".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The backends `hil run --backend` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// The deterministic turmoil world (simulated time).
    Sim,
    /// Real time against a real broker through the fault proxy
    /// (`--broker mosquitto|chaos|container[:IMAGE]`, see `crate::live`).
    Live,
    /// A board running the agent (`--board PROFILE`, see `crate::board`).
    Board,
}

impl BackendKind {
    /// The name as typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Sim => "sim",
            BackendKind::Live => "live",
            BackendKind::Board => "board",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_names_stay_inside_the_run_directory() {
        for ok in ["board.json", "console.log", "a b.txt"] {
            assert!(Artifact::new(ok, "").name_is_safe(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "trace.jsonl",
            "transcript.txt",
            "verdicts.json",
        ] {
            assert!(!Artifact::new(bad, "").name_is_safe(), "{bad}");
        }
    }

    #[test]
    fn an_error_carries_the_files_left_before_it() {
        let e = BackendError::Infrastructure("port gone".into());
        let (e, files) = e.with_artifacts(Vec::new()).into_parts();
        assert!(files.is_empty());
        let e = e
            .with_artifacts(vec![Artifact::new("board.json", "{}")])
            .with_artifacts(vec![Artifact::new("console.log", "x")]);
        assert_eq!(e.to_string(), "port gone");
        let (e, files) = e.into_parts();
        assert!(matches!(e, BackendError::Infrastructure(_)));
        let names: Vec<_> = files.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["board.json", "console.log"]);
    }
}
