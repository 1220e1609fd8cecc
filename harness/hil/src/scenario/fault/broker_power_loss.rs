//! `broker_power_loss`: the broker's host loses power: its connections go
//! silent (no FIN, no RST: half-open on the client side) and unsaved state is
//! lost. It stays down until `broker_restart`.

use super::{Action, Cut, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerPowerLoss;

impl FaultSpec for BrokerPowerLoss {
    const KIND: &'static str = "broker_power_loss";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str =
        "the broker's host loses power: connections go silent, until `broker_restart`";
    const SILENT: bool = true;

    const CUT: Cut = Cut::UntilEnd { or_kind: None };

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(BrokerPowerLoss)
    }

    fn detail(&self) -> String {
        String::new()
    }

    fn toml(&self) -> String {
        String::new()
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::BrokerPowerLoss);
    }
}
