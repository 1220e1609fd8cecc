//! `discards_counted{min}`: the incoming queue (`dut.queue_len > 0`)
//! overflowed at least `min` times and the driver counted every drop: the
//! `total` of successive `discarded` events goes 1, 2, 3... (restarting after
//! a `dut_reboot`) (S3).

use super::{count_field, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct DiscardsCounted {
    pub min: u64,
}

impl OracleSpec for DiscardsCounted {
    const NAME: &'static str = "discards_counted";
    const FIELDS: &'static [&'static str] = &["min"];
    const SUMMARY: &'static str =
        "at least `min` incoming messages were discarded, each counted by the driver";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(DiscardsCounted {
            min: count_field(f, "min")?,
        })
    }

    fn params(&self) -> String {
        format!("min={}", self.min)
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.dut.queue_len == 0 {
            return Err("needs `dut.queue_len` > 0 (the event interface)".into());
        }
        if s.workload.observer.is_empty() {
            return Err("needs a [[workload.observer]] stream (incoming messages)".into());
        }
        Ok(())
    }

    fn needs_why(&self) -> &'static str {
        "the driver's count of incoming messages its full queue dropped (`discarded`)"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let mut failures = Vec::new();
        let mut expected = 1;
        let mut count = 0;
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::Faults, Event::Fault { kind, .. })
                    if crate::scenario::fault::Fault::reboots(kind) =>
                {
                    expected = 1
                }
                (Actor::Dut, Event::Discarded { msg, total }) => {
                    count += 1;
                    if *total != expected {
                        failures.push(Failure::new(
                            format!("discard of {msg} reported total {total}, expected {expected}"),
                            vec![t.r(i)],
                        ));
                    }
                    expected = total + 1;
                }
                _ => {}
            }
        }
        if count < self.min {
            failures.insert(
                0,
                Failure::new(
                    format!("{count} discards, expected at least {}", self.min),
                    vec![],
                ),
            );
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    #[test]
    fn passes_counted_discards() {
        let t = trace(vec![
            (
                1,
                Dut,
                Discarded {
                    msg: s("obs-0:1"),
                    total: 1,
                },
            ),
            (
                2,
                Dut,
                Discarded {
                    msg: s("obs-0:2"),
                    total: 2,
                },
            ),
            run_end(3),
        ]);
        passes(&oracle("oracle = \"discards_counted\"\nmin = 2"), &t);
    }

    #[test]
    fn names_a_miscounted_discard() {
        let t = trace(vec![
            (
                1,
                Dut,
                Discarded {
                    msg: s("obs-0:1"),
                    total: 1,
                },
            ),
            (
                2,
                Dut,
                Discarded {
                    msg: s("obs-0:2"),
                    total: 1,
                },
            ),
            run_end(3),
        ]);
        let f = failures(&oracle("oracle = \"discards_counted\"\nmin = 3"), &t);
        assert_eq!(f[0].message, "2 discards, expected at least 3");
        assert_eq!(
            f[1].message,
            "discard of obs-0:2 reported total 1, expected 2"
        );
        assert_eq!(f[1].events[0].index, 1);
    }
}
