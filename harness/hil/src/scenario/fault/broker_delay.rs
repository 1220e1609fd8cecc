//! `broker_delay`: the broker sends the next `count` packets of one type
//! (e.g. `pubcomp`) to the DUT `delay` later than it would have; what it
//! sends after them on that connection waits behind them (TCP order), as
//! with the fault proxy's `delay`. A `pubcomp` delayed beyond the DUT's
//! `response_time` makes it resend PUBREL (P5).

use super::{
    count_field, positive, quoted, toml_lines, words, Action, Expansion, FaultSpec, Fields, Packet,
};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerDelay {
    pub packet: Packet,
    pub delay: Dur,
    /// Default 1.
    pub count: u32,
}

impl FaultSpec for BrokerDelay {
    const KIND: &'static str = "broker_delay";
    const FIELDS: &'static [&'static str] = &["packet", "delay", "count"];
    const SUMMARY: &'static str =
        "the broker sends the next `count` (default 1) `packet`s to the DUT `delay` late (TCP order kept)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let packet: Packet = f.req("packet")?;
        let delay: Dur = f.req("delay")?;
        let delay = positive(f, "delay", Some(delay))?.unwrap_or(delay);
        let count = count_field(f)?;
        Ok(BrokerDelay {
            packet,
            delay,
            count,
        })
    }

    fn detail(&self) -> String {
        words(&[
            ("packet", Some(self.packet.to_string())),
            ("delay", Some(self.delay.to_string())),
            ("count", Some(self.count.to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("packet", Some(quoted(self.packet))),
            ("delay", Some(quoted(self.delay))),
            ("count", Some(self.count.to_string())),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(
            Dur::ZERO,
            Action::BrokerDelay {
                packet: self.packet,
                delay: self.delay,
                count: self.count,
            },
        );
        x.ends_at(Dur::ZERO);
    }
}
