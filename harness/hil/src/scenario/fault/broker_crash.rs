//! `broker_crash`: the broker process dies; clients see their connections
//! closed. It stays down until `broker_restart`.

use super::{Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerCrash;

impl FaultSpec for BrokerCrash {
    const KIND: &'static str = "broker_crash";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str =
        "the broker process dies (connections closed) until `broker_restart`";

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(BrokerCrash)
    }

    fn detail(&self) -> String {
        String::new()
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::BrokerCrash);
    }
}
