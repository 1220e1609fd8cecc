//! `hil list [PATHS...]`: a table of scenarios (default: `scenarios/`) with
//! name, tags, duration and fault kinds. Invalid files are reported on
//! stderr (exit 2) after the table of the valid ones.

use std::path::PathBuf;

use clap::Args;

use super::{Io, EXIT_OK, EXIT_USAGE};
use crate::discover;
use crate::scenario::Scenario;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Scenario files or directories (default: scenarios).
    pub paths: Vec<PathBuf>,
}

/// The table for `scenarios` (no trailing spaces).
pub fn table(scenarios: &[Scenario]) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "NAME".into(),
        "DURATION".into(),
        "TAGS".into(),
        "FAULTS".into(),
    ]];
    for s in scenarios {
        let mut kinds: Vec<&str> = Vec::new();
        for e in &s.timeline {
            if !kinds.contains(&e.fault.kind()) {
                kinds.push(e.fault.kind());
            }
        }
        let or_dash = |v: String| if v.is_empty() { "-".to_string() } else { v };
        rows.push([
            s.name.clone(),
            s.duration.to_string(),
            or_dash(s.tags.join(",")),
            or_dash(kinds.join(",")),
        ]);
    }
    let mut widths = [0usize; 4];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn execute(args: &ListArgs, io: &mut Io<'_>) -> i32 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let files = match discover::scenario_files(&paths) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return EXIT_USAGE;
        }
    };
    let mut valid = Vec::new();
    let mut errors = String::new();
    for f in &files {
        match crate::fuzz::load(f).map(|l| l.loaded) {
            Ok(l) => valid.push(l.scenario),
            Err(e) => errors.push_str(&e.to_string()),
        }
    }
    let _ = write!(io.out, "{}", table(&valid));
    if errors.is_empty() {
        EXIT_OK
    } else {
        let _ = write!(io.err, "{errors}");
        EXIT_USAGE
    }
}
