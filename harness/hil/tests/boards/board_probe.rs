//! The probe transport's no-probe path, end to end (cargo feature `probe`,
//! with probe-rs built in; no probe is attached here or on CI): the `hil`
//! binary on the ESP32-C3 probe profile exits as an infrastructure failure
//! naming the probes it looked for and how to list them, a bad selector in
//! a profile is a clear error, and `hil boards` lists probes (none).
//!
//! `cargo test -p hil --features probe --test boards board_probe`

#![cfg(feature = "probe")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hil(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hil"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("hil runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn run_on(profile: &Path, out: &Path) -> (i32, String) {
    hil(&[
        "run",
        "--backend",
        "board",
        "--board",
        profile.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
        "scenarios/qualification/lost-puback.toml",
    ])
}

#[test]
fn no_probe_attached_is_an_infrastructure_failure_naming_the_probes() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out) = run_on(
        &root().join("fixtures/boards/esp32c3-probe.toml"),
        tmp.path(),
    );
    assert_eq!(code, hil::cli::EXIT_INFRA, "{out}");
    for want in [
        "no debug probe found",
        "looked for any probe",
        "CMSIS-DAP",
        "ST-Link",
        "J-Link",
        "ESP USB-JTAG (303a:1001)",
        "FTDI",
        "`probe-rs list`",
        "`hil boards`",
    ] {
        assert!(out.contains(want), "{want} missing in: {out}");
    }
    assert!(
        !out.contains("not built into this `hil`"),
        "this build has probe support: {out}"
    );
}

#[test]
fn a_profile_selector_is_looked_for_and_a_bad_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(root().join("fixtures/boards/esp32c3-probe.toml")).unwrap();
    let write = |name: &str, sel: &str| {
        let p = tmp.path().join(name);
        let text = base.replace("# probe = \"303a:1001\"", &format!("probe = \"{sel}\""));
        assert!(text.contains(&format!("probe = \"{sel}\"")));
        // The firmware path is relative to the profile's folder.
        std::fs::write(&p, text.replace("../../target", "/nonexistent/target")).unwrap();
        p
    };
    let (code, out) = run_on(&write("one.toml", "303a:1001:DC:DA"), tmp.path());
    assert_eq!(code, hil::cli::EXIT_INFRA, "{out}");
    assert!(
        out.contains("the probe 303a:1001:DC:DA (ESP USB-JTAG)"),
        "{out}"
    );
    let (code, out) = run_on(&write("bad.toml", "esp32"), tmp.path());
    assert_eq!(code, hil::cli::EXIT_INFRA, "{out}");
    assert!(out.contains("bad probe selector `esp32`"), "{out}");
}

#[test]
fn hil_boards_lists_probes() {
    let (code, out) = hil(&["boards"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("probes: 0 (probe-rs"), "{out}");
    assert!(
        out.contains("esp32c3-probe (esp32c3, Rust agent): probe"),
        "{out}"
    );
}
