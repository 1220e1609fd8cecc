//! `broker_forget_sessions`: the broker loses the DUT's session at once, as
//! a broker that lost its state would (the chaos broker's `forget-sessions`
//! for the DUT's client id): subscriptions, queued and in-flight messages
//! gone, its connection closed without the will. The DUT reconnects to
//! `session_present = 0` and must subscribe again.

use super::{Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerForgetSessions;

impl FaultSpec for BrokerForgetSessions {
    const KIND: &'static str = "broker_forget_sessions";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str =
        "the broker forgets the DUT's session at once (its connection closed, no will)";

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(BrokerForgetSessions)
    }

    fn detail(&self) -> String {
        String::new()
    }

    fn toml(&self) -> String {
        String::new()
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::BrokerForgetSessions);
        x.ends_at(Dur::ZERO);
    }
}
