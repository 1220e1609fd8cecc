//! `broker_drop`: the broker silently drops packets of one type (`puback`,
//! `pingresp`, `suback`, `publish`, or for QoS 2 `pubrec`, `pubrel`,
//! `pubcomp`) that it would send to the DUT: the next `count`, every one
//! for `for`, or the next `count` within `for` ([`Budget`]).

use super::{
    quoted, toml_lines, words, Action, Budget, Expansion, Fault, FaultSpec, Fields, Fuzz, Packet,
};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerDrop {
    pub packet: Packet,
    /// Default: the next one.
    pub budget: Budget,
}

impl FaultSpec for BrokerDrop {
    const KIND: &'static str = "broker_drop";
    const FIELDS: &'static [&'static str] = &["packet", "count", "for"];
    const SUMMARY: &'static str =
        "the broker drops the next `count` (default 1) `packet`s (publish|puback|pingresp|suback|pubrec|pubrel|pubcomp) to the DUT; with `for`, every one (or the next `count`) for that long";

    // One PUBACK or PINGRESP lost.
    const FUZZ: Fuzz = Fuzz::Instant(|rng| {
        let packet = [Packet::Puback, Packet::Pingresp][rng.range(0, 1) as usize];
        vec![(
            Dur::ZERO,
            Fault::BrokerDrop(BrokerDrop {
                packet,
                budget: Budget::next(1),
            }),
        )]
    });

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let packet: Packet = f.req("packet")?;
        let budget = Budget::parse(f)?;
        Ok(BrokerDrop { packet, budget })
    }

    fn detail(&self) -> String {
        let [count, r#for] = self.budget.parts(false);
        words(&[("packet", Some(self.packet.to_string())), count, r#for])
    }

    fn toml(&self) -> String {
        let [count, r#for] = self.budget.parts(true);
        toml_lines(&[("packet", Some(quoted(self.packet))), count, r#for])
    }

    fn expand(&self, x: &mut Expansion) {
        self.budget.expand(
            x,
            Action::BrokerDrop {
                packet: self.packet,
                count: self.budget.count,
            },
            Action::BrokerDropEnd(self.packet),
        );
    }
}
