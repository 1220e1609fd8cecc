//! A sweep: many runs (scenario × seed), on every core, reported in plan
//! order.
//!
//! The list is built by the caller (`hil run`, `hil fuzz`) and optionally
//! cut by `--partition`. Workers (std threads, one backend each) take the
//! next item from a shared counter and send the finished run to the calling
//! thread, which hands [`ReportEvent`]s to the reporters in plan order
//! (holding back runs that finished early), so output and reports do not
//! depend on thread timing. Reporters run on the calling thread only.
//!
//! Ctrl-C: the first one stops workers from taking new runs; the runs in
//! flight finish, are reported, and the sweep ends with
//! `Finished { interrupted: true }`. A second Ctrl-C exits at once (exit
//! 130): traces are flushed per line and reports are rewritten atomically
//! after each run, so what finished is still on disk.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendKind};
use crate::report::{diversity, Finished, Plan, ReportEvent, Reporter};
use crate::run::{self as runner, RunReport, RunRequest, RunStatus};
use crate::scenario::Scenario;
use crate::trace::Record;

/// One planned run.
#[derive(Debug, Clone)]
pub struct Item {
    /// The scenario file as the user named it (for the replay command).
    pub path: PathBuf,
    pub scenario: Arc<Scenario>,
    pub seed: u64,
}

/// Who runs the items.
pub enum Workers {
    /// One backend, on the calling thread.
    Serial(Box<dyn Backend>),
    /// One backend per worker thread.
    Parallel(Vec<Box<dyn Backend + Send>>),
}

/// How a sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub completed: usize,
    pub interrupted: bool,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// Installs the Ctrl-C handler (once per process).
pub fn install_ctrlc() {
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                // No run will clean up after itself now.
                crate::live::container::remove_all_now();
                crate::board::labgrid::release_all_now();
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: finishing the runs in flight (Ctrl-C again to stop now)");
        });
    });
}

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

struct Done {
    report: RunReport,
    records: Vec<Record>,
    elapsed: Duration,
    io_error: Option<String>,
    fingerprint: Option<u64>,
}

fn run_one(item: &Item, backend: &dyn Backend, kind: BackendKind, out: &Path) -> Done {
    let start = Instant::now();
    let req = RunRequest {
        path: &item.path,
        scenario: &item.scenario,
        seed: item.seed,
        backend,
        kind,
        out,
    };
    match runner::run_with_records(&req) {
        Ok((report, records)) => Done {
            fingerprint: (!records.is_empty()).then(|| {
                let id = diversity::seeded_client_id(&item.scenario, item.seed);
                diversity::fingerprint(&records, id.as_deref())
            }),
            report,
            records,
            elapsed: start.elapsed(),
            io_error: None,
        },
        Err(e) => Done {
            report: RunReport {
                scenario: item.scenario.name.clone(),
                path: item.path.display().to_string(),
                seed: item.seed,
                backend: backend.name().to_string(),
                status: RunStatus::InfrastructureError,
                end_ms: None,
                verdicts: Vec::new(),
                error: Some(format!("cannot write the run directory: {e}")),
                replay: runner::replay_command(&item.path, item.seed, kind, backend),
                dir: runner::run_dir(out, &item.scenario.name, item.seed),
            },
            records: Vec::new(),
            elapsed: start.elapsed(),
            io_error: Some(e.to_string()),
            fingerprint: None,
        },
    }
}

fn emit(reporters: &mut [&mut dyn Reporter], ev: &ReportEvent<'_>) -> io::Result<()> {
    for r in reporters.iter_mut() {
        r.handle(ev)?;
    }
    Ok(())
}

fn emit_done(reporters: &mut [&mut dyn Reporter], index: usize, d: &Done) -> io::Result<()> {
    emit(
        reporters,
        &ReportEvent::RunFinished(Finished {
            index,
            report: &d.report,
            records: &d.records,
            elapsed: d.elapsed,
            io_error: d.io_error.as_deref(),
            fingerprint: d.fingerprint,
        }),
    )
}

/// Runs `items` and reports them. `Err` only when a reporter cannot write.
pub fn execute(
    plan: &Plan,
    items: &[Item],
    workers: Workers,
    kind: BackendKind,
    out: &Path,
    reporters: &mut [&mut dyn Reporter],
) -> io::Result<Outcome> {
    let start = Instant::now();
    emit(reporters, &ReportEvent::Started(plan))?;
    let mut completed = 0;
    match workers {
        Workers::Serial(backend) => {
            for (i, item) in items.iter().enumerate() {
                if interrupted() {
                    break;
                }
                let d = run_one(item, backend.as_ref(), kind, out);
                emit_done(reporters, i, &d)?;
                completed += 1;
            }
        }
        Workers::Parallel(backends) => {
            let next = AtomicUsize::new(0);
            let (tx, rx) = mpsc::channel::<(usize, Done)>();
            let mut result = Ok(());
            std::thread::scope(|s| {
                for backend in backends {
                    let tx = tx.clone();
                    let next = &next;
                    s.spawn(move || loop {
                        if interrupted() {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i) else { break };
                        let d = run_one(item, backend.as_ref(), kind, out);
                        if tx.send((i, d)).is_err() {
                            break;
                        }
                    });
                }
                drop(tx);
                let mut pending: BTreeMap<usize, Done> = BTreeMap::new();
                let mut want = 0;
                for (i, d) in rx {
                    pending.insert(i, d);
                    while let Some(d) = pending.remove(&want) {
                        if result.is_ok() {
                            result = emit_done(reporters, want, &d);
                        }
                        completed += 1;
                        want += 1;
                    }
                }
                // Nothing is left behind a gap (items are taken in order and
                // every taken item finishes), but report any rest in order.
                for (i, d) in pending {
                    if result.is_ok() {
                        result = emit_done(reporters, i, &d);
                    }
                    completed += 1;
                }
            });
            result?;
        }
    }
    let was_interrupted = completed < items.len();
    emit(
        reporters,
        &ReportEvent::Finished {
            interrupted: was_interrupted,
            elapsed: start.elapsed(),
        },
    )?;
    Ok(Outcome {
        completed,
        interrupted: was_interrupted,
    })
}
