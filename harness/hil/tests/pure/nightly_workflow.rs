//! ci/nightly.yml calls only things that exist: it is parsed as YAML, and
//! every `run:` line is checked: scripts are present and executable,
//! `hil` subcommands and their `--flags` are in the clap definition, cargo
//! `-p` packages are workspace members. The jobs the issue asks for are
//! there (build and test, an 8-shard sim sweep publishing JUnit and
//! uploading reports, live, board on `hil-board`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_yaml::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn workflow() -> Value {
    let text = std::fs::read_to_string(root().join("ci/nightly.yml")).unwrap();
    serde_yaml::from_str(&text).expect("ci/nightly.yml is YAML")
}

fn workspace_packages() -> BTreeSet<String> {
    let ws: toml::Value =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    ws["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let manifest = root().join(m.as_str().unwrap()).join("Cargo.toml");
            let p: toml::Value =
                toml::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
            p["package"]["name"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Every `run:` script of every job: (job, script).
fn runs(w: &Value) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for (name, job) in w["jobs"].as_mapping().unwrap() {
        for step in job["steps"].as_sequence().unwrap() {
            if let Some(r) = step.get("run").and_then(|r| r.as_str()) {
                v.push((name.as_str().unwrap().to_string(), r.to_string()));
            }
        }
    }
    v
}

/// Shell words, good enough for these lines (quotes removed, `&&` splits).
fn commands(script: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in script.lines() {
        for part in line.split("&&") {
            let words: Vec<String> = part
                .split_whitespace()
                .map(|w| w.trim_matches('"').to_string())
                .collect();
            if !words.is_empty() {
                out.push(words);
            }
        }
    }
    out
}

fn check_hil(words: &[String], errors: &mut Vec<String>) {
    let cli = hil::cli::Cli::command();
    let Some(sub) = words.first() else {
        errors.push("`hil` without a subcommand".into());
        return;
    };
    let Some(cmd) = cli.find_subcommand(sub) else {
        errors.push(format!("`hil {sub}` is not a hil subcommand"));
        return;
    };
    let longs: BTreeSet<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    for w in words.iter().skip(1).filter(|w| w.starts_with("--")) {
        let flag = w.split('=').next().unwrap();
        if !longs.contains(flag) {
            errors.push(format!("`hil {sub}` has no flag `{flag}`"));
        }
    }
}

fn check_command(words: &[String], packages: &BTreeSet<String>, errors: &mut Vec<String>) {
    let first = words[0].as_str();
    if first == "cargo" {
        for (i, w) in words.iter().enumerate() {
            if w == "-p" || w == "--package" {
                let p = words.get(i + 1).cloned().unwrap_or_default();
                if !packages.contains(&p) {
                    errors.push(format!("cargo package `{p}` is not in the workspace"));
                }
            }
        }
        if words.get(1).map(String::as_str) == Some("run") {
            if let Some(sep) = words.iter().position(|w| w == "--") {
                check_hil(&words[sep + 1..], errors);
            }
        }
        return;
    }
    if Path::new(first).file_name().and_then(|n| n.to_str()) == Some("hil") {
        check_hil(&words[1..], errors);
        return;
    }
    if first.starts_with("./") {
        let path = root().join(first);
        match std::fs::metadata(&path) {
            Err(_) => errors.push(format!("script `{first}` does not exist")),
            Ok(m) => {
                use std::os::unix::fs::PermissionsExt;
                if m.permissions().mode() & 0o111 == 0 {
                    errors.push(format!("script `{first}` is not executable"));
                }
            }
        }
    }
}

#[test]
fn every_command_the_nightly_calls_exists() {
    let w = workflow();
    let packages = workspace_packages();
    assert!(packages.contains("hil"), "{packages:?}");
    let mut errors = Vec::new();
    let mut checked = 0;
    for (job, script) in runs(&w) {
        for words in commands(&script) {
            let before = errors.len();
            check_command(&words, &packages, &mut errors);
            for e in &mut errors[before..] {
                *e = format!("job {job}: {e}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} commands found");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_checker_catches_what_does_not_exist() {
    let packages = workspace_packages();
    let mut errors = Vec::new();
    for bad in [
        "./ci/nope.sh",
        "cargo build -p no-such-crate",
        "./target/release/hil frobnicate",
        "./target/release/hil run scenarios --no-such-flag",
        "cargo run -p hil -- sweep",
    ] {
        check_command(&commands(bad)[0], &packages, &mut errors);
    }
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

#[test]
fn the_jobs_the_pipeline_needs_are_there() {
    let w = workflow();
    let jobs = w["jobs"].as_mapping().unwrap();
    let job = |n: &str| jobs.get(n).unwrap_or_else(|| panic!("no job `{n}`"));
    let all = runs(&w);
    let script = |j: &str| {
        all.iter()
            .filter(|(n, _)| n == j)
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(script("build-and-test").contains("./ci/test.sh"));

    let shards: Vec<u64> = job("sim-sweep")["strategy"]["matrix"]["shard"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(shards, (1..=8).collect::<Vec<_>>());
    let sweep = script("sim-sweep");
    assert!(
        sweep.contains("--partition ${{ matrix.shard }}/8"),
        "{sweep}"
    );
    assert!(sweep.contains("--report"));
    let uses: Vec<String> = job("sim-sweep")["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s.get("uses").and_then(|u| u.as_str()).map(String::from))
        .collect();
    assert!(uses
        .iter()
        .any(|u| u.starts_with("actions/upload-artifact")));
    assert!(uses
        .iter()
        .any(|u| u.starts_with("mikepenz/action-junit-report")));

    assert!(script("live-mosquitto").contains("--backend live"));
    let runs_on: Vec<&str> = job("board")["runs-on"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(runs_on, ["self-hosted", "hil-board"]);

    // Labgrid places: a matrix over the places, one report each, uploaded.
    let lab = job("board-labgrid");
    assert!(lab["strategy"]["matrix"]["place"]
        .as_str()
        .unwrap()
        .contains("vars.HIL_LABGRID_PLACES"));
    assert!(lab["env"]["LG_COORDINATOR"].as_str().is_some());
    let qualify = script("board-labgrid");
    assert!(
        qualify.contains("--board labgrid:${{ matrix.place }}")
            && qualify.contains("--report reports/board/labgrid-${{ matrix.place }}"),
        "{qualify}"
    );
    assert!(lab["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|s| s["with"]["name"].as_str() == Some("board-labgrid-${{ matrix.place }}")));
}
