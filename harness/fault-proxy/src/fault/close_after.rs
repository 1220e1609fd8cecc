//! `close-after TYPE N`: a connection is closed (FIN both ways) right after
//! its Nth packet of TYPE in this direction has been forwarded.

use std::fmt;

use resilient_mqtt::codec::PacketType;

use super::Words;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseAfter {
    pub packet: PacketType,
    pub nth: u32,
}

impl CloseAfter {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        let packet = w.packet()?;
        let nth: u32 = w.number("a packet count")?;
        if nth == 0 {
            return Err("`close-after`: the count starts at 1".into());
        }
        Ok(CloseAfter { packet, nth })
    }
}

impl fmt::Display for CloseAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "close-after {} {}",
            self.packet.name().to_lowercase(),
            self.nth
        )
    }
}
