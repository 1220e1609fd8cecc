//! Firmware images are checked before any probe is looked for: a missing
//! file, a directory or a non-ELF file is a clear error; an ELF says where
//! its RTT control block is and whether it has defmt data.

use hil_probe::firmware::NO_DEFMT;
use hil_probe::{Firmware, ProbeError};

#[test]
fn a_missing_file_says_to_build_it() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("hil-fw");
    let e = Firmware::load(&p).unwrap_err();
    assert!(matches!(e, ProbeError::Firmware { .. }), "{e:?}");
    let m = e.to_string();
    assert!(m.contains(&p.display().to_string()), "{m}");
    assert!(
        m.contains("does not exist: build the firmware first"),
        "{m}"
    );
    let e = Firmware::load(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("is a directory, not an ELF file"), "{e}");
}

#[test]
fn a_file_that_is_not_elf_is_refused_with_what_it_starts_with() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("fw.bin");
    std::fs::write(&p, [0xe9, 0x03, 0x02, 0x20, 0, 0]).unwrap();
    let m = Firmware::load(&p).unwrap_err().to_string();
    assert!(
        m.contains("is not an ELF file (6 bytes, starting e9 03 02 20)"),
        "{m}"
    );
    assert!(m.contains("not a .bin or .hex"), "{m}");
    std::fs::write(&p, b"").unwrap();
    let m = Firmware::load(&p).unwrap_err().to_string();
    assert!(m.contains("0 bytes, starting with nothing"), "{m}");
    // The magic, then garbage.
    std::fs::write(&p, b"\x7fELF\x09\x09garbage").unwrap();
    let m = Firmware::load(&p).unwrap_err().to_string();
    assert!(m.contains("is not a readable ELF file"), "{m}");
}

#[test]
fn an_elf_without_defmt_data_says_so_and_logs_stay_raw() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("fw.elf");
    std::fs::write(&p, crate::support::elf(None, "raw", true)).unwrap();
    let fw = Firmware::load(&p).unwrap();
    assert!(!fw.has_defmt);
    assert_eq!(fw.defmt_note(), Some(NO_DEFMT));
    assert!(NO_DEFMT.starts_with("no defmt data"));
    assert!(NO_DEFMT.contains("raw text"));
    // In a relocatable file the symbol's value is its section offset.
    assert_eq!(fw.rtt_address, Some(0x40));
    assert_eq!(fw.stamp.0, std::fs::metadata(&p).unwrap().len());
}

#[test]
fn an_elf_with_a_defmt_section_is_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("fw.elf");
    std::fs::write(
        &p,
        crate::support::elf(Some(crate::support::ENTRIES), "raw", false),
    )
    .unwrap();
    let fw = Firmware::load(&p).unwrap();
    assert!(fw.has_defmt);
    assert_eq!(fw.defmt_note(), None);
    assert_eq!(fw.rtt_address, None);
}
