//! `hil reproduce SCENARIO --seeds A..B`: runs the scenario over the seed
//! range (on every core in the simulator) and stops at the first seed that
//! fails like the field case: the `# field-failure:` line `hil import`
//! wrote, or `--failure ORACLE[:KIND]`, or else any oracle failure. Prints
//! the replay command. On any backend (`--backend live|board` and their
//! options, as for `hil run`): the simulator on every core, the others one
//! seed at a time.
//!
//! Exit codes: 0 reproduced; 1 not reproduced in the range; 2 bad input;
//! 3 infrastructure (a backend failing).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::run::ParallelFactory;
use super::{Io, EXIT_FAILED, EXIT_INFRA, EXIT_OK, EXIT_USAGE};
use crate::backends::{BackendArgs, BackendFactory, BackendSpec};
use crate::field::failure::FailureSpec;
use crate::field::reproduce::{self, Search};
use crate::seeds::{self, SeedRange};

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// The scenario file (typically written by `hil import`).
    pub scenario: PathBuf,
    /// Seeds to try: `A..B` (B excluded) or `A..=B`.
    #[arg(long, value_parser = seeds::parse_range, default_value = "1..101")]
    pub seeds: SeedRange,
    /// The failure to match, `ORACLE` or `ORACLE:KIND` (default: the
    /// scenario's `# field-failure:` line, else any failure).
    #[arg(long, value_parser = FailureSpec::parse)]
    pub failure: Option<FailureSpec>,
    /// Parallel runs (default: one per core; simulator only).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

pub fn execute(
    args: &ReproduceArgs,
    io: &mut Io<'_>,
    backends: BackendFactory<'_>,
    parallel: Option<ParallelFactory<'_>>,
) -> i32 {
    let spec = match args.backend.spec() {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return EXIT_USAGE;
        }
    };
    let loaded = match crate::fuzz::load(&args.scenario) {
        Ok(l) => l.loaded,
        Err(e) => {
            let _ = write!(io.err, "{e}");
            return EXIT_USAGE;
        }
    };
    let failure = args
        .failure
        .clone()
        .or_else(|| FailureSpec::from_header(&loaded.source));
    let what = match &failure {
        Some(f) => format!("`{f}`"),
        None => "any oracle failure (no `# field-failure:` line, no --failure)".to_string(),
    };
    let _ = writeln!(io.out, "reproducing {what} with seeds {}", args.seeds);
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args
        .jobs
        .map_or(cores, |j| j as usize)
        .min(args.seeds.len().max(1) as usize)
        .max(1);
    let result: Result<Search, String> = match (parallel, &spec) {
        (Some(p), BackendSpec::Sim) => {
            let workers: Result<Vec<_>, _> = (0..jobs).map(|_| p(&spec)).collect();
            match workers {
                Ok(w) => reproduce::search(&loaded.scenario, failure.as_ref(), args.seeds, w),
                Err(e) => Err(e.to_string()),
            }
        }
        _ => match backends(&spec) {
            Ok(b) => {
                reproduce::search_serial(&loaded.scenario, failure.as_ref(), args.seeds, b.as_ref())
            }
            Err(e) => Err(e.to_string()),
        },
    };
    let secs = started.elapsed().as_secs_f64();
    match result {
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            EXIT_INFRA
        }
        Ok(Search {
            found: Some(f),
            runs,
        }) => {
            let _ = writeln!(
                io.out,
                "reproduced with seed {} after {runs} run(s) in {secs:.1} s",
                f.seed
            );
            let _ = writeln!(io.out, "  {}", f.message.lines().next().unwrap_or(""));
            let backend = args.backend.to_args();
            let _ = writeln!(
                io.out,
                "replay: hil run {} --seed {}{backend}",
                args.scenario.display(),
                f.seed
            );
            let _ = writeln!(
                io.out,
                "shrink: hil shrink {} --seed {}{backend}",
                args.scenario.display(),
                f.seed
            );
            EXIT_OK
        }
        Ok(Search { found: None, runs }) => {
            let _ = writeln!(
                io.out,
                "not reproduced: no seed in {} fails {what} ({runs} runs, {secs:.1} s)",
                args.seeds
            );
            EXIT_FAILED
        }
    }
}
