//! `hil import`, `hil reproduce` and `hil shrink` as commands, in-process
//! with the simulator: files written, what is printed, exit codes, and the
//! errors for evidence that cannot be read (file and first offending line
//! or packet).

use crate::support::cli::Output;
use std::path::{Path, PathBuf};

/// `hil ARGS` with the real backends, on worker threads as the binary runs.
fn hil(args: &[&str]) -> Output {
    crate::support::cli::hil_with(args, &hil::backends::create, Some(&hil::backends::parallel))
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/field")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn import_reproduce_shrink_through_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("site-42.toml");
    let case_s = case.display().to_string();
    let o = hil(&[
        "import",
        &fixture("lost-puback.mosquitto.log"),
        "-o",
        &case_s,
    ]);
    assert_eq!(o.code, 0, "{}{}", o.out, o.err);
    assert!(
        o.err
            .contains("(mosquitto log): 263 lines, 0 not understood"),
        "{}",
        o.err
    );
    assert!(o.err.contains("device under test: dut-pl"), "{}", o.err);
    assert!(
        o.err.contains("broker_drop packet=puback count=1"),
        "{}",
        o.err
    );
    assert!(o.out.contains(&format!("wrote {case_s}")), "{}", o.out);
    let text = std::fs::read_to_string(&case).unwrap();
    assert!(
        text.contains("# field-failure: oracle = \"duplicates_at_most\""),
        "{text}"
    );
    // `hil check` accepts what import wrote.
    assert_eq!(hil(&["check", &case_s]).code, 0);

    let o = hil(&["reproduce", &case_s, "--seeds", "1..10"]);
    assert_eq!(o.code, 0, "{}{}", o.out, o.err);
    assert!(o.out.contains("reproduced with seed 1 "), "{}", o.out);
    assert!(
        o.out
            .contains(&format!("replay: hil run {case_s} --seed 1")),
        "{}",
        o.out
    );

    // A failure the scenario never shows: not reproduced, exit 1.
    let o = hil(&[
        "reproduce",
        &case_s,
        "--seeds",
        "1..3",
        "--failure",
        "will_published",
    ]);
    assert_eq!(o.code, 1, "{}{}", o.out, o.err);
    assert!(
        o.out
            .contains("not reproduced: no seed in 1..3 fails `will_published`"),
        "{}",
        o.out
    );

    let o = hil(&["shrink", &case_s, "--seed", "1", "--max-runs", "80"]);
    assert_eq!(o.code, 0, "{}{}", o.out, o.err);
    let min: PathBuf = dir.path().join("site-42.min.toml");
    assert!(
        o.out.contains(&format!("wrote {}", min.display())),
        "{}",
        o.out
    );
    let min_text = std::fs::read_to_string(&min).unwrap();
    assert!(
        min_text.starts_with(&format!("# Shrunk by `hil shrink {case_s} --seed 1` in ")),
        "{min_text}"
    );
    assert!(
        min_text.contains("name = \"field-lost-puback-min\""),
        "{min_text}"
    );
    // The minimal scenario replays the failure with `hil run`.
    let out = dir.path().join("runs").display().to_string();
    let o = hil(&[
        "run",
        &min.display().to_string(),
        "--seed",
        "1",
        "--out",
        &out,
        "--no-progress",
    ]);
    assert_eq!(o.code, 1, "{}{}", o.out, o.err);
    assert!(o.out.contains("duplicates_at_most"), "{}", o.out);

    // Shrinking a seed that does not fail: exit 1, said so.
    let passing = dir.path().join("pass.toml");
    std::fs::write(&passing, text.replace("n = 0", "n = 5")).unwrap();
    let o = hil(&[
        "shrink",
        &passing.display().to_string(),
        "--seed",
        "1",
        "--failure",
        "duplicates_at_most",
    ]);
    assert_eq!(o.code, 1, "{}{}", o.out, o.err);
    assert!(
        o.err
            .contains("does not fail `duplicates_at_most` with seed 1"),
        "{}",
        o.err
    );
}

#[test]
fn unreadable_evidence_is_named_with_its_first_bad_line_or_packet() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    // Neither a log, a trace nor a capture.
    let p = write("notes.txt", b"\n\nthe device rebooted twice\n");
    let o = hil(&["import", &p]);
    assert_eq!(o.code, 2);
    assert!(
        o.err
            .starts_with(&format!("error: {p}:3: not a format `hil import` reads")),
        "{}",
        o.err
    );
    // A trace with a broken record in the middle.
    let p = write("t.jsonl", b"{\"t_ms\":0,\"actor\":\"dut\",\"event\":\"up\"}\n{\"t_ms\":\n{\"t_ms\":1,\"actor\":\"dut\",\"event\":\"up\"}\n");
    let o = hil(&["import", &p]);
    assert_eq!(o.code, 2);
    assert!(
        o.err
            .starts_with(&format!("error: {p}:2: a trace line that is not JSON")),
        "{}",
        o.err
    );
    // A capture whose 3rd packet record is corrupt (its length runs past
    // the file but a 4th record follows: not a cut-off capture).
    let mut pcap = std::fs::read(fixture("lost-puback.device.pcap")).unwrap();
    let rec = |b: &[u8], mut at: usize, n: usize| {
        for _ in 0..n {
            let len = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
            at += 16 + len;
        }
        at
    };
    let third = rec(&pcap, 24, 2);
    pcap[third + 8..third + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let p = write("c.pcap", &pcap);
    let o = hil(&["import", &p]);
    assert_eq!(o.code, 2, "{}{}", o.out, o.err);
    assert!(
        o.err
            .starts_with(&format!("error: {p}: packet 3: corrupt packet record")),
        "{}",
        o.err
    );
    // A capture of something else than MQTT: read, counted, no client.
    let p = write(
        "empty.log",
        b"1700000000: mosquitto version 2.0.11 starting\n1700000000: Config loaded from /x.\n",
    );
    let o = hil(&["import", &p]);
    assert_eq!(o.code, 2);
    assert!(o.err.contains("no MQTT client in"), "{}", o.err);
    // Unknown lines are counted, not fatal.
    let mut log = std::fs::read_to_string(fixture("lost-puback.mosquitto.log")).unwrap();
    log.insert_str(
        0,
        "1795618000: a line from a newer mosquitto\nnot even a log line\n",
    );
    let p = write("noisy.log", log.as_bytes());
    let o = hil(&["import", &p]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(o.err.contains("265 lines, 2 not understood"), "{}", o.err);
}

/// The failure of a field case reproduced against a real mosquitto
/// (real TCP through the fault proxy), scaled to 20 s of wall time.
#[test]
fn reproduce_against_a_real_mosquitto() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("pl.toml");
    let case_s = case.display().to_string();
    assert_eq!(
        hil(&["import", &fixture("lost-puback.device.pcap"), "-o", &case_s]).code,
        0
    );
    let text = std::fs::read_to_string(&case).unwrap().replacen(
        "seed = 1\n",
        "seed = 1\nlive_time_scale = 0.2\n",
        1,
    );
    std::fs::write(&case, text).unwrap();
    let o = hil(&[
        "reproduce",
        &case_s,
        "--seeds",
        "1..3",
        "--backend",
        "live",
        "--broker",
        "mosquitto",
    ]);
    assert_eq!(o.code, 0, "{}{}", o.out, o.err);
    assert!(
        o.out.contains("duplicates_at_most: 1 duplicate deliveries"),
        "{}",
        o.out
    );
    assert!(
        o.out.contains(&format!(
            "replay: hil run {case_s} --seed 1 --backend live --broker mosquitto"
        )),
        "{}",
        o.out
    );
}
