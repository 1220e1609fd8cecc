//! `hil qualify --board PROFILE [--repeat N] [--report DIR] [PATHS...]`:
//! runs every scenario tagged `qualification` (found under PATHS, default
//! `scenarios/`) N times on the board, then writes the qualification
//! report (`crate::board::qualify`) into DIR (default
//! `reports/qualification/<profile>/`; run directories under `runs/rK/`).
//!
//! Exit: 0 every run passed; 1 a run failed an oracle; 2 bad input (a bad
//! profile, no qualification scenario); 3 infrastructure (a run could not
//! be judged, the report could not be written).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::{Io, EXIT_FAILED, EXIT_INFRA, EXIT_OK, EXIT_USAGE};
use crate::backend::BackendKind;
use crate::board::qualify::{self, Builder};
use crate::board::BoardBackend;
use crate::run::{RunRequest, RunStatus};

/// The tag that selects qualification scenarios.
pub const TAG: &str = "qualification";

#[derive(Debug, Args)]
pub struct QualifyArgs {
    /// The board profile: a file, or a name in fixtures/boards/; or
    /// `labgrid:PLACE`, a labgrid place (coordinator from LG_COORDINATOR).
    #[arg(long)]
    pub board: String,
    /// With `--board labgrid:PLACE`: wait this long (e.g. 10m) while
    /// someone else holds the place, instead of failing at once.
    #[arg(long)]
    pub wait_place: Option<crate::duration::Dur>,
    /// MicroPython: the agent script is on the board already; start it
    /// without checking or writing it.
    #[arg(long)]
    pub no_upload: bool,
    /// Runs of each scenario.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Where the report goes (default reports/qualification/<profile>).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Where to look for scenarios tagged `qualification`.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
}

pub fn execute(args: &QualifyArgs, io: &mut Io<'_>) -> i32 {
    if args.wait_place.is_some() && !args.board.starts_with(crate::board::labgrid::PREFIX) {
        let _ = writeln!(io.err, "error: --wait-place needs --board labgrid:PLACE");
        return EXIT_USAGE;
    }
    // A labgrid place: acquired here, released when `lease` drops (every
    // return below, a panic's unwinding, the first Ctrl-C).
    let (profile, lease) = if args.board.starts_with(crate::board::labgrid::PREFIX) {
        match crate::board::backend_waiting(&args.board, !args.no_upload, args.wait_place) {
            Ok(b) => (b.profile().clone(), b.lease()),
            Err(e) => {
                let _ = writeln!(io.err, "error: {e}");
                return EXIT_INFRA;
            }
        }
    } else {
        match crate::board::profile::load(&args.board) {
            Ok((_, p)) => (p, None),
            Err(e) => {
                let _ = write!(io.err, "{e}");
                return EXIT_USAGE;
            }
        }
    };
    if let Some(l) = &lease {
        let _ = writeln!(
            io.out,
            "labgrid place {} acquired: {}",
            l.place,
            l.resources
                .serial
                .as_ref()
                .map(|(a, m, b)| format!("{a} ({m:?}, {b} baud)"))
                .unwrap_or_default()
        );
    }
    let loaded = match super::run::load_all(&args.paths, io) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let chosen: Vec<_> = loaded
        .into_iter()
        .filter(|l| l.scenario.tags.iter().any(|t| t == TAG))
        .collect();
    if chosen.is_empty() {
        let _ = writeln!(
            io.err,
            "error: no scenario tagged `{TAG}` under {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return EXIT_USAGE;
    }
    let dir = args
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports/qualification").join(&profile.name));
    let name = profile.name.clone();
    let _ = writeln!(
        io.out,
        "qualify board/{name}: {} scenario(s) x {} run(s)",
        chosen.len(),
        args.repeat
    );
    let mut builder = Builder::default();
    let mut infra = false;
    for k in 1..=args.repeat {
        let out = dir.join("runs").join(format!("r{k}"));
        let mut backend = BoardBackend::new(profile.clone())
            .with_profile_arg(&args.board)
            .with_upload(!args.no_upload);
        if let Some(l) = &lease {
            backend = backend.with_lease(l.clone());
        }
        for l in &chosen {
            if crate::sweep::interrupted() {
                let _ = writeln!(io.err, "interrupted: no report written");
                return super::EXIT_INTERRUPTED;
            }
            let started = Instant::now();
            let req = RunRequest {
                path: &l.path,
                scenario: &l.scenario,
                seed: l.scenario.seed,
                backend: &backend,
                kind: BackendKind::Board,
                out: &out,
            };
            let (report, records) = match crate::run::run_with_records(&req) {
                Ok(r) => r,
                Err(e) => {
                    let _ = writeln!(io.err, "error: cannot write the run directory: {e}");
                    return EXIT_INFRA;
                }
            };
            let wall = started.elapsed().as_millis() as u64;
            let word = match report.status {
                RunStatus::Pass => "PASS",
                RunStatus::Fail => "FAIL",
                RunStatus::InfrastructureError => {
                    infra = true;
                    "INFRA"
                }
            };
            let _ = writeln!(
                io.out,
                "{word} {} (run {k}/{}) {:.1} s{}",
                report.scenario,
                args.repeat,
                wall as f64 / 1000.0,
                report
                    .error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
            builder.add(&report, &records, backend.last_info().as_ref(), wall);
        }
    }
    if crate::sweep::interrupted() {
        let _ = writeln!(io.err, "interrupted: no report written");
        return super::EXIT_INTERRUPTED;
    }
    let report = builder.finish(&name, args.repeat, qualify::now_utc());
    match qualify::write(&dir, &report) {
        Ok(files) => {
            for f in files {
                let _ = writeln!(io.out, "report: {}", f.display());
            }
        }
        Err(e) => {
            let _ = writeln!(
                io.err,
                "error: cannot write the report into {}: {e}",
                dir.display()
            );
            return EXIT_INFRA;
        }
    }
    let c = &report.content;
    let _ = writeln!(
        io.out,
        "{} board/{name}: QoS 1 lost {} dup {}; sha256 {}",
        if c.passed {
            "QUALIFIED"
        } else {
            "NOT QUALIFIED"
        },
        c.qos1_lost,
        c.qos1_duplicates,
        report.sha256
    );
    if c.passed {
        EXIT_OK
    } else if c.scenarios.iter().any(|s| s.failed > 0) {
        EXIT_FAILED
    } else if infra {
        EXIT_INFRA
    } else {
        EXIT_FAILED
    }
}
