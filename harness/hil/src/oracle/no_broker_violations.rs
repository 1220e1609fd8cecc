//! `no_broker_violations{n}`: the DUT flagged at most `n` (default 0)
//! protocol violations by the broker (`broker_violation`, e.g. a new QoS 2
//! PUBLISH on a packet id the DUT still held awaiting PUBREL). Such a
//! violation is the broker's fault, not the DUT's: this oracle judges the
//! broker (or proves that a scenario's misbehaving broker was noticed,
//! with `n` set to what its faults cause), while the DUT's own oracles
//! (`qos1_no_loss`) lay the messages lost that way at the broker's door.

use super::{at_most, opt_count_field, secs, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct NoBrokerViolations {
    pub n: u64,
}

impl OracleSpec for NoBrokerViolations {
    const NAME: &'static str = "no_broker_violations";
    const FIELDS: &'static [&'static str] = &["n"];
    const SUMMARY: &'static str =
        "the DUT flagged at most `n` (default 0) broker protocol violations (`broker_violation`)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(NoBrokerViolations {
            n: opt_count_field(f, "n", 0)?,
        })
    }

    fn params(&self) -> String {
        format!("n={}", self.n)
    }

    fn needs_why(&self) -> &'static str {
        "the protocol violations the driver itself flagged (`broker_violation`)"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let seen: Vec<(usize, String)> = t
            .of(Actor::Dut)
            .filter_map(|(i, e)| match e {
                Event::BrokerViolation { detail, msg, .. } => Some((
                    i,
                    format!("at {}: {detail} (message {msg})", secs(t.records[i].t_ms)),
                )),
                _ => None,
            })
            .collect();
        at_most(
            t,
            self.n,
            &seen,
            "broker protocol violations flagged by the DUT",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn violation() -> crate::trace::Event {
        BrokerViolation {
            violation: s("qos2_id_reused"),
            pid: 5,
            topic: s("c"),
            msg: s("obs-0:2"),
            detail: s("new QoS 2 PUBLISH (DUP = 0) reused packet id 5, still awaiting PUBREL; acknowledged, not delivered"),
        }
    }

    #[test]
    fn fails_on_a_flagged_violation() {
        let o = oracle("oracle = \"no_broker_violations\"");
        passes(&o, &trace(vec![run_end(10)]));
        let f = failures(&o, &trace(vec![(5, Dut, violation()), run_end(10)]));
        assert_eq!(
            f[0].message,
            "1 broker protocol violations flagged by the DUT, more than the 0 allowed: at 0.005s: new QoS 2 PUBLISH (DUP = 0) reused packet id 5, still awaiting PUBREL; acknowledged, not delivered (message obs-0:2)"
        );
    }

    #[test]
    fn a_bound_allows_the_expected_ones() {
        let o = oracle("oracle = \"no_broker_violations\"\nn = 1");
        passes(&o, &trace(vec![(5, Dut, violation()), run_end(10)]));
    }
}
