//! Every TOML example in scenarios/README.md is a valid scenario part, so
//! the documentation cannot drift from the parser.

use std::path::PathBuf;

const HEAD: &str = "name = \"readme\"\nduration = \"10m\"\n";

/// What the `[[expect]]` example's oracles need to have something to judge.
const FOR_ORACLES: &str = r#"
[dut]
will = { topic = "dut/status", message = "offline", retain = true, qos = 1 }
queue_len = 4
offline_queue = { max_messages = 100 }
mqtt = 5
[workload]
heartbeat = "100ms"
disconnect_at = "9m"
publish = [{ topic = "dut/telemetry", qos = 1, interval = "1s" }, { topic = "dut/q2", qos = 2, interval = "1s" }]
subscribe = [{ topic = "dut/cmd/#", qos = 1 }]
observer = [{ topic = "dut/cmd/led", qos = 1, interval = "2s" }]
[[timeline]]
at = "1m"
kind = "link_blackhole"
for = "1m"
"#;

fn blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match (&mut cur, line.trim_start()) {
            (None, "```toml") => cur = Some(String::new()),
            (Some(_), "```") => out.push(cur.take().unwrap()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_toml_example_in_the_scenario_readme_is_valid() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/README.md");
    let text = std::fs::read_to_string(path).unwrap();
    let blocks = blocks(&text);
    assert!(blocks.len() >= 15, "found only {} examples", blocks.len());
    let mut kinds_seen = Vec::new();
    let mut oracles_seen = Vec::new();
    for b in &blocks {
        let src = if b.contains("[[expect]]") {
            format!("{HEAD}{FOR_ORACLES}{b}")
        } else if b.starts_with("name =") {
            b.clone()
        } else {
            format!("{HEAD}{b}")
        };
        match hil::scenario::parse(&src) {
            Ok((s, _)) => {
                kinds_seen.extend(s.timeline.iter().map(|e| e.fault.kind()));
                oracles_seen.extend(s.expect.iter().map(|e| e.oracle.name()));
            }
            Err(d) => panic!("README example does not parse:\n{b}\n{d:#?}"),
        }
    }
    for k in hil::scenario::fault::KINDS {
        assert!(kinds_seen.contains(k), "no README example for fault `{k}`");
    }
    for o in hil::oracle::ORACLES {
        assert!(
            oracles_seen.contains(o),
            "no README example for oracle `{o}`"
        );
    }
}
