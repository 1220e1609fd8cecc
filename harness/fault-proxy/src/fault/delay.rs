//! `delay TYPE DELAY`: packets of TYPE are delivered DELAY later (TCP
//! order is kept, so what follows them waits too).

use std::fmt;

use resilient_mqtt::codec::PacketType;

use super::Words;
use crate::duration::fmt_ms;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delay {
    pub packet: PacketType,
    pub delay_ms: u64,
}

impl Delay {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        Ok(Delay {
            packet: w.packet()?,
            delay_ms: w.duration("a delay")?,
        })
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "delay {} {}",
            self.packet.name().to_lowercase(),
            fmt_ms(self.delay_ms)
        )
    }
}
