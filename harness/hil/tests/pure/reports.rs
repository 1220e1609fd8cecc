//! Reports, sweeps and fuzzing end to end: `hil run --report` through a
//! replay backend (known traces), parallel sweeps and partitions, a sweep
//! interrupted with Ctrl-C (the built binary, real sim runs), `hil fuzz`
//! with the sim backend and the replay of a saved failure, and the page
//! opened in a headless chromium when one is installed.

use crate::support::cli::{hil_with, Output};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use hil::backend::replay::ReplayBackend;
use hil::backend::{Backend, BackendError};
use hil::backends::BackendSpec;
use hil::cli::Cli;
use hil::report::summary::Summary;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    manifest().join("tests/fixtures")
}

/// `hil ARGS` in-process; every backend replays `trace`; with `jobs`
/// worker backends when `parallel`.
fn hil(args: &[&str], trace: &str, parallel: bool) -> Output {
    let path = fixtures().join("traces").join(trace);
    let serial = {
        let path = path.clone();
        move |_: &BackendSpec| Ok(Box::new(ReplayBackend::from_file(&path)?) as Box<dyn Backend>)
    };
    let many = move |_: &BackendSpec| {
        Ok(Box::new(ReplayBackend::from_file(&path)?) as Box<dyn Backend + Send>)
            as Result<_, BackendError>
    };
    hil_with(args, &serial, if parallel { Some(&many) } else { None })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn demo() -> String {
    fixtures().join("scenarios/demo.toml").display().to_string()
}

fn tidy(text: &str, tmp: &Path) -> String {
    text.replace(s(tmp), "[TMP]")
        .replace(&fixtures().display().to_string(), "[FIXTURES]")
}

#[test]
fn a_failing_sweep_writes_junit_summary_and_page() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, rep) = (tmp.path().join("runs"), tmp.path().join("report"));
    let o = hil(
        &[
            "run",
            &demo(),
            "--seeds",
            "1..3",
            "--out",
            s(&out),
            "--report",
            s(&rep),
        ],
        "demo-fail.jsonl",
        false,
    );
    assert_eq!(o.code, 1, "{}{}", o.out, o.err);
    insta::assert_snapshot!("terminal_failing_sweep", tidy(&o.out, tmp.path()));

    // JUnit: parse it back.
    let xml = std::fs::read_to_string(rep.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("junit.xml is XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("2"));
    assert_eq!(root.attribute("failures"), Some("2"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].attribute("name"), Some("demo"));
    let cases: Vec<_> = suites[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<_> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(names, ["seed=1", "seed=2"]);
    for (c, seed) in cases.iter().zip([1, 2]) {
        assert_eq!(c.attribute("classname"), Some("replay.demo"));
        let f = c
            .children()
            .find(|n| n.has_tag_name("failure"))
            .expect("a <failure>");
        let text = f.text().unwrap_or("");
        assert!(
            text.contains("qos1_no_loss grace=2s: app publish dut-0:2"),
            "{text}"
        );
        assert!(
            text.contains(&format!("replay: hil run {} --seed {seed}", demo())),
            "{text}"
        );
        assert!(f.attribute("message").unwrap().contains("qos1_no_loss"));
    }

    // summary.json
    let sum: Summary =
        serde_json::from_str(&std::fs::read_to_string(rep.join("summary.json")).unwrap()).unwrap();
    assert_eq!(sum.state, "finished");
    assert_eq!(
        (sum.counts.planned, sum.counts.completed, sum.counts.failed),
        (2, 2, 2)
    );
    assert_eq!(sum.plan.seeds, "1..3");
    assert_eq!(sum.plan.versions.hil, env!("CARGO_PKG_VERSION"));
    assert_eq!(sum.runs.len(), 2);
    assert_eq!(sum.runs[1].report.seed, 2);
    assert!(sum.runs[0]
        .report
        .verdicts
        .iter()
        .any(|v| v.oracle == "recovers_within"));

    // index.html: self-contained, failures first with replay commands, timelines.
    let html = std::fs::read_to_string(rep.join("index.html")).unwrap();
    for banned in ["<script", "<link", " src=", "@import", "url("] {
        assert!(
            !html.contains(banned),
            "external asset `{banned}` in the page"
        );
    }
    let http: Vec<_> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..i + 30])
        .collect();
    assert!(
        http.iter()
            .all(|h| h.starts_with("http://www.w3.org/2000/svg")),
        "{http:?}"
    );
    let failures = html.find("Failures (2)").expect("a failures section");
    assert!(failures < html.find("All runs").unwrap());
    assert!(html.contains(&format!("hil run {} --seed 2", demo())));
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "one timeline per failing run"
    );
    for class in [
        "band link up",
        "band link down",
        "band connection connected",
        "band connection disconnected",
        "fault wifi_down",
        "mark publish",
        "mark ack",
        "mark delivered",
    ] {
        assert!(
            html.contains(&format!("class=\"{class}")),
            "no `{class}` in the page"
        );
    }
}

#[test]
fn a_passing_sweep_reports_no_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, rep) = (tmp.path().join("runs"), tmp.path().join("report"));
    let o = hil(
        &[
            "run",
            &demo(),
            "--seed",
            "5",
            "--out",
            s(&out),
            "--report",
            s(&rep),
        ],
        "demo-pass.jsonl",
        false,
    );
    assert_eq!(o.code, 0, "{}{}", o.out, o.err);
    let xml = std::fs::read_to_string(rep.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("0"));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        1
    );
    let html = std::fs::read_to_string(rep.join("index.html")).unwrap();
    assert!(!html.contains("Failures ("));
    assert!(html.contains("Scenarios without failures"));
    assert_eq!(html.matches("<svg").count(), 1);
}

#[test]
fn parallel_runs_report_in_plan_order() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |jobs: &str, dir: &str| {
        let out = tmp.path().join(dir);
        let o = hil(
            &[
                "run",
                &demo(),
                "--seeds",
                "1..13",
                "--jobs",
                jobs,
                "--out",
                s(&out),
            ],
            "demo-fail.jsonl",
            true,
        );
        assert_eq!(o.code, 1);
        o.out.replace(s(&out), "[OUT]")
    };
    let one = run("1", "a");
    let four = run("4", "b");
    assert_eq!(one, four);
    let seeds: Vec<&str> = one
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    let want: Vec<String> = (1..13).map(|i| format!("seed={i}")).collect();
    assert_eq!(seeds, want);
}

#[test]
fn partitions_split_the_sweep_without_overlap() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixtures().join("scenarios");
    let mut all = Vec::new();
    for k in 1..=3 {
        let rep = tmp.path().join(format!("r{k}"));
        let o = hil(
            &[
                "run",
                s(&dir),
                "--seeds",
                "1..5",
                "--partition",
                &format!("{k}/3"),
                "--out",
                s(&tmp.path().join("runs")),
                "--report",
                s(&rep),
            ],
            "demo-pass.jsonl",
            true,
        );
        assert!(o.code == 0 || o.code == 1, "{}{}", o.out, o.err);
        let sum: Summary =
            serde_json::from_str(&std::fs::read_to_string(rep.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(
            sum.plan.partition.as_deref(),
            Some(format!("{k}/3").as_str())
        );
        all.extend(
            sum.runs
                .iter()
                .map(|r| (r.report.scenario.clone(), r.report.seed)),
        );
    }
    // 3 scenarios x 4 seeds, each exactly once.
    assert_eq!(all.len(), 12);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 12);
    let bad = Cli::try_parse_from(["hil", "run", s(&dir), "--partition", "4/3"]).unwrap_err();
    assert!(bad.to_string().contains("1 <= K <= N"), "{bad}");
}

#[test]
fn hil_binary_interrupted_keeps_traces_and_a_report_of_what_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, rep) = (tmp.path().join("runs"), tmp.path().join("report"));
    let scenario = fixtures().join("reports/short.toml");
    let child = Command::new(env!("CARGO_BIN_EXE_hil"))
        .args(["run", s(&scenario), "--seeds", "1..200", "--jobs", "2"])
        .args(["--out", s(&out), "--report", s(&rep)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let summary = rep.join("summary.json");
    loop {
        let done = std::fs::read_to_string(&summary)
            .ok()
            .and_then(|t| serde_json::from_str::<Summary>(&t).ok())
            .is_some_and(|s| s.counts.completed >= 1);
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "no run finished"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let o = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("interrupted:"), "{stdout}");
    let sum: Summary = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(sum.state, "interrupted");
    assert!(
        sum.counts.completed >= 1 && sum.counts.completed < 199,
        "{:?}",
        sum.counts
    );
    let xml = std::fs::read_to_string(rep.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, sum.counts.completed);
    // Every reported run left a complete JSON Lines trace.
    for r in &sum.runs {
        let trace = r.report.dir.join("trace.jsonl");
        let loaded = hil::trace::reader::read(&trace).unwrap();
        assert!(loaded.records.len() > 10, "{}", trace.display());
        assert_eq!(loaded.records.last().unwrap().event.name(), "run_end");
    }
    assert!(std::fs::read_to_string(rep.join("index.html"))
        .unwrap()
        .contains("Interrupted:"));
}

#[test]
fn fuzz_saves_failures_that_replay_without_the_fuzzer() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, save) = (tmp.path().join("runs"), tmp.path().join("saved"));
    let scenario = fixtures().join("reports/fuzz.toml");
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_hil"))
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, text) = run(&[
        "fuzz",
        s(&scenario),
        "--seeds",
        "1..5",
        "--out",
        s(&out),
        "--save",
        s(&save),
    ]);
    assert_eq!(code, Some(1), "{text}");
    let saved: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.strip_prefix("saved: "))
        .map(PathBuf::from)
        .collect();
    assert!(!saved.is_empty(), "{text}");
    for file in &saved {
        let name = file.file_stem().unwrap().to_str().unwrap();
        let seed: u64 = name.rsplit('-').next().unwrap().parse().unwrap();
        assert!(text.contains(&format!("replay: hil run {} --seed {seed}", file.display())));
        // The saved file is a scenario of its own...
        let loaded = hil::fuzz::load(file).expect("the saved file parses");
        assert_eq!(loaded.loaded.scenario.name, name);
        assert!(!loaded.loaded.scenario.timeline.is_empty());
        // ...and `hil run` reproduces the same verdicts.
        let again = tmp.path().join("again");
        let (code, rerun) = run(&[
            "run",
            s(file),
            "--seed",
            &seed.to_string(),
            "--out",
            s(&again),
        ]);
        assert_eq!(code, Some(1), "{rerun}");
        let verdicts = |dir: &Path| -> serde_json::Value {
            let v: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(
                    dir.join(name).join(seed.to_string()).join("verdicts.json"),
                )
                .unwrap(),
            )
            .unwrap();
            v["verdicts"].clone()
        };
        assert_eq!(verdicts(&out), verdicts(&again));
        assert_eq!(
            std::fs::read_to_string(out.join(name).join(seed.to_string()).join("trace.jsonl"))
                .unwrap(),
            std::fs::read_to_string(again.join(name).join(seed.to_string()).join("trace.jsonl"))
                .unwrap(),
            "the replay's trace is byte-identical"
        );
    }
}

#[test]
fn fuzz_needs_a_fuzz_table() {
    let o = hil(
        &["fuzz", &demo(), "--seeds", "1..3"],
        "demo-pass.jsonl",
        false,
    );
    assert_eq!(o.code, 2);
    assert!(o.err.contains("has no [fuzz] table"), "{}", o.err);
}

#[test]
fn the_page_renders_in_headless_chromium() {
    let Some(browser) = crate::support::chromium() else {
        println!("SKIPPED the_page_renders_in_headless_chromium: no chromium installed (apt-get install -y chromium)");
        eprintln!("SKIPPED the_page_renders_in_headless_chromium: no chromium installed (apt-get install -y chromium)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (out, rep) = (tmp.path().join("runs"), tmp.path().join("report"));
    let o = hil(
        &[
            "run",
            &demo(),
            "--seeds",
            "1..3",
            "--out",
            s(&out),
            "--report",
            s(&rep),
        ],
        "demo-fail.jsonl",
        false,
    );
    assert_eq!(o.code, 1);
    let bytes = crate::support::screenshot(
        browser,
        &rep.join("index.html"),
        &tmp.path().join("page.png"),
    );
    // A blank page compresses to a few kB; the report is far richer.
    assert!(bytes.len() > 20_000, "screenshot of {} bytes", bytes.len());
}

/// `hil run --seeds` on the simulator prints a `seed_diversity` line per
/// scenario (and writes it to summary.json): a scenario whose seeds all
/// give one trace gets a warning, one the seeds explore does not.
#[test]
fn a_sweep_reports_seed_diversity_and_warns_when_seeds_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, rep) = (tmp.path().join("runs"), tmp.path().join("report"));
    let dir = fixtures().join("diversity");
    let o = crate::support::cli::hil(&[
        "run",
        s(&dir.join("stuck.toml")),
        s(&dir.join("diverse.toml")),
        "--seeds",
        "1..7",
        "--out",
        s(&out),
        "--report",
        s(&rep),
    ]);
    assert_eq!(o.code, 0, "{}{}", o.out, o.err);
    assert!(
        o.out.contains("seed_diversity diversity-stuck: 1 distinct trace(s) from 6 seed(s)\nwarning: diversity-stuck: all 6 seeds gave the same trace"),
        "{}",
        o.out
    );
    assert!(
        o.out
            .contains("seed_diversity diversity-diverse: 6 distinct trace(s) from 6 seed(s)\n"),
        "{}",
        o.out
    );
    assert!(!o.out.contains("warning: diversity-diverse"), "{}", o.out);
    let sum: Summary =
        serde_json::from_str(&std::fs::read_to_string(rep.join("summary.json")).unwrap()).unwrap();
    let lines: Vec<(String, usize, usize)> = sum
        .seed_diversity
        .iter()
        .map(|l| (l.scenario.clone(), l.seeds, l.distinct))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("diversity-diverse".to_string(), 6, 6),
            ("diversity-stuck".to_string(), 6, 1)
        ]
    );
}
