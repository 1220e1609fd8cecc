//! `broker_close_after`: the broker closes the DUT's connection right after
//! sending it each of the next `count` packets of one type (the packet is
//! still delivered). With `packet = "pubrec"` the link breaks at the worst
//! moment of a QoS 2 publish: the broker holds the message, the DUT has its
//! PUBREC, and its PUBREL cannot arrive on this connection (P5).

use super::{count_field, quoted, toml_lines, words, Action, Expansion, FaultSpec, Fields, Packet};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerCloseAfter {
    pub packet: Packet,
    /// Default 1.
    pub count: u32,
}

impl FaultSpec for BrokerCloseAfter {
    const KIND: &'static str = "broker_close_after";
    const FIELDS: &'static [&'static str] = &["packet", "count"];
    const SUMMARY: &'static str =
        "the broker closes the DUT's connection right after sending it each of the next `count` (default 1) `packet`s";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let packet: Packet = f.req("packet")?;
        let count = count_field(f)?;
        Ok(BrokerCloseAfter { packet, count })
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
            Action::BrokerCloseAfter {
                packet: self.packet,
                count: self.count,
            },
        );
        x.ends_at(Dur::ZERO);
    }
}
