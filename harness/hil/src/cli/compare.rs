//! `hil compare --dut D1 --dut D2 ... [--seed N | --seeds A..B] [--broker B]
//! [--jobs N] [--out DIR] PATHS...`: every scenario on every DUT on the
//! live backend (each run its own broker of the same kind and its own fault
//! proxy), then one side-by-side resilience scorecard
//! ([`crate::report::scorecard`]) in the terminal and in `DIR`:
//! `scorecard.txt`, `scorecard.json`, `scorecard.html` (rewritten after
//! every run), and the run directories `DIR/<dut>/<scenario>/<seed>/`.
//!
//! A DUT is `driver` (our driver in-process), `exec:'CMD'`, or a DUT
//! profile (`fixtures/duts/`: `driver-process`, `paho`, `mqttjs`,
//! `mosquitto-pub`). Its column is named after it (`exec`, the profile's
//! name; `-2`, `-3` for repeats). The DUTs run at once, one thread each
//! (`--jobs` limits how many); each DUT's runs go one after the other.
//!
//! Exit: 0 everything passed; 1 some oracle failed on some DUT; 2 bad input
//! (scenarios, a DUT profile, options); 3 a run could not be made (and
//! nothing failed on a device); 130 interrupted by Ctrl-C (after the runs
//! in flight finished and the scorecard was written).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use clap::Args;

use super::{Io, EXIT_FAILED, EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
use crate::backend::{Backend, BackendKind};
use crate::blackbox::DutArg;
use crate::live::{BrokerKind, LiveBackend};
use crate::oracle::Evidence;
use crate::report::scorecard::{self, DutInfo, RunMetrics, Scorecard};
use crate::report::write_atomic;
use crate::run::{self as runner, RunReport, RunRequest, RunStatus};
use crate::seeds::{self, SeedRange};
use crate::sweep;

/// Where `hil compare` writes by default.
pub const DEFAULT_COMPARE_OUT: &str = "reports/compare";

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Scenario files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// A device under test (repeat for each): `driver`, `exec:'CMD ARGS'`,
    /// or a DUT profile (a file, or a name in fixtures/duts/).
    #[arg(long = "dut", required = true, value_parser = crate::blackbox::parse_dut)]
    pub duts: Vec<DutArg>,
    /// Run with this seed (default: each scenario's `seed`).
    #[arg(long, value_parser = seeds::parse_seed, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Run with each seed of a range (`A..B`, B excluded, or `A..=B`);
    /// metrics are then shown as worst/median.
    #[arg(long, value_parser = seeds::parse_range)]
    pub seeds: Option<SeedRange>,
    /// The broker every run starts: `mosquitto` (default), `chaos`,
    /// `container` or `container:IMAGE`.
    #[arg(long, value_parser = crate::realtime::parse_broker)]
    pub broker: Option<BrokerKind>,
    /// DUTs run at once (default: all of them).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: Option<u32>,
    /// Where the scorecard and the run directories go.
    #[arg(long, default_value = DEFAULT_COMPARE_OUT)]
    pub out: PathBuf,
}

/// A column name that is also a folder name.
fn label_of(dut: &DutArg) -> String {
    let base = match dut {
        DutArg::Profile(p) => Path::new(p)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.clone()),
        other => other.label(),
    };
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Labels for the DUTs, unique (`paho`, `paho-2`).
fn labels(duts: &[DutArg]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    duts.iter()
        .map(|d| {
            let base = label_of(d);
            let mut l = base.clone();
            let mut n = 1;
            while !seen.insert(l.clone()) {
                n += 1;
                l = format!("{base}-{n}");
            }
            l
        })
        .collect()
}

/// What a DUT's worker sends back per run.
struct Done {
    dut: usize,
    result: Result<(RunReport, RunMetrics), String>,
    scenario: String,
    seed: u64,
    secs: f64,
}

pub fn execute(args: &CompareArgs, io: &mut Io<'_>) -> i32 {
    let loaded = match super::run::load_all(&args.paths, io) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let broker = args.broker.clone().unwrap_or(BrokerKind::Mosquitto);
    let labels = labels(&args.duts);
    let mut backends = Vec::new();
    for d in &args.duts {
        match LiveBackend::new(broker.clone()).with_dut(d.clone()) {
            Ok(b) => backends.push(b),
            Err(e) => {
                let _ = writeln!(io.err, "error: --dut {d}: {e}");
                return EXIT_USAGE;
            }
        }
    }
    let mut items: Vec<(PathBuf, crate::scenario::Scenario, u64)> = Vec::new();
    for l in &loaded {
        let seeds = match (args.seed, args.seeds) {
            (Some(s), _) => SeedRange::single(s),
            (None, Some(r)) => r,
            (None, None) => SeedRange::single(l.scenario.seed),
        };
        for seed in seeds.iter() {
            items.push((l.path.clone(), l.scenario.clone(), seed));
        }
    }
    let seeds_text = match (args.seed, args.seeds) {
        (Some(s), _) => s.to_string(),
        (None, Some(r)) => r.to_string(),
        (None, None) => "scenario".to_string(),
    };
    let per_cell = match (args.seed, args.seeds) {
        (None, Some(r)) => r.len() as usize,
        _ => 1,
    };
    let duts: Vec<DutInfo> = args
        .duts
        .iter()
        .zip(&labels)
        .zip(&backends)
        .map(|((d, l), b)| DutInfo {
            label: l.clone(),
            arg: d.to_arg(),
            backend: b.name().to_string(),
        })
        .collect();
    let scenarios = loaded.iter().map(|l| l.scenario.name.clone()).collect();
    let mut card = Scorecard::new(&broker.name(), duts, scenarios, &seeds_text, per_cell);
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        let _ = writeln!(io.err, "error: cannot create {}: {e}", args.out.display());
        return EXIT_INFRA;
    }
    let _ = writeln!(
        io.out,
        "compare: {} scenario run(s) x {} DUT(s) ({}) on live/{}",
        items.len(),
        labels.len(),
        labels.join(", "),
        broker.name()
    );
    sweep::install_ctrlc();
    let jobs = args
        .jobs
        .map_or(backends.len(), |j| j as usize)
        .clamp(1, backends.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Done>();
    let (mut failed, mut infra, mut write_error) = (0usize, 0usize, None);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, backends, labels, items, out) =
                (&next, &backends, &labels, &items, &args.out);
            s.spawn(move || loop {
                let dut = next.fetch_add(1, Ordering::SeqCst);
                let Some(backend) = backends.get(dut) else {
                    return;
                };
                let out = out.join(&labels[dut]);
                for (path, scenario, seed) in items {
                    if sweep::interrupted() {
                        return;
                    }
                    let start = Instant::now();
                    let result = run_one(backend, path, scenario, *seed, &out);
                    let _ = tx.send(Done {
                        dut,
                        result,
                        scenario: scenario.name.clone(),
                        seed: *seed,
                        secs: start.elapsed().as_secs_f64(),
                    });
                }
            });
        }
        drop(tx);
        for d in rx {
            let label = &labels[d.dut];
            match d.result {
                Ok((report, metrics)) => {
                    match report.status {
                        RunStatus::Fail => failed += 1,
                        RunStatus::InfrastructureError => infra += 1,
                        RunStatus::Pass => {}
                    }
                    let _ = writeln!(
                        io.out,
                        "{:>5} [{label}] {} seed {} ({:.1}s)",
                        match report.status {
                            RunStatus::InfrastructureError => "INFRA",
                            RunStatus::Fail => "FAIL",
                            RunStatus::Pass => "PASS",
                        },
                        report.scenario,
                        report.seed,
                        d.secs
                    );
                    if report.status != RunStatus::Pass {
                        let _ = writeln!(io.out, "        replay: {}", report.replay);
                    }
                    card.add(d.dut, &report, metrics);
                }
                Err(e) => {
                    infra += 1;
                    let _ = writeln!(
                        io.out,
                        "INFRA [{label}] {} seed {}: cannot write the run directory: {e}",
                        d.scenario, d.seed
                    );
                }
            }
            if let Err(e) = write_all(&card, &args.out) {
                write_error = Some(e);
            }
        }
    });
    card.finished = !sweep::interrupted();
    if let Err(e) = write_all(&card, &args.out) {
        write_error = Some(e);
    }
    let _ = write!(io.out, "\n{}", scorecard::render_text(&card));
    let _ = writeln!(
        io.out,
        "scorecard: {}",
        args.out.join("scorecard.html").display()
    );
    if let Some(e) = &write_error {
        let _ = writeln!(io.err, "error: cannot write the scorecard: {e}");
    }
    if sweep::interrupted() {
        EXIT_INTERRUPTED
    } else if failed > 0 {
        EXIT_FAILED
    } else if infra > 0 || write_error.is_some() {
        EXIT_INFRA
    } else {
        EXIT_OK
    }
}

/// One run of a DUT, and its metrics.
fn run_one(
    backend: &LiveBackend,
    path: &Path,
    scenario: &crate::scenario::Scenario,
    seed: u64,
    out: &Path,
) -> Result<(RunReport, RunMetrics), String> {
    let (report, records) = runner::run_with_records(&RunRequest {
        path,
        scenario,
        seed,
        backend,
        kind: BackendKind::Live,
        out,
    })
    .map_err(|e| e.to_string())?;
    let metrics = if report.status == RunStatus::InfrastructureError {
        RunMetrics::none()
    } else {
        scorecard::run_metrics(&records, backend.evidence().contains(&Evidence::Messages))
    };
    Ok((report, metrics))
}

fn write_all(card: &Scorecard, out: &Path) -> Result<(), String> {
    let w = |name: &str, body: String| {
        write_atomic(&out.join(name), body.as_bytes()).map_err(|e| format!("{name}: {e}"))
    };
    w("scorecard.txt", scorecard::render_text(card))?;
    w("scorecard.json", card.to_json())?;
    w("scorecard.html", scorecard::render_html(card))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_folder_names() {
        let duts: Vec<DutArg> = [
            "driver",
            "paho",
            "fixtures/duts/paho.toml",
            "exec:a b",
            "exec:c",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(
            labels(&duts),
            vec!["driver", "paho", "paho-2", "exec", "exec-2"]
        );
    }
}
