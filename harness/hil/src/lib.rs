//! The harness: scenario model, trace, oracles, transcripts, the backend
//! seam, and the `hil` command.
//!
//! Data flows one way (see ARCHITECTURE.md):
//!
//! ```text
//! scenario.toml --scenario::load--> Scenario
//! Scenario + dyn Backend --run--> trace (JSON Lines, streamed to disk)
//! trace --oracle--> verdicts      trace --transcript--> stable text
//! ```
//!
//! - [`scenario`]: reading and checking scenario files; faults; schedule.
//! - [`trace`]: the event vocabulary every backend emits, sinks, reader.
//! - [`oracle`]: checks over a trace.
//! - [`transcript`]: a trace as stable text, for snapshots.
//! - [`backend`]: the `Backend` trait that the simulator (and later live
//!   and board backends) implement.
//! - [`run`]: one scenario x one seed -> run directory with trace,
//!   transcript and verdicts.
//! - [`sweep`]: many runs on every core, reported in plan order;
//!   [`partition`]: `--partition K/N`.
//! - [`report`]: events -> reporters (terminal, JUnit, summary JSON, HTML).
//! - [`fuzz`]: random fault schedules within a scenario's `[fuzz]` bounds.
//! - [`field`]: field evidence -> scenario (`hil import`), seed search
//!   (`hil reproduce`), minimisation (`hil shrink`).
//! - [`board`]: the board backend (agent protocol, serial/PTY links,
//!   profiles, the virtual board, `hil qualify`).
//! - [`cli`]: the `hil` command's subcommands.

pub mod backend;
pub mod board;
pub mod cli;
pub mod diag;
pub mod discover;
pub mod duration;
pub mod field;
pub mod fuzz;
pub mod live;
pub mod oracle;
pub mod partition;
pub mod report;
pub mod run;
pub mod scenario;
pub mod seeds;
pub mod sim;
pub mod sweep;
pub mod trace;
pub mod transcript;
