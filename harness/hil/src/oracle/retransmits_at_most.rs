//! `retransmits_at_most{n}`: the driver resent at most `n` publishes in the
//! whole run (`retransmit` events) (B5: one lost PUBACK costs one resend;
//! O5: the resend counter).

use super::{count_field, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct RetransmitsAtMost {
    pub n: u64,
}

impl OracleSpec for RetransmitsAtMost {
    const NAME: &'static str = "retransmits_at_most";
    const FIELDS: &'static [&'static str] = &["n"];
    const SUMMARY: &'static str = "at most `n` publish resends in the run";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(RetransmitsAtMost {
            n: count_field(f, "n")?,
        })
    }

    fn params(&self) -> String {
        format!("n={}", self.n)
    }

    /// Judged from the DUT's connections and packets: black-box DUTs too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let resends: Vec<_> = t
            .of(Actor::Dut)
            .filter(|(_, e)| matches!(e, Event::Retransmit { .. }))
            .map(|(i, _)| t.r(i))
            .collect();
        if resends.len() as u64 <= self.n {
            return Outcome::Pass;
        }
        Outcome::Fail(vec![Failure::new(
            format!(
                "{} resends, more than the {} allowed",
                resends.len(),
                self.n
            ),
            resends,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    #[test]
    fn passes_within_the_limit() {
        passes(
            &oracle("oracle = \"retransmits_at_most\"\nn = 1"),
            &trace(vec![(5, Dut, Retransmit { pid: 1 }), run_end(10)]),
        );
    }

    #[test]
    fn names_every_resend() {
        let t = trace(vec![
            (5, Dut, Retransmit { pid: 1 }),
            (6, Dut, Up),
            (7, Dut, Retransmit { pid: 2 }),
            run_end(10),
        ]);
        let f = failures(&oracle("oracle = \"retransmits_at_most\"\nn = 1"), &t);
        assert_eq!(f[0].message, "2 resends, more than the 1 allowed");
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![0, 2]
        );
    }
}
