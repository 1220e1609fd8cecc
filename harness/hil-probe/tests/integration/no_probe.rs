//! With probe-rs built in (feature `probe-rs`) and no probe attached, as on
//! CI: listing finds none without an error, opening says which probes were
//! looked for and how to list them, and flashing a missing file fails on
//! the file before any probe is looked for.

#![cfg(feature = "probe-rs")]

use hil_probe::link::flash_file;
use hil_probe::{list_probes, Attach, ProbeError, ProbeLink, ProbeSelector};

#[test]
fn no_probe_is_listed_here() {
    assert_eq!(list_probes(), vec![]);
}

#[test]
fn opening_without_a_probe_names_what_was_looked_for() {
    let e = ProbeLink::open(None, "esp32c3", Attach::Normal)
        .err()
        .expect("no probe here");
    assert!(matches!(e, ProbeError::NoProbe { .. }), "{e:?}");
    let m = e.to_string();
    for want in [
        "no debug probe found",
        "any probe",
        "CMSIS-DAP",
        "ST-Link",
        "J-Link",
        "ESP USB-JTAG (303a:1001)",
        "FTDI",
        "no probe is connected",
        "`probe-rs list`",
        "`hil boards`",
    ] {
        assert!(m.contains(want), "{want} missing: {m}");
    }
    let sel: ProbeSelector = "303a:1001:DC:DA:0C:D3:FE:D8".parse().unwrap();
    let m = ProbeLink::open(Some(sel), "esp32c3", Attach::UnderReset)
        .err()
        .unwrap()
        .to_string();
    assert!(
        m.contains("the probe 303a:1001:DC:DA:0C:D3:FE:D8 (ESP USB-JTAG)"),
        "{m}"
    );
}

#[test]
fn a_profile_without_a_chip_is_refused_first() {
    let m = ProbeLink::open(None, " ", Attach::Normal)
        .err()
        .unwrap()
        .to_string();
    assert!(m.contains("names no chip"), "{m}");
}

#[test]
fn flashing_a_missing_file_fails_before_looking_for_a_probe() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("hil-fw");
    let e = flash_file(None, "esp32c3", &p, |_| {})
        .err()
        .expect("an error");
    assert!(matches!(e, ProbeError::Firmware { .. }), "{e:?}");
    assert!(e.to_string().contains("does not exist"), "{e}");
    std::fs::write(&p, b"\x7fELF").unwrap();
    let e = flash_file(None, "esp32c3", &p, |_| {})
        .err()
        .expect("an error");
    assert!(
        matches!(e, ProbeError::Firmware { .. }),
        "a broken ELF: {e:?}"
    );
    // A good ELF gets as far as the probe.
    std::fs::write(&p, crate::support::elf(None, "raw", true)).unwrap();
    let e = flash_file(None, "esp32c3", &p, |_| {})
        .err()
        .expect("an error");
    assert!(matches!(e, ProbeError::NoProbe { .. }), "{e:?}");
}
