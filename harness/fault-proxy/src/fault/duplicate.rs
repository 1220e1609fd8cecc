//! `duplicate TYPE [N]`: the next N packets of TYPE (default 1) are sent
//! twice, back to back (packets over 64 KiB are not duplicated).

use std::fmt;

use resilient_mqtt::codec::PacketType;

use super::Words;

/// Larger packets are forwarded once (the proxy would have to buffer them).
pub const MAX_DUPLICATED: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub packet: PacketType,
    pub count: u32,
}

impl Duplicate {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        let packet = w.packet()?;
        let count = w.maybe_number().unwrap_or(1);
        Ok(Duplicate { packet, count })
    }
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "duplicate {} {}",
            self.packet.name().to_lowercase(),
            self.count
        )
    }
}
