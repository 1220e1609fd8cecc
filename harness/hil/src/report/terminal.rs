//! The terminal reporter: one `PASS` / `FAIL` / `ERROR` line per run (in
//! plan order), each failure's oracle messages and replay command, and the
//! summary line, then the `seed_diversity` lines of a sweep of several
//! seeds (`report::diversity`). When stderr is a terminal it also draws an indicatif
//! progress bar there; otherwise (CI, pipes, tests) only the plain lines.

use std::io::{self, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::diversity::Diversity;
use super::{Counts, Finished, ReportEvent, Reporter};
use crate::oracle::Status;
use crate::run::RunStatus;

/// Writes to `out`; the bar (if any) goes to stderr.
pub struct Terminal<'a> {
    out: &'a mut dyn Write,
    bar: Option<ProgressBar>,
    want_bar: bool,
    counts: Counts,
    diversity: Diversity,
}

impl<'a> Terminal<'a> {
    /// `progress`: draw a bar on stderr if stderr is a terminal.
    pub fn new(out: &'a mut dyn Write, progress: bool) -> Terminal<'a> {
        Terminal {
            out,
            bar: None,
            want_bar: progress && io::stderr().is_terminal(),
            counts: Counts::default(),
            diversity: Diversity::default(),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    fn print(&mut self, text: &str) -> io::Result<()> {
        match &self.bar {
            Some(bar) => {
                let out = &mut self.out;
                bar.suspend(|| out.write_all(text.as_bytes()))
            }
            None => self.out.write_all(text.as_bytes()),
        }
    }
}

/// The lines printed for one finished run.
pub fn run_lines(f: &Finished<'_>) -> String {
    let report = f.report;
    let seed = report.seed;
    let mut t = String::new();
    if let Some(e) = f.io_error {
        t.push_str(&format!(
            "ERROR {} seed={seed}: cannot write the run directory: {e}\n",
            report.scenario
        ));
        return t;
    }
    let head = format!("{} seed={seed}", report.scenario);
    match report.status {
        RunStatus::Pass => t.push_str(&format!(
            "PASS  {head}  {} oracle(s)  {}\n",
            report.verdicts.len(),
            report.dir.display()
        )),
        RunStatus::Fail => t.push_str(&format!("FAIL  {head}  {}\n", report.dir.display())),
        RunStatus::InfrastructureError => t.push_str(&format!(
            "ERROR {head}: infrastructure: {}\n",
            report.error.as_deref().unwrap_or("unknown")
        )),
    }
    if f.records
        .iter()
        .any(|r| r.source == crate::trace::Source::Wire)
    {
        t.push_str("      source: wire (the DUT's events were observed by the fault proxy, not reported by it)\n");
    }
    for v in &report.verdicts {
        let name = if v.params.is_empty() {
            v.oracle.clone()
        } else {
            format!("{} {}", v.oracle, v.params)
        };
        match v.status {
            Status::Pass => {}
            Status::Inconclusive => t.push_str(&format!(
                "      inconclusive: {name}: {}\n",
                v.note.as_deref().unwrap_or("")
            )),
            Status::Unsupported => t.push_str(&format!(
                "      unsupported: {name}: {}\n",
                v.note.as_deref().unwrap_or("")
            )),
            Status::Fail => {
                for fl in &v.failures {
                    t.push_str(&format!("      {name}: {fl}\n"));
                }
            }
        }
        // A note on a decided verdict: what was not held against the DUT.
        if let (Status::Pass | Status::Fail, Some(note)) = (v.status, &v.note) {
            t.push_str(&format!("      note: {name}: {note}\n"));
        }
    }
    if report.status != RunStatus::Pass {
        t.push_str(&format!("      replay: {}\n", report.replay));
    }
    t
}

/// The closing summary.
pub fn summary_line(c: &Counts, interrupted: bool) -> String {
    let mut t = format!(
        "\n{} run(s): {} passed, {} failed, {} infrastructure error(s)\n",
        c.completed, c.passed, c.failed, c.infrastructure_errors
    );
    if interrupted {
        t.push_str(&format!(
            "interrupted: {} of {} planned run(s) did not run\n",
            c.planned - c.completed,
            c.planned
        ));
    }
    t
}

impl Reporter for Terminal<'_> {
    fn handle(&mut self, event: &ReportEvent<'_>) -> io::Result<()> {
        match event {
            ReportEvent::Started(plan) => {
                self.counts.planned = plan.planned;
                if self.want_bar && plan.planned > 1 {
                    let bar = ProgressBar::with_draw_target(
                        Some(plan.planned as u64),
                        ProgressDrawTarget::stderr(),
                    );
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs  {msg} (eta {eta})",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    self.bar = Some(bar);
                }
                Ok(())
            }
            ReportEvent::RunFinished(f) => {
                if f.io_error.is_some() {
                    self.counts.add(RunStatus::InfrastructureError);
                } else {
                    self.counts.add(f.report.status);
                }
                if let Some(h) = f.fingerprint {
                    self.diversity.add(&f.report.scenario, h);
                }
                let text = run_lines(f);
                self.print(&text)?;
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                    bar.set_message(format!(
                        "{} failed, {} errors",
                        self.counts.failed, self.counts.infrastructure_errors
                    ));
                }
                Ok(())
            }
            ReportEvent::Finished { interrupted, .. } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let mut text = summary_line(&self.counts, *interrupted);
                for line in self.diversity.lines() {
                    text.push_str(&line.render());
                }
                self.print(&text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::RunReport;
    use crate::trace::{Actor, Event, Record, Source};
    use std::time::Duration;

    #[test]
    fn a_run_judged_from_the_wire_says_so() {
        let report = RunReport {
            scenario: "s".into(),
            path: "s.toml".into(),
            seed: 1,
            backend: "live/mosquitto/dut=paho".into(),
            status: RunStatus::Pass,
            end_ms: Some(10),
            verdicts: vec![],
            error: None,
            replay: "hil run s.toml".into(),
            dir: "out/s/1".into(),
        };
        let up = Record::new(5, Actor::Dut, Event::Up);
        let finished = |records: &[Record]| {
            run_lines(&Finished {
                index: 0,
                report: &report,
                records,
                elapsed: Duration::ZERO,
                io_error: None,
                fingerprint: None,
            })
        };
        let ours = finished(std::slice::from_ref(&up));
        assert!(!ours.contains("source:"), "{ours}");
        let wire = finished(&[up.from_source(Source::Wire)]);
        assert_eq!(
            wire,
            "PASS  s seed=1  0 oracle(s)  out/s/1\n      source: wire (the DUT's events were observed by the fault proxy, not reported by it)\n"
        );
    }
}
