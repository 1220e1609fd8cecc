//! `will_not_published`: the broker never published a will (O3: a clean
//! `disconnect()` suppresses it; a short outage must not trigger it).

use super::{Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct WillNotPublished;

impl OracleSpec for WillNotPublished {
    const NAME: &'static str = "will_not_published";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str = "the broker never published a will";

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(WillNotPublished)
    }

    fn params(&self) -> String {
        String::new()
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.dut.will.is_none() {
            return Err("needs a will in [dut] (without one it could never fail)".into());
        }
        Ok(())
    }

    fn needs_why(&self) -> &'static str {
        "a will the scenario's `[dut] will` configured; a black-box DUT sets its own will, or none"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let wills: Vec<_> = t
            .of(Actor::Broker)
            .filter(|(_, e)| matches!(e, Event::WillPublished { .. }))
            .map(|(i, _)| t.r(i))
            .collect();
        if wills.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(vec![Failure::new(
                format!("the broker published the will {} time(s)", wills.len()),
                wills,
            )])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    #[test]
    fn passes_without_wills() {
        passes(
            &oracle("oracle = \"will_not_published\""),
            &trace(vec![(0, Dut, Up), run_end(10)]),
        );
    }

    #[test]
    fn names_the_will_events() {
        let t = trace(vec![
            (0, Dut, Up),
            (5, Broker, WillPublished { topic: s("w") }),
            run_end(10),
        ]);
        let f = failures(&oracle("oracle = \"will_not_published\""), &t);
        assert_eq!(f[0].message, "the broker published the will 1 time(s)");
        assert_eq!(f[0].events[0].index, 1);
    }
}
