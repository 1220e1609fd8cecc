//! `broker_restart`: the broker starts again after `broker_crash` or
//! `broker_power_loss`. `persist = true`: sessions, subscriptions and queued
//! messages survive (a broker with persistence); false: it starts empty.

use super::{toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerRestart {
    pub persist: bool,
}

impl FaultSpec for BrokerRestart {
    const KIND: &'static str = "broker_restart";
    const FIELDS: &'static [&'static str] = &["persist"];
    const SUMMARY: &'static str =
        "the broker starts again (ends `broker_crash`/`broker_power_loss`); `persist` keeps sessions";
    const DISRUPTS: bool = false;

    const ENDS_FAULT: bool = true;

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(BrokerRestart {
            persist: f.req("persist")?,
        })
    }

    fn detail(&self) -> String {
        words(&[("persist", Some(self.persist.to_string()))])
    }

    fn toml(&self) -> String {
        toml_lines(&[("persist", Some(self.persist.to_string()))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(
            Dur::ZERO,
            Action::BrokerRestart {
                persist: self.persist,
            },
        );
    }
}
