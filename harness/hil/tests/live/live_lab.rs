//! Lab control (`crate::lab`): a DUT profile's `[lab]` hooks run through
//! `hil run --backend live --dut PROFILE` against a real mosquitto, the
//! device a real process (`mosquitto_pub` in a loop, as
//! `fixtures/duts/mosquitto-pub.toml`). The hooks are a script that records
//! its calls with a timestamp; the test checks their order and spacing,
//! the trace's `lab_hook` events, `lab.log` (without the secret the
//! command used), and that a failing or hanging hook is an infrastructure
//! failure (exit 3) naming the hook and `lab.log`, never a DUT failure.
//! Needs mosquitto-clients (ci/test.sh installs it). ~40 s of wall time.

use std::path::{Path, PathBuf};

use hil::trace::{Actor, Event, Record};

use crate::support::cli::hil;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scenario: WiFi down at 3 s for 2 s, the power off at 8 s for 3 s.
const SCENARIO: &str = r#"name = "lab-hooks"
seed = 1
duration = "15s"

[dut]
client_id = "dut-lab"

[workload]
heartbeat = "500ms"

[[workload.publish]]
topic = "dut/lab/telemetry"
qos = 1
interval = "1s"

[[timeline]]
at = "3s"
kind = "wifi_down"
for = "2s"

[[timeline]]
at = "8s"
kind = "dut_power_cycle"
off_for = "3s"

[[expect]]
oracle = "recovers_within"
seconds = 6
"#;

/// Writes the recording script, the scenario and a DUT profile with
/// `lab` as its `[lab]` table into `dir`; the profile's path and the
/// scenario's.
fn bench(dir: &Path, lab: &str) -> (PathBuf, PathBuf) {
    std::fs::write(
        dir.join("rec.sh"),
        "#!/bin/sh\n# Records a hook call: its name and the time in ms.\necho \"$1 $(date +%s%3N)\" >> calls.log\necho \"called $1 with $2\"\n",
    )
    .unwrap();
    let profile = dir.join("bench.toml");
    let loop_sh = root().join("fixtures/duts/mosquitto-pub/loop.sh");
    std::fs::write(
        &profile,
        format!(
            "name = \"bench\"\ncommand = \"sh {}\"\nseq = {{ topic = \"peers/+/seq\", decimal = true }}\n[lab]\n{lab}",
            loop_sh.display()
        ),
    )
    .unwrap();
    let scenario = dir.join("lab-hooks.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    (profile, scenario)
}

fn run(profile: &Path, scenario: &Path, out: &Path) -> (i32, String, String) {
    hil(&[
        "run".to_string(),
        "--backend".into(),
        "live".into(),
        "--dut".into(),
        profile.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--no-progress".into(),
        scenario.display().to_string(),
    ])
    .parts()
}

/// (hook, ms) per line of `calls.log`.
fn calls(dir: &Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(dir.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (h, t) = l.split_once(' ').unwrap();
            (h.to_string(), t.parse().unwrap())
        })
        .collect()
}

fn records(dir: &Path) -> Vec<Record> {
    hil::trace::reader::read(&dir.join("trace.jsonl"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .records
}

#[test]
fn power_and_wifi_hooks_run_in_order_and_are_traced() {
    crate::support::black_boxes_at_scenario_speed();
    let tmp = tempfile::tempdir().unwrap();
    std::env::set_var("HIL_LAB_PDU_TOKEN", "pdu-s3cret-42");
    let (profile, scenario) = bench(
        tmp.path(),
        "power_off = \"sh rec.sh power_off {client_id}\"\n\
         power_on = { command = \"sh rec.sh power_on ${HIL_LAB_PDU_TOKEN}\", timeout = \"5s\" }\n\
         wifi_down = \"sh rec.sh wifi_down\"\nwifi_up = \"sh rec.sh wifi_up\"\n",
    );
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run(&profile, &scenario, &out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // Order and spacing, as the timeline says (real time, some slack).
    let c = calls(tmp.path());
    let names: Vec<&str> = c.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(names, ["wifi_down", "wifi_up", "power_off", "power_on"]);
    let gap = |a: usize, b: usize| c[b].1 - c[a].1;
    assert!(
        (1800..3000).contains(&gap(0, 1)),
        "wifi down for {} ms",
        gap(0, 1)
    );
    assert!(
        (4500..6000).contains(&gap(0, 2)),
        "power off {} ms after wifi down",
        gap(0, 2)
    );
    assert!(
        (2800..4000).contains(&gap(2, 3)),
        "power off for {} ms",
        gap(2, 3)
    );

    let dir = out.join("lab-hooks/1");
    // The trace: each hook as the fault executor's `lab_hook`, right after
    // the fault that ran it.
    let rs = records(&dir);
    let faults: Vec<String> = rs
        .iter()
        .filter(|r| r.actor == Actor::Faults)
        .map(|r| match &r.event {
            Event::Fault { kind, .. } => format!("fault {kind}"),
            Event::FaultEnd { kind } => format!("end {kind}"),
            Event::LabHook { hook, status, .. } => format!("{hook} {status}"),
            e => e.name().to_string(),
        })
        .collect();
    assert_eq!(
        faults,
        [
            "fault wifi_down",
            "wifi_down exit 0",
            "end wifi_down",
            "wifi_up exit 0",
            "fault dut_power_cycle",
            "power_off exit 0",
            "end dut_power_cycle",
            "power_on exit 0",
        ]
    );
    let transcript = std::fs::read_to_string(dir.join("transcript.txt")).unwrap();
    assert!(
        transcript.contains(
            "lab_hook command=\"sh rec.sh power_off {client_id}\" hook=power_off status=\"exit 0\""
        ),
        "{transcript}"
    );
    // The device was powered off and booted again.
    let console = std::fs::read_to_string(dir.join("console.log")).unwrap();
    assert!(console.contains("--- boot 1: sh "), "{console}");
    let verdicts = std::fs::read_to_string(dir.join("verdicts.json")).unwrap();
    assert!(verdicts.contains("\"pass\""), "{verdicts}");

    // lab.log: every run, the command as written, the output with the
    // token's value hidden. The hook got the value.
    let log = std::fs::read_to_string(dir.join("lab.log")).unwrap();
    assert!(
        log.contains("=== power_on `sh rec.sh power_on ${HIL_LAB_PDU_TOKEN}`: exit 0 in "),
        "{log}"
    );
    assert!(log.contains("called power_off with dut-lab"), "{log}");
    assert!(
        log.contains("called power_on with ${HIL_LAB_PDU_TOKEN}"),
        "{log}"
    );
    assert_eq!(log.matches("=== ").count(), 4, "{log}");
    for f in ["lab.log", "trace.jsonl", "transcript.txt", "verdicts.json"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(!text.contains("pdu-s3cret-42"), "the token is in {f}");
    }
}

#[test]
fn a_failing_or_hanging_hook_is_an_infrastructure_failure() {
    crate::support::black_boxes_at_scenario_speed();
    let tmp = tempfile::tempdir().unwrap();
    for (lab, says) in [
        (
            "power_off = \"echo the PDU says no >&2; exit 1\"\npower_on = \"sh rec.sh power_on\"\n",
            "failed: exit 1",
        ),
        (
            "power_off = { command = \"sleep 30\", timeout = \"500ms\" }\npower_on = \"sh rec.sh power_on\"\n",
            "failed: timed out after 500ms",
        ),
    ] {
        let (profile, scenario) = bench(tmp.path(), lab);
        let out = tmp.path().join("out");
        let _ = std::fs::remove_dir_all(&out);
        let t = std::time::Instant::now();
        let (code, stdout, stderr) = run(&profile, &scenario, &out);
        assert_eq!(code, hil::cli::EXIT_INFRA, "{stdout}\n{stderr}");
        assert!(
            stdout.contains("infrastructure:")
                && stdout.contains("lab hook `power_off`")
                && stdout.contains(says)
                && stdout.contains("lab.log"),
            "{stdout}"
        );
        assert!(!stdout.contains("FAIL"), "{stdout}");
        // It stopped at the hook, not at the end of the scenario, and
        // power_on never ran.
        assert!(t.elapsed().as_secs() < 14, "{:?}", t.elapsed());
        assert!(calls(tmp.path()).is_empty());
        let dir = out.join("lab-hooks/1");
        let log = std::fs::read_to_string(dir.join("lab.log")).unwrap();
        assert!(log.contains("=== power_off "), "{log}");
        if says.contains("exit 1") {
            assert!(log.contains("the PDU says no"), "{log}");
        }
        let trace = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
        assert!(trace.contains("\"event\":\"lab_hook\""), "{trace}");
    }
}
