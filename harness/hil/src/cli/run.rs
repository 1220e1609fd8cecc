//! `hil run PATHS... [--seed N | --seeds A..B] [--backend sim] [--out DIR]`:
//! runs every scenario found (directories recursively, sorted) with each
//! seed (default: the scenario's own), writes one run directory per
//! scenario and seed (`<out>/<name>/<seed>/`, see [`crate::run`]), prints a
//! line per run and, for every failure, the oracle's message and the exact
//! replay command. All scenarios are checked before anything runs.
//!
//! Exit: 0 all passed; 1 some oracle failed; 2 bad input; 3 a backend or
//! run directory failed (and nothing failed on the device's side).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::{Io, EXIT_FAILED, EXIT_INFRA, EXIT_OK, EXIT_USAGE};
use crate::backend::{BackendFactory, BackendKind};
use crate::oracle::Status;
use crate::run::{self as runner, RunRequest, RunStatus, DEFAULT_OUT};
use crate::seeds::{self, SeedRange};
use crate::{discover, scenario};

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
    /// Where the scenario runs.
    #[arg(long, value_enum, default_value = "sim")]
    pub backend: BackendKind,
    /// Base directory of run directories (`<out>/<scenario>/<seed>/`).
    #[arg(long, default_value = DEFAULT_OUT)]
    pub out: PathBuf,
}

pub fn execute(args: &RunArgs, io: &mut Io<'_>, backends: BackendFactory<'_>) -> i32 {
    let files = match discover::scenario_files(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return EXIT_USAGE;
        }
    };
    let mut loaded = Vec::new();
    let mut bad = false;
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for f in &files {
        match scenario::load(f) {
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
        return EXIT_USAGE;
    }
    let backend = match backends(args.backend) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return EXIT_INFRA;
        }
    };

    let (mut passed, mut failed, mut infra) = (0, 0, 0);
    for l in &loaded {
        let seeds = match (args.seed, args.seeds) {
            (Some(s), _) => SeedRange::single(s),
            (None, Some(r)) => r,
            (None, None) => SeedRange::single(l.scenario.seed),
        };
        for seed in seeds.iter() {
            let req = RunRequest {
                path: &l.path,
                scenario: &l.scenario,
                seed,
                backend: backend.as_ref(),
                kind: args.backend,
                out: &args.out,
            };
            let report = match runner::run(&req) {
                Ok(r) => r,
                Err(e) => {
                    infra += 1;
                    let _ = writeln!(
                        io.out,
                        "ERROR {} seed={seed}: cannot write the run directory: {e}",
                        l.scenario.name
                    );
                    continue;
                }
            };
            let head = format!("{} seed={seed}", report.scenario);
            match report.status {
                RunStatus::Pass => {
                    passed += 1;
                    let _ = writeln!(
                        io.out,
                        "PASS  {head}  {} oracle(s)  {}",
                        report.verdicts.len(),
                        report.dir.display()
                    );
                }
                RunStatus::Fail => {
                    failed += 1;
                    let _ = writeln!(io.out, "FAIL  {head}  {}", report.dir.display());
                }
                RunStatus::InfrastructureError => {
                    infra += 1;
                    let _ = writeln!(
                        io.out,
                        "ERROR {head}: infrastructure: {}",
                        report.error.as_deref().unwrap_or("unknown")
                    );
                }
            }
            for v in &report.verdicts {
                let name = if v.params.is_empty() {
                    v.oracle.clone()
                } else {
                    format!("{} {}", v.oracle, v.params)
                };
                match v.status {
                    Status::Pass => {}
                    Status::Inconclusive => {
                        let _ = writeln!(
                            io.out,
                            "      inconclusive: {name}: {}",
                            v.note.as_deref().unwrap_or("")
                        );
                    }
                    Status::Fail => {
                        for f in &v.failures {
                            let _ = writeln!(io.out, "      {name}: {f}");
                        }
                    }
                }
            }
            if report.status != RunStatus::Pass {
                let _ = writeln!(io.out, "      replay: {}", report.replay);
            }
        }
    }
    let _ = writeln!(
        io.out,
        "\n{} run(s): {passed} passed, {failed} failed, {infra} infrastructure error(s)",
        passed + failed + infra
    );
    if failed > 0 {
        EXIT_FAILED
    } else if infra > 0 {
        EXIT_INFRA
    } else {
        EXIT_OK
    }
}
