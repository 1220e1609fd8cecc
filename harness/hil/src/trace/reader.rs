//! Reads a trace file back. A run that was killed may have left a last line
//! cut off in the middle: that line is dropped and reported as
//! [`Loaded::truncated`]; any other bad line is an error naming its line.

use std::path::Path;

use super::Record;

/// A trace read from JSON Lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub records: Vec<Record>,
    /// True when the last line was incomplete (a killed run) and was dropped.
    pub truncated: bool,
}

/// A line that is not a trace record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "trace line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ReadError {}

/// Parses JSON Lines text. Blank lines are skipped. A bad last line that does
/// not end with a newline is taken as cut off by a killed run.
pub fn parse(text: &str) -> Result<Loaded, ReadError> {
    let mut records = Vec::new();
    let ends_with_newline = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut truncated = false;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => records.push(r),
            Err(e) => {
                let last = i + 1 == lines.len();
                if last && !ends_with_newline {
                    truncated = true;
                } else {
                    return Err(ReadError {
                        line: i + 1,
                        message: e.to_string(),
                    });
                }
            }
        }
    }
    Ok(Loaded { records, truncated })
}

/// Reads and parses a trace file.
pub fn read(path: &Path) -> Result<Loaded, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|e| ReadError {
        line: 0,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Actor, Event};
    use proptest::prelude::*;

    const TWO: &str = "{\"t_ms\":0,\"actor\":\"dut\",\"event\":\"wifi_up\"}\n{\"t_ms\":5,\"actor\":\"dut\",\"event\":\"up\"}\n";

    #[test]
    fn reads_complete_traces() {
        let l = parse(TWO).unwrap();
        assert!(!l.truncated);
        assert_eq!(l.records[1], Record::new(5, Actor::Dut, Event::Up));
    }

    #[test]
    fn tolerates_a_cut_off_last_line() {
        let cut = format!("{TWO}{{\"t_ms\":7,\"actor\":\"du");
        let l = parse(&cut).unwrap();
        assert!(l.truncated);
        assert_eq!(l.records.len(), 2);
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error_with_its_line() {
        let bad = format!("{{\"t_ms\":0,\"actor\":\"dut\",\"event\":\"nope\"}}\n{TWO}");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("unknown variant"), "{e}");
    }

    proptest! {
        #[test]
        fn any_prefix_of_a_valid_trace_reads(cut in 0usize..TWO.len()) {
            let l = parse(&TWO[..cut]).unwrap();
            prop_assert!(l.records.len() <= 2);
        }

        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }
    }
}
