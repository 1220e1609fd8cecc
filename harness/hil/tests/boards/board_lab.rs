//! Lab control on the board backend: a virtual board profile with a
//! `[lab]` table (hooks: a script recording its calls with a timestamp)
//! runs `dut_power_cycle` and, with `[reset] method = "power"`,
//! `dut_reboot` through its power hooks; the harness's own power model of
//! the virtual board kills its process and starts a new one on the same
//! PTY. A profile without power hooks is a clear `unsupported`, never a
//! pass. Against a real mosquitto, over a real PTY. ~40 s of wall time.

use std::path::{Path, PathBuf};

use hil::trace::{Actor, Event, Record};

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

/// A scenario with `fault` (TOML lines of one timeline entry) at 4 s.
pub fn scenario(dir: &Path, name: &str, fault: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!(
            "name = \"{name}\"\nseed = 1\nduration = \"14s\"\n\n[dut]\nclient_id = \"dut-bl\"\n\n\
             [workload]\nheartbeat = \"500ms\"\n\n[[workload.publish]]\ntopic = \"dut/bl/telemetry\"\nqos = 1\ninterval = \"1s\"\n\n\
             [[timeline]]\nat = \"4s\"\n{fault}\n\n\
             [[expect]]\noracle = \"boot_session_present\"\npresent = false\n\n\
             [[expect]]\noracle = \"recovers_within\"\nseconds = 10\n\n\
             [[expect]]\noracle = \"qos1_no_loss\"\n"
        ),
    )
    .unwrap();
    p
}

/// The virtual board's profile with a `[lab]` table of recording hooks
/// (and `reset` as its reset method).
fn profile(dir: &Path, reset: &str) -> PathBuf {
    std::fs::write(
        dir.join("rec.sh"),
        "#!/bin/sh\necho \"$1 $(date +%s%3N)\" >> calls.log\n",
    )
    .unwrap();
    let p = dir.join("virtual-lab.toml");
    std::fs::write(
        &p,
        format!(
            "name = \"virtual-lab\"\nagent = \"rust\"\n[transport]\nkind = \"virtual\"\n\
             [reset]\nmethod = \"{reset}\"\ntimeout = \"10s\"\nhello_timeout = \"10s\"\n\
             [lab]\npower_off = \"sh rec.sh power_off\"\npower_on = \"sh rec.sh power_on\"\n"
        ),
    )
    .unwrap();
    p
}

fn run(profile: &Path, scenario: &Path, out: &Path) -> (i32, String, String) {
    hil(&[
        "run".into(),
        "--backend".into(),
        "board".into(),
        "--board".into(),
        s(profile),
        "--out".into(),
        s(out),
        "--no-progress".into(),
        s(scenario),
    ])
}

fn calls(dir: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(dir.join("calls.log")).unwrap_or_default();
    std::fs::remove_file(dir.join("calls.log")).ok();
    text.lines()
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
fn a_power_cycle_and_a_power_reset_run_the_boards_hooks() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");

    // dut_power_cycle: power_off, 3 s, power_on; the board boots again.
    let p = profile(tmp.path(), "agent");
    let sc = scenario(
        tmp.path(),
        "board-power-cycle",
        "kind = \"dut_power_cycle\"\noff_for = \"3s\"",
    );
    let (code, stdout, stderr) = run(&p, &sc, &out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS  board-power-cycle"), "{stdout}");
    let c = calls(tmp.path());
    assert_eq!(
        c.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>(),
        ["power_off", "power_on"]
    );
    let off = c[1].1 - c[0].1;
    assert!((2800..4000).contains(&off), "off for {off} ms");
    let dir = out.join("board-power-cycle/1");
    let rs = records(&dir);
    let hooks: Vec<(u64, String)> = rs
        .iter()
        .filter(|r| r.actor == Actor::Faults)
        .filter_map(|r| match &r.event {
            Event::LabHook { hook, status, .. } => Some((r.t_ms, format!("{hook} {status}"))),
            _ => None,
        })
        .collect();
    assert_eq!(
        hooks.iter().map(|h| h.1.as_str()).collect::<Vec<_>>(),
        ["power_off exit 0", "power_on exit 0"]
    );
    assert!((3900..4600).contains(&hooks[0].0), "{hooks:?}");
    // Nothing from the board while its power was off: no event of the
    // driver between the two hooks.
    let during = rs
        .iter()
        .filter(|r| r.actor == Actor::Dut && r.t_ms > hooks[0].0 + 200 && r.t_ms < hooks[1].0)
        .count();
    assert_eq!(during, 0, "the board spoke while its power was off");
    let board: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("board.json")).unwrap()).unwrap();
    assert_eq!(board["boots"], 2, "{board}");
    assert!(std::fs::read_to_string(dir.join("lab.log"))
        .unwrap()
        .contains("=== power_on `sh rec.sh power_on`: exit 0"));

    // [reset] method = "power": dut_reboot is power_off, 1 s, power_on.
    let p = profile(tmp.path(), "power");
    let sc = scenario(tmp.path(), "board-power-reset", "kind = \"dut_reboot\"");
    let (code, stdout, stderr) = run(&p, &sc, &out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let c = calls(tmp.path());
    assert_eq!(
        c.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>(),
        ["power_off", "power_on"]
    );
    let off = c[1].1 - c[0].1;
    assert!((900..1800).contains(&off), "off for {off} ms");
}

#[test]
fn a_power_cycle_without_power_hooks_is_unsupported() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(
        tmp.path(),
        "board-no-hooks",
        "kind = \"dut_power_cycle\"\noff_for = \"3s\"",
    );
    let (code, stdout, stderr) = run(
        &root().join("fixtures/boards/virtual.toml"),
        &sc,
        tmp.path(),
    );
    assert_eq!(code, hil::cli::EXIT_INFRA, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("the board profile `virtual` has no [lab] power_off/power_on")
            && stdout.contains("cannot apply the fault `dut_power_cycle`"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("PASS") && !stdout.contains("FAIL "),
        "{stdout}"
    );
}
