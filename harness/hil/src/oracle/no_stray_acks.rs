//! `no_stray_acks{n}`: at most `n` (default 0) acks for packet ids the DUT
//! did not have in flight (`stray_ack`, B1) in the whole run. A stray ack
//! is harmless to the DUT (it is ignored), but more of them than the
//! scenario's faults explain show a broker, or a DUT, confused about which
//! ids are in flight: ids reused too early, or acks answered twice.

use super::Evidence;
use super::{at_most, opt_count_field, secs, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct NoStrayAcks {
    pub n: u64,
}

impl OracleSpec for NoStrayAcks {
    const NAME: &'static str = "no_stray_acks";
    const FIELDS: &'static [&'static str] = &["n"];
    const SUMMARY: &'static str =
        "at most `n` (default 0) acks for packet ids not in flight (`stray_ack`)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(NoStrayAcks {
            n: opt_count_field(f, "n", 0)?,
        })
    }

    fn params(&self) -> String {
        format!("n={}", self.n)
    }

    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let strays: Vec<(usize, String)> = t
            .of(Actor::Dut)
            .filter_map(|(i, e)| match e {
                Event::StrayAck { pid } => {
                    Some((i, format!("pid {pid} at {}", secs(t.records[i].t_ms))))
                }
                _ => None,
            })
            .collect();
        at_most(t, self.n, &strays, "stray acks")
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    #[test]
    fn none_allowed_by_default() {
        let o = oracle("oracle = \"no_stray_acks\"");
        passes(&o, &trace(vec![(5, Dut, Puback { pid: 1 }), run_end(10)]));
        let f = failures(
            &o,
            &trace(vec![
                (5, Dut, Puback { pid: 1 }),
                (6, Dut, StrayAck { pid: 1 }),
                run_end(10),
            ]),
        );
        assert_eq!(
            f[0].message,
            "1 stray acks, more than the 0 allowed: pid 1 at 0.006s"
        );
        assert_eq!(f[0].events[0].index, 1);
    }

    #[test]
    fn a_bound_allows_that_many() {
        let o = oracle("oracle = \"no_stray_acks\"\nn = 1");
        let one = vec![(6, Dut, StrayAck { pid: 1 }), run_end(10)];
        passes(&o, &trace(one.clone()));
        let mut two = one;
        two.insert(1, (7, Dut, StrayAck { pid: 2 }));
        assert_eq!(failures(&o, &trace(two))[0].events.len(), 2);
    }
}
