//! defmt decoding with the firmware's ELF (feature `defmt`): frames become
//! `[defmt] LEVEL message` lines, split frames wait for their rest, an ELF
//! without defmt data falls back to raw text lines with a note, and the
//! `hil-defmt` process does the same over a pipe.

#![cfg(feature = "defmt")]

use std::time::Duration;

use hil_probe::defmt::{DefmtDecoder, LogDecoder};
use hil_probe::defmt_pipe::DefmtPipe;

#[test]
fn frames_decode_to_lines_across_reads() {
    let elf = crate::support::elf(Some(crate::support::ENTRIES), "raw", false);
    let mut d = DefmtDecoder::new(&elf).unwrap().expect("defmt data");
    // index 1 (u16 LE) + a u8 argument, then index 2 split in two reads.
    assert_eq!(
        d.push(&[1, 0, 42, 2]),
        vec!["[defmt] INFO temperature 42 C"]
    );
    assert_eq!(d.push(&[0]), vec!["[defmt] WARN link down"]);
    assert_eq!(d.malformed, 0);
}

#[test]
fn a_malformed_raw_frame_is_reported_once() {
    let elf = crate::support::elf(Some(crate::support::ENTRIES), "raw", false);
    let mut d = DefmtDecoder::new(&elf).unwrap().unwrap();
    let lines = d.push(&[9, 9, 1, 2]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("malformed frame"), "{lines:?}");
    assert!(d.push(&[1, 0, 42]).is_empty());
    assert_eq!(d.malformed, 1);
}

#[test]
fn without_defmt_data_the_channel_is_raw_lines_with_a_note() {
    let elf = crate::support::elf(None, "raw", true);
    assert!(DefmtDecoder::new(&elf).unwrap().is_none());
    let (mut d, note) = LogDecoder::for_elf(&elf);
    let note = note.expect("a note");
    assert!(note.starts_with("no defmt data"), "{note}");
    assert!(matches!(d, LogDecoder::Raw(_)));
    assert_eq!(d.push(b"boot ok\r\nwifi"), vec!["boot ok"]);
    assert_eq!(d.push(b" up\n"), vec!["wifi up"]);
}

#[test]
fn unreadable_defmt_data_falls_back_to_raw_with_the_reason() {
    // A `.defmt` section but an encoding this decoder does not know.
    let elf = crate::support::elf(Some(crate::support::ENTRIES), "morse", false);
    let (d, note) = LogDecoder::for_elf(&elf);
    assert!(matches!(d, LogDecoder::Raw(_)));
    let note = note.unwrap();
    assert!(note.contains("cannot be read"), "{note}");
}

#[test]
fn the_hil_defmt_process_decodes_a_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("fw.elf");
    std::fs::write(
        &p,
        crate::support::elf(Some(crate::support::ENTRIES), "raw", false),
    )
    .unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_hil-defmt"));
    let mut pipe = DefmtPipe::spawn(bin, &p).unwrap();
    pipe.push(&[1, 0, 7]).unwrap();
    pipe.push(&[2, 0]).unwrap();
    let lines = pipe.finish(Duration::from_secs(10));
    assert_eq!(
        lines,
        vec!["[defmt] INFO temperature 7 C", "[defmt] WARN link down"]
    );

    // No defmt data: the note, then raw lines.
    std::fs::write(&p, crate::support::elf(None, "raw", false)).unwrap();
    let mut pipe = DefmtPipe::spawn(bin, &p).unwrap();
    pipe.push(b"hello\n").unwrap();
    let lines = pipe.finish(Duration::from_secs(10));
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("no defmt data"), "{lines:?}");
    assert_eq!(lines[1], "hello");

    // Not an ELF at all: a clear error, and the exit code says so.
    std::fs::write(&p, b"MZ").unwrap();
    let out = std::process::Command::new(bin).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not an ELF file (2 bytes, starting 4d 5a)"),
        "{err}"
    );
}
