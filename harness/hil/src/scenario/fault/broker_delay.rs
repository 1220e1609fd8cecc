//! `broker_delay`: the broker sends the next `count` packets of one type
//! (e.g. `pubcomp`) to the DUT `delay` later than it would have (or, with
//! `for`, every one, or the next `count`, for that long: [`Budget`]); what it
//! sends after them on that connection waits behind them (TCP order), as
//! with the fault proxy's `delay`. A `pubcomp` delayed beyond the DUT's
//! `response_time` makes it resend PUBREL (P5).

use super::{
    positive, quoted, toml_lines, words, Action, Budget, Expansion, FaultSpec, Fields, Packet,
};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerDelay {
    pub packet: Packet,
    pub delay: Dur,
    /// Default: the next one.
    pub budget: Budget,
}

impl FaultSpec for BrokerDelay {
    const KIND: &'static str = "broker_delay";
    const FIELDS: &'static [&'static str] = &["packet", "delay", "count", "for"];
    const SUMMARY: &'static str =
        "the broker sends the next `count` (default 1) `packet`s to the DUT `delay` late (TCP order kept); with `for`, every one (or the next `count`) for that long";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let packet: Packet = f.req("packet")?;
        let delay: Dur = f.req("delay")?;
        let delay = positive(f, "delay", Some(delay))?.unwrap_or(delay);
        let budget = Budget::parse(f)?;
        Ok(BrokerDelay {
            packet,
            delay,
            budget,
        })
    }

    fn detail(&self) -> String {
        let [count, r#for] = self.budget.parts(false);
        words(&[
            ("packet", Some(self.packet.to_string())),
            ("delay", Some(self.delay.to_string())),
            count,
            r#for,
        ])
    }

    fn toml(&self) -> String {
        let [count, r#for] = self.budget.parts(true);
        toml_lines(&[
            ("packet", Some(quoted(self.packet))),
            ("delay", Some(quoted(self.delay))),
            count,
            r#for,
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        self.budget.expand(
            x,
            Action::BrokerDelay {
                packet: self.packet,
                delay: self.delay,
                count: self.budget.count,
            },
            Action::BrokerDelayEnd(self.packet),
        );
    }
}
