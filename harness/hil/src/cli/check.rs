//! `hil check PATHS...`: reads and checks scenario files (directories are
//! searched recursively) without running them. Errors and warnings go to
//! stderr with file, line and column; exit 1 if any file is invalid or two
//! scenarios share a name (their run directories would collide).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::{Io, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::discover;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn execute(args: &CheckArgs, io: &mut Io<'_>) -> i32 {
    let files = match discover::scenario_files(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return EXIT_USAGE;
        }
    };
    let mut invalid = 0;
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for f in &files {
        match crate::fuzz::load(f).map(|l| l.loaded) {
            Ok(l) => {
                let _ = write!(io.err, "{}", l.render_warnings());
                if let Some(other) = names.get(&l.scenario.name) {
                    invalid += 1;
                    let _ = writeln!(
                        io.err,
                        "error: scenario name `{}` is also used by {}\n  --> {}\n",
                        l.scenario.name,
                        other.display(),
                        f.display()
                    );
                } else {
                    names.insert(l.scenario.name.clone(), f.clone());
                }
            }
            Err(e) => {
                invalid += 1;
                let _ = write!(io.err, "{e}");
            }
        }
    }
    let _ = writeln!(
        io.out,
        "checked {} scenario file(s): {} valid, {invalid} invalid",
        files.len(),
        files.len() - invalid
    );
    if invalid > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}
