//! Field cases end to end: each fixture in `fixtures/field/` (a real run
//! of our driver through the fault proxy against a real mosquitto, see
//! `fixtures/field/README.md`) is imported, its inferred timeline checked
//! (kinds, times within a tolerance), then the failure is reproduced in the
//! simulator over a seed range and the scenario is shrunk; the shrunk
//! scenario must still fail the same oracle with fewer events.
//!
//! Our driver survives these faults, so each case names how the imported
//! scenario is weakened to make it fail (a driver setting, or the field's
//! stricter requirement where no setting breaks the driver).

use std::path::{Path, PathBuf};

use hil::backend::Backend;
use hil::field::failure::FailureSpec;
use hil::field::{import, reproduce, shrink, ImportOptions};
use hil::seeds::SeedRange;
use hil::sim::SimBackend;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/field")
}

fn read(name: &str) -> (String, Vec<u8>) {
    let p = fixture_dir().join(name);
    (
        name.to_string(),
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
}

/// (kind, at in s, `for` in s when it has one).
type Expected = &'static [(&'static str, f64, Option<f64>)];

/// The imported timeline as (kind, at s, for s).
fn timeline(text: &str) -> Vec<(String, f64, Option<f64>)> {
    let (s, _) = hil::scenario::parse(text).unwrap();
    let v: toml::Value = toml::from_str(text).unwrap();
    let raw = v
        .get("timeline")
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default();
    s.timeline
        .iter()
        .zip(raw)
        .map(|(e, r)| {
            let f = r
                .get("for")
                .and_then(|f| f.as_str())
                .map(|f| hil::duration::Dur::parse(f).unwrap().as_millis() as f64 / 1000.0);
            (
                e.fault.kind().to_string(),
                e.at.as_millis() as f64 / 1000.0,
                f,
            )
        })
        .collect()
}

fn assert_timeline(file: &str, text: &str, want: Expected, tol_at: f64, tol_for: (f64, f64)) {
    let got = timeline(text);
    assert_eq!(
        got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(),
        want.iter().map(|w| w.0).collect::<Vec<_>>(),
        "{file}: inferred kinds\n{text}"
    );
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g.1 - w.1).abs() <= tol_at,
            "{file}: {} at {} s, expected {} s +- {tol_at}\n{text}",
            g.0,
            g.1,
            w.1
        );
        if let Some(wf) = w.2 {
            let gf =
                g.2.unwrap_or_else(|| panic!("{file}: {} has no `for`", g.0));
            assert!(
                gf >= wf - tol_for.0 && gf <= wf + tol_for.1,
                "{file}: {} for {gf} s, expected {wf} s (-{} +{})\n{text}",
                g.0,
                tol_for.0,
                tol_for.1
            );
        }
    }
    // Every inferred entry names its rule and evidence (file and line/packet).
    let entries = text.matches("[[timeline]]").count();
    assert_eq!(
        text.matches("# rule ").count() - text.matches("# rule latency").count(),
        entries,
        "{text}"
    );
    assert!(text.contains(&format!("# evidence: {file} ")), "{text}");
}

struct Case {
    file: &'static str,
    want: Expected,
    /// The failure, when the evidence does not show it.
    failure: Option<&'static str>,
    /// (from, to) replacements that weaken the imported scenario.
    weaken: &'static [(&'static str, &'static str)],
    /// The shrunk timeline must be strictly shorter.
    fewer_faults: bool,
}

fn workers(n: usize) -> Vec<Box<dyn Backend + Send>> {
    (0..n)
        .map(|_| Box::new(SimBackend::new()) as Box<dyn Backend + Send>)
        .collect()
}

fn run_case(c: &Case) {
    let opts = ImportOptions {
        failure: c.failure.map(|f| FailureSpec::parse(f).unwrap()),
        ..Default::default()
    };
    let imported = import(&[read(c.file)], &opts).unwrap_or_else(|e| panic!("{}: {e}", c.file));
    assert_timeline(c.file, &imported.text, c.want, 2.0, (1.0, 10.0));
    let failure = imported.failure.clone().expect("a failure to reproduce");

    let mut text = imported.text.clone();
    for (from, to) in c.weaken {
        assert!(text.contains(from), "{}: `{from}` not in\n{text}", c.file);
        text = text.replacen(from, to, 1);
    }
    let (scenario, _) = hil::scenario::parse(&text).unwrap();
    let search = reproduce::search(
        &scenario,
        Some(&failure),
        SeedRange { start: 1, end: 21 },
        workers(2),
    )
    .unwrap();
    let found = search
        .found
        .unwrap_or_else(|| panic!("{}: not reproduced in seeds 1..21\n{text}", c.file));
    assert!(
        found.message.starts_with(&format!("{}:", failure.oracle)),
        "{}",
        found.message
    );
    // The lowest matching seed, whatever the thread timing.
    let again = reproduce::search_serial(
        &scenario,
        Some(&failure),
        SeedRange {
            start: 1,
            end: found.seed + 1,
        },
        &SimBackend::new(),
    )
    .unwrap();
    assert_eq!(again.found.map(|f| f.seed), Some(found.seed));

    let sim = SimBackend::new();
    let s = shrink::shrink(&text, c.file, found.seed, None, &sim, 150)
        .unwrap_or_else(|e| panic!("{}: {e}", c.file));
    assert_eq!(s.failure, failure);
    assert!(
        s.message.starts_with(&format!("{}:", failure.oracle)),
        "{}",
        s.message
    );
    assert!(
        s.records_after < s.records_before,
        "{}: {} -> {} trace records",
        c.file,
        s.records_before,
        s.records_after
    );
    assert!(s.scenario.timeline.len() <= scenario.timeline.len());
    if c.fewer_faults {
        assert!(
            s.scenario.timeline.len() < scenario.timeline.len(),
            "{}:\n{}",
            c.file,
            s.text
        );
    }
    assert!(
        s.scenario.duration < scenario.duration,
        "{}:\n{}",
        c.file,
        s.text
    );
    assert!(
        s.text.contains(&format!("--seed {}", found.seed))
            && s.text.contains(&failure.header_line()),
        "{}",
        s.text
    );
    // The shrunk file replays the failure on its own.
    let (min, _) = hil::scenario::parse(&s.text).unwrap();
    let (verdicts, _) = reproduce::judge(&sim, &min, found.seed).unwrap();
    assert!(
        reproduce::matches(Some(&failure), &verdicts).is_some(),
        "{}",
        s.text
    );
}

#[test]
fn broker_restart_from_the_mosquitto_log() {
    run_case(&Case {
        file: "broker-restart.mosquitto.log",
        want: &[("broker_crash", 30.0, None), ("broker_restart", 60.0, None)],
        failure: Some("recovers_within"),
        // A driver that backs off for 20-60 s recovers too late.
        weaken: &[(
            "[dut]\n",
            "[dut]\nbackoff = { min = \"20s\", max = \"60s\", jitter = 0.25, refused = \"30s\" }\n",
        )],
        fewer_faults: false,
    });
}

#[test]
fn half_open_link_from_a_device_side_pcapng() {
    run_case(&Case {
        file: "half-open-link.device.pcapng",
        want: &[("link_blackhole", 30.0, Some(100.0))],
        failure: Some("detects_outage_within"),
        // A 5-minute keepalive pings too rarely to notice within 26 s.
        weaken: &[("keepalive = \"60s\"", "keepalive = \"300s\"")],
        fewer_faults: false,
    });
}

#[test]
fn lost_puback_from_a_broker_side_pcap() {
    run_case(&Case {
        file: "lost-puback.broker.pcap",
        want: &[("broker_drop", 20.0, None)],
        // Shown by the evidence: the broker got one message twice.
        failure: None,
        weaken: &[("[dut]\n", "[dut]\nmax_repubs = 0\n")],
        fewer_faults: false,
    });
}

#[test]
fn ap_power_cycle_from_a_device_side_pcap() {
    run_case(&Case {
        file: "ap-power-cycle.device.pcap",
        // Up = the DUT's first reconnect attempt: up to 5 s after the link
        // (our driver checks the WiFi for 5 s first).
        want: &[("wifi_down", 30.0, Some(90.0))],
        failure: Some("recovers_within"),
        // No driver setting breaks recovery from a WiFi outage in the
        // simulator (tried: max_repubs = 0, slow backoff, keepalive 5 s /
        // 300 s, response_time 40 s, persistent sessions): the field's
        // stricter requirement, back within 3 s, fails it instead.
        weaken: &[("seconds = 20", "seconds = 3")],
        fewer_faults: false,
    });
}

#[test]
fn flapping_link_from_the_mosquitto_log() {
    run_case(&Case {
        file: "flapping-link.mosquitto.log",
        want: &[
            ("wifi_down", 30.0, Some(6.0)),
            ("wifi_down", 45.0, Some(6.0)),
            ("wifi_down", 60.0, Some(6.0)),
            ("wifi_down", 75.0, Some(6.0)),
        ],
        failure: Some("recovers_within"),
        weaken: &[("seconds = 20", "seconds = 3")],
        fewer_faults: true,
    });
}

/// Every view of every case: the kinds each rule reads from it.
#[test]
fn every_fixture_imports_with_its_timeline() {
    let cases: &[(&str, Expected)] = &[
        (
            "broker-restart.broker.pcap",
            &[("broker_crash", 30.0, None), ("broker_restart", 60.0, None)],
        ),
        (
            "broker-restart.device.pcap",
            &[("broker_crash", 30.0, None), ("broker_restart", 60.0, None)],
        ),
        // Our own trace recorded its faults: copied as they were.
        (
            "broker-restart.trace.jsonl",
            &[("broker_crash", 30.0, None), ("broker_restart", 60.0, None)],
        ),
        (
            "ap-power-cycle.mosquitto.log",
            &[("wifi_down", 30.0, Some(90.0))],
        ),
        (
            "ap-power-cycle.broker.pcap",
            &[("wifi_down", 30.0, Some(90.0))],
        ),
        (
            "ap-power-cycle.trace.jsonl",
            &[("wifi_down", 30.0, Some(90.0))],
        ),
        (
            "half-open-link.device.pcap",
            &[("link_blackhole", 30.0, Some(100.0))],
        ),
        ("lost-puback.mosquitto.log", &[("broker_drop", 20.0, None)]),
        ("lost-puback.device.pcap", &[("broker_drop", 20.0, None)]),
        ("lost-puback.device.pcapng", &[("broker_drop", 20.0, None)]),
        (
            "flapping-link.device.pcap",
            &[
                ("wifi_down", 30.0, Some(6.0)),
                ("wifi_down", 45.0, Some(6.0)),
                ("wifi_down", 60.0, Some(6.0)),
                ("wifi_down", 75.0, Some(6.0)),
            ],
        ),
    ];
    for (file, want) in cases {
        let imported = import(&[read(file)], &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_timeline(file, &imported.text, want, 2.0, (1.0, 10.0));
        assert!(
            imported.evidence.inputs.iter().all(|i| i.unknown == 0),
            "{file}: {:?}",
            imported.evidence.inputs
        );
    }
    // The broker cannot tell a blackhole from a dead link: its view of the
    // half-open link (through the proxy) is a connection cut, then a gap.
    let broker_view = import(
        &[read("half-open-link.mosquitto.log")],
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(
        timeline(&broker_view.text)
            .iter()
            .map(|t| t.0.as_str())
            .collect::<Vec<_>>(),
        ["wifi_down"]
    );
    assert!(
        broker_view.text.contains("# rule link_down: "),
        "{}",
        broker_view.text
    );
}

#[test]
fn a_log_and_a_capture_of_one_incident_line_up() {
    let imported = import(
        &[
            read("lost-puback.mosquitto.log"),
            read("lost-puback.broker.pcap"),
        ],
        &ImportOptions::default(),
    )
    .unwrap();
    let t = timeline(&imported.text);
    assert_eq!(t.len(), 1, "{}", imported.text);
    assert_eq!(t[0].0, "broker_drop");
    // The publish stream is counted once, not once per file.
    assert_eq!(imported.scenario.workload.publish.len(), 1);
}

#[test]
fn shrinking_is_deterministic() {
    let imported = import(
        &[read("lost-puback.device.pcap")],
        &ImportOptions::default(),
    )
    .unwrap();
    let sim = SimBackend::new();
    let a = shrink::shrink(&imported.text, "a.toml", 1, None, &sim, 60).unwrap();
    let b = shrink::shrink(&imported.text, "a.toml", 1, None, &sim, 60).unwrap();
    assert_eq!(a.text, b.text);
    assert_eq!(a.runs, b.runs);
}
