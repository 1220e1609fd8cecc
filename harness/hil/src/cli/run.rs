//! `hil run PATHS... [--seed N | --seeds A..B] [--partition K/N] [--jobs N]
//! [--backend sim|live|board [--broker B] [--board PROFILE]] [--out DIR]
//! [--report DIR]`: runs every scenario found
//! (directories recursively, sorted) with each seed (default: the
//! scenario's own), writes one run directory per scenario and seed
//! (`<out>/<name>/<seed>/`, see [`crate::run`]), prints a line per run and,
//! for every failure, the oracle's message and the exact replay command.
//! All scenarios are checked before anything runs.
//!
//! The backend options are read once into a
//! [`crate::backends::BackendSpec`]. Runs go on `--jobs` threads (default:
//! every core) when the backend can be shared out ([`ParallelFactory`]);
//! output is in plan order either way.
//! `--report DIR` adds `junit.xml`, `summary.json` and `index.html`
//! ([`crate::report`]), rewritten after each run.
//!
//! Exit: 0 all passed; 1 some oracle failed; 2 bad input; 3 a backend, run
//! directory or report failed (and nothing failed on the device's side);
//! 130 interrupted by Ctrl-C (after reporting what finished).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::{Io, EXIT_FAILED, EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
pub use crate::backends::ParallelFactory;
use crate::backends::{BackendArgs, BackendFactory};
use crate::discover;
use crate::partition::{self, Partition};
use crate::report::terminal::Terminal;
use crate::report::{Plan, ReportDir, Reporter, Versions};
use crate::run::DEFAULT_OUT;
use crate::scenario::Loaded;
use crate::seeds::{self, SeedRange};
use crate::sweep::{self, Item, Workers};

/// Options every sweep command shares (`run`, `fuzz`).
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Run only shard K of N of the scenario × seed list (round robin,
    /// deterministic): `--partition 3/8`.
    #[arg(long, value_parser = partition::parse)]
    pub partition: Option<Partition>,
    /// Runs at once (default: every core).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Base directory of run directories (`<out>/<scenario>/<seed>/`).
    #[arg(long, default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    /// Also write junit.xml, summary.json and index.html into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Never draw a progress bar (it is drawn only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Run with this seed (default: each scenario's `seed`).
    #[arg(long, value_parser = seeds::parse_seed, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Run with each seed of a range: `A..B` (B excluded) or `A..=B`.
    #[arg(long, value_parser = seeds::parse_range)]
    pub seeds: Option<SeedRange>,
    #[command(flatten)]
    pub sweep: SweepArgs,
}

/// Loads and checks every scenario under `paths`; `None` (after printing
/// the errors) when one is invalid or two share a name.
pub fn load_all(paths: &[PathBuf], io: &mut Io<'_>) -> Result<Vec<Loaded>, i32> {
    let files = match discover::scenario_files(paths) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return Err(EXIT_USAGE);
        }
    };
    let mut loaded = Vec::new();
    let mut bad = false;
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for f in &files {
        match crate::fuzz::load(f).map(|l| l.loaded) {
            Ok(l) => {
                let _ = write!(io.err, "{}", l.render_warnings());
                if let Some(other) = names.insert(l.scenario.name.clone(), f.clone()) {
                    bad = true;
                    let _ = writeln!(
                        io.err,
                        "error: scenario name `{}` is used by both {} and {}",
                        l.scenario.name,
                        other.display(),
                        f.display()
                    );
                }
                loaded.push(l);
            }
            Err(e) => {
                bad = true;
                let _ = write!(io.err, "{e}");
            }
        }
    }
    if bad {
        let _ = writeln!(
            io.err,
            "error: nothing was run: fix the scenario files above (`hil check` checks them)"
        );
        return Err(EXIT_USAGE);
    }
    Ok(loaded)
}

pub fn execute(
    args: &RunArgs,
    io: &mut Io<'_>,
    backends: BackendFactory<'_>,
    parallel: Option<ParallelFactory<'_>>,
) -> i32 {
    let loaded = match load_all(&args.paths, io) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut items = Vec::new();
    for l in loaded {
        let seeds = match (args.seed, args.seeds) {
            (Some(s), _) => SeedRange::single(s),
            (None, Some(r)) => r,
            (None, None) => SeedRange::single(l.scenario.seed),
        };
        let scenario = Arc::new(l.scenario);
        for seed in seeds.iter() {
            items.push(Item {
                path: l.path.clone(),
                scenario: scenario.clone(),
                seed,
            });
        }
    }
    let seeds = match (args.seed, args.seeds) {
        (Some(s), _) => s.to_string(),
        (None, Some(r)) => r.to_string(),
        (None, None) => "scenario".to_string(),
    };
    sweep_and_report(
        "run",
        seeds,
        items,
        &args.sweep,
        io,
        (backends, parallel),
        &mut [],
    )
}

/// Cuts `items` by `--partition`, runs them and reports; the exit code.
pub fn sweep_and_report(
    command: &str,
    seeds: String,
    items: Vec<Item>,
    args: &SweepArgs,
    io: &mut Io<'_>,
    (backends, parallel): (BackendFactory<'_>, Option<ParallelFactory<'_>>),
    extra: &mut [&mut dyn Reporter],
) -> i32 {
    let spec = match args.backend.spec() {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return EXIT_USAGE;
        }
    };
    let items = match args.partition {
        Some(p) => p.select(items),
        None => items,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = (args.jobs.map_or(cores, |j| j as usize))
        .min(items.len())
        .max(1);
    // One backend per worker when the backend can be shared out; else one
    // backend on this thread.
    let many: Option<Vec<_>> = match parallel {
        Some(p) if jobs > 1 => (0..jobs).map(|_| p(&spec).ok()).collect(),
        _ => None,
    };
    let workers = match many {
        Some(v) => Workers::Parallel(v),
        None => match backends(&spec) {
            Ok(b) => Workers::Serial(b),
            Err(e) => {
                let _ = writeln!(io.err, "error: {e}");
                return EXIT_INFRA;
            }
        },
    };
    let plan = Plan {
        command: command.to_string(),
        backend: spec.kind().as_str().to_string(),
        planned: items.len(),
        partition: args.partition.map(|p| p.to_string()),
        seeds,
        jobs: match &workers {
            Workers::Serial(_) => 1,
            Workers::Parallel(v) => v.len(),
        },
        versions: Versions::current(),
    };
    let mut dir = match &args.report {
        Some(d) => match ReportDir::create(d) {
            Ok(r) => Some(r),
            Err(e) => {
                let _ = writeln!(
                    io.err,
                    "error: cannot create the report directory {}: {e}",
                    d.display()
                );
                return EXIT_INFRA;
            }
        },
        None => None,
    };
    sweep::install_ctrlc();
    let (outcome, counts) = {
        let mut term = Terminal::new(&mut *io.out, !args.no_progress);
        let outcome = {
            let mut reporters: Vec<&mut dyn Reporter> = vec![&mut term];
            if let Some(d) = dir.as_mut() {
                reporters.push(d);
            }
            for e in extra.iter_mut() {
                reporters.push(&mut **e);
            }
            sweep::execute(
                &plan,
                &items,
                workers,
                spec.kind(),
                &args.out,
                &mut reporters,
            )
        };
        (outcome, term.counts())
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(io.err, "error: cannot write the report: {e}");
            return EXIT_INFRA;
        }
    };
    if let Some(d) = &dir {
        let _ = writeln!(io.out, "report: {}", index_path(d.dir()).display());
    }
    if outcome.interrupted {
        EXIT_INTERRUPTED
    } else if counts.failed > 0 {
        EXIT_FAILED
    } else if counts.infrastructure_errors > 0 {
        EXIT_INFRA
    } else {
        EXIT_OK
    }
}

fn index_path(dir: &Path) -> PathBuf {
    dir.join("index.html")
}
