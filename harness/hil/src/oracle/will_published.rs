//! `will_published`: the broker published the DUT's will at least once
//! (C6: the DUT vanished without DISCONNECT). With `topic`, only wills to
//! that topic count.

use super::{Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct WillPublished {
    pub topic: Option<String>,
}

impl OracleSpec for WillPublished {
    const NAME: &'static str = "will_published";
    const FIELDS: &'static [&'static str] = &["topic"];
    const SUMMARY: &'static str = "the broker published the DUT's will (optionally: to `topic`)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(WillPublished {
            topic: f.opt("topic")?,
        })
    }

    fn params(&self) -> String {
        self.topic
            .as_ref()
            .map(|t| format!("topic={t}"))
            .unwrap_or_default()
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.dut.will.is_none() {
            return Err("needs a will in [dut]".into());
        }
        Ok(())
    }

    fn needs_why(&self) -> &'static str {
        "a will the scenario's `[dut] will` configured; a black-box DUT sets its own will, or none"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let found = t.of(Actor::Broker).any(|(_, e)| {
            matches!(e, Event::WillPublished { topic } if self.topic.as_ref().is_none_or(|w| w == topic))
        });
        if found {
            Outcome::Pass
        } else {
            let to = self
                .topic
                .as_ref()
                .map(|w| format!(" to `{w}`"))
                .unwrap_or_default();
            Outcome::Fail(vec![Failure::new(
                format!("the broker never published the will{to}"),
                vec![],
            )])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    #[test]
    fn passes_when_published() {
        let t = trace(vec![
            (5, Broker, WillPublished { topic: s("w") }),
            run_end(10),
        ]);
        passes(&oracle("oracle = \"will_published\""), &t);
        passes(&oracle("oracle = \"will_published\"\ntopic = \"w\""), &t);
    }

    #[test]
    fn fails_when_absent_or_elsewhere() {
        let t = trace(vec![
            (5, Broker, WillPublished { topic: s("other") }),
            run_end(10),
        ]);
        let f = failures(&oracle("oracle = \"will_published\"\ntopic = \"w\""), &t);
        assert_eq!(f[0].message, "the broker never published the will to `w`");
    }
}
