//! `hil fuzz SCENARIO [--seeds A..B | --seed N] [--save DIR] [sweep options]`:
//! runs the scenario once per seed with a random fault schedule picked
//! within its `[fuzz]` bounds (see [`crate::fuzz`]), on top of its own
//! timeline. Every failing run's scenario (the original text plus the
//! picked schedule, renamed `<name>-fuzz-<seed>`) is saved in `--save DIR`,
//! and the replay command names that file: `hil run <saved> --seed N`.
//!
//! Exit codes as `hil run`.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::run::{sweep_and_report, ParallelFactory, SweepArgs};
use super::{Io, EXIT_USAGE};
use crate::backends::BackendFactory;
use crate::fuzz;
use crate::report::{write_atomic, ReportEvent, Reporter};
use crate::run::RunStatus;
use crate::seeds::{self, SeedRange};
use crate::sweep::Item;

/// Where failing schedules are saved by default.
pub const DEFAULT_SAVE: &str = "reports/fuzz";

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The scenario file (it needs a `[fuzz]` table).
    pub scenario: PathBuf,
    /// Seeds: `A..B` (B excluded) or `A..=B`; each picks its own schedule.
    #[arg(long, value_parser = seeds::parse_range, default_value = "1..101", conflicts_with = "seed")]
    pub seeds: SeedRange,
    /// One seed only.
    #[arg(long, value_parser = seeds::parse_seed)]
    pub seed: Option<u64>,
    /// Where failing runs' scenario files are saved.
    #[arg(long, default_value = DEFAULT_SAVE)]
    pub save: PathBuf,
    #[command(flatten)]
    pub sweep: SweepArgs,
}

/// Saves the scenario text of every failing run.
struct Saver {
    dir: PathBuf,
    /// Fuzzed scenario name -> text.
    texts: BTreeMap<String, String>,
    saved: Vec<PathBuf>,
}

/// The saved file of a fuzzed scenario.
pub fn saved_path(dir: &Path, fuzzed_name: &str) -> PathBuf {
    dir.join(format!("{fuzzed_name}.toml"))
}

impl Reporter for Saver {
    fn handle(&mut self, event: &ReportEvent<'_>) -> io::Result<()> {
        if let ReportEvent::RunFinished(f) = event {
            if f.report.status == RunStatus::Fail {
                if let Some(text) = self.texts.get(&f.report.scenario) {
                    std::fs::create_dir_all(&self.dir)?;
                    let path = saved_path(&self.dir, &f.report.scenario);
                    write_atomic(&path, text.as_bytes())?;
                    self.saved.push(path);
                }
            }
        }
        Ok(())
    }
}

pub fn execute(
    args: &FuzzArgs,
    io: &mut Io<'_>,
    backends: BackendFactory<'_>,
    parallel: Option<ParallelFactory<'_>>,
) -> i32 {
    let fl = match fuzz::load(&args.scenario) {
        Ok(l) => l,
        Err(e) => {
            let _ = write!(io.err, "{e}");
            let _ = writeln!(
                io.err,
                "error: nothing was run: fix the scenario file above"
            );
            return EXIT_USAGE;
        }
    };
    let _ = write!(io.err, "{}", fl.loaded.render_warnings());
    let Some(spec) = fl.fuzz.as_ref() else {
        let _ = writeln!(
            io.err,
            "error: {} has no [fuzz] table: nothing to pick faults from (see scenarios/README.md, \"Fuzzing\")",
            args.scenario.display()
        );
        return EXIT_USAGE;
    };
    let range = match args.seed {
        Some(s) => SeedRange::single(s),
        None => args.seeds,
    };
    let mut items = Vec::new();
    let mut texts = BTreeMap::new();
    for seed in range.iter() {
        match fuzz::instantiate(&fl.loaded, spec, seed) {
            Ok(f) => {
                let path = saved_path(&args.save, &f.scenario.name);
                texts.insert(f.scenario.name.clone(), f.text);
                items.push(Item {
                    path,
                    scenario: Arc::new(f.scenario),
                    seed,
                });
            }
            Err(e) => {
                let _ = writeln!(
                    io.err,
                    "error: {}: {e}; widen the [fuzz] window or allow fewer faults",
                    args.scenario.display()
                );
                return EXIT_USAGE;
            }
        }
    }
    let mut saver = Saver {
        dir: args.save.clone(),
        texts,
        saved: Vec::new(),
    };
    let seeds = match args.seed {
        Some(s) => s.to_string(),
        None => args.seeds.to_string(),
    };
    let code = sweep_and_report(
        "fuzz",
        seeds,
        items,
        &args.sweep,
        io,
        (backends, parallel),
        &mut [&mut saver],
    );
    for p in &saver.saved {
        let _ = writeln!(io.out, "saved: {}", p.display());
    }
    code
}
