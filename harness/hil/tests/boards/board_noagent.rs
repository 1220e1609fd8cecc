//! A board with its own firmware (`agent = "none"`), over a real PTY
//! against a real mosquitto: the virtual board's `--no-agent` firmware
//! (`fixtures/boards/virtual-noagent.toml`: resilient-mqtt with a fixed
//! application, console lines only) run with `hil run --backend board` on
//! the qualification scenarios. Its side of the trace comes from the fault
//! proxy (`source = "wire"`), its messages are told apart by the profile's
//! `seq`, the oracles that need the application's own events are
//! `unsupported` with a reason, `dut_reboot` is the console line `reboot`
//! (the PTY vanishes and comes back), its console is in `console.log`, and
//! each run's state transcript is snapshot-checked
//! (`board::state_transcript`, timing-free). Bad agent-none profiles are
//! errors naming the file, line and column. ~60 s of wall time.

use std::path::{Path, PathBuf};

use hil::cli;
use hil::trace::{Actor, Event, Record, Source};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hil(args: &[String]) -> (i32, String, String) {
    std::env::set_var("HIL_VBOARD", env!("CARGO_BIN_EXE_hil-vboard"));
    crate::support::cli::hil(args).parts()
}

fn s(x: impl AsRef<std::ffi::OsStr>) -> String {
    x.as_ref().to_string_lossy().into_owned()
}

fn records(dir: &Path) -> Vec<Record> {
    hil::trace::reader::read(&dir.join("trace.jsonl"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .records
}

fn verdicts(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("verdicts.json")).unwrap()).unwrap()
}

/// The scenarios a board with its own firmware can run (all but
/// `broker-refuse`, whose oracle needs the application's connect result,
/// and `half-open-link`, whose order is a race even with an agent).
const SCENARIOS: &[&str] = &[
    "wifi-outage",
    "wifi-flap",
    "broker-restart",
    "lost-puback",
    "latency-spike",
    "reboot-mid-publish",
];

#[test]
fn a_board_with_its_own_firmware_is_judged_from_the_wire() {
    crate::support::black_boxes_at_scenario_speed();
    let tmp = tempfile::tempdir().unwrap();
    let profile = s(root().join("fixtures/boards/virtual-noagent.toml"));
    let mut args: Vec<String> = vec![
        "run".into(),
        "--backend".into(),
        "board".into(),
        "--board".into(),
        profile.clone(),
        "--out".into(),
        s(tmp.path()),
        "--no-progress".into(),
    ];
    args.extend(
        SCENARIOS
            .iter()
            .map(|n| s(root().join(format!("scenarios/qualification/{n}.toml")))),
    );
    let (code, out, err) = hil(&args);
    assert_eq!(code, 0, "{out}\n{err}");
    for name in SCENARIOS {
        let dir = tmp.path().join(format!("qual-{name}/1"));
        let v = verdicts(&dir);
        assert_eq!(v["backend"], "board/virtual-noagent", "{name}");
        assert!(
            v["replay"]
                .as_str()
                .unwrap()
                .ends_with(&format!("--backend board --board {profile}")),
            "{v}"
        );
        let mut passed = 0;
        for x in v["verdicts"].as_array().unwrap() {
            match x["status"].as_str().unwrap() {
                "pass" => passed += 1,
                "unsupported" => assert!(
                    ["detail", "reason", "note"]
                        .iter()
                        .any(|k| !x[*k].as_str().unwrap_or("").is_empty()),
                    "{name}: an unsupported verdict without a reason: {x}"
                ),
                other => panic!("{name}: {other}: {x}"),
            }
        }
        assert!(passed >= 1, "{name}: nothing judged: {v}");
        let rs = records(&dir);
        // The DUT's and its application's events are observed, not reported.
        assert!(
            rs.iter()
                .filter(|r| matches!(r.actor, Actor::Dut | Actor::App))
                .all(|r| r.source == Source::Wire),
            "{name}: a DUT event that did not come from the wire"
        );
        let wire = |pred: &dyn Fn(&Event) -> bool| {
            rs.iter()
                .filter(|r| r.source == Source::Wire && pred(&r.event))
                .count()
        };
        assert!(
            wire(&|e| matches!(e, Event::Connected { .. })) >= 1,
            "{name}"
        );
        assert!(
            wire(&|e| matches!(e, Event::PublishSent { qos: 1, .. })) >= 5,
            "{name}"
        );
        let console = std::fs::read_to_string(dir.join("console.log")).unwrap();
        assert!(
            console.contains("boot: own firmware, broker 127.0.0.1:"),
            "{name}: {console}"
        );
        assert!(console.contains("mqtt up"), "{name}: {console}");
        assert!(console.contains("published 3\n"), "{name}: {console}");
        assert!(
            !console.contains("\"ms\":"),
            "agent protocol on the console: {console}"
        );
        insta::assert_snapshot!(
            format!("noagent_qual-{name}"),
            hil::board::state_transcript(&rs)
        );
    }

    // The reboot: the console line, the PTY vanished and came back, the
    // new boot's numbers are new messages.
    let dir = tmp.path().join("qual-reboot-mid-publish/1");
    let console = std::fs::read_to_string(dir.join("console.log")).unwrap();
    assert!(console.contains("--- reset ---\n"), "{console}");
    assert!(console.contains("rebooting\n"), "{console}");
    assert!(console.contains("--- port reopened ---\n"), "{console}");
    assert_eq!(
        console.matches("boot: own firmware").count(),
        2,
        "{console}"
    );
    let board: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("board.json")).unwrap()).unwrap();
    assert_eq!(board["boots"], 2, "{board}");
    assert!(board["reopens"].as_u64().unwrap() >= 1, "{board}");
    assert!(
        records(&dir).iter().any(|r| matches!(&r.event,
            Event::AppPublishStart { msg, .. } if msg.ends_with("@boot1"))),
        "no message of the second boot"
    );
}

fn write_profile(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    s(p)
}

#[test]
fn a_board_without_a_reset_cannot_be_rebooted() {
    crate::support::black_boxes_at_scenario_speed();
    let tmp = tempfile::tempdir().unwrap();
    let profile = write_profile(
        tmp.path(),
        "noreset",
        "name = \"noreset\"\nagent = \"none\"\nseq = { topic = \"peers/+/seq\", decimal = true }\n\
         [transport]\nkind = \"virtual\"\n[reset]\nmethod = \"none\"\n\
         [network]\nfirmware_broker = \"127.0.0.1:0\"\n",
    );
    let scenario = write_profile(
        tmp.path(),
        "reboot",
        "name = \"noagent-reboot\"\nduration = \"20s\"\nlive_time_scale = 0.2\n\
         [dut]\nclient_id = \"dut-nr\"\n[workload]\nheartbeat = \"500ms\"\n\
         [[workload.publish]]\ntopic = \"dut/nr/telemetry\"\nqos = 1\ninterval = \"2s\"\n\
         [[timeline]]\nat = \"10s\"\nkind = \"dut_reboot\"\n\
         [[expect]]\noracle = \"qos1_no_loss\"\n[[expect]]\noracle = \"never_stalls\"\nms = 1000\n",
    );
    let (code, out, err) = hil(&[
        "run".into(),
        "--backend".into(),
        "board".into(),
        "--board".into(),
        profile,
        "--out".into(),
        s(tmp.path().join("out")),
        "--no-progress".into(),
        scenario,
    ]);
    let all = format!("{out}\n{err}");
    assert!(all.contains("has no reset method"), "{code}: {all}");
    // A fault the backend cannot apply, not marked optional, stops the run
    // (as on every backend), naming the reason.
    assert_eq!(code, cli::EXIT_INFRA, "{all}");
    assert!(all.contains("cannot apply the fault `dut_reboot`"), "{all}");
}

#[test]
fn bad_own_firmware_profiles_are_errors_at_their_place() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "agent-reset",
            "name = \"x\"\nagent = \"none\"\n[transport]\nkind = \"virtual\"\n[reset]\nmethod = \"agent\"\n[network]\nfirmware_broker = \"127.0.0.1:0\"\n",
            ":6:10",
            "reset method `agent` needs an agent",
        ),
        (
            "no-broker",
            "name = \"x\"\nagent = \"none\"\n[transport]\nkind = \"none\"\n",
            ":2:9",
            "needs the broker address its firmware is built for",
        ),
        (
            "port-zero",
            "name = \"x\"\nagent = \"none\"\n[transport]\nkind = \"none\"\n[network]\nfirmware_broker = \"192.168.1.10:0\"\n",
            ":6:19",
            "port 0 cannot be built into a firmware",
        ),
    ];
    for (name, text, place, message) in cases {
        let profile = write_profile(tmp.path(), name, text);
        let (code, out, err) = hil(&[
            "run".into(),
            "--backend".into(),
            "board".into(),
            "--board".into(),
            profile.clone(),
            "--out".into(),
            s(tmp.path().join("out")),
            s(root().join("scenarios/qualification/lost-puback.toml")),
        ]);
        let all = format!("{out}\n{err}");
        assert_eq!(code, cli::EXIT_INFRA, "{name}: {all}");
        assert!(all.contains(&format!("{profile}{place}")), "{name}: {all}");
        assert!(all.contains(message), "{name}: {all}");
    }
}
