//! The seam between the harness and whatever runs a scenario.
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
//!
//! # Adding a backend
//!
//! Add a variant to [`BackendKind`] and its arm in [`create`]. The
//! simulator goes in `src/sim/` (`BackendKind::Sim`, arm below).

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

    /// Runs `scenario` with `seed`, emitting the world's events into `sink`
    /// as they happen (see the module documentation for the contract).
    fn run(
        &self,
        scenario: &Scenario,
        seed: u64,
        sink: &mut dyn TraceSink,
    ) -> Result<RunOutcome, BackendError>;
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

/// Makes backends; `hil` uses [`create`], tests pass their own.
pub type BackendFactory<'a> = &'a dyn Fn(BackendKind) -> Result<Box<dyn Backend>, BackendError>;

/// The backend for `kind` in this build.
pub fn create(kind: BackendKind) -> Result<Box<dyn Backend>, BackendError> {
    match kind {
        BackendKind::Sim => Ok(Box::new(crate::sim::SimBackend::new())),
        BackendKind::Live => Ok(Box::new(crate::live::LiveBackend::new(
            crate::live::BrokerKind::Mosquitto,
        ))),
        BackendKind::Board => crate::board::backend_for(None, crate::run::DEFAULT_OUT.into(), true),
    }
}
