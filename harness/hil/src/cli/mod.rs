//! The `hil` command: one file per subcommand, each with its clap `Args`
//! and an `execute` function writing to the given outputs and returning the
//! exit code, so tests run commands in-process with their own backends.
//!
//! Exit codes: 0 ok; 1 the device failed an oracle (`run`) or a file is
//! invalid (`check`); 2 bad input (command line, invalid scenarios given to
//! `run` or `list`); 3 infrastructure (a backend missing or failing, a run
//! directory that cannot be written, a broker that cannot start).

pub mod boards;
pub mod broker;
pub mod check;
pub mod compare;
pub mod fuzz;
pub mod import;
pub mod list;
pub mod proxy;
pub mod qualify;
pub mod reproduce;
pub mod run;
pub mod shrink;

use std::io::Write;

use clap::{Parser, Subcommand};

use crate::backends::BackendFactory;

/// Success.
pub const EXIT_OK: i32 = 0;
/// The device failed (run) / a file is invalid (check).
pub const EXIT_FAILED: i32 = 1;
/// Bad input.
pub const EXIT_USAGE: i32 = 2;
/// Infrastructure failure.
pub const EXIT_INFRA: i32 = 3;
/// Interrupted by Ctrl-C (after reporting what finished).
pub const EXIT_INTERRUPTED: i32 = 130;

/// The `hil` command line.
#[derive(Debug, Parser)]
#[command(
    name = "hil",
    version,
    about = "Scenario runner for the resilient MQTT driver: check, list and run scenarios; serve the chaos broker."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check scenario files without running them.
    Check(check::CheckArgs),
    /// List scenarios: name, tags, duration, faults.
    List(list::ListArgs),
    /// Run scenarios with one or more seeds and judge them.
    Run(run::RunArgs),
    /// Run a scenario with random fault schedules (one per seed) on top of
    /// its timeline; save each failure as a scenario file that replays it.
    Fuzz(fuzz::FuzzArgs),
    /// Serve the chaos broker on real TCP, with a control port for faults.
    Broker(chaos_broker::standalone::BrokerArgs),
    /// The MQTT-aware fault proxy between a device and any broker.
    Proxy(proxy::ProxyArgs),
    /// Qualify a board: every `qualification` scenario N times on it, with
    /// a report (HTML, JSON, JUnit).
    Qualify(qualify::QualifyArgs),
    /// The serial ports connected now and the board profiles they match.
    Boards(boards::BoardsArgs),
    /// Turn field evidence (traces, agent logs, mosquitto logs, pcap/pcapng)
    /// into a scenario with the inferred fault timeline.
    Import(import::ImportArgs),
    /// Find the first seed in a range that fails like the field case.
    Reproduce(reproduce::ReproduceArgs),
    /// Minimise a failing scenario while the same oracle keeps failing.
    Shrink(shrink::ShrinkArgs),
    /// Run every scenario on every DUT (live) and write a side-by-side
    /// resilience scorecard (terminal, JSON, HTML).
    Compare(compare::CompareArgs),
}

/// Where a command writes.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// Runs a parsed command line, one run at a time; returns the exit code.
pub fn execute(cli: Cli, io: &mut Io<'_>, backends: BackendFactory<'_>) -> i32 {
    execute_with(cli, io, backends, None)
}

/// Runs a parsed command line; runs go on worker threads when `parallel`
/// can make a backend per worker (the `hil` binary passes
/// [`crate::backends::parallel`]). `backends` makes the backend the
/// command line's [`crate::backends::BackendSpec`] names (the `hil`
/// binary passes [`crate::backends::create`]).
pub fn execute_with(
    cli: Cli,
    io: &mut Io<'_>,
    backends: BackendFactory<'_>,
    parallel: Option<run::ParallelFactory<'_>>,
) -> i32 {
    match cli.command {
        Command::Check(a) => check::execute(&a, io),
        Command::List(a) => list::execute(&a, io),
        Command::Run(a) => run::execute(&a, io, backends, parallel),
        Command::Fuzz(a) => fuzz::execute(&a, io, backends, parallel),
        Command::Broker(a) => broker::execute(a, io),
        Command::Proxy(a) => proxy::execute(a, io),
        Command::Qualify(a) => qualify::execute(&a, io),
        Command::Boards(a) => boards::execute(&a, io),
        Command::Import(a) => import::execute(&a, io),
        Command::Reproduce(a) => reproduce::execute(&a, io, backends, parallel),
        Command::Shrink(a) => shrink::execute(&a, io, backends),
        Command::Compare(a) => compare::execute(&a, io),
    }
}
