//! Input readers: one file per format, each turning a file's bytes into
//! [`Evidence`](super::evidence::Evidence) observations. [`read`] picks the
//! reader from the content (pcap / pcapng magic numbers, JSON lines with or
//! without the board agent's `@hil ` prefix, mosquitto's timestamped log
//! lines), so the file name does not matter.
//!
//! A file no reader can read is an [`InputError`] naming the file and the
//! first offending line or packet; lines or packets a reader does not
//! understand inside a readable file are counted
//! ([`InputSummary::unknown`](super::evidence::InputSummary)), never fatal.

pub mod mosquitto;
pub mod mqtt;
pub mod pcap;
pub mod trace;

use std::fmt;

use super::evidence::{Event, InputSummary, Loc};

/// A file that cannot be read as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    /// The first offending line or packet, when there is one.
    pub loc: Option<Loc>,
    pub message: String,
}

impl InputError {
    pub fn new(file: &str, loc: Option<Loc>, message: impl Into<String>) -> InputError {
        InputError {
            file: file.to_string(),
            loc,
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.loc {
            Some(Loc::Line(n)) => write!(f, "{}:{n}: {}", self.file, self.message),
            Some(Loc::Packet(n)) => write!(f, "{}: packet {n}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// What a reader returns.
pub type ReadResult = Result<(InputSummary, Vec<Event>), InputError>;

/// The formats [`read`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
    Trace,
    Mosquitto,
}

/// Recognises a file's format from its first bytes / first non-blank line.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.len() >= 4 {
        let m = [bytes[0], bytes[1], bytes[2], bytes[3]];
        match m {
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d] => return Some(Format::Pcap),
            [0x0a, 0x0d, 0x0d, 0x0a] => return Some(Format::PcapNg),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        if l.starts_with('{') || l.contains(trace::AGENT_PREFIX) {
            return Some(Format::Trace);
        }
        if mosquitto::timestamp(l).is_some() {
            return Some(Format::Mosquitto);
        }
        // Console noise before the first agent line is allowed: keep looking
        // a little.
    }
    None
}

/// Reads one evidence file (`name` is how errors and comments name it).
pub fn read(name: &str, bytes: &[u8]) -> ReadResult {
    match detect(bytes) {
        Some(Format::Pcap) | Some(Format::PcapNg) => pcap::read(name, bytes),
        Some(Format::Trace) => trace::read(name, bytes),
        Some(Format::Mosquitto) => mosquitto::read(name, bytes),
        None => {
            let first = String::from_utf8_lossy(bytes)
                .lines()
                .position(|l| !l.trim().is_empty())
                .map(|i| Loc::Line(i + 1));
            Err(InputError::new(
                name,
                first,
                "not a format `hil import` reads: expected a pcap or pcapng capture, a JSON Lines trace \
                 (lines starting with `{` or the agent prefix `@hil `), or a mosquitto log \
                 (lines starting with a Unix time `1700000000: ` or `2026-01-31T12:00:00: `)",
            ))
        }
    }
}
