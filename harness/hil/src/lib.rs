//! The harness: scenario model, trace, oracles, transcripts, the backend
//! seam, the backends, and the `hil` command.
//!
//! Data flows one way (ARCHITECTURE.md, "The data flow"):
//!
//! ```text
//! scenario.toml --scenario::load--> Scenario
//! Scenario + Backend (sim | live | board, chosen by a BackendSpec)
//!     --run--> Trace (JSON Lines, streamed to disk) + artifacts
//! Trace --oracle--> Verdicts      Trace --transcript--> Transcript --insta--> snapshot diff
//! Verdicts + Transcript + Trace --report--> JUnit XML, HTML, summary JSON
//! ```
//!
//! - [`scenario`]: reading and checking scenario files; faults; schedule;
//!   `[dut]` -> the driver's `Config` in one place (`DutConfig::to_driver`).
//! - [`trace`]: the event vocabulary every backend emits, sinks, reader.
//! - [`oracle`]: checks over a trace.
//! - [`transcript`]: a trace as stable text, for snapshots.
//! - [`backend`]: the `Backend` trait, `RunOutcome` (end time, artifacts),
//!   `BackendError`, `BackendKind`. It knows no backend.
//! - [`backends`]: `BackendSpec` (backend kind + broker + board profile),
//!   parsed once from the command line, and the one factory that makes
//!   every backend from it.
//! - [`app`]: the device application (`resilient-mqtt` + the workload),
//!   generic over the transport and a small world (clock, trace, spawn):
//!   the simulator, the live backend and the virtual board all run it.
//! - [`sim`]: the simulator backend (turmoil, simulated time).
//! - [`realtime`]: what real-time backends share: broker, fault proxies,
//!   observer, fault executor, and the `RealtimeDut` seam (see "Adding a
//!   DUT kind" there). Its DUT kinds: [`live`] (the application
//!   in-process) and [`board`] (a board speaking the agent protocol; also
//!   profiles, the virtual board, `hil qualify`).
//! - [`run`]: one scenario x one seed -> run directory with trace,
//!   transcript, verdicts and the backend's artifacts.
//! - [`sweep`]: many runs on every core, reported in plan order;
//!   [`partition`]: `--partition K/N`.
//! - [`report`]: events -> reporters (terminal, JUnit, summary JSON, HTML).
//! - [`fuzz`]: random fault schedules within a scenario's `[fuzz]` bounds.
//! - [`field`]: field evidence -> scenario (`hil import`), seed search
//!   (`hil reproduce`), minimisation (`hil shrink`).
//! - [`cli`]: the `hil` command's subcommands.
//! - [`lab`]: a bench's power and WiFi hooks (a profile's `[lab]`), run
//!   by the live (black-box DUT) and board backends.
//!
//! # Dependencies between the backend modules
//!
//! Who uses whom among them (`use crate::...`); there is no cycle.
//! `backend` (the seam) uses none of the others; only `backends` (the one
//! factory) and `cli` know every backend; no backend uses `run` or
//! `backends`, and `board` reaches `realtime`, never `live`.
//!
//! ```text
//! module     uses
//! backend    -
//! app        -                     (scenario, trace)
//! chaos_faults -                   (scenario: broker faults as chaos-broker faults)
//! sim        backend, app, chaos_faults
//! realtime   backend, app, chaos_faults
//! live       backend, realtime
//! board      backend, realtime     (board::qualify, the qualification
//!                                   report over run reports: also run)
//! run        backend
//! backends   backend, sim, realtime, live, board
//! cli        backends, backend, run, board (qualify, boards, profiles)
//! ```

pub mod app;
pub mod backend;
pub mod backends;
pub mod blackbox;
pub mod board;
pub mod chaos_faults;
pub mod cli;
pub mod diag;
pub mod discover;
pub mod duration;
pub mod field;
pub mod fuzz;
pub mod lab;
pub mod live;
pub mod oracle;
pub mod partition;
pub mod realtime;
pub mod report;
pub mod run;
pub mod scenario;
pub mod seeds;
pub mod sim;
pub mod sweep;
pub mod trace;
pub mod transcript;
