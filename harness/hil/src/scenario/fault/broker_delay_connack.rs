//! `broker_delay_connack`: a slow or overloaded broker. It holds each
//! CONNECT of the DUT for `delay` before answering it (everything the DUT
//! sends after its CONNECT waits behind it; the chaos broker's
//! `delay-connack`). For `for`, or until the end of the run. A delay past
//! the DUT's `response_time` makes every attempt time out.

use super::{positive, quoted, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerDelayConnack {
    pub delay: Dur,
    /// None: until the end of the run.
    pub r#for: Option<Dur>,
}

impl FaultSpec for BrokerDelayConnack {
    const KIND: &'static str = "broker_delay_connack";
    const FIELDS: &'static [&'static str] = &["delay", "for"];
    const SUMMARY: &'static str =
        "the broker answers each DUT CONNECT `delay` late; optional `for`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let delay: Dur = f.req("delay")?;
        let delay = positive(f, "delay", Some(delay))?.unwrap_or(delay);
        let d = f.opt("for")?;
        Ok(BrokerDelayConnack {
            delay,
            r#for: positive(f, "for", d)?,
        })
    }

    fn detail(&self) -> String {
        words(&[
            ("delay", Some(self.delay.to_string())),
            ("for", self.r#for.map(|d| d.to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("delay", Some(quoted(self.delay))),
            ("for", self.r#for.map(quoted)),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::BrokerDelayConnack { delay: self.delay });
        if let Some(d) = self.r#for {
            x.act(d, Action::BrokerDelayConnackEnd);
            x.ends_at(d);
        }
    }
}
