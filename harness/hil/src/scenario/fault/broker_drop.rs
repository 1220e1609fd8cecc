//! `broker_drop`: the broker silently drops the next `count` packets of one
//! type (`puback`, `pingresp`, `suback`, or for QoS 2 `pubrec`, `pubrel`,
//! `pubcomp`) that it would send to the DUT.

use super::{
    count_field, quoted, toml_lines, words, Action, Expansion, Fault, FaultSpec, Fields, Fuzz,
    Packet,
};
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

    // One PUBACK or PINGRESP lost.
    const FUZZ: Fuzz = Fuzz::Instant(|rng| {
        let packet = [Packet::Puback, Packet::Pingresp][rng.range(0, 1) as usize];
        vec![(
            Dur::ZERO,
            Fault::BrokerDrop(BrokerDrop { packet, count: 1 }),
        )]
    });

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

    fn toml(&self) -> String {
        toml_lines(&[
            ("packet", Some(quoted(self.packet))),
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
