//! `duplicates_at_most{n}`: at most `n` duplicate deliveries in the whole
//! run, counting both directions (the observer's `delivered` and the DUT's
//! `message`): each delivery of a message id after its first counts once.
//! Deliveries with the retain flag set are not duplicates (a retained message
//! is sent again on every subscribe).

use std::collections::BTreeMap;

use super::{count_field, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event, EventRef};

#[derive(Debug, Clone, PartialEq)]
pub struct DuplicatesAtMost {
    pub n: u64,
}

impl OracleSpec for DuplicatesAtMost {
    const NAME: &'static str = "duplicates_at_most";
    const FIELDS: &'static [&'static str] = &["n"];
    const SUMMARY: &'static str =
        "at most `n` duplicate deliveries (observer and DUT, retained copies excluded)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(DuplicatesAtMost {
            n: count_field(f, "n")?,
        })
    }

    fn params(&self) -> String {
        format!("n={}", self.n)
    }

    /// Judged from packets and message ids: black-box DUTs whose profile
    /// declares `seq` too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire, Evidence::Messages]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let mut seen: BTreeMap<(&str, &str), Vec<EventRef>> = BTreeMap::new();
        let mut any = false;
        for (i, r) in t.iter() {
            let key = match (&r.actor, &r.event) {
                (
                    Actor::Observer,
                    Event::Delivered {
                        msg, retain: false, ..
                    },
                ) => ("observer", msg.as_str()),
                (
                    Actor::Dut,
                    Event::Message {
                        msg, retain: false, ..
                    },
                ) => ("dut", msg.as_str()),
                _ => continue,
            };
            any = true;
            seen.entry(key).or_default().push(t.r(i));
        }
        if !any {
            return Outcome::Inconclusive("no deliveries in the trace".into());
        }
        let dups: Vec<_> = seen.iter().filter(|(_, v)| v.len() > 1).collect();
        let total: u64 = dups.iter().map(|(_, v)| v.len() as u64 - 1).sum();
        if total <= self.n {
            return Outcome::Pass;
        }
        let failures = dups
            .iter()
            .map(|((who, msg), refs)| {
                Failure::new(
                    format!("{msg} was delivered to the {who} {} times", refs.len()),
                    refs.to_vec(),
                )
            })
            .collect::<Vec<_>>();
        let mut all = vec![Failure::new(
            format!(
                "{total} duplicate deliveries, more than the {} allowed",
                self.n
            ),
            vec![],
        )];
        all.extend(failures);
        Outcome::Fail(all)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn d(t: u64, msg: &str, retain: bool) -> (u64, crate::trace::Actor, crate::trace::Event) {
        (
            t,
            Observer,
            Delivered {
                topic: s("t"),
                msg: s(msg),
                qos: 1,
                retain,
                dup: false,
            },
        )
    }

    #[test]
    fn passes_within_the_limit() {
        let t = trace(vec![
            d(1, "dut-0:1", false),
            d(2, "dut-0:1", false),
            d(3, "dut-0:2", false),
            d(4, "dut-0:2", true),
        ]);
        passes(&oracle("oracle = \"duplicates_at_most\"\nn = 1"), &t);
    }

    #[test]
    fn names_the_duplicated_messages() {
        let t = trace(vec![
            d(1, "dut-0:1", false),
            d(2, "dut-0:1", false),
            (
                3,
                Dut,
                Message {
                    topic: s("c"),
                    qos: 1,
                    retain: false,
                    dup: true,
                    msg: s("obs-0:1"),
                },
            ),
            (
                4,
                Dut,
                Message {
                    topic: s("c"),
                    qos: 1,
                    retain: false,
                    dup: true,
                    msg: s("obs-0:1"),
                },
            ),
        ]);
        let f = failures(&oracle("oracle = \"duplicates_at_most\"\nn = 1"), &t);
        assert!(
            f[0].message.starts_with("2 duplicate deliveries"),
            "{}",
            f[0]
        );
        assert_eq!(f[1].message, "obs-0:1 was delivered to the dut 2 times");
        assert_eq!(
            f[1].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(
            f[2].message,
            "dut-0:1 was delivered to the observer 2 times"
        );
        assert_eq!(
            f[2].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![0, 1]
        );
    }
}
