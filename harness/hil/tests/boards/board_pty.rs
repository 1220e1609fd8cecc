//! The board backend over real pseudo-terminals, against a real mosquitto
//! (no hardware): the virtual board (`hil-vboard`, resilient-mqtt + the
//! Rust agent) qualified with `hil qualify` (every `qualification`
//! scenario: WiFi outage, broker restart, half-open link, lost PUBACK,
//! reboot during a QoS 1 publish, ...), their transcripts snapshot-checked
//! (`board::state_transcript`); `hil run --backend board`; and the
//! infrastructure failures a board link can have (no port, a board that
//! never says hello, another protocol major version, a port that vanishes
//! for good), each reported as infrastructure, never as a DUT failure.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hil::cli;
use hil_agent::agent::{Agent, Hello};
use serialport::SerialPort;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hil(args: &[String]) -> (i32, String, String) {
    // SAFETY-free: the tests of this file only ever set it to this value.
    std::env::set_var("HIL_VBOARD", env!("CARGO_BIN_EXE_hil-vboard"));
    crate::support::cli::hil(args).parts()
}

fn s(x: impl AsRef<std::ffi::OsStr>) -> String {
    x.as_ref().to_string_lossy().into_owned()
}

#[test]
fn the_virtual_board_qualifies_and_its_transcripts_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("q");
    let (code, out, err) = hil(&[
        "qualify".into(),
        "--board".into(),
        s(root().join("fixtures/boards/virtual.toml")),
        "--report".into(),
        s(&report),
        s(root().join("scenarios")),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("qualification.json")).unwrap())
            .unwrap();
    let c = &json["content"];
    let scenarios = c["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 8, "{} scenarios", scenarios.len());
    for sc in scenarios {
        assert_eq!(sc["passed"], 1, "{sc}");
        assert_eq!(sc["protocol_problems"], 0, "{sc}");
    }
    assert_eq!(c["passed"], true);
    assert_eq!(c["qos1_lost"], 0);
    assert!(c["qos1_acked"].as_u64().unwrap() > 100, "{c}");
    assert!(c["firmware"].as_str().unwrap().starts_with("hil-vboard"));
    assert_eq!(c["driver"], "resilient-mqtt");
    assert_eq!(c["protocol"], "1.0");
    assert!(c["detection"]["n"].as_u64().unwrap() >= 5, "{c}");
    assert!(c["recovery"]["max_ms"].as_u64().unwrap() <= 35_000, "{c}");
    // The virtual board reports its heap: the trend has data.
    let heap = &c["heap"];
    assert!(heap["samples"].as_u64().unwrap() >= 8, "{heap}");
    assert!(heap["min"].as_u64().unwrap() > 0, "{heap}");
    // The hash is the content's.
    let sha = json["sha256"].as_str().unwrap();
    use sha2::Digest;
    let again = sha2::Sha256::digest(serde_json::to_string(&c).unwrap().as_bytes());
    let hex: String = again.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(sha, hex);
    let html = std::fs::read_to_string(report.join("qualification.html")).unwrap();
    assert!(html.contains("PASS") && html.contains(sha));
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, scenarios.len());
    assert!(!doc.descendants().any(|n| n.has_tag_name("failure")));

    // Each run's trace: its state transcript is snapshot-checked.
    let runs = report.join("runs/r1");
    for sc in scenarios {
        let name = sc["scenario"].as_str().unwrap();
        let dir = runs.join(name).join("1");
        let records = hil::trace::reader::read(&dir.join("trace.jsonl"))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .records;
        insta::assert_snapshot!(
            format!("board_{name}"),
            hil::board::state_transcript(&records)
        );
        let board: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("board.json")).unwrap())
                .unwrap();
        let boots = if name == "qual-reboot-mid-publish" {
            2
        } else {
            1
        };
        assert_eq!(board["boots"], boots, "{name}: {board}");
        if boots == 2 {
            // The PTY closed and came back: the harness reopened it.
            assert!(board["reopens"].as_u64().unwrap() >= 1, "{board}");
        }
    }
}

#[test]
fn hil_run_backend_board_writes_a_judged_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = hil(&[
        "run".into(),
        "--backend".into(),
        "board".into(),
        "--board".into(),
        s(root().join("fixtures/boards/virtual.toml")),
        "--out".into(),
        s(tmp.path()),
        "--no-progress".into(),
        s(root().join("scenarios/qualification/lost-puback.toml")),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("PASS  qual-lost-puback"), "{out}");
    let dir = tmp.path().join("qual-lost-puback/1");
    let trace = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
    assert!(
        trace.contains(r#""backend":"board/virtual""#),
        "{trace:.300}"
    );
    assert!(trace.contains(r#""event":"retransmit""#));
    assert!(dir.join("console.log").exists() && dir.join("board.json").exists());
    // The replay command chooses the same board.
    let verdicts = std::fs::read_to_string(dir.join("verdicts.json")).unwrap();
    let board = s(root().join("fixtures/boards/virtual.toml"));
    assert!(
        verdicts.contains(&format!("--backend board --board {board}\"")),
        "{verdicts}"
    );
}

/// A profile file for a serial port at `port`, with short timeouts.
fn serial_profile(dir: &Path, port: &str) -> PathBuf {
    let p = dir.join("pty.toml");
    std::fs::write(
        &p,
        format!(
            "name = \"pty\"\nagent = \"rust\"\n[transport]\nkind = \"serial\"\nport = \"{port}\"\n\
             [reset]\nmethod = \"agent\"\ntimeout = \"1s\"\nhello_timeout = \"2s\"\n"
        ),
    )
    .unwrap();
    p
}

fn run_on(profile: &Path, out: &Path) -> (i32, String, String) {
    hil(&[
        "run".into(),
        "--backend".into(),
        "board".into(),
        "--board".into(),
        s(profile),
        "--out".into(),
        s(out),
        "--no-progress".into(),
        s(root().join("scenarios/qualification/lost-puback.toml")),
    ])
}

#[test]
fn a_missing_port_is_an_infrastructure_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = serial_profile(tmp.path(), "/dev/hil-no-such-port");
    let (code, out, err) = run_on(&profile, tmp.path());
    assert_eq!(code, cli::EXIT_INFRA, "{out}\n{err}");
    assert!(out.contains("/dev/hil-no-such-port"), "{out}\n{err}");
}

/// A fake board on the master side of a PTY, reached through a symlink
/// (so that a vanished port stays vanished even if the PTY number is
/// reused): what it does is `script`; then the link and the PTY go.
fn fake_board(
    dir: &Path,
    script: impl FnOnce(serialport::TTYPort) + Send + 'static,
) -> (String, std::thread::JoinHandle<()>) {
    // Not inherited by the processes the run starts (mosquitto), which
    // would keep the port alive after it "vanished".
    let (master, slave) = hil::board::virtual_board::cloexec_pair().unwrap();
    let link = dir.join(format!(
        "tty{}",
        COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::os::unix::fs::symlink(slave.name().unwrap(), &link).unwrap();
    let l2 = link.clone();
    let t = std::thread::spawn(move || {
        script(master);
        std::fs::remove_file(&l2).unwrap();
        drop(slave);
    });
    (s(&link), t)
}

static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn hello(master: &mut serialport::TTYPort, proto_major2: bool) {
    let mut out = Vec::new();
    Agent::new(&mut out)
        .hello(
            5,
            &Hello {
                firmware: "fake",
                driver: "none",
                driver_version: "0",
                board: "pty",
                heap: Some(1000),
            },
        )
        .unwrap();
    let mut text = String::from_utf8(out).unwrap();
    if proto_major2 {
        let json = text.trim_end()[5..text.trim_end().len() - 9].replace("\"1.0\"", "\"2.0\"");
        text = hil_agent::frame::encode(&json);
    }
    std::io::Write::write_all(master, text.as_bytes()).unwrap();
}

/// Reads until `needle` was seen (or `limit` passed), then `more`.
fn read_until(
    master: &mut serialport::TTYPort,
    needle: &str,
    limit: Duration,
    more: Duration,
) -> String {
    master.set_timeout(Duration::from_millis(50)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let mut end = Instant::now() + limit;
    let mut seen = false;
    while Instant::now() < end {
        if let Ok(n) = master.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        if !seen && String::from_utf8_lossy(&got).contains(needle) {
            seen = true;
            end = Instant::now() + more;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn a_silent_board_another_major_version_and_a_vanished_port_are_infrastructure() {
    let tmp = tempfile::tempdir().unwrap();

    let long = Duration::from_secs(30);
    // Says nothing: no hello within hello_timeout.
    let (port, t) = fake_board(tmp.path(), move |mut m| {
        let _ = read_until(&mut m, r#"{"cmd":"hello"}"#, long, Duration::from_secs(4));
    });
    let (code, out, err) = run_on(&serial_profile(tmp.path(), &port), tmp.path());
    t.join().unwrap();
    assert_eq!(code, cli::EXIT_INFRA, "{out}\n{err}");
    assert!(out.contains("said no `hello`"), "{out}");

    // Speaks protocol 2.0.
    let (port, t) = fake_board(tmp.path(), move |mut m| {
        let asked = read_until(&mut m, r#"{"cmd":"hello"}"#, long, Duration::ZERO);
        assert!(asked.contains(r#"{"cmd":"hello"}"#), "{asked}");
        hello(&mut m, true);
        let _ = read_until(&mut m, "never", Duration::from_secs(1), Duration::ZERO);
    });
    let (code, out, err) = run_on(&serial_profile(tmp.path(), &port), tmp.path());
    t.join().unwrap();
    assert_eq!(code, cli::EXIT_INFRA, "{out}\n{err}");
    assert!(
        out.contains("`2.0`") && out.contains("major version 1"),
        "{out}"
    );

    // Says hello, takes the configuration, then its port vanishes for good.
    let (port, t) = fake_board(tmp.path(), move |mut m| {
        hello(&mut m, false);
        let got = read_until(&mut m, r#""cmd":"start""#, long, Duration::from_millis(100));
        assert!(got.contains(r#""cmd":"configure""#), "{got}");
        assert!(got.contains(r#""cmd":"start""#), "{got}");
    });
    let (code, out, err) = run_on(&serial_profile(tmp.path(), &port), tmp.path());
    t.join().unwrap();
    assert_eq!(code, cli::EXIT_INFRA, "{out}\n{err}");
    assert!(out.contains("did not come back within 1.0 s"), "{out}");
}

#[test]
fn a_probe_profile_without_probe_support_says_what_it_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run_on(
        &root().join("fixtures/boards/esp32c3-probe.toml"),
        tmp.path(),
    );
    assert_eq!(code, cli::EXIT_INFRA, "{out}\n{err}");
    for want in [
        "probe-rs",
        "CMSIS-DAP",
        "ST-Link",
        "J-Link",
        "303a:1001",
        "probe-rs list",
    ] {
        assert!(out.contains(want), "{want} missing in: {out}");
    }
}

#[test]
fn a_bad_profile_is_reported_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bad.toml");
    std::fs::write(
        &p,
        "name = \"b\"\nagent = \"rust\"\n[transport]\nkind = \"usb\"\n",
    )
    .unwrap();
    let (code, out, err) = hil(&[
        "qualify".into(),
        "--board".into(),
        s(&p),
        s(root().join("scenarios/qualification")),
    ]);
    assert_eq!(code, cli::EXIT_USAGE, "{out}\n{err}");
    assert!(
        err.contains("bad.toml:4:8") && err.contains("unknown transport kind `usb`"),
        "{err}"
    );
}
