//! `broker_reuse_pid`: broker packet-id misbehaviour. For each of the next
//! `count` QoS 2 PUBRECs the DUT sends, the broker first sends the DUT a
//! *new* PUBLISH (DUP=0, QoS 2, on `chaos/reuse-pid`) carrying the same
//! packet id, which the DUT still holds (an incoming QoS 2 publish awaiting
//! PUBREL), and then the PUBREL (the chaos broker's `reuse-pid`). The DUT
//! needs a QoS 2 subscription that receives messages for it to act.

use super::{count_field, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerReusePid {
    /// Default 1.
    pub count: u32,
}

impl FaultSpec for BrokerReusePid {
    const KIND: &'static str = "broker_reuse_pid";
    const FIELDS: &'static [&'static str] = &["count"];
    const SUMMARY: &'static str =
        "for the next `count` (default 1) incoming QoS 2 exchanges, the broker sends a new PUBLISH reusing the packet id the DUT holds awaiting PUBREL";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(BrokerReusePid {
            count: count_field(f)?,
        })
    }

    fn detail(&self) -> String {
        words(&[("count", Some(self.count.to_string()))])
    }

    fn toml(&self) -> String {
        toml_lines(&[("count", Some(self.count.to_string()))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::BrokerReusePid { count: self.count });
        x.ends_at(Dur::ZERO);
    }
}
