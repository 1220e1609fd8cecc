//! `receives_within{seconds}`: after every disruption ends (`fault_end`),
//! messages to the DUT flow again within `seconds`: one the observer
//! published after the end, to a topic the DUT has subscribed to, reaches
//! the DUT (`message`, or `discarded` by a full incoming queue) by then.
//! This holds for clean sessions too: the broker forgets a clean session's
//! subscriptions, and the DUT (or its application) must renew them after
//! the reconnection, or nothing flows again (D5, S1).
//!
//! Not judged: a disruption whose window overlaps another one, one whose
//! window runs past the end of the run, and one after which the observer
//! published nothing to the DUT's topics until 1 s before the deadline
//! (nothing could have flowed). The DUT's topics are the filters it was
//! ever granted (`subscribed`).

use std::collections::BTreeSet;

use super::Evidence;
use super::{fmt_seconds, seconds_field, secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::types::filter_matches;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

/// A publish this close to the deadline is not expected to have arrived.
const MARGIN_MS: u64 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct ReceivesWithin {
    pub ms: u64,
}

impl OracleSpec for ReceivesWithin {
    const NAME: &'static str = "receives_within";
    const FIELDS: &'static [&'static str] = &["seconds"];
    const SUMMARY: &'static str =
        "after each fault ends, a message the observer publishes to the DUT reaches it within `seconds` (clean sessions too)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(ReceivesWithin {
            ms: seconds_field(f, "seconds")?,
        })
    }

    fn params(&self) -> String {
        format!("seconds={}", fmt_seconds(self.ms))
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.schedule.ends().next().is_none() {
            return Err(
                "needs a fault in the timeline that ends (a `for`, a restore, a reboot...)".into(),
            );
        }
        let feeds = s
            .workload
            .observer
            .iter()
            .any(|o| s.workload.dut_subscribes_to(o.topic.as_str()).is_some());
        if feeds {
            Ok(())
        } else {
            Err("needs an observer stream to a topic the DUT subscribes to".into())
        }
    }

    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let end = t.end_ms();
        let filters: BTreeSet<&str> = t
            .of(Actor::Dut)
            .filter_map(|(_, e)| match e {
                Event::Subscribed { topic, .. } => Some(topic.as_str()),
                _ => None,
            })
            .collect();
        let spans = t.disruptions();
        let mut failures = Vec::new();
        let mut judged = 0usize;
        for (i, e) in t.of(Actor::Faults) {
            let Event::FaultEnd { kind } = e else {
                continue;
            };
            let te = t.records[i].t_ms;
            let deadline = te + self.ms;
            if deadline > end || Trace::disrupted_besides(&spans, i, te, deadline) {
                continue;
            }
            // The observer's publishes to the DUT after the end, in time.
            let sent: BTreeSet<&str> = t
                .iter()
                .filter(|(_, r)| r.t_ms >= te && r.t_ms + MARGIN_MS <= deadline)
                .filter_map(|(_, r)| match (&r.actor, &r.event) {
                    (Actor::Observer, Event::ObserverPublish { topic, msg, .. })
                        if filters.iter().any(|f| filter_matches(f, topic)) =>
                    {
                        Some(msg.as_str())
                    }
                    _ => None,
                })
                .collect();
            if sent.is_empty() {
                continue;
            }
            judged += 1;
            let arrived = t.iter().find(|(_, r)| {
                r.actor == Actor::Dut
                    && r.t_ms >= te
                    && r.t_ms <= deadline
                    && matches!(&r.event, Event::Message { msg, .. } | Event::Discarded { msg, .. } if sent.contains(msg.as_str()))
            });
            if arrived.is_some() {
                continue;
            }
            let next = t.iter().find(|(_, r)| {
                r.actor == Actor::Dut
                    && r.t_ms > deadline
                    && matches!(&r.event, Event::Message { .. } | Event::Discarded { .. })
            });
            let mut events = vec![t.r(i)];
            let later = match next {
                Some((j, r)) => {
                    events.push(t.r(j));
                    format!("the next message reached it at {}", secs(r.t_ms))
                }
                None => "none reached it again".into(),
            };
            failures.push(Failure::new(
                format!(
                    "{kind} ended at {}; none of the {} message(s) the observer published to the DUT in the next {}s reached it in time ({later})",
                    secs(te),
                    sent.len(),
                    fmt_seconds(self.ms)
                ),
                events,
            ));
        }
        if judged == 0 {
            return Outcome::Inconclusive(
                "no fault ended with messages to the DUT published in time to judge".into(),
            );
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn base() -> Vec<(u64, crate::trace::Actor, crate::trace::Event)> {
        vec![
            (
                0,
                Dut,
                Subscribed {
                    topic: s("c/#"),
                    qos: 0,
                },
            ),
            (
                10_000,
                Faults,
                Fault {
                    kind: s("broker_crash"),
                    detail: s(""),
                },
            ),
            (
                20_000,
                Faults,
                FaultEnd {
                    kind: s("broker_crash"),
                },
            ),
            (
                22_000,
                Observer,
                ObserverPublish {
                    topic: s("c/x"),
                    msg: s("obs-0:5"),
                    qos: 0,
                },
            ),
        ]
    }

    fn message(msg: &str) -> crate::trace::Event {
        Message {
            topic: s("c/x"),
            qos: 0,
            retain: false,
            dup: false,
            msg: s(msg),
        }
    }

    #[test]
    fn passes_when_messages_flow_again() {
        let mut t = base();
        t.push((22_010, Dut, message("obs-0:5")));
        t.push(run_end(60_000));
        passes(
            &oracle("oracle = \"receives_within\"\nseconds = 5"),
            &trace(t),
        );
    }

    /// A clean session lost its subscription: the broker routes nothing.
    #[test]
    fn fails_when_nothing_flows_after_the_fault() {
        let mut t = base();
        t.push((
            40_000,
            Observer,
            ObserverPublish {
                topic: s("c/x"),
                msg: s("obs-0:6"),
                qos: 0,
            },
        ));
        t.push((40_010, Dut, message("obs-0:6")));
        t.push(run_end(60_000));
        let f = failures(
            &oracle("oracle = \"receives_within\"\nseconds = 5"),
            &trace(t),
        );
        assert_eq!(
            f[0].message,
            "broker_crash ended at 20.000s; none of the 1 message(s) the observer published to the DUT in the next 5s reached it in time (the next message reached it at 40.010s)"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![2, 5]
        );
    }
}
