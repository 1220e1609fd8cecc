//! `hil shrink SCENARIO --seed N [-o OUT]`: minimises a failing scenario
//! while the same oracle keeps failing the same way (see
//! [`crate::field::shrink`]) and writes it next to the original as
//! `<stem>.min.toml`, with a header recording the seed, the failure, the
//! number of runs and what was removed. On any backend (`--backend`,
//! `--broker`, `--board` as for `hil run`); it runs the scenario up to
//! `--max-runs` times, one after another, so on a real-time backend each
//! run takes the scenario's duration (scaled by `live_time_scale`).
//!
//! Exit codes: 0 written; 1 the scenario does not fail with that seed;
//! 2 bad input; 3 the output cannot be written.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{Io, EXIT_FAILED, EXIT_INFRA, EXIT_OK, EXIT_USAGE};
use crate::backends::{BackendArgs, BackendFactory, BackendSpec};
use crate::field::failure::FailureSpec;
use crate::field::shrink::{self, DEFAULT_MAX_RUNS};
use crate::seeds;

#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// The failing scenario file.
    pub scenario: PathBuf,
    /// The seed it fails with (`hil reproduce` finds one).
    #[arg(long, value_parser = seeds::parse_seed)]
    pub seed: u64,
    /// The failure to keep, `ORACLE` or `ORACLE:KIND` (default: the
    /// scenario's `# field-failure:` line, else its first failing oracle).
    #[arg(long, value_parser = FailureSpec::parse)]
    pub failure: Option<FailureSpec>,
    /// Stop after this many runs.
    #[arg(long, default_value_t = DEFAULT_MAX_RUNS)]
    pub max_runs: usize,
    /// Where to write the minimal scenario (default: next to the original,
    /// `<stem>.min.toml`).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// `dir/stem.toml` -> `dir/stem.min.toml`.
pub fn default_out(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "scenario".into());
    path.with_file_name(format!("{stem}.min.toml"))
}

pub fn execute(args: &ShrinkArgs, io: &mut Io<'_>, backends: BackendFactory<'_>) -> i32 {
    let source = match std::fs::read_to_string(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(
                io.err,
                "error: {}: cannot read: {e}",
                args.scenario.display()
            );
            return EXIT_USAGE;
        }
    };
    if let Err(e) = crate::fuzz::parse_source(&args.scenario, source.clone()) {
        let _ = write!(io.err, "{e}");
        return EXIT_USAGE;
    }
    let spec = match args.backend.spec() {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return EXIT_USAGE;
        }
    };
    if spec != BackendSpec::Sim {
        let _ = writeln!(
            io.err,
            "note: shrinking on {spec}: up to {} runs, each in real time",
            args.max_runs
        );
    }
    let backend = match backends(&spec) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return EXIT_INFRA;
        }
    };
    let name = args.scenario.display().to_string();
    let shrunk = match shrink::shrink(
        &source,
        &name,
        args.seed,
        args.failure.clone(),
        backend.as_ref(),
        args.max_runs,
    ) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return EXIT_FAILED;
        }
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario));
    if let Err(e) = std::fs::write(&out, &shrunk.text) {
        let _ = writeln!(io.err, "error: cannot write {}: {e}", out.display());
        return EXIT_INFRA;
    }
    let secs = shrunk.elapsed.as_secs_f64();
    let _ = writeln!(
        io.out,
        "shrunk in {} runs ({secs:.1} s, {:.1} runs/s){}",
        shrunk.runs,
        shrunk.runs as f64 / secs.max(1e-9),
        if shrunk.budget_exhausted {
            "; run budget used up, may not be minimal"
        } else {
            ""
        }
    );
    let _ = writeln!(
        io.out,
        "still fails: {}",
        shrunk.message.lines().next().unwrap_or("")
    );
    let _ = writeln!(
        io.out,
        "timeline entries: {}; trace records {} -> {}",
        shrunk.scenario.timeline.len(),
        shrunk.records_before,
        shrunk.records_after
    );
    for r in &shrunk.removed {
        let _ = writeln!(io.out, "  removed: {r}");
    }
    let _ = writeln!(io.out, "wrote {}", out.display());
    let _ = writeln!(
        io.out,
        "replay: hil run {} --seed {}{}",
        out.display(),
        args.seed,
        args.backend.to_args()
    );
    EXIT_OK
}
