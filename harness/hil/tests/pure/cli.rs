//! The `hil` command end to end. `hil run` goes through the real pipeline
//! (argument parsing, discovery, scenario checks, run directory, secret
//! redaction, oracles, transcript, verdicts, exit codes, replay commands)
//! with a backend that replays a recorded trace; `hil check`, `hil list`
//! and `hil broker` are exercised through the built binary.

use crate::support::cli::{hil_with, Output};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::Parser;
use hil::backend::replay::ReplayBackend;
use hil::backend::{Backend, BackendError, RunOutcome};
use hil::backends::BackendSpec;
use hil::cli::Cli;
use hil::run::RunReport;
use hil::scenario::Scenario;
use hil::trace::sink::TraceSink;
use hil::trace::{reader, Actor, Event, Record};
use hil::transcript::Transcript;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn demo() -> PathBuf {
    fixtures().join("scenarios/demo.toml")
}

/// Runs `hil ARGS` in-process with `backend` as the backend for every kind.
/// `hil ARGS` with every run on the backend `backend` makes.
fn hil(args: &[&str], backend: impl Fn() -> Result<Box<dyn Backend>, BackendError>) -> Output {
    hil_with(args, &|_: &BackendSpec| backend(), None)
}

fn replay(name: &str) -> impl Fn() -> Result<Box<dyn Backend>, BackendError> {
    let path = fixtures().join("traces").join(name);
    move || Ok(Box::new(ReplayBackend::from_file(&path)?) as Box<dyn Backend>)
}

fn tidy(s: &str, out: &Path) -> String {
    s.replace(&out.display().to_string(), "[OUT]")
        .replace(&fixtures().display().to_string(), "[FIXTURES]")
}

fn report(dir: &Path) -> RunReport {
    serde_json::from_str(&std::fs::read_to_string(dir.join("verdicts.json")).unwrap()).unwrap()
}

#[test]
fn a_passing_run_writes_its_directory_and_exits_0() {
    let out = tempfile::tempdir().unwrap();
    let o = hil(
        &[
            "run",
            demo().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ],
        replay("demo-pass.jsonl"),
    );
    assert_eq!(o.code, 0, "{}{}", o.out, o.err);
    insta::assert_snapshot!(tidy(&o.out, out.path()));

    // The scenario's own seed (5) names the directory.
    let dir = out.path().join("demo/5");
    let trace = reader::read(&dir.join("trace.jsonl")).unwrap();
    assert!(!trace.truncated);
    let recs = &trace.records;
    assert_eq!(
        recs[0],
        Record::new(
            0,
            Actor::Harness,
            Event::RunStart {
                scenario: "demo".into(),
                seed: 5,
                backend: "replay".into()
            }
        )
    );
    assert_eq!(
        recs.last().unwrap(),
        &Record::new(40_000, Actor::Harness, Event::RunEnd)
    );
    // Everything the backend emitted is there, in order, between them.
    let recorded = reader::read(&fixtures().join("traces/demo-pass.jsonl"))
        .unwrap()
        .records;
    assert_eq!(recs.len(), recorded.len() + 2);
    // The transcript is the rendering of the trace.
    assert_eq!(
        std::fs::read_to_string(dir.join("transcript.txt")).unwrap(),
        Transcript::render(recs)
    );
    let r = report(&dir);
    assert_eq!(r.verdicts.len(), 4);
    assert_eq!(r.replay, format!("hil run {} --seed 5", demo().display()));
}

#[test]
fn the_password_never_reaches_the_run_directory() {
    let out = tempfile::tempdir().unwrap();
    let o = hil(
        &[
            "run",
            demo().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ],
        replay("demo-pass.jsonl"),
    );
    assert_eq!(o.code, 0);
    // The recorded trace leaks it in a reason; the run directory must not.
    let recorded = std::fs::read_to_string(fixtures().join("traces/demo-pass.jsonl")).unwrap();
    assert!(recorded.contains("s3cret-pw"));
    for f in ["trace.jsonl", "transcript.txt", "verdicts.json"] {
        let text = std::fs::read_to_string(out.path().join("demo/5").join(f)).unwrap();
        assert!(!text.contains("s3cret-pw"), "{f} leaks the password");
    }
    let trace = std::fs::read_to_string(out.path().join("demo/5/trace.jsonl")).unwrap();
    assert!(trace.contains("wifi lost (password <redacted>)"));
}

#[test]
fn a_failing_run_names_events_and_prints_the_replay_command() {
    let out = tempfile::tempdir().unwrap();
    let o = hil(
        &[
            "run",
            demo().to_str().unwrap(),
            "--seed",
            "42",
            "--out",
            out.path().to_str().unwrap(),
        ],
        replay("demo-fail.jsonl"),
    );
    assert_eq!(o.code, 1, "{}{}", o.out, o.err);
    let text = tidy(&o.out, out.path());
    assert!(
        text.contains("replay: hil run [FIXTURES]/scenarios/demo.toml --seed 42"),
        "{text}"
    );
    insta::assert_snapshot!(text);
    let r = report(&out.path().join("demo/42"));
    assert_eq!(serde_json::to_value(r.status).unwrap(), "fail");
    let failed: Vec<&str> = r
        .verdicts
        .iter()
        .filter(|v| !v.failures.is_empty())
        .map(|v| v.oracle.as_str())
        .collect();
    assert_eq!(
        failed,
        vec!["qos1_no_loss", "recovers_within", "conformance"]
    );
}

#[test]
fn a_seed_range_makes_one_directory_per_seed() {
    let out = tempfile::tempdir().unwrap();
    let o = hil(
        &[
            "run",
            demo().to_str().unwrap(),
            "--seeds",
            "7..=9",
            "--out",
            out.path().to_str().unwrap(),
        ],
        replay("demo-pass.jsonl"),
    );
    assert_eq!(o.code, 0);
    for seed in 7..=9 {
        assert_eq!(report(&out.path().join(format!("demo/{seed}"))).seed, seed);
    }
    assert!(
        o.out
            .contains("3 run(s): 3 passed, 0 failed, 0 infrastructure error(s)"),
        "{}",
        o.out
    );
}

/// A backend that emits part of a trace, then fails like a crashed broker.
struct Crashing;

impl Backend for Crashing {
    fn name(&self) -> &str {
        "crashing"
    }
    fn run(
        &self,
        _: &Scenario,
        _: u64,
        sink: &mut dyn TraceSink,
    ) -> Result<RunOutcome, BackendError> {
        sink.emit(Record::new(0, Actor::Dut, Event::WifiUp))?;
        sink.emit(Record::new(5, Actor::Dut, Event::Connecting { attempt: 1 }))?;
        Err(BackendError::Infrastructure(
            "the broker binary vanished".into(),
        ))
    }
}

#[test]
fn an_infrastructure_failure_is_reported_apart_and_keeps_the_trace() {
    let out = tempfile::tempdir().unwrap();
    let o = hil(
        &[
            "run",
            demo().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ],
        || Ok(Box::new(Crashing)),
    );
    assert_eq!(o.code, 3, "{}", o.out);
    insta::assert_snapshot!(tidy(&o.out, out.path()));
    let dir = out.path().join("demo/5");
    let r = report(&dir);
    assert!(r.verdicts.is_empty());
    assert_eq!(r.error.as_deref(), Some("the broker binary vanished"));
    let trace = reader::read(&dir.join("trace.jsonl")).unwrap().records;
    assert_eq!(trace.len(), 3);
    assert!(!trace.iter().any(|r| r.event == Event::RunEnd));
}

#[test]
fn a_killed_run_trace_is_still_judged_by_replay() {
    // A cut-off trace (killed run) replays: the reader drops the partial line.
    let out = tempfile::tempdir().unwrap();
    let o = hil(
        &[
            "run",
            demo().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ],
        replay("demo-killed.jsonl"),
    );
    assert_eq!(o.code, 0, "{}", o.out);
}

#[test]
fn invalid_scenarios_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\nduration = \"1m\"\n[[timeline]]\nat = \"2m\"\nkind = \"dut_reboot\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = hil(
        &[
            "run",
            demo().to_str().unwrap(),
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        replay("demo-pass.jsonl"),
    );
    assert_eq!(o.code, 2);
    assert!(
        o.err
            .contains("at 2m is not before the end of the run (1m)"),
        "{}",
        o.err
    );
    assert!(o.err.contains("nothing was run"), "{}", o.err);
    assert!(!out.exists());
}

#[test]
fn seed_arguments_are_checked() {
    for (args, msg) in [
        (vec!["run", "x.toml", "--seeds", "5..3"], "it is empty"),
        (vec!["run", "x.toml", "--seeds", "abc"], "expected `A..B`"),
        (vec!["run", "x.toml", "--seed=-1"], "invalid seed `-1`"),
        (
            vec!["run", "x.toml", "--seed", "1", "--seeds", "1..3"],
            "cannot be used with",
        ),
        (
            vec!["run", "x.toml", "--backend", "moon"],
            "invalid value 'moon'",
        ),
    ] {
        let e =
            Cli::try_parse_from(std::iter::once("hil").chain(args.iter().copied())).unwrap_err();
        assert!(e.to_string().contains(msg), "{args:?}: {e}");
        assert_eq!(e.exit_code(), 2);
    }
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hil"));
    c.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    c
}

#[test]
fn a_backend_that_is_not_built_is_a_clear_infrastructure_error() {
    let out = tempfile::tempdir().unwrap();
    let o = hil(
        &[
            "run",
            demo().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ],
        || {
            Err(BackendError::NotBuilt {
                backend: "board",
                detail: "no probe support in this build",
            })
        },
    );
    assert_eq!(o.code, 3);
    assert!(
        o.err.ends_with(
            "error: the board backend is not built yet (no probe support in this build)\n"
        ),
        "{}",
        o.err
    );
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "no fake run directory"
    );
}

#[test]
fn check_passes_on_the_scenario_library() {
    let o = bin().args(["check", "scenarios"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("0 invalid"), "{out}");
}

#[test]
fn check_fails_with_the_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "name = \"a\"\nduration = \"1m\"\n[[expect]]\noracle = \"nope\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        std::fs::read_to_string(demo()).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        std::fs::read_to_string(demo()).unwrap(),
    )
    .unwrap();
    let o = bin().arg("check").arg(dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err =
        String::from_utf8_lossy(&o.stderr).replace(&dir.path().display().to_string(), "[DIR]");
    insta::assert_snapshot!(err);
    assert!(String::from_utf8_lossy(&o.stdout).contains("3 scenario file(s): 1 valid, 2 invalid"));
}

#[test]
fn list_prints_a_table() {
    let o = hil(
        &["list", fixtures().join("scenarios").to_str().unwrap()],
        replay("demo-pass.jsonl"),
    );
    assert_eq!(o.code, 0, "{}", o.err);
    insta::assert_snapshot!(o.out);
}

#[test]
fn broker_serves_mqtt_until_killed() {
    let mut child = bin()
        .args(["broker", "--port", "0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "chaos broker: MQTT on 127.0.0.1:PORT, control on ..."
    let addr = line
        .split("MQTT on ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "t".
    s.write_all(&[
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 1, b't',
    ])
    .unwrap();
    let mut connack = [0u8; 4];
    s.read_exact(&mut connack).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(connack, [0x20, 2, 0, 0]);
}
