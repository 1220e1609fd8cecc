//! Where a backend puts its trace records while it runs.
//!
//! A backend writes to a `&mut dyn` [`TraceSink`] and knows nothing else
//! about files. The harness gives it a [`RunSink`]: it checks that time never
//! goes backwards, removes secrets from every line, writes each line to
//! `trace.jsonl` and flushes it at once (so a killed run leaves a valid
//! file), and keeps the records for the oracles.

use std::io::{self, Write};

use super::Record;

/// Receives trace records in order.
pub trait TraceSink {
    /// Records one event. An error means the trace cannot be written: the
    /// backend should stop and return it as an infrastructure failure.
    fn emit(&mut self, record: Record) -> io::Result<()>;
}

/// Keeps records in memory (tests, and the harness's copy for oracles).
#[derive(Debug, Default, Clone)]
pub struct VecSink {
    pub records: Vec<Record>,
}

impl TraceSink for VecSink {
    fn emit(&mut self, record: Record) -> io::Result<()> {
        self.records.push(record);
        Ok(())
    }
}

/// Writes JSON Lines to `W`, flushing after every line.
pub struct JsonlWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(out: W) -> Self {
        JsonlWriter { out }
    }

    /// Writes one already-serialized line and flushes.
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> TraceSink for JsonlWriter<W> {
    fn emit(&mut self, record: Record) -> io::Result<()> {
        self.write_line(&record.to_json_line())
    }
}

/// The harness's sink for one run: time check, secret redaction, a JSONL
/// file flushed per line, and an in-memory copy.
pub struct RunSink<W: Write> {
    writer: JsonlWriter<W>,
    secrets: Vec<String>,
    last_t_ms: u64,
    records: Vec<Record>,
}

/// What replaces a secret in a trace line.
pub const REDACTED: &str = "<redacted>";

impl<W: Write> RunSink<W> {
    /// A sink writing to `out` that removes every string in `secrets` (empty
    /// strings are ignored) from each line before it is written or kept.
    pub fn new(out: W, secrets: Vec<String>) -> Self {
        RunSink {
            writer: JsonlWriter::new(out),
            secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
            last_t_ms: 0,
            records: Vec::new(),
        }
    }

    /// The records so far (after redaction).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Ends the run, returning the kept records.
    pub fn into_records(self) -> Vec<Record> {
        self.records
    }
}

impl<W: Write> TraceSink for RunSink<W> {
    fn emit(&mut self, record: Record) -> io::Result<()> {
        if record.t_ms < self.last_t_ms {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "trace time went backwards: `{}` at {} ms after an event at {} ms",
                    record.event.name(),
                    record.t_ms,
                    self.last_t_ms
                ),
            ));
        }
        self.last_t_ms = record.t_ms;
        let mut line = record.to_json_line();
        let mut record = record;
        if self.secrets.iter().any(|s| line.contains(s.as_str())) {
            // Redact in the JSON text (string values stay valid JSON as long
            // as the secret is not itself escaped) and re-read the record.
            for s in &self.secrets {
                let escaped = serde_json::to_string(s).expect("a string serializes");
                let inner = &escaped[1..escaped.len() - 1];
                line = line.replace(inner, REDACTED);
            }
            record = serde_json::from_str(&line).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a trace line with a secret could not be redacted: {e}"),
                )
            })?;
        }
        self.writer.write_line(&line)?;
        self.records.push(record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Actor, Event};

    #[test]
    fn run_sink_writes_flushed_lines_and_keeps_records() {
        let mut sink = RunSink::new(Vec::new(), vec![]);
        sink.emit(Record::new(0, Actor::Dut, Event::WifiUp))
            .unwrap();
        sink.emit(Record::new(5, Actor::Dut, Event::Up)).unwrap();
        assert_eq!(sink.records().len(), 2);
        let text = String::from_utf8(sink.writer.into_inner()).unwrap();
        assert_eq!(
            text,
            "{\"t_ms\":0,\"actor\":\"dut\",\"event\":\"wifi_up\"}\n{\"t_ms\":5,\"actor\":\"dut\",\"event\":\"up\"}\n"
        );
    }

    #[test]
    fn run_sink_rejects_time_going_backwards() {
        let mut sink = RunSink::new(Vec::new(), vec![]);
        sink.emit(Record::new(10, Actor::Dut, Event::WifiUp))
            .unwrap();
        let e = sink
            .emit(Record::new(9, Actor::Dut, Event::Up))
            .unwrap_err();
        assert!(e.to_string().contains("went backwards"), "{e}");
    }

    #[test]
    fn run_sink_redacts_secrets() {
        let mut sink = RunSink::new(Vec::new(), vec!["hunter2".into(), String::new()]);
        sink.emit(Record::new(
            1,
            Actor::Dut,
            Event::ConnectFailed {
                reason: "bad password hunter2".into(),
            },
        ))
        .unwrap();
        let text = String::from_utf8(sink.writer.into_inner()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("bad password <redacted>"), "{text}");
        assert!(
            matches!(&sink.records[0].event, Event::ConnectFailed { reason } if reason == "bad password <redacted>")
        );
    }
}
