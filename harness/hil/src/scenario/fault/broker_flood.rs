//! `broker_flood`: a receive-maximum violation, once. The broker sends the
//! DUT a burst of QoS 2 PUBLISHes on `chaos/flood` without waiting for
//! acknowledgements: `count` of them, or by default one more than the
//! Receive Maximum the DUT advertised. An MQTT 5 DUT must answer
//! DISCONNECT 0x93 (receive maximum exceeded) and reconnect. QoS 2
//! because a QoS 1 publish is acknowledged at once; a QoS 2 one stays
//! unacknowledged until PUBREL. A 3.1.1 DUT just gets a burst.

use super::{toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerFlood {
    /// `None`: the DUT's Receive Maximum + 1.
    pub count: Option<u32>,
}

impl FaultSpec for BrokerFlood {
    const KIND: &'static str = "broker_flood";
    const FIELDS: &'static [&'static str] = &["count"];
    const SUMMARY: &'static str =
        "the broker sends the DUT `count` QoS 2 publishes at once (default: its Receive Maximum + 1), once";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let count: Option<i64> = f.opt("count")?;
        match count {
            None => Ok(BrokerFlood { count: None }),
            Some(n) if (1..=u32::MAX as i64).contains(&n) => Ok(BrokerFlood {
                count: Some(n as u32),
            }),
            Some(n) => Err(f.invalid("count", format!("must be at least 1, not {n}"))),
        }
    }

    fn detail(&self) -> String {
        words(&[("count", self.count.map(|n| n.to_string()))])
    }

    fn toml(&self) -> String {
        toml_lines(&[("count", self.count.map(|n| n.to_string()))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::BrokerFlood { count: self.count });
        x.ends_at(Dur::ZERO);
    }
}
