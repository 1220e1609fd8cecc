//! Flood: acts once, when set. The broker sends every connected client of
//! the target a burst of QoS 2 PUBLISHes on `chaos/flood` at once,
//! ignoring the client's Receive Maximum: `count` of them, or (without a
//! count) one more than the client's Receive Maximum, so that an MQTT 5
//! client sees more unacknowledged QoS 2 publishes than it allowed and
//! must answer DISCONNECT 0x93 (receive maximum exceeded). QoS 2 because a
//! client acknowledges QoS 1 at once, while a QoS 2 publish stays
//! unacknowledged until PUBREL, which cannot arrive before the burst does.
//! The messages are part of the session like any other (kept and resent,
//! within the window, if the session is). To a 3.1.1 client (no Receive
//! Maximum) the burst is just a burst; without a count it is 21 messages.

use std::fmt;

use super::{no_more, parse_count, FaultParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flood {
    /// `None`: the client's Receive Maximum + 1.
    pub count: Option<u32>,
}

impl Flood {
    /// `flood [n]`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let Some((first, rest)) = args.split_first() else {
            return Ok(Flood { count: None });
        };
        let count = parse_count("flood", Some(first))?;
        no_more("flood", rest)?;
        Ok(Flood { count: Some(count) })
    }
}

impl fmt::Display for Flood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.count {
            Some(n) => write!(f, "flood {n}"),
            None => write!(f, "flood"),
        }
    }
}
