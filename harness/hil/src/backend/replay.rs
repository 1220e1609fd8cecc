//! A backend that replays a recorded trace instead of running anything:
//! it emits the recorded world events (everything except the harness's own
//! `run_start` / `run_end`) and ends at the recorded end. With it the whole
//! pipeline after a backend (run directory, redaction, oracles, transcript,
//! verdicts, exit codes, replay commands) runs for real on a known trace;
//! it is also how a trace recorded elsewhere can be judged again.

use std::path::{Path, PathBuf};

use super::{Backend, BackendError, RunOutcome};
use crate::scenario::Scenario;
use crate::trace::sink::TraceSink;
use crate::trace::{reader, Event, Record};

/// Replays the records of one trace for every scenario and seed.
pub struct ReplayBackend {
    records: Vec<Record>,
    source: PathBuf,
}

impl ReplayBackend {
    /// Reads the trace at `path` (a cut-off last line is tolerated).
    pub fn from_file(path: &Path) -> Result<ReplayBackend, BackendError> {
        let loaded = reader::read(path).map_err(|e| BackendError::Infrastructure(e.to_string()))?;
        Ok(ReplayBackend {
            records: loaded.records,
            source: path.to_path_buf(),
        })
    }

    /// Replays `records`.
    pub fn from_records(records: Vec<Record>) -> ReplayBackend {
        ReplayBackend {
            records,
            source: PathBuf::from("<memory>"),
        }
    }

    /// Where the trace came from.
    pub fn source(&self) -> &Path {
        &self.source
    }
}

impl Backend for ReplayBackend {
    fn name(&self) -> &str {
        "replay"
    }

    fn run(
        &self,
        _scenario: &Scenario,
        _seed: u64,
        sink: &mut dyn TraceSink,
    ) -> Result<RunOutcome, BackendError> {
        let mut end = 0;
        for r in &self.records {
            match r.event {
                Event::RunStart { .. } => continue,
                Event::RunEnd => {
                    end = end.max(r.t_ms);
                    continue;
                }
                _ => {}
            }
            end = end.max(r.t_ms);
            sink.emit(r.clone())?;
        }
        Ok(RunOutcome::at(end))
    }
}
