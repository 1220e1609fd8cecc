//! `drop TYPE [N]`: the next N packets of TYPE (default 1) in the
//! direction vanish whole; the count is shared by all connections.

use std::fmt;

use resilient_mqtt::codec::PacketType;

use super::Words;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drop {
    pub packet: PacketType,
    pub count: u32,
}

impl Drop {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        let packet = w.packet()?;
        let count = w.maybe_number().unwrap_or(1);
        Ok(Drop { packet, count })
    }
}

impl fmt::Display for Drop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "drop {} {}",
            self.packet.name().to_lowercase(),
            self.count
        )
    }
}
