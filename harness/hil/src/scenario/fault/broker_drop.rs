//! `broker_drop`: the broker silently drops the next `count` packets of one
//! type (`puback`, `pingresp`, `suback`, or for QoS 2 `pubrec`, `pubrel`,
//! `pubcomp`) that it would send to the DUT.

use super::{count_field, words, Action, Expansion, FaultSpec, Fields, Packet};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerDrop {
    pub packet: Packet,
    /// Default 1.
    pub count: u32,
}

impl FaultSpec for BrokerDrop {
    const KIND: &'static str = "broker_drop";
    const FIELDS: &'static [&'static str] = &["packet", "count"];
    const SUMMARY: &'static str =
        "the broker drops the next `count` (default 1) `packet`s (publish|puback|pingresp|suback|pubrec|pubrel|pubcomp) to the DUT";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let packet: Packet = f.req("packet")?;
        let count = count_field(f)?;
        Ok(BrokerDrop { packet, count })
    }

    fn detail(&self) -> String {
        words(&[
            ("packet", Some(self.packet.to_string())),
            ("count", Some(self.count.to_string())),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(
            Dur::ZERO,
            Action::BrokerDrop {
                packet: self.packet,
                count: self.count,
            },
        );
        x.ends_at(Dur::ZERO);
    }
}
