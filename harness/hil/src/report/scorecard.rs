//! The resilience scorecard of `hil compare`: every scenario on every DUT,
//! side by side, as terminal text, JSON and one self-contained HTML page.
//!
//! The runner (`crate::cli::compare`) hands each finished run to a
//! [`Scorecard`] ([`Scorecard::add`]: its `verdicts.json` content and the
//! [`RunMetrics`] read from its trace by [`run_metrics`]); the scorecard
//! never reaches back. Per scenario and DUT a [`Cell`] holds the oracle
//! verdicts (`unsupported` shown as such) and the metrics:
//!
//! | metric | from the trace (the DUT's side is our driver's report, or the wire view for a black-box DUT) |
//! |---|---|
//! | `detection_ms` | a fault that cuts the DUT off (`Fault::cut`, not a reboot) while it is up, to its next `down` (for a black-box DUT: its FIN/RST or new connection attempt, the wire rule); `missed` when no `down` came before the disruption ended; the worst fault of the run |
//! | `recovery_ms` | the end of each cut (its `fault_end`, the restart after a crash, the reboot itself) to the DUT's next `connected`, when it lost its connection since the fault began (0 when the connection survived); `never` when it did not connect again |
//! | `reconnect_attempts` | `connecting` events, except the first of each boot and those after the DUT's own DISCONNECT |
//! | `qos1_sent` | distinct QoS >= 1 messages the application started (`app_publish_start`; for a black-box DUT the numbered publishes its `seq` rule finds) |
//! | `qos1_lost` | those started more than 2 s (scenario time) before the end that the observer never received |
//! | `qos1_duplicated` | extra copies the observer received of them (retained copies excluded) |
//! | `max_latency_ms` | the slowest first delivery: `app_publish_start` to the observer's `delivered` |
//!
//! A metric is a number, `missed` (no detection / never recovered), `none`
//! (nothing in the run to measure) or `unsupported` (the DUT cannot show it:
//! the QoS metrics need message ids, a DUT profile's `seq`). Over several
//! seeds each metric is aggregated as the worst and the (lower) median run,
//! `missed` counting as worse than any number; the terminal shows
//! `worst/median` then.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::ser::{Serialize, Serializer};

use super::status_word;
use super::svg::esc;
use crate::oracle::Status;
use crate::run::{RunReport, RunStatus};
use crate::scenario::fault::{Cut, Fault};
use crate::trace::{Actor, Event, Record};

/// The JSON schema's version (`scorecard.json`'s `schema`).
pub const SCHEMA: u32 = 1;

/// Messages younger than this at the end of a run are not counted lost
/// (as `qos1_no_loss`'s default grace).
const GRACE_MS: u64 = 2_000;

/// One measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A number (ms, or a count).
    Value(u64),
    /// It should have happened and did not (no detection, no recovery).
    Missed,
    /// Nothing in the run to measure.
    None,
    /// The DUT cannot produce the evidence.
    Unsupported,
}

impl Measure {
    /// Sort key: worse is larger (`missed` worst of all).
    fn badness(self) -> (u8, u64) {
        match self {
            Measure::None | Measure::Unsupported => (0, 0),
            Measure::Value(v) => (1, v),
            Measure::Missed => (2, 0),
        }
    }

    /// The larger (worse) of two measures of one run.
    fn worse(self, other: Measure) -> Measure {
        if other.badness() > self.badness() {
            other
        } else {
            self
        }
    }
}

/// JSON: a number, or `"missed"`, `"none"`, `"unsupported"`.
impl Serialize for Measure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Measure::Value(v) => s.serialize_u64(*v),
            Measure::Missed => s.serialize_str("missed"),
            Measure::None => s.serialize_str("none"),
            Measure::Unsupported => s.serialize_str("unsupported"),
        }
    }
}

/// The metrics of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RunMetrics {
    pub detection_ms: Measure,
    pub recovery_ms: Measure,
    pub reconnect_attempts: Measure,
    pub qos1_sent: Measure,
    pub qos1_lost: Measure,
    pub qos1_duplicated: Measure,
    pub max_latency_ms: Measure,
}

/// The metric names, in table order.
pub const METRICS: &[&str] = &[
    "detection_ms",
    "recovery_ms",
    "reconnect_attempts",
    "qos1_sent",
    "qos1_lost",
    "qos1_duplicated",
    "max_latency_ms",
];

impl RunMetrics {
    fn get(&self, name: &str) -> Measure {
        match name {
            "detection_ms" => self.detection_ms,
            "recovery_ms" => self.recovery_ms,
            "reconnect_attempts" => self.reconnect_attempts,
            "qos1_sent" => self.qos1_sent,
            "qos1_lost" => self.qos1_lost,
            "qos1_duplicated" => self.qos1_duplicated,
            _ => self.max_latency_ms,
        }
    }

    /// Every metric `none` (a run that did not finish).
    pub fn none() -> RunMetrics {
        RunMetrics {
            detection_ms: Measure::None,
            recovery_ms: Measure::None,
            reconnect_attempts: Measure::None,
            qos1_sent: Measure::None,
            qos1_lost: Measure::None,
            qos1_duplicated: Measure::None,
            max_latency_ms: Measure::None,
        }
    }
}

/// The metrics of a run's trace; `messages`: the DUT's messages carry ids
/// (our driver, or a profile with `seq`), else the QoS metrics are
/// `unsupported`.
pub fn run_metrics(records: &[Record], messages: bool) -> RunMetrics {
    let (sent, lost, duplicated, latency) = if messages {
        let q = qos1(records);
        (
            Measure::Value(q.sent),
            Measure::Value(q.lost),
            Measure::Value(q.duplicated),
            q.max_latency_ms.map_or(Measure::None, Measure::Value),
        )
    } else {
        (
            Measure::Unsupported,
            Measure::Unsupported,
            Measure::Unsupported,
            Measure::Unsupported,
        )
    };
    RunMetrics {
        detection_ms: detection(records),
        recovery_ms: recovery(records),
        reconnect_attempts: Measure::Value(reconnect_attempts(records)),
        qos1_sent: sent,
        qos1_lost: lost,
        qos1_duplicated: duplicated,
        max_latency_ms: latency,
    }
}

fn is_cut_start(r: &Record) -> Option<&str> {
    match (&r.actor, &r.event) {
        (Actor::Faults, Event::Fault { kind, detail })
            if Fault::cut(kind).cuts() && !detail.split(' ').any(|w| w == "link=observer") =>
        {
            Some(kind)
        }
        _ => None,
    }
}

/// The index of the record that ends the cut started at `i` (`None`: it
/// lasts to the end of the run).
fn cut_end(records: &[Record], i: usize, kind: &str) -> Option<usize> {
    match Fault::cut(kind) {
        Cut::Instant | Cut::No => Some(i),
        Cut::UntilEnd { or_kind } => records[i + 1..]
            .iter()
            .position(|x| {
                x.actor == Actor::Faults
                    && match &x.event {
                        Event::FaultEnd { kind: k } => k == kind,
                        Event::Fault { kind: k, .. } => Some(k.as_str()) == or_kind,
                        _ => false,
                    }
            })
            .map(|p| i + 1 + p),
    }
}

/// Whether the DUT was up just before record `i` (its last `up`/`down`).
fn up_before(records: &[Record], i: usize) -> bool {
    records[..i]
        .iter()
        .rev()
        .find_map(|r| match (&r.actor, &r.event) {
            (Actor::Dut, Event::Up) => Some(true),
            (Actor::Dut, Event::Down) => Some(false),
            _ => None,
        })
        .unwrap_or(false)
}

/// Outage detection: the worst time from a cutting fault (not a reboot)
/// that hit the DUT while it was up to its next `down`; `missed` when the
/// disruption ended (or the run did) first.
pub fn detection(records: &[Record]) -> Measure {
    let mut worst = Measure::None;
    for (i, r) in records.iter().enumerate() {
        let Some(kind) = is_cut_start(r) else {
            continue;
        };
        if Fault::cut(kind) == Cut::Instant || !up_before(records, i) {
            continue;
        }
        let end = cut_end(records, i, kind).unwrap_or(records.len());
        let down = records[i + 1..end.max(i + 1)]
            .iter()
            .find(|x| x.actor == Actor::Dut && x.event == Event::Down);
        let m = match down {
            Some(d) => Measure::Value(d.t_ms - r.t_ms),
            None => Measure::Missed,
        };
        worst = worst.worse(m);
    }
    worst
}

/// Recovery: the worst time from the end of a cut to the DUT's next
/// `connected`, for cuts after which it had lost its connection (0 when
/// the connection lived through it); `missed` when it never connected
/// again. A cut whose end comes while another cut goes on is not measured.
pub fn recovery(records: &[Record]) -> Measure {
    let mut worst = Measure::None;
    let starts: Vec<usize> = (0..records.len())
        .filter(|&i| is_cut_start(&records[i]).is_some())
        .collect();
    for (n, &i) in starts.iter().enumerate() {
        let kind = is_cut_start(&records[i]).expect("a cut start");
        let Some(end) = cut_end(records, i, kind) else {
            continue; // lasts to the end of the run
        };
        // Another cut still going on when this one ends.
        let overlapped = starts.iter().any(|&j| {
            j != i
                && j <= end
                && is_cut_start(&records[j])
                    .is_some_and(|k| cut_end(records, j, k).is_none_or(|e| e > end))
        });
        if overlapped {
            continue;
        }
        let next_cut = starts.get(n + 1).copied().unwrap_or(records.len());
        let dut = |x: &Record, f: &dyn Fn(&Event) -> bool| x.actor == Actor::Dut && f(&x.event);
        let connected = |e: &Event| matches!(e, Event::Connected { .. });
        let lost_or_down = |e: &Event| matches!(e, Event::ConnectionLost { .. } | Event::Down);
        let reconnect = records[end..]
            .iter()
            .position(|x| dut(x, &connected))
            .map(|p| end + p);
        let lost_by = reconnect.unwrap_or(next_cut.max(end)).min(records.len());
        let lost = records[i..lost_by].iter().any(|x| dut(x, &lost_or_down))
            || records[..i]
                .iter()
                .rev()
                .find(|x| dut(x, &connected) || dut(x, &lost_or_down))
                .is_some_and(|x| !connected(&x.event));
        let m = match (lost, reconnect) {
            (false, _) => Measure::Value(0),
            (true, Some(c)) => Measure::Value(records[c].t_ms - records[end].t_ms),
            (true, None) => Measure::Missed,
        };
        worst = worst.worse(m);
    }
    worst
}

/// `connecting` events of the DUT, except the first of each boot (the
/// start, and after each `dut_reboot` or `dut_power_cycle`) and those
/// opening a session the DUT chose to start after its own DISCONNECT
/// ([`crate::oracle::chosen_connects`]).
pub fn reconnect_attempts(records: &[Record]) -> u64 {
    let chosen = crate::oracle::chosen_connects(records);
    let mut total = 0u64;
    let mut this_boot = 0u64;
    for (i, r) in records.iter().enumerate() {
        match (&r.actor, &r.event) {
            (Actor::Faults, Event::Fault { kind, .. })
                if crate::scenario::fault::Fault::reboots(kind) =>
            {
                this_boot = 0
            }
            (Actor::Dut, Event::Connecting { .. }) => {
                if this_boot > 0 && !chosen.contains(&i) {
                    total += 1;
                }
                this_boot += 1;
            }
            _ => {}
        }
    }
    total
}

/// The QoS metrics of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Qos1 {
    pub sent: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub max_latency_ms: Option<u64>,
}

/// QoS >= 1 messages the application started, lost, duplicated, and the
/// slowest first delivery.
pub fn qos1(records: &[Record]) -> Qos1 {
    let end = records.last().map_or(0, |r| r.t_ms);
    let mut started: BTreeMap<&str, u64> = BTreeMap::new();
    let mut delivered: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in records {
        match (&r.actor, &r.event) {
            (Actor::App, Event::AppPublishStart { msg, qos, .. }) if *qos >= 1 => {
                started.entry(msg.as_str()).or_insert(r.t_ms);
            }
            (
                Actor::Observer,
                Event::Delivered {
                    msg, retain: false, ..
                },
            ) => {
                let d = delivered.entry(msg.as_str()).or_insert((r.t_ms, 0));
                d.1 += 1;
            }
            _ => {}
        }
    }
    let mut q = Qos1 {
        sent: started.len() as u64,
        ..Qos1::default()
    };
    for (msg, &t) in &started {
        match delivered.get(msg) {
            Some(&(first, n)) => {
                q.duplicated += n - 1;
                let lat = first.saturating_sub(t);
                q.max_latency_ms = Some(q.max_latency_ms.map_or(lat, |m| m.max(lat)));
            }
            None if t + GRACE_MS <= end => q.lost += 1,
            None => {}
        }
    }
    q
}

/// A metric over the seeds of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stat {
    pub worst: Measure,
    pub median: Measure,
}

/// The worst and the lower median of some runs' measures.
pub fn aggregate(ms: &[Measure]) -> Stat {
    if ms.contains(&Measure::Unsupported) {
        return Stat {
            worst: Measure::Unsupported,
            median: Measure::Unsupported,
        };
    }
    let mut v: Vec<Measure> = ms.iter().copied().filter(|m| *m != Measure::None).collect();
    if v.is_empty() {
        return Stat {
            worst: Measure::None,
            median: Measure::None,
        };
    }
    v.sort_by_key(|m| m.badness());
    Stat {
        worst: *v.last().expect("not empty"),
        median: v[(v.len() - 1) / 2],
    }
}

/// A DUT of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DutInfo {
    /// Its column name (and the folder of its run directories).
    pub label: String,
    /// `--dut` as given.
    pub arg: String,
    /// The backend name its runs record (`live/mosquitto/dut=paho`).
    pub backend: String,
}

/// One run of a cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunCell {
    pub seed: u64,
    pub status: &'static str,
    pub dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub replay: String,
    pub metrics: RunMetrics,
}

/// One oracle over a cell's runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OracleCell {
    pub oracle: String,
    pub params: String,
    /// `fail` if any run failed; else `unsupported`; else `pass` if any
    /// run passed; else `inconclusive`.
    pub status: &'static str,
    /// Runs in which it failed.
    pub failed_runs: usize,
    /// The first failure's message, or why it is unsupported / inconclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One scenario on one DUT.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cell {
    pub scenario: String,
    pub dut: String,
    /// The worst run's status (`pass`, `fail`, `infrastructure_error`),
    /// `pending` before any run finished.
    pub status: &'static str,
    pub runs: Vec<RunCell>,
    pub oracles: Vec<OracleCell>,
    /// Each metric of [`METRICS`] over the runs.
    pub metrics: BTreeMap<&'static str, Stat>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scorecard {
    pub schema: u32,
    /// The seeds as given (`1..4`, `7`, or `scenario`).
    pub seeds: String,
    /// Seeds per scenario (1: `worst` = `median`).
    pub seeds_per_cell: usize,
    /// How metrics are aggregated over seeds.
    pub aggregate: &'static str,
    pub broker: String,
    pub duts: Vec<DutInfo>,
    pub scenarios: Vec<String>,
    /// Scenario-major: every DUT of the first scenario, then the next.
    pub cells: Vec<Cell>,
    /// Every planned run finished.
    pub finished: bool,
}

impl Scorecard {
    /// An empty scorecard: `seeds_per_cell` runs expected per cell.
    pub fn new(
        broker: &str,
        duts: Vec<DutInfo>,
        scenarios: Vec<String>,
        seeds: &str,
        seeds_per_cell: usize,
    ) -> Scorecard {
        let cells = scenarios
            .iter()
            .flat_map(|s| {
                duts.iter().map(move |d| Cell {
                    scenario: s.clone(),
                    dut: d.label.clone(),
                    status: "pending",
                    runs: Vec::new(),
                    oracles: Vec::new(),
                    metrics: BTreeMap::new(),
                })
            })
            .collect();
        Scorecard {
            schema: SCHEMA,
            seeds: seeds.to_string(),
            seeds_per_cell,
            aggregate: "worst and median over seeds (missed counts as worst)",
            broker: broker.to_string(),
            duts,
            scenarios,
            cells,
            finished: false,
        }
    }

    /// Adds a finished run of DUT `dut` (its index).
    pub fn add(&mut self, dut: usize, report: &RunReport, metrics: RunMetrics) {
        let ndut = self.duts.len();
        let Some(s) = self.scenarios.iter().position(|s| *s == report.scenario) else {
            return;
        };
        let Some(cell) = self.cells.get_mut(s * ndut + dut) else {
            return;
        };
        cell.runs.push(RunCell {
            seed: report.seed,
            status: status_word(report.status),
            dir: report.dir.display().to_string(),
            error: report.error.clone(),
            replay: report.replay.clone(),
            metrics,
        });
        cell.runs.sort_by_key(|r| r.seed);
        merge_oracles(&mut cell.oracles, report);
        cell.status = worst_status(cell.status, report.status);
        for m in METRICS {
            let ms: Vec<Measure> = cell.runs.iter().map(|r| r.metrics.get(m)).collect();
            cell.metrics.insert(*m, aggregate(&ms));
        }
    }

    /// The cell of `scenario` and DUT `dut` (its label).
    pub fn cell(&self, scenario: &str, dut: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.scenario == scenario && c.dut == dut)
    }

    /// `scorecard.json`.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a scorecard serializes");
        s.push('\n');
        s
    }
}

fn worst_status(now: &'static str, run: RunStatus) -> &'static str {
    let rank = |s: &str| match s {
        "pending" => 0,
        "pass" => 1,
        "infrastructure_error" => 2,
        _ => 3,
    };
    let w = status_word(run);
    if rank(w) > rank(now) {
        w
    } else {
        now
    }
}

fn merge_oracles(cells: &mut Vec<OracleCell>, report: &RunReport) {
    for v in &report.verdicts {
        let idx = match cells
            .iter()
            .position(|c| c.oracle == v.oracle && c.params == v.params)
        {
            Some(i) => i,
            None => {
                cells.push(OracleCell {
                    oracle: v.oracle.clone(),
                    params: v.params.clone(),
                    status: "inconclusive",
                    failed_runs: 0,
                    detail: None,
                });
                cells.len() - 1
            }
        };
        let c = &mut cells[idx];
        let rank = |s: &str| match s {
            "inconclusive" => 0,
            "pass" => 1,
            "unsupported" => 2,
            _ => 3,
        };
        let (word, detail) = match v.status {
            Status::Fail => {
                c.failed_runs += 1;
                ("fail", v.failures.first().map(|f| f.message.clone()))
            }
            Status::Unsupported => ("unsupported", v.note.clone()),
            Status::Pass => ("pass", None),
            Status::Inconclusive => ("inconclusive", v.note.clone()),
        };
        if rank(word) > rank(c.status) {
            c.status = word;
            c.detail = detail;
        } else if c.detail.is_none() && word == c.status {
            c.detail = detail;
        }
    }
}

/// `1.2s`, `850ms`.
fn fmt_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

fn fmt_measure(metric: &str, m: Measure) -> String {
    match m {
        Measure::Value(v) if metric.ends_with("_ms") => fmt_ms(v),
        Measure::Value(v) => v.to_string(),
        Measure::Missed if metric == "recovery_ms" => "never".into(),
        Measure::Missed => "missed".into(),
        Measure::None => "-".into(),
        Measure::Unsupported => "unsup".into(),
    }
}

impl Cell {
    /// A metric as the table shows it: the worst, or `worst/median` over
    /// several seeds.
    pub fn show(&self, metric: &str) -> String {
        let Some(s) = self.metrics.get(metric) else {
            return "-".into();
        };
        let (w, m) = (fmt_measure(metric, s.worst), fmt_measure(metric, s.median));
        if self.runs.len() > 1 && w != m {
            format!("{w}/{m}")
        } else {
            w
        }
    }

    /// `4 pass, 1 fail, 1 unsup`.
    pub fn oracle_summary(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for o in &self.oracles {
            *counts.entry(o.status).or_default() += 1;
        }
        let parts: Vec<String> = [
            ("pass", "pass"),
            ("fail", "fail"),
            ("unsupported", "unsup"),
            ("inconclusive", "n/a"),
        ]
        .iter()
        .filter_map(|(k, w)| counts.get(k).map(|n| format!("{n} {w}")))
        .collect();
        if parts.is_empty() {
            "-".into()
        } else {
            parts.join(", ")
        }
    }
}

const HEADERS: &[&str] = &[
    "scenario", "dut", "result", "oracles", "detect", "recover", "reconn", "sent", "lost", "dup",
    "max lat",
];

fn rows(sc: &Scorecard) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for c in &sc.cells {
        let first = sc
            .cells
            .iter()
            .find(|x| x.scenario == c.scenario)
            .is_some_and(|x| std::ptr::eq(x, c));
        let mut r = vec![
            if first {
                c.scenario.clone()
            } else {
                String::new()
            },
            c.dut.clone(),
            c.status.to_string(),
            c.oracle_summary(),
        ];
        // detect, recover, reconn, sent, lost, dup, max lat
        r.extend(METRICS.iter().map(|m| c.show(m)));
        rows.push(r);
    }
    rows
}

/// The terminal table (also `scorecard.txt`): a row per scenario and DUT,
/// then each failing oracle's first message and what was unsupported.
pub fn render_text(sc: &Scorecard) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "resilience scorecard: {} scenario(s) x {} DUT(s), seeds {}, broker {}{}",
        sc.scenarios.len(),
        sc.duts.len(),
        sc.seeds,
        sc.broker,
        if sc.finished { "" } else { " (unfinished)" }
    );
    if sc.seeds_per_cell > 1 {
        let _ = writeln!(
            out,
            "metrics: worst/median over {} seeds (one value: both agree)",
            sc.seeds_per_cell
        );
    }
    let rows = rows(sc);
    let mut width: Vec<usize> = HEADERS.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (c, &w)) in cells.iter().zip(&width).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            // Text columns left, numbers right.
            if i < 4 {
                let _ = write!(l, "{c:<w$}");
            } else {
                let _ = write!(l, "{c:>w$}");
            }
        }
        l.trim_end().to_string()
    };
    let head: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(out, "{}", line(&head));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    let mut notes = Vec::new();
    let mut unsupported: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in &sc.cells {
        for o in &c.oracles {
            match o.status {
                "fail" => notes.push(format!(
                    "  {} / {}: {} failed in {}/{} run(s): {}",
                    c.scenario,
                    c.dut,
                    o.oracle,
                    o.failed_runs,
                    c.runs.len(),
                    o.detail.as_deref().unwrap_or("")
                )),
                "unsupported" => {
                    unsupported.entry(&c.dut).or_default().insert(&o.oracle);
                }
                _ => {}
            }
        }
        for r in &c.runs {
            if let Some(e) = &r.error {
                notes.push(format!(
                    "  {} / {} seed {}: infrastructure: {e}",
                    c.scenario, c.dut, r.seed
                ));
            }
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "failures:");
        for n in notes {
            let _ = writeln!(out, "{n}");
        }
    }
    if !unsupported.is_empty() {
        let _ = writeln!(out, "unsupported (the DUT cannot show the evidence):");
        for (dut, o) in unsupported {
            let list: Vec<&str> = o.into_iter().collect();
            let _ = writeln!(out, "  {dut}: {}", list.join(", "));
        }
    }
    out
}

const STYLE: &str = r#"
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:#1d232a; background:#f6f7f9; }
header { background:#1d232a; color:#fff; padding:18px 28px; }
header h1 { margin:0 0 6px; font-size:20px; font-weight:600; }
header .meta { color:#c5ccd4; font-size:13px; }
main { padding:18px 28px 40px; }
table { border-collapse:collapse; background:#fff; border:1px solid #dde1e6; }
th, td { text-align:left; padding:6px 10px; border:1px solid #dde1e6; font-size:13px; vertical-align:top; }
th { background:#eef1f4; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.badge { font-size:11px; font-weight:700; text-transform:uppercase; padding:2px 7px; border-radius:4px; color:#fff; }
.badge.pass { background:#2e8540; } .badge.fail { background:#c62828; } .badge.infrastructure_error { background:#b26a00; } .badge.pending { background:#8a939c; }
ul.oracles { margin:0; padding:0; list-style:none; font-size:12px; }
ul.oracles li.fail { color:#c62828; font-weight:600; } ul.oracles li.unsupported { color:#8a5a00; font-style:italic; } ul.oracles li.pass { color:#2e8540; } ul.oracles li.inconclusive { color:#5b6672; }
td.missed { background:#fde8e8; color:#c62828; font-weight:600; }
td.unsup { color:#8a5a00; font-style:italic; }
.legend { font-size:12px; color:#5b6672; margin:10px 0; max-width:1100px; }
code { font:12px ui-monospace,Menlo,Consolas,monospace; }
"#;

/// `scorecard.html`: one self-contained page (inline CSS, no scripts).
pub fn render_html(sc: &Scorecard) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hil compare: resilience scorecard</title><style>{STYLE}</style></head><body>\n<header><h1>Resilience scorecard</h1><div class=\"meta\">{} scenario(s) &times; {} DUT(s) &middot; seeds {} &middot; broker {}{}</div></header>\n<main>\n",
        sc.scenarios.len(),
        sc.duts.len(),
        esc(&sc.seeds),
        esc(&sc.broker),
        if sc.finished { "" } else { " &middot; <b>unfinished</b>" }
    );
    let _ = write!(h, "<table><thead><tr><th>scenario</th>");
    for d in &sc.duts {
        let _ = write!(
            h,
            "<th colspan=\"2\">{}<br><code>--dut {}</code></th>",
            esc(&d.label),
            esc(&d.arg)
        );
    }
    let _ = writeln!(h, "</tr></thead><tbody>");
    let labels = [
        ("result", ""),
        ("oracles", ""),
        ("detection_ms", "outage detection"),
        ("recovery_ms", "recovery"),
        ("reconnect_attempts", "reconnect attempts"),
        ("qos1_sent", "QoS 1 sent"),
        ("qos1_lost", "QoS 1 lost"),
        ("qos1_duplicated", "QoS 1 duplicated"),
        ("max_latency_ms", "max delivery latency"),
    ];
    for s in &sc.scenarios {
        let cells: Vec<&Cell> = sc.cells.iter().filter(|c| c.scenario == *s).collect();
        for (n, (key, label)) in labels.iter().enumerate() {
            let _ = write!(h, "<tr>");
            if n == 0 {
                let _ = write!(h, "<th rowspan=\"{}\">{}</th>", labels.len(), esc(s));
            }
            for c in &cells {
                match *key {
                    "result" => {
                        let _ = write!(
                            h,
                            "<td colspan=\"2\"><span class=\"badge {0}\">{0}</span> {1}</td>",
                            c.status,
                            esc(&c.oracle_summary())
                        );
                    }
                    "oracles" => {
                        let _ = write!(h, "<td colspan=\"2\"><ul class=\"oracles\">");
                        for o in &c.oracles {
                            let title = o.detail.as_deref().unwrap_or("");
                            let _ = write!(
                                h,
                                "<li class=\"{}\" title=\"{}\">{} {}</li>",
                                o.status,
                                esc(title),
                                esc(o.status),
                                esc(&o.oracle)
                            );
                        }
                        let _ = write!(h, "</ul></td>");
                    }
                    metric => {
                        let v = c.show(metric);
                        let class = match v.as_str() {
                            x if x.starts_with("missed") || x.starts_with("never") => "num missed",
                            "unsup" => "num unsup",
                            _ => "num",
                        };
                        let _ = write!(
                            h,
                            "<td>{}</td><td class=\"{class}\">{}</td>",
                            esc(label),
                            esc(&v)
                        );
                    }
                }
            }
            let _ = writeln!(h, "</tr>");
        }
    }
    let _ = writeln!(h, "</tbody></table>");
    let _ = writeln!(
        h,
        "<p class=\"legend\">Outage detection: a fault that cuts the DUT off, to its <i>down</i> (for a black-box DUT: its FIN/RST or new connection attempt); <b>missed</b>: not before the disruption ended. Recovery: the disruption's end to the next accepted connection; <b>never</b>: none. QoS 1 lost: started, never received by the observer. <i>unsup</i>: the DUT cannot show it. {}Hover an oracle for its message; each run's directory has its trace, transcript and verdicts.</p>",
        if sc.seeds_per_cell > 1 {
            "Values are worst/median over the seeds. "
        } else {
            ""
        }
    );
    let _ = writeln!(h, "</main></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::{Failure, Verdict};
    use crate::trace::Source;

    fn rec(t: u64, actor: Actor, event: Event) -> Record {
        Record::new(t, actor, event)
    }

    fn fault(t: u64, kind: &str) -> Record {
        rec(
            t,
            Actor::Faults,
            Event::Fault {
                kind: kind.into(),
                detail: String::new(),
            },
        )
    }

    fn end(t: u64, kind: &str) -> Record {
        rec(t, Actor::Faults, Event::FaultEnd { kind: kind.into() })
    }

    fn connected(t: u64) -> Vec<Record> {
        vec![
            rec(t, Actor::Dut, Event::Connecting { attempt: 1 }),
            rec(
                t,
                Actor::Dut,
                Event::Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            rec(t, Actor::Dut, Event::Up),
        ]
    }

    fn lost(t: u64) -> Vec<Record> {
        vec![
            rec(
                t,
                Actor::Dut,
                Event::ConnectionLost {
                    reason: "reset_by_dut".into(),
                },
            ),
            rec(t, Actor::Dut, Event::Down),
        ]
    }

    /// Up at 0; a blackhole 10 s..40 s; detected at `down`, reconnected at
    /// `up`.
    fn blackhole(down: Option<u64>, up: Option<u64>) -> Vec<Record> {
        let mut r = connected(0);
        r.push(fault(10_000, "link_blackhole"));
        if let Some(d) = down {
            r.extend(lost(d));
        }
        r.push(end(40_000, "link_blackhole"));
        if let Some(u) = up {
            r.extend(connected(u));
        }
        r.push(rec(60_000, Actor::Harness, Event::RunEnd));
        r.sort_by_key(|x| x.t_ms);
        r
    }

    #[test]
    fn detection_is_fault_to_down_or_missed() {
        assert_eq!(
            detection(&blackhole(Some(25_000), Some(41_000))),
            Measure::Value(15_000)
        );
        // Down only after the blackhole ended: missed.
        assert_eq!(
            detection(&blackhole(Some(45_000), Some(46_000))),
            Measure::Missed
        );
        assert_eq!(detection(&blackhole(None, None)), Measure::Missed);
        // No cutting fault at all.
        let mut quiet = connected(0);
        quiet.push(fault(5_000, "latency"));
        assert_eq!(detection(&quiet), Measure::None);
        // A fault while the DUT is already down is not measured.
        let mut down = connected(0);
        down.extend(lost(1_000));
        down.push(fault(5_000, "wifi_down"));
        assert_eq!(detection(&down), Measure::None);
    }

    #[test]
    fn recovery_is_end_to_connected_zero_if_it_survived_never_if_not() {
        assert_eq!(
            recovery(&blackhole(Some(25_000), Some(41_500))),
            Measure::Value(1_500)
        );
        // Noticed after the end (the wire rule: its next connection).
        assert_eq!(
            recovery(&blackhole(Some(45_000), Some(45_200))),
            Measure::Value(5_200)
        );
        // The connection lived through it.
        assert_eq!(recovery(&blackhole(None, None)), Measure::Value(0));
        assert_eq!(recovery(&blackhole(Some(25_000), None)), Measure::Missed);
        // A crash lasts until its restart.
        let mut crash = connected(0);
        crash.push(fault(10_000, "broker_crash"));
        crash.extend(lost(10_010));
        crash.push(fault(20_000, "broker_restart"));
        crash.extend(connected(23_000));
        assert_eq!(recovery(&crash), Measure::Value(3_000));
        assert_eq!(detection(&crash), Measure::Value(10));
    }

    #[test]
    fn reconnects_exclude_each_boots_first_connect() {
        let mut r = connected(0);
        r.extend(lost(5_000));
        r.push(rec(6_000, Actor::Dut, Event::Connecting { attempt: 1 }));
        r.push(rec(7_000, Actor::Dut, Event::Connecting { attempt: 2 }));
        r.push(fault(8_000, "dut_reboot"));
        r.extend(connected(9_000));
        assert_eq!(reconnect_attempts(&r), 2);
        // A power cycle is a boot too.
        r.push(fault(10_000, "dut_power_cycle"));
        r.extend(connected(12_000));
        assert_eq!(reconnect_attempts(&r), 2);
    }

    #[test]
    fn a_client_that_connects_per_message_makes_no_reconnects() {
        // mosquitto_pub in a loop: connect, publish, its own DISCONNECT.
        let mut r = Vec::new();
        for k in 0..5 {
            r.extend(connected(k * 1_000));
            r.push(rec(
                k * 1_000 + 10,
                Actor::Dut,
                Event::ConnectionLost {
                    reason: "disconnected_by_dut".into(),
                },
            ));
        }
        assert_eq!(reconnect_attempts(&r), 0);
        // After a connection it did not end itself, it is one.
        r.extend(lost(6_000));
        r.extend(connected(7_000));
        assert_eq!(reconnect_attempts(&r), 1);
    }

    fn start(t: u64, msg: &str) -> Record {
        rec(
            t,
            Actor::App,
            Event::AppPublishStart {
                msg: msg.into(),
                topic: "peers/x/seq".into(),
                qos: 1,
            },
        )
        .from_source(Source::Wire)
    }

    fn delivered(t: u64, msg: &str) -> Record {
        rec(
            t,
            Actor::Observer,
            Event::Delivered {
                topic: "peers/x/seq".into(),
                msg: msg.into(),
                qos: 1,
                retain: false,
                dup: false,
            },
        )
    }

    #[test]
    fn qos1_counts_lost_duplicates_and_latency() {
        let r = vec![
            start(1_000, "a"),
            delivered(1_040, "a"),
            start(2_000, "b"),
            delivered(2_300, "b"),
            delivered(2_900, "b"),
            start(3_000, "c"),
            // Too young to be lost when the run ends.
            start(9_500, "d"),
            rec(10_000, Actor::Harness, Event::RunEnd),
        ];
        assert_eq!(
            qos1(&r),
            Qos1 {
                sent: 4,
                lost: 1,
                duplicated: 1,
                max_latency_ms: Some(300)
            }
        );
        let m = run_metrics(&r, false);
        assert_eq!(m.qos1_lost, Measure::Unsupported);
        assert_eq!(m.max_latency_ms, Measure::Unsupported);
        assert_eq!(run_metrics(&r, true).qos1_duplicated, Measure::Value(1));
    }

    #[test]
    fn aggregates_say_worst_and_median() {
        use Measure::*;
        assert_eq!(
            aggregate(&[Value(5), Value(1), Value(3)]),
            Stat {
                worst: Value(5),
                median: Value(3)
            }
        );
        assert_eq!(
            aggregate(&[Value(5), Missed, None]),
            Stat {
                worst: Missed,
                median: Value(5)
            }
        );
        assert_eq!(aggregate(&[None, None]).worst, None);
        assert_eq!(aggregate(&[Unsupported]).median, Unsupported);
    }

    fn verdict(oracle: &str, status: Status, msg: Option<&str>) -> Verdict {
        Verdict {
            oracle: oracle.into(),
            params: String::new(),
            status,
            failures: msg
                .map(|m| vec![Failure::new(m, vec![])])
                .unwrap_or_default(),
            note: (status == Status::Unsupported)
                .then(|| "needs message ids in the DUT's payloads".to_string()),
        }
    }

    fn report(scenario: &str, dut: &str, seed: u64, verdicts: Vec<Verdict>) -> RunReport {
        let status = if verdicts.iter().any(|v| v.status == Status::Fail) {
            RunStatus::Fail
        } else {
            RunStatus::Pass
        };
        RunReport {
            scenario: scenario.into(),
            path: format!("scenarios/{scenario}.toml"),
            seed,
            backend: format!("live/mosquitto/dut={dut}"),
            status,
            end_ms: Some(60_000),
            verdicts,
            error: None,
            replay: format!(
                "hil run scenarios/{scenario}.toml --seed {seed} --backend live --dut {dut}"
            ),
            dir: format!("out/{dut}/{scenario}/{seed}").into(),
        }
    }

    /// A fixed scorecard: two scenarios, two DUTs, two seeds.
    pub(crate) fn fixed() -> Scorecard {
        let duts = ["driver-process", "mosquitto-pub"]
            .iter()
            .map(|d| DutInfo {
                label: d.to_string(),
                arg: d.to_string(),
                backend: format!("live/mosquitto/dut={d}"),
            })
            .collect();
        let mut sc = Scorecard::new(
            "mosquitto",
            duts,
            vec!["qual-half-open-link".into(), "qual-wifi-outage".into()],
            "1..3",
            2,
        );
        use Measure::{Missed, Value};
        let m = |d, r, c, lost, lat| RunMetrics {
            detection_ms: d,
            recovery_ms: r,
            reconnect_attempts: Value(c),
            qos1_sent: Value(12),
            qos1_lost: Value(lost),
            qos1_duplicated: Value(0),
            max_latency_ms: lat,
        };
        for seed in 1..3 {
            sc.add(
                0,
                &report(
                    "qual-half-open-link",
                    "driver-process",
                    seed,
                    vec![
                        verdict("detects_outage_within", Status::Pass, None),
                        verdict("qos1_no_loss", Status::Pass, None),
                    ],
                ),
                m(
                    Value(20_000 + seed * 1000),
                    Value(1_200),
                    1,
                    0,
                    Value(31_000),
                ),
            );
            sc.add(
                1,
                &report(
                    "qual-half-open-link",
                    "mosquitto-pub",
                    seed,
                    vec![
                        verdict("detects_outage_within", Status::Pass, None),
                        verdict(
                            "qos1_no_loss",
                            Status::Fail,
                            Some("peers/dut-q/seq#7 was never delivered (the DUT's loss)"),
                        ),
                    ],
                ),
                m(Value(900), Value(5_000), 40, seed, Value(80)),
            );
            for dut in 0..2 {
                sc.add(
                    dut,
                    &report(
                        "qual-wifi-outage",
                        ["driver-process", "mosquitto-pub"][dut],
                        seed,
                        vec![
                            verdict("recovers_within", Status::Pass, None),
                            verdict("never_stalls", Status::Unsupported, None),
                        ],
                    ),
                    m(
                        if dut == 0 { Missed } else { Value(10) },
                        Value(2_000),
                        2,
                        0,
                        Measure::None,
                    ),
                );
            }
        }
        sc.finished = true;
        sc
    }

    #[test]
    fn every_cell_is_filled_and_worst_is_kept() {
        let sc = fixed();
        assert_eq!(sc.cells.len(), 4);
        let c = sc.cell("qual-half-open-link", "mosquitto-pub").unwrap();
        assert_eq!(c.status, "fail");
        assert_eq!(c.runs.len(), 2);
        assert_eq!(c.oracles[1].failed_runs, 2);
        assert_eq!(c.show("qos1_lost"), "2/1");
        assert_eq!(
            sc.cell("qual-half-open-link", "driver-process")
                .unwrap()
                .show("detection_ms"),
            "22.0s/21.0s"
        );
        let w = sc.cell("qual-wifi-outage", "driver-process").unwrap();
        assert_eq!(w.show("detection_ms"), "missed");
        assert_eq!(w.oracles[1].status, "unsupported");
    }

    #[test]
    fn terminal_table() {
        insta::assert_snapshot!(render_text(&fixed()));
    }

    #[test]
    fn json_shape() {
        let v: serde_json::Value = serde_json::from_str(&fixed().to_json()).unwrap();
        assert_eq!(v["schema"], 1);
        let c = &v["cells"][1];
        assert_eq!(c["dut"], "mosquitto-pub");
        assert_eq!(c["metrics"]["qos1_lost"]["worst"], 2);
        assert_eq!(c["metrics"]["qos1_lost"]["median"], 1);
        assert_eq!(c["oracles"][1]["status"], "fail");
        assert_eq!(v["cells"][2]["metrics"]["detection_ms"]["worst"], "missed");
        assert_eq!(v["cells"][2]["metrics"]["max_latency_ms"]["worst"], "none");
        assert_eq!(v["cells"][2]["oracles"][1]["status"], "unsupported");
        assert_eq!(v["cells"][0]["runs"][0]["metrics"]["detection_ms"], 21_000);
    }

    #[test]
    fn html_escapes_and_shows_every_cell() {
        let mut sc = fixed();
        sc.duts[0].arg = "exec:<script>".into();
        let h = render_html(&sc);
        assert!(h.contains("--dut exec:&lt;script&gt;"));
        assert!(!h.contains("<script>"));
        assert_eq!(h.matches("class=\"badge fail\"").count(), 1);
        assert_eq!(h.matches("class=\"num missed\"").count(), 1);
        assert!(h.contains("unsupported never_stalls"));
    }
}
