//! Fault kinds: one file per kind, gathered into the [`Fault`] enum.
//!
//! Byte-level kinds shape the bytes of one direction (`latency`,
//! `bandwidth`, `blackhole`, `hold`, `slicer`, `limit-data`, `slow-close`;
//! `blackhole` and `hold` hold bytes, they never drop them)
//! or act on whole connections (`reset-peer`, `refuse`). MQTT-aware kinds
//! act on whole packets, found by following the MQTT framing
//! ([`crate::pipe`]): `drop`, `delay`, `duplicate`, `connack-code`,
//! `close-after`.
//!
//! Written form (command line `--fault`, control port `add`):
//!
//! ```text
//! [up|down|both] KIND ARGS... [after DURATION] [for DURATION]
//! ```
//!
//! `up` is device -> broker, `down` broker -> device. Each kind has a
//! default direction (packet faults default to `down`, the packets a broker
//! sends to the device).

mod bandwidth;
mod blackhole;
mod close_after;
mod connack_code;
mod delay;
mod drop;
mod duplicate;
mod hold;
mod latency;
mod limit_data;
mod refuse;
mod reset_peer;
mod slicer;
mod slow_close;

pub use bandwidth::Bandwidth;
pub use blackhole::Blackhole;
pub use close_after::CloseAfter;
pub use connack_code::ConnackCode;
pub use delay::Delay;
pub use drop::Drop;
pub use duplicate::{Duplicate, MAX_DUPLICATED};
pub use hold::Hold;
pub use latency::Latency;
pub use limit_data::LimitData;
pub use refuse::Refuse;
pub use reset_peer::ResetPeer;
pub use slicer::Slicer;
pub use slow_close::SlowClose;

use std::fmt;

use resilient_mqtt::codec::PacketType;

use crate::duration::parse_ms;

/// A direction through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dir {
    /// Device -> broker.
    Up,
    /// Broker -> device.
    Down,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Up => "up",
            Dir::Down => "down",
        }
    }
}

/// Which directions a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dirs {
    Up,
    Down,
    Both,
}

impl Dirs {
    pub fn has(self, d: Dir) -> bool {
        matches!(
            (self, d),
            (Dirs::Both, _) | (Dirs::Up, Dir::Up) | (Dirs::Down, Dir::Down)
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dirs::Up => "up",
            Dirs::Down => "down",
            Dirs::Both => "both",
        }
    }
}

/// The words of one fault, consumed left to right.
pub struct Words<'a> {
    words: std::iter::Peekable<std::slice::Iter<'a, &'a str>>,
    kind: &'static str,
}

impl<'a> Words<'a> {
    fn next(&mut self, what: &str) -> Result<&'a str, String> {
        self.words
            .next()
            .copied()
            .ok_or_else(|| format!("`{}` needs {what}; usage: {}", self.kind, usage(self.kind)))
    }

    /// A required duration.
    pub fn duration(&mut self, what: &str) -> Result<u64, String> {
        parse_ms(self.next(what)?)
    }

    /// A required number.
    pub fn number<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, String> {
        let w = self.next(what)?;
        w.parse()
            .map_err(|_| format!("`{}`: `{w}` is not {what}", self.kind))
    }

    /// A required packet type.
    pub fn packet(&mut self) -> Result<PacketType, String> {
        let w = self.next("a packet type")?;
        parse_packet(w)
    }

    /// An optional `NAME VALUE` pair (e.g. `jitter 50ms`).
    pub fn option(&mut self, name: &str) -> Option<()> {
        if self.words.peek().is_some_and(|w| **w == name) {
            self.words.next();
            Some(())
        } else {
            None
        }
    }

    /// An optional bare number.
    pub fn maybe_number<T: std::str::FromStr>(&mut self) -> Option<T> {
        let v = self.words.peek().and_then(|w| w.parse().ok())?;
        self.words.next();
        Some(v)
    }
}

/// Parses a packet type name (`puback`, `PINGRESP`...).
pub fn parse_packet(w: &str) -> Result<PacketType, String> {
    (1..=14)
        .filter_map(PacketType::from_nibble)
        .find(|t| t.name().eq_ignore_ascii_case(w))
        .ok_or_else(|| {
            format!("`{w}` is not an MQTT packet type (connack, publish, puback, suback, pingresp, ...)")
        })
}

/// What each kind looks like, for `help` and errors.
pub const KINDS: &[(&str, &str)] = &[
    (
        "latency",
        "latency DELAY [jitter DELAY]          add delay (+ uniform jitter from the seed)",
    ),
    (
        "bandwidth",
        "bandwidth BYTES_PER_S                 limit throughput",
    ),
    (
        "blackhole",
        "blackhole [reset]                     hold every byte and FIN, deliver them in order when it ends (reset: reset the held connections instead)",
    ),
    (
        "hold",
        "hold                                  hold bytes, deliver them in order when it ends",
    ),
    (
        "reset-peer",
        "reset-peer                            reset (RST) every connection while active",
    ),
    (
        "slow-close",
        "slow-close DELAY                      pass a close (FIN) on only after DELAY",
    ),
    (
        "slicer",
        "slicer BYTES DELAY                    forward in writes of BYTES, DELAY apart",
    ),
    (
        "limit-data",
        "limit-data BYTES                      close a connection after BYTES in this direction",
    ),
    (
        "refuse",
        "refuse                                close new connections at once",
    ),
    (
        "drop",
        "drop TYPE [N]                         drop the next N packets of TYPE (default 1)",
    ),
    (
        "delay",
        "delay TYPE DELAY                      delay packets of TYPE",
    ),
    (
        "duplicate",
        "duplicate TYPE [N]                    send the next N packets of TYPE twice",
    ),
    (
        "connack-code",
        "connack-code CODE                     rewrite CONNACK return codes to CODE (1-5)",
    ),
    (
        "close-after",
        "close-after TYPE N                    close the connection after its Nth packet of TYPE",
    ),
];

fn usage(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, u)| *u)
        .unwrap_or("")
}

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Latency(Latency),
    Bandwidth(Bandwidth),
    Blackhole(Blackhole),
    Hold(Hold),
    ResetPeer(ResetPeer),
    SlowClose(SlowClose),
    Slicer(Slicer),
    LimitData(LimitData),
    Refuse(Refuse),
    Drop(Drop),
    Delay(Delay),
    Duplicate(Duplicate),
    ConnackCode(ConnackCode),
    CloseAfter(CloseAfter),
}

impl Fault {
    /// Parses `KIND ARGS...` (the words after the direction, before
    /// `after` / `for`).
    pub fn parse(kind: &str, args: &[&str]) -> Result<Fault, String> {
        let known = KINDS.iter().find(|(k, _)| *k == kind).map(|(k, _)| *k);
        let Some(kind) = known else {
            let names: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "unknown fault `{kind}`; known: {}",
                names.join(", ")
            ));
        };
        let mut w = Words {
            words: args.iter().peekable(),
            kind,
        };
        let f = match kind {
            "latency" => Fault::Latency(Latency::parse(&mut w)?),
            "bandwidth" => Fault::Bandwidth(Bandwidth::parse(&mut w)?),
            "blackhole" => Fault::Blackhole(Blackhole::parse(&mut w)?),
            "hold" => Fault::Hold(Hold),
            "reset-peer" => Fault::ResetPeer(ResetPeer),
            "slow-close" => Fault::SlowClose(SlowClose::parse(&mut w)?),
            "slicer" => Fault::Slicer(Slicer::parse(&mut w)?),
            "limit-data" => Fault::LimitData(LimitData::parse(&mut w)?),
            "refuse" => Fault::Refuse(Refuse),
            "drop" => Fault::Drop(Drop::parse(&mut w)?),
            "delay" => Fault::Delay(Delay::parse(&mut w)?),
            "duplicate" => Fault::Duplicate(Duplicate::parse(&mut w)?),
            "connack-code" => Fault::ConnackCode(ConnackCode::parse(&mut w)?),
            _ => Fault::CloseAfter(CloseAfter::parse(&mut w)?),
        };
        if let Some(extra) = w.words.next() {
            return Err(format!(
                "`{kind}`: unexpected `{extra}`; usage: {}",
                usage(kind)
            ));
        }
        Ok(f)
    }

    /// The direction a rule takes when none is written.
    pub fn default_dirs(&self) -> Dirs {
        match self {
            Fault::Drop(_)
            | Fault::Delay(_)
            | Fault::Duplicate(_)
            | Fault::ConnackCode(_)
            | Fault::CloseAfter(_) => Dirs::Down,
            _ => Dirs::Both,
        }
    }

    /// A counter the fault consumes (`drop N`, `duplicate N`), if any.
    pub fn budget(&self) -> Option<u32> {
        match self {
            Fault::Drop(d) => Some(d.count),
            Fault::Duplicate(d) => Some(d.count),
            _ => None,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Latency(x) => x.fmt(f),
            Fault::Bandwidth(x) => x.fmt(f),
            Fault::Blackhole(x) => x.fmt(f),
            Fault::Hold(_) => f.write_str("hold"),
            Fault::ResetPeer(_) => f.write_str("reset-peer"),
            Fault::SlowClose(x) => x.fmt(f),
            Fault::Slicer(x) => x.fmt(f),
            Fault::LimitData(x) => x.fmt(f),
            Fault::Refuse(_) => f.write_str("refuse"),
            Fault::Drop(x) => x.fmt(f),
            Fault::Delay(x) => x.fmt(f),
            Fault::Duplicate(x) => x.fmt(f),
            Fault::ConnackCode(x) => x.fmt(f),
            Fault::CloseAfter(x) => x.fmt(f),
        }
    }
}
