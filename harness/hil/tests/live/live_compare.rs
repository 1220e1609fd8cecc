//! `hil compare`: three short qualification scenarios on four devices at
//! once, through the real CLI: our driver as a process (`hil-peer`,
//! `--dut driver-process`), Python paho-mqtt, MQTT.js on Node and
//! `mosquitto_pub` in a loop, each against its own mosquitto and fault
//! proxy. The scorecard must have every cell, real numbers where the
//! devices produce the evidence, `unsupported` where they cannot, and its
//! HTML page must render in headless chromium. Needs paho-mqtt (pip),
//! nodejs + node-mqtt and mosquitto-clients (apt); ci/test.sh installs
//! them. ~50 s of wall time.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::cli::hil;

const DUTS: [&str; 4] = ["driver-process", "paho", "mqttjs", "mosquitto-pub"];

fn scenario(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(rel)
}

fn needs(what: &str, cmd: &str, args: &[&str]) {
    let ok = std::process::Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "{what} is needed (ci/test.sh installs it)");
}

fn cell<'a>(card: &'a Value, scenario: &str, dut: &str) -> &'a Value {
    card["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scenario"] == scenario && c["dut"] == dut)
        .unwrap_or_else(|| panic!("no cell {scenario} / {dut}"))
}

fn oracle<'a>(cell: &'a Value, name: &str) -> &'a str {
    cell["oracles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["oracle"] == name)
        .unwrap_or_else(|| panic!("no {name} in {cell}"))["status"]
        .as_str()
        .unwrap()
}

fn metric(cell: &Value, name: &str) -> Value {
    cell["metrics"][name]["worst"].clone()
}

#[test]
fn four_devices_side_by_side() {
    crate::support::black_boxes_at_scenario_speed();
    needs(
        "python3 with paho-mqtt",
        "python3",
        &["-c", "import paho.mqtt.client"],
    );
    needs("node (nodejs)", "node", &["--version"]);
    assert!(
        Path::new("/usr/share/nodejs/mqtt").exists(),
        "Debian's node-mqtt is needed (ci/test.sh installs it)"
    );
    needs(
        "mosquitto_pub (mosquitto-clients)",
        "sh",
        &["-c", "command -v mosquitto_pub"],
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("compare");
    let files = [
        scenario("qualification/lost-puback.toml"),
        scenario("qualification/wifi-outage.toml"),
        scenario("qualification/broker-restart.toml"),
    ];
    let mut args: Vec<String> = vec!["compare".into()];
    for d in DUTS {
        args.extend(["--dut".into(), d.into()]);
    }
    args.extend(["--out".into(), out.display().to_string()]);
    args.extend(files.iter().map(|f| f.display().to_string()));
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = hil(&args).parts();
    println!("{stdout}\n{stderr}\n(took {:?})", started.elapsed());
    // Third-party devices may fail an oracle (exit 1); nothing may be an
    // infrastructure failure or bad input.
    assert!(code == 0 || code == 1, "exit {code}\n{stdout}\n{stderr}");
    assert!(!stdout.contains("INFRA"), "{stdout}");

    let card: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("scorecard.json")).unwrap())
            .unwrap();
    assert_eq!(card["schema"], 1);
    assert_eq!(card["finished"], true);
    assert_eq!(card["cells"].as_array().unwrap().len(), 12);
    for c in card["cells"].as_array().unwrap() {
        assert!(
            c["status"] == "pass" || c["status"] == "fail",
            "every cell judged: {c}"
        );
        assert_eq!(c["runs"].as_array().unwrap().len(), 1, "{c}");
        assert!(metric(c, "reconnect_attempts").is_u64(), "{c}");
        // Every device here numbers its messages: QoS metrics are numbers.
        for m in ["qos1_sent", "qos1_lost", "qos1_duplicated"] {
            assert!(metric(c, m).is_u64(), "{m}: {c}");
        }
        assert!(metric(c, "qos1_sent").as_u64().unwrap() >= 3, "{c}");
        assert!(metric(c, "max_latency_ms").is_u64(), "{c}");
        // Each run directory is under its DUT's folder.
        let dir = c["runs"][0]["dir"].as_str().unwrap();
        assert!(
            Path::new(dir).starts_with(out.join(c["dut"].as_str().unwrap())),
            "{dir}"
        );
        assert!(Path::new(dir).join("trace.jsonl").exists());
    }
    // publish_completes_within needs the application's own publish()
    // timing: no black-box device can show it.
    for d in DUTS {
        assert_eq!(
            oracle(
                cell(&card, "qual-lost-puback", d),
                "publish_completes_within"
            ),
            "unsupported",
            "{d}"
        );
    }
    // Devices with a lasting connection: the crash is detected (the
    // broker's close reaches them: FIN), and they come back after the
    // restart, with numbers.
    for d in ["driver-process", "paho", "mqttjs"] {
        let c = cell(&card, "qual-broker-restart", d);
        assert!(metric(c, "detection_ms").is_u64(), "{d}: {c}");
        assert!(metric(c, "recovery_ms").is_u64(), "{d}: {c}");
        assert!(
            metric(c, "reconnect_attempts").as_u64().unwrap() >= 1,
            "{d}: {c}"
        );
    }
    // Our driver keeps every QoS 1 message across the outage.
    for s in [
        "qual-wifi-outage",
        "qual-broker-restart",
        "qual-lost-puback",
    ] {
        let c = cell(&card, s, "driver-process");
        assert_eq!(metric(c, "qos1_lost"), 0, "{s}: {c}");
        assert_eq!(oracle(c, "qos1_no_loss"), "pass", "{s}: {c}");
    }
    // mosquitto_pub connects once per message and ends each connection
    // with its own DISCONNECT: many sessions, none of them a reconnect.
    let c = cell(&card, "qual-wifi-outage", "mosquitto-pub");
    assert!(metric(c, "qos1_sent").as_u64().unwrap() >= 5, "{c}");
    assert_eq!(metric(c, "reconnect_attempts"), 0, "{c}");

    // The terminal table is the text file, with a row per cell.
    let txt = std::fs::read_to_string(out.join("scorecard.txt")).unwrap();
    assert!(stdout.contains(&txt), "{stdout}");
    for d in DUTS {
        assert_eq!(
            txt.lines()
                .filter(|l| l.split_whitespace().any(|w| w == d))
                .count(),
            3,
            "{d}: {txt}"
        );
    }
    assert!(txt.contains("unsupported (the DUT cannot show the evidence):"));

    // The page renders.
    let html = out.join("scorecard.html");
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<th rowspan=").count(), 3);
    match crate::support::chromium() {
        Some(browser) => {
            let png = crate::support::screenshot(browser, &html, &tmp.path().join("card.png"));
            assert!(png.len() > 20_000, "screenshot of {} bytes", png.len());
        }
        None => panic!("chromium is needed for the scorecard screenshot (ci/test.sh installs it)"),
    }
}
