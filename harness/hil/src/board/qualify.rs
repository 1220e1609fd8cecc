//! Board qualification (`hil qualify --board PROFILE [--repeat N]`): every
//! scenario tagged `qualification`, N times, on one board; then a report
//! (`qualification.json`, `qualification.html`, `junit.xml`) with pass/fail
//! per scenario, outage detection and recovery times (p50/p95/max), QoS 1
//! messages lost and duplicated, the heap trend where the board reports
//! heap, the versions from the board's `hello`, the date, and the sha256 of
//! the report's content.
//!
//! The metrics are read from the traces (the same traces the oracles
//! judge): detection = a fault that cuts the DUT off (`wifi_down`,
//! `link_blackhole`, `broker_crash`, ...) to the DUT's next `down`;
//! recovery = the end of that disruption to the next `up`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::dut::BoardRunInfo;
use crate::run::RunStatus;
use crate::scenario::fault::{Cut, Fault};
use crate::trace::{Actor, Event, Record};

/// Metrics of one run, from its trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunMetrics {
    /// ms from each cutting fault to the DUT's `down`.
    pub detection_ms: Vec<u64>,
    /// ms from each disruption's end to the DUT's `up`.
    pub recovery_ms: Vec<u64>,
    /// QoS 1 publishes the application saw acknowledged that the observer
    /// never received.
    pub qos1_lost: u64,
    /// Extra copies the observer received.
    pub qos1_duplicates: u64,
    pub qos1_acked: u64,
}

/// Reads the metrics from a trace.
pub fn metrics(records: &[Record]) -> RunMetrics {
    let mut m = RunMetrics::default();
    let mut qos: BTreeMap<&str, u8> = BTreeMap::new();
    // A board that reboots numbers its messages from 1 again: a message id
    // published n times may be delivered n times.
    let mut starts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut acked: Vec<&str> = Vec::new();
    let mut delivered: BTreeMap<&str, u64> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        match (&r.actor, &r.event) {
            (Actor::App, Event::AppPublishStart { msg, qos: q, .. }) => {
                qos.insert(msg, *q);
                *starts.entry(msg).or_default() += 1;
            }
            (Actor::App, Event::AppPublishDone { msg }) if qos.get(msg.as_str()) == Some(&1) => {
                acked.push(msg)
            }
            (Actor::Observer, Event::Delivered { msg, .. }) => {
                *delivered.entry(msg).or_default() += 1
            }
            // Faults after which the DUT should notice an outage (the
            // fault catalogue's `Cut`).
            (Actor::Faults, Event::Fault { kind, .. }) if Fault::cut(kind).cuts() => {
                let rest = &records[i + 1..];
                // Detected before the next cut, or it was not detected.
                if let Some(d) = rest
                    .iter()
                    .take_while(|x| {
                        !matches!(&x.event, Event::Fault { kind: k, .. } if Fault::cut(k).cuts())
                    })
                    .find(|x| x.actor == Actor::Dut && x.event == Event::Down)
                {
                    m.detection_ms.push(d.t_ms - r.t_ms);
                }
                // The disruption ends at its fault_end (or at once for a reboot).
                let end = match Fault::cut(kind) {
                    Cut::UntilEnd { or_kind } => rest.iter().find(|x| {
                        matches!(&x.event, Event::FaultEnd { kind: k } if k == kind)
                            || matches!(&x.event, Event::Fault { kind: k, .. } if Some(k.as_str()) == or_kind)
                    }),
                    Cut::Instant | Cut::No => Some(r),
                };
                if let Some(end) = end {
                    if let Some(up) = records
                        .iter()
                        .skip_while(|x| !std::ptr::eq(*x, end))
                        .find(|x| x.actor == Actor::Dut && x.event == Event::Up)
                    {
                        m.recovery_ms.push(up.t_ms - end.t_ms);
                    }
                }
            }
            _ => {}
        }
    }
    m.qos1_acked = acked.len() as u64;
    acked.sort_unstable();
    acked.dedup();
    m.qos1_lost = acked.iter().filter(|a| !delivered.contains_key(*a)).count() as u64;
    m.qos1_duplicates = delivered
        .iter()
        .filter(|(k, _)| qos.get(*k) == Some(&1))
        .map(|(k, n)| n.saturating_sub(starts.get(*k).copied().unwrap_or(1)))
        .sum();
    m
}

/// p50, p95 and max of a sample (nearest rank), `None` when empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub n: usize,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub max_ms: u64,
}

pub fn percentiles(xs: &[u64]) -> Option<Percentiles> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_unstable();
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    Some(Percentiles {
        n: v.len(),
        p50_ms: rank(0.50),
        p95_ms: rank(0.95),
        max_ms: *v.last().expect("not empty"),
    })
}

/// One scenario over the repeats.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub path: String,
    pub runs: u32,
    pub passed: u32,
    pub failed: u32,
    pub infrastructure_errors: u32,
    /// The failures' messages (oracle: message, or the infrastructure error).
    pub failures: Vec<String>,
    pub detection: Option<Percentiles>,
    pub recovery: Option<Percentiles>,
    pub qos1_acked: u64,
    pub qos1_lost: u64,
    pub qos1_duplicates: u64,
    /// Board protocol problems counted over its runs.
    pub protocol_problems: u64,
    pub wall_ms: u64,
}

/// The heap trend over the whole qualification.
#[derive(Debug, Clone, Serialize)]
pub struct HeapTrend {
    pub samples: usize,
    pub first: u64,
    pub last: u64,
    pub min: u64,
    /// Bytes per hour of scenario time (least squares over each run, the
    /// mean of the runs), rounded to a whole byte: an integer so that anyone
    /// can recompute the report's hash from the JSON (a float read back by a
    /// parser may differ in its last bit and change the hash).
    pub mean_slope_bytes_per_hour: i64,
}

/// What `qualification.json` holds (without its own hash).
#[derive(Debug, Clone, Serialize)]
pub struct Content {
    pub board_profile: String,
    pub date_utc: String,
    pub repeat: u32,
    pub passed: bool,
    pub firmware: Option<String>,
    pub board: Option<String>,
    pub driver: Option<String>,
    pub driver_version: Option<String>,
    pub protocol: Option<String>,
    pub hil_version: String,
    pub scenarios: Vec<ScenarioResult>,
    pub detection: Option<Percentiles>,
    pub recovery: Option<Percentiles>,
    pub qos1_acked: u64,
    pub qos1_lost: u64,
    pub qos1_duplicates: u64,
    /// `None` when the board reports no heap.
    pub heap: Option<HeapTrend>,
}

/// The report as written: the content and its sha256.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub content: Content,
    /// sha256 (hex) of `content` as compact JSON with its keys sorted
    /// (Python: `json.dumps(c, sort_keys=True, separators=(",", ":"))`).
    pub sha256: String,
}

/// Accumulates runs into a report.
#[derive(Default)]
pub struct Builder {
    per: BTreeMap<String, (ScenarioResult, Vec<u64>, Vec<u64>)>,
    order: Vec<String>,
    hello: Option<hil_agent::msg::HelloMsg>,
    heap_runs: Vec<Vec<(u64, u64)>>,
}

fn slope(points: &[(u64, u64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0 as f64).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 as f64 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points
        .iter()
        .map(|p| (p.0 as f64 - mx) * (p.1 as f64 - my))
        .sum();
    Some(sxy / sxx * 3_600_000.0)
}

impl Builder {
    /// Adds one run.
    pub fn add(
        &mut self,
        report: &crate::run::RunReport,
        records: &[Record],
        info: Option<&BoardRunInfo>,
        wall_ms: u64,
    ) {
        let name = report.scenario.clone();
        if !self.per.contains_key(&name) {
            self.order.push(name.clone());
        }
        let (r, det, rec) = self.per.entry(name.clone()).or_insert_with(|| {
            (
                ScenarioResult {
                    scenario: name,
                    path: report.path.clone(),
                    runs: 0,
                    passed: 0,
                    failed: 0,
                    infrastructure_errors: 0,
                    failures: Vec::new(),
                    detection: None,
                    recovery: None,
                    qos1_acked: 0,
                    qos1_lost: 0,
                    qos1_duplicates: 0,
                    protocol_problems: 0,
                    wall_ms: 0,
                },
                Vec::new(),
                Vec::new(),
            )
        });
        r.runs += 1;
        r.wall_ms += wall_ms;
        match report.status {
            RunStatus::Pass => r.passed += 1,
            RunStatus::Fail => {
                r.failed += 1;
                for v in &report.verdicts {
                    if v.status == crate::oracle::Status::Fail {
                        let first = v.failures.first().map(|f| f.message.as_str()).unwrap_or("");
                        r.failures.push(format!("{}: {first}", v.oracle));
                    }
                }
            }
            RunStatus::InfrastructureError => {
                r.infrastructure_errors += 1;
                r.failures.push(format!(
                    "infrastructure: {}",
                    report.error.clone().unwrap_or_default()
                ));
            }
        }
        if report.status != RunStatus::InfrastructureError {
            let m = metrics(records);
            det.extend(&m.detection_ms);
            rec.extend(&m.recovery_ms);
            r.qos1_acked += m.qos1_acked;
            r.qos1_lost += m.qos1_lost;
            r.qos1_duplicates += m.qos1_duplicates;
        }
        if let Some(i) = info {
            r.protocol_problems += i.protocol.problems();
            if i.hello.is_some() {
                self.hello = i.hello.clone();
            }
            if !i.heap.is_empty() {
                self.heap_runs.push(i.heap.clone());
            }
        }
    }

    /// The finished report, dated `date_utc`.
    pub fn finish(mut self, profile: &str, repeat: u32, date_utc: String) -> Report {
        let mut scenarios = Vec::new();
        let (mut all_det, mut all_rec) = (Vec::new(), Vec::new());
        for name in &self.order {
            if let Some((mut r, det, rec)) = self.per.remove(name) {
                r.detection = percentiles(&det);
                r.recovery = percentiles(&rec);
                all_det.extend(det);
                all_rec.extend(rec);
                scenarios.push(r);
            }
        }
        let heap = {
            let all: Vec<(u64, u64)> = self.heap_runs.iter().flatten().copied().collect();
            (!all.is_empty()).then(|| {
                let slopes: Vec<f64> = self.heap_runs.iter().filter_map(|r| slope(r)).collect();
                HeapTrend {
                    samples: all.len(),
                    first: all[0].1,
                    last: all[all.len() - 1].1,
                    min: all.iter().map(|p| p.1).min().unwrap_or(0),
                    mean_slope_bytes_per_hour: if slopes.is_empty() {
                        0
                    } else {
                        (slopes.iter().sum::<f64>() / slopes.len() as f64).round() as i64
                    },
                }
            })
        };
        let h = self.hello.as_ref();
        let content = Content {
            board_profile: profile.to_string(),
            date_utc,
            repeat,
            passed: !scenarios.is_empty()
                && scenarios
                    .iter()
                    .all(|s| s.failed == 0 && s.infrastructure_errors == 0),
            firmware: h.map(|h| h.firmware.clone()),
            board: h.map(|h| h.board.clone()),
            driver: h.map(|h| h.driver.clone()),
            driver_version: h.map(|h| h.driver_version.clone()),
            protocol: h.map(|h| h.proto.clone()),
            hil_version: env!("CARGO_PKG_VERSION").to_string(),
            qos1_acked: scenarios.iter().map(|s| s.qos1_acked).sum(),
            qos1_lost: scenarios.iter().map(|s| s.qos1_lost).sum(),
            qos1_duplicates: scenarios.iter().map(|s| s.qos1_duplicates).sum(),
            detection: percentiles(&all_det),
            recovery: percentiles(&all_rec),
            scenarios,
            heap,
        };
        // Canonical: compact, keys sorted (serde_json's map), so anyone can
        // recompute it from the file's `content`.
        let json = serde_json::to_value(&content)
            .map(|v| v.to_string())
            .expect("the report serializes");
        let sha256 = hex(&Sha256::digest(json.as_bytes()));
        Report { content, sha256 }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Today's date and time in UTC (`2026-11-25T15:04:05Z`), from the system clock.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pct(p: &Option<Percentiles>) -> String {
    match p {
        Some(p) => format!("{} / {} / {} ms (n={})", p.p50_ms, p.p95_ms, p.max_ms, p.n),
        None => "-".into(),
    }
}

/// The self-contained HTML page.
pub fn html(r: &Report) -> String {
    let c = &r.content;
    let mut s = String::new();
    let opt = |o: &Option<String>| esc(o.as_deref().unwrap_or("(no hello)"));
    let _ = write!(
        s,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Board qualification: {p}</title>\
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}\
.pass{{color:#060}}.fail{{color:#a00}}</style></head><body>\
<h1>Board qualification: {p} <span class=\"{cls}\">{verdict}</span></h1>\
<table><tr><th>date (UTC)</th><td>{date}</td></tr><tr><th>repeat</th><td>{rep}</td></tr>\
<tr><th>board</th><td>{board}</td></tr><tr><th>firmware</th><td>{fw}</td></tr>\
<tr><th>driver</th><td>{drv} {dv}</td></tr><tr><th>agent protocol</th><td>{proto}</td></tr>\
<tr><th>hil</th><td>{hil}</td></tr>\
<tr><th>detection p50 / p95 / max</th><td>{det}</td></tr><tr><th>recovery p50 / p95 / max</th><td>{rec}</td></tr>\
<tr><th>QoS 1 acknowledged / lost / duplicated</th><td>{acked} / {lost} / {dup}</td></tr>\
<tr><th>heap</th><td>{heap}</td></tr><tr><th>sha256 of the content</th><td><code>{sha}</code></td></tr></table>\
<h2>Scenarios</h2><table><tr><th>scenario</th><th>runs</th><th>passed</th><th>failed</th><th>infra</th>\
<th>detection p50/p95/max</th><th>recovery p50/p95/max</th><th>QoS 1 lost</th><th>dup</th><th>protocol problems</th><th>failures</th></tr>",
        p = esc(&c.board_profile),
        cls = if c.passed { "pass" } else { "fail" },
        verdict = if c.passed { "PASS" } else { "FAIL" },
        date = esc(&c.date_utc),
        rep = c.repeat,
        board = opt(&c.board),
        fw = opt(&c.firmware),
        drv = opt(&c.driver),
        dv = esc(c.driver_version.as_deref().unwrap_or("")),
        proto = opt(&c.protocol),
        hil = esc(&c.hil_version),
        det = pct(&c.detection),
        rec = pct(&c.recovery),
        acked = c.qos1_acked,
        lost = c.qos1_lost,
        dup = c.qos1_duplicates,
        heap = match &c.heap {
            Some(h) => format!(
                "{} samples, first {} B, last {} B, min {} B, trend {:+} B/h",
                h.samples, h.first, h.last, h.min, h.mean_slope_bytes_per_hour
            ),
            None => "not reported by this board".into(),
        },
        sha = r.sha256,
    );
    for sc in &c.scenarios {
        let ok = sc.failed == 0 && sc.infrastructure_errors == 0;
        let _ = write!(
            s,
            "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if ok { "pass" } else { "fail" },
            esc(&sc.scenario),
            sc.runs,
            sc.passed,
            sc.failed,
            sc.infrastructure_errors,
            pct(&sc.detection),
            pct(&sc.recovery),
            sc.qos1_lost,
            sc.qos1_duplicates,
            sc.protocol_problems,
            esc(&sc.failures.join("; ")),
        );
    }
    s.push_str("</table></body></html>\n");
    s
}

/// JUnit XML: one test case per scenario (a failure when any repeat failed).
pub fn junit(r: &Report) -> String {
    let mut suite = quick_junit::TestSuite::new(format!("qualify {}", r.content.board_profile));
    suite.add_property(quick_junit::Property::new("sha256", r.sha256.clone()));
    suite.add_property(quick_junit::Property::new(
        "date",
        r.content.date_utc.clone(),
    ));
    for sc in &r.content.scenarios {
        let status = if sc.failed == 0 && sc.infrastructure_errors == 0 {
            quick_junit::TestCaseStatus::success()
        } else {
            let kind = if sc.failed > 0 {
                quick_junit::NonSuccessKind::Failure
            } else {
                quick_junit::NonSuccessKind::Error
            };
            let mut st = quick_junit::TestCaseStatus::non_success(kind);
            st.set_message(sc.failures.join("; "));
            st
        };
        let mut tc = quick_junit::TestCase::new(sc.scenario.clone(), status);
        tc.set_classname(format!("board.{}", r.content.board_profile));
        tc.set_time(std::time::Duration::from_millis(sc.wall_ms));
        suite.add_test_case(tc);
    }
    let mut report = quick_junit::Report::new("hil qualify");
    report.add_test_suite(suite);
    report.to_string().unwrap_or_default()
}

/// Writes `qualification.json`, `qualification.html` and `junit.xml`.
pub fn write(dir: &Path, r: &Report) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let files = [
        (
            "qualification.json",
            serde_json::to_string_pretty(r).expect("the report serializes") + "\n",
        ),
        ("qualification.html", html(r)),
        ("junit.xml", junit(r)),
    ];
    let mut out = Vec::new();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text)?;
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: u64, actor: Actor, event: Event) -> Record {
        Record::new(t, actor, event)
    }

    #[test]
    fn detection_recovery_loss_and_duplicates_from_a_trace() {
        let start = |m: &str| Event::AppPublishStart {
            msg: m.into(),
            topic: "t".into(),
            qos: 1,
        };
        let done = |m: &str| Event::AppPublishDone { msg: m.into() };
        let got = |m: &str| Event::Delivered {
            topic: "t".into(),
            msg: m.into(),
            qos: 1,
            retain: false,
            dup: false,
        };
        let f = |k: &str| Event::Fault {
            kind: k.into(),
            detail: String::new(),
        };
        let t = vec![
            rec(0, Actor::App, start("a")),
            rec(5, Actor::App, done("a")),
            rec(6, Actor::Observer, got("a")),
            rec(7, Actor::Observer, got("a")),
            rec(10, Actor::App, start("b")),
            rec(12, Actor::App, done("b")),
            rec(100, Actor::Faults, f("wifi_down")),
            rec(350, Actor::Dut, Event::Down),
            rec(
                1100,
                Actor::Faults,
                Event::FaultEnd {
                    kind: "wifi_down".into(),
                },
            ),
            rec(1900, Actor::Dut, Event::Up),
        ];
        let m = metrics(&t);
        assert_eq!(m.detection_ms, vec![250]);
        assert_eq!(m.recovery_ms, vec![800]);
        assert_eq!((m.qos1_acked, m.qos1_lost, m.qos1_duplicates), (2, 1, 1));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let p = percentiles(&(1..=100).collect::<Vec<_>>()).unwrap();
        assert_eq!((p.p50_ms, p.p95_ms, p.max_ms, p.n), (50, 95, 100, 100));
        assert_eq!(percentiles(&[]), None);
        let p = percentiles(&[7]).unwrap();
        assert_eq!((p.p50_ms, p.p95_ms), (7, 7));
    }

    #[test]
    fn the_hash_covers_the_content() {
        let a = Builder::default().finish("x", 1, "2026-01-01T00:00:00Z".into());
        let b = Builder::default().finish("x", 1, "2026-01-02T00:00:00Z".into());
        assert_ne!(a.sha256, b.sha256);
        let json = serde_json::to_value(&a.content).unwrap().to_string();
        assert_eq!(a.sha256, hex(&Sha256::digest(json.as_bytes())));
        assert!(!a.content.passed, "no scenario is no pass");
    }

    #[test]
    fn the_hash_survives_a_round_trip_through_the_json_file() {
        // A heap trend whose slope is no round number: the hash recomputed
        // from the parsed file must match (it did not while the slope was a
        // float: serde_json's default parser can be one bit off).
        let b = Builder {
            heap_runs: vec![
                vec![(0, 40_001), (1_337, 39_877), (9_999, 39_813)],
                vec![(0, 40_000), (777, 39_999), (123_457, 38_123)],
            ],
            ..Builder::default()
        };
        let r = b.finish("x", 1, "2026-01-01T00:00:00Z".into());
        let h = r.content.heap.as_ref().unwrap();
        assert_ne!(h.mean_slope_bytes_per_hour, 0);
        let text = serde_json::to_string(&r.content).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(r.sha256, hex(&Sha256::digest(back.to_string().as_bytes())));
    }

    #[test]
    fn dates_are_civil() {
        let d = now_utc();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.starts_with("20") && d.ends_with('Z'), "{d}");
    }
}
