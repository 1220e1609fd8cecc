//! `broker_duplicate`: the broker sends each of the next `count` PUBLISHes
//! it delivers to the DUT twice in a row, the copy with DUP set (the chaos
//! broker's `duplicate` fault). A QoS 1 DUT must not hand the copy to the
//! application as a new message more than MQTT allows; a QoS 2 DUT must
//! not hand it over at all.

use super::{count_field, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerDuplicate {
    /// Default 1.
    pub count: u32,
}

impl FaultSpec for BrokerDuplicate {
    const KIND: &'static str = "broker_duplicate";
    const FIELDS: &'static [&'static str] = &["count"];
    const SUMMARY: &'static str =
        "the broker sends each of the next `count` (default 1) PUBLISHes to the DUT twice (the copy with DUP)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(BrokerDuplicate {
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
        x.act(Dur::ZERO, Action::BrokerDuplicate { count: self.count });
        x.ends_at(Dur::ZERO);
    }
}
