//! What firmware calls to speak the protocol: [`Agent`] writes `hello`,
//! trace events, `heap` and `pong` lines through any `embedded_io::Write`
//! (a UART, an RTT up channel, a PTY), with no allocation.
//!
//! ```
//! use hil_agent::agent::{Agent, Field, Hello};
//! let mut out: Vec<u8> = Vec::new();
//! let mut agent = Agent::new(&mut out);
//! agent.hello(0, &Hello { firmware: "fw 1.2", driver: "resilient-mqtt", driver_version: "0.1.0", board: "esp32c3", heap: Some(180_000) }).unwrap();
//! agent.event(1200, "dut", "connected", &[("session_present", Field::Bool(false)), ("keepalive_s", Field::U64(60))]).unwrap();
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.lines().nth(1).unwrap().starts_with(r#"@hil {"ms":1200,"actor":"dut","event":"connected","session_present":false"#));
//! ```

use core::fmt::{self, Write as _};

use crate::frame::LineWriter;
use crate::PROTOCOL_VERSION;

/// A field value of an event line.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Str(&'a str),
    U64(u64),
    Bool(bool),
    /// Absent (not written): e.g. the `pid` of a QoS 0 publish.
    None,
}

/// What a board says when it (re)starts.
#[derive(Debug, Clone, Copy)]
pub struct Hello<'a> {
    /// Firmware name and version.
    pub firmware: &'a str,
    /// The MQTT driver (`resilient-mqtt`, `mqtt_as`).
    pub driver: &'a str,
    pub driver_version: &'a str,
    /// The board (`esp32c3-devkit`, `pico-w`).
    pub board: &'a str,
    /// Free heap in bytes, when the board knows it.
    pub heap: Option<u64>,
}

/// Writes a JSON string literal (quotes and escapes).
pub fn json_str(out: &mut dyn fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

/// The board side of the protocol over one writer.
pub struct Agent<W: embedded_io::Write> {
    out: W,
}

/// A write failed: the writer's error, or formatting stopped.
#[derive(Debug)]
pub enum WriteError<E> {
    Io(E),
    Fmt,
}

impl<E> From<E> for WriteError<E> {
    fn from(e: E) -> Self {
        WriteError::Io(e)
    }
}

impl<W: embedded_io::Write> Agent<W> {
    pub fn new(out: W) -> Self {
        Agent { out }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// One line: `{"ms":..,"actor":..,"event":..,<fields>}`.
    pub fn event(
        &mut self,
        ms: u64,
        actor: &str,
        event: &str,
        fields: &[(&str, Field<'_>)],
    ) -> Result<(), WriteError<W::Error>> {
        let mut w = LineWriter::begin(&mut self.out)?;
        let r = (|| -> fmt::Result {
            write!(w, "{{\"ms\":{ms},\"actor\":")?;
            json_str(&mut w, actor)?;
            w.write_str(",\"event\":")?;
            json_str(&mut w, event)?;
            for (k, v) in fields {
                match v {
                    Field::None => continue,
                    Field::Str(s) => {
                        w.write_char(',')?;
                        json_str(&mut w, k)?;
                        w.write_char(':')?;
                        json_str(&mut w, s)?;
                    }
                    Field::U64(n) => {
                        w.write_char(',')?;
                        json_str(&mut w, k)?;
                        write!(w, ":{n}")?;
                    }
                    Field::Bool(b) => {
                        w.write_char(',')?;
                        json_str(&mut w, k)?;
                        write!(w, ":{b}")?;
                    }
                }
            }
            w.write_char('}')
        })();
        if r.is_err() {
            // The writer's own error if it had one, else a formatting stop.
            return match w.finish() {
                Err(e) => Err(WriteError::Io(e)),
                Ok(()) => Err(WriteError::Fmt),
            };
        }
        w.finish()?;
        Ok(())
    }

    /// `hello`: first line after every boot.
    pub fn hello(&mut self, ms: u64, h: &Hello<'_>) -> Result<(), WriteError<W::Error>> {
        let heap = h.heap.map_or(Field::None, Field::U64);
        self.event(
            ms,
            "agent",
            "hello",
            &[
                ("proto", Field::Str(PROTOCOL_VERSION)),
                ("firmware", Field::Str(h.firmware)),
                ("driver", Field::Str(h.driver)),
                ("driver_version", Field::Str(h.driver_version)),
                ("board", Field::Str(h.board)),
                ("heap", heap),
            ],
        )
    }

    /// `pong`: the answer to `ping {id}`, stamped when it is written.
    pub fn pong(&mut self, ms: u64, id: u64) -> Result<(), WriteError<W::Error>> {
        self.event(ms, "agent", "pong", &[("id", Field::U64(id))])
    }

    /// `heap`: free heap bytes.
    pub fn heap(&mut self, ms: u64, free: u64) -> Result<(), WriteError<W::Error>> {
        self.event(ms, "agent", "heap", &[("free", Field::U64(free))])
    }

    /// `error`: a command the board could not carry out.
    pub fn error(&mut self, ms: u64, message: &str) -> Result<(), WriteError<W::Error>> {
        self.event(ms, "agent", "error", &[("message", Field::Str(message))])
    }
}
