//! `broker_crash`: the broker process dies; clients see their connections
//! closed. It stays down until `broker_restart`.

use super::{Action, BrokerRestart, Cut, Expansion, Fault, FaultSpec, Fields, Fuzz};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerCrash;

impl FaultSpec for BrokerCrash {
    const KIND: &'static str = "broker_crash";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str =
        "the broker process dies (connections closed) until `broker_restart`";

    const CUT: Cut = Cut::UntilEnd {
        or_kind: Some(BrokerRestart::KIND),
    };
    // Crashed for the picked length, then restarted with its state.
    const FUZZ: Fuzz = Fuzz::Lasting(|d| {
        vec![
            (Dur::ZERO, Fault::BrokerCrash(BrokerCrash)),
            (d, Fault::BrokerRestart(BrokerRestart { persist: true })),
        ]
    });

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(BrokerCrash)
    }

    fn detail(&self) -> String {
        String::new()
    }

    fn toml(&self) -> String {
        String::new()
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::BrokerCrash);
    }
}
