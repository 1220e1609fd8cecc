//! The `[fuzz]` examples of scenarios/README.md (fenced as ```` ```toml fuzz ````,
//! which the scenario-format example test leaves alone) are valid `[fuzz]`
//! tables, and `hil fuzz` picks schedules from them.

use std::path::{Path, PathBuf};

const HEAD: &str = "name = \"readme-fuzz\"\nduration = \"1m\"\n\n[workload]\nheartbeat = \"1s\"\n\n[[expect]]\noracle = \"never_stalls\"\nms = 1500\n\n";

#[test]
fn the_fuzz_examples_in_the_scenario_readme_are_valid() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/README.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match (&mut cur, line.trim_end()) {
            (None, "```toml fuzz") => cur = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            _ => {}
        }
    }
    assert!(
        !blocks.is_empty(),
        "no ```toml fuzz example in scenarios/README.md"
    );
    for b in blocks {
        // An example may set its own run length (a long soak).
        let src = match b.lines().find(|l| l.starts_with("duration = ")) {
            Some(d) => {
                let rest: String = b
                    .lines()
                    .filter(|l| *l != d)
                    .map(|l| format!("{l}\n"))
                    .collect();
                format!("{}{rest}", HEAD.replace("duration = \"1m\"", d))
            }
            None => format!("{HEAD}{b}"),
        };
        let l = hil::fuzz::parse_source(Path::new("README.md"), src)
            .unwrap_or_else(|e| panic!("README [fuzz] example does not parse:\n{b}\n{e}"));
        let spec = l.fuzz.expect("a [fuzz] table");
        for seed in 0..20 {
            let f = hil::fuzz::instantiate(&l.loaded, &spec, seed).unwrap();
            assert!(!f.picked.is_empty());
        }
    }
}
