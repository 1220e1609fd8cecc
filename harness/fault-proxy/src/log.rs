//! The proxy's log: one timestamped line per thing it did (connections,
//! rules added and removed, every packet it dropped, delayed, duplicated or
//! rewrote, every close and reset). Kept in memory (the last
//! [`KEEP`] lines) and optionally appended to a file.

use std::collections::VecDeque;
use std::io::Write;

use crate::duration::fmt_ms;

/// Lines kept in memory.
pub const KEEP: usize = 10_000;

/// The log.
#[derive(Debug, Default)]
pub struct Log {
    lines: VecDeque<String>,
    file: Option<std::fs::File>,
    /// Every line ever written (the in-memory copy keeps the last KEEP).
    pub total: u64,
}

impl Log {
    /// A log that also appends to `file`.
    pub fn with_file(file: std::fs::File) -> Log {
        Log {
            file: Some(file),
            ..Log::default()
        }
    }

    /// Writes `line` at proxy time `now`.
    pub fn write(&mut self, now: u64, line: &str) {
        let l = format!("{} {line}", fmt_ms(now));
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{l}");
        }
        if self.lines.len() == KEEP {
            self.lines.pop_front();
        }
        self.lines.push_back(l);
        self.total += 1;
    }

    /// The last `n` lines.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let skip = self.lines.len().saturating_sub(n);
        self.lines.iter().skip(skip).cloned().collect()
    }

    /// Lines written after the first `seen`, and the total.
    pub fn since(&self, seen: u64) -> (Vec<String>, u64) {
        let first_kept = self.total - self.lines.len() as u64;
        let skip = seen.saturating_sub(first_kept) as usize;
        (self.lines.iter().skip(skip).cloned().collect(), self.total)
    }
}
