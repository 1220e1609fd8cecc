//! `resubscribed_after_reconnect{within}`: after a reconnection that lost the
//! session (`connected` with `session_present = false`), every topic the DUT
//! had subscribed to before is subscribed again (`subscribed`) within
//! `within` (default 5 s) (D5: the application or the driver renews them).
//!
//! A connection that ends before `within` has passed, or a run that ends
//! first, is not judged.

use std::collections::BTreeSet;

use super::{secs, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct ResubscribedAfterReconnect {
    pub within: Dur,
}

impl OracleSpec for ResubscribedAfterReconnect {
    const NAME: &'static str = "resubscribed_after_reconnect";
    const FIELDS: &'static [&'static str] = &["within"];
    const SUMMARY: &'static str =
        "after a reconnect without session, every earlier subscription is renewed within `within` (default 5s)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(ResubscribedAfterReconnect {
            within: f.opt("within")?.unwrap_or(Dur::from_secs(5)),
        })
    }

    fn params(&self) -> String {
        format!("within={}", self.within)
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.workload.subscribe.is_empty() {
            return Err("needs a [[workload.subscribe]] entry".into());
        }
        if s.timeline.is_empty() {
            return Err("needs a fault in the timeline (something to reconnect after)".into());
        }
        Ok(())
    }

    /// Judged from the DUT's connections and packets: black-box DUTs too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let end = t.end_ms();
        let mut known: BTreeSet<&str> = BTreeSet::new();
        let mut failures = Vec::new();
        let mut judged = 0;
        for (i, r) in t.iter() {
            if r.actor != Actor::Dut {
                continue;
            }
            match &r.event {
                Event::Subscribed { topic, .. } => {
                    known.insert(topic);
                }
                Event::Connected {
                    session_present: false,
                    ..
                } if !known.is_empty() => {
                    let deadline = r.t_ms + self.within.as_millis();
                    let mut renewed: BTreeSet<&str> = BTreeSet::new();
                    let mut cut_short = deadline > end;
                    for x in &t.records[i + 1..] {
                        if x.t_ms > deadline || x.actor != Actor::Dut {
                            if x.t_ms > deadline {
                                break;
                            }
                            continue;
                        }
                        match &x.event {
                            Event::Subscribed { topic, .. } => {
                                renewed.insert(topic);
                            }
                            Event::ConnectionLost { .. } | Event::Down | Event::WifiDown => {
                                cut_short = true;
                                break;
                            }
                            _ => {}
                        }
                    }
                    let missing: Vec<&str> = known
                        .iter()
                        .filter(|k| !renewed.contains(*k))
                        .copied()
                        .collect();
                    if missing.is_empty() {
                        judged += 1;
                    } else if !cut_short {
                        judged += 1;
                        failures.push(Failure::new(
                            format!(
                                "reconnected without a session at {} but did not renew {} within {}",
                                secs(r.t_ms),
                                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                                self.within
                            ),
                            vec![t.r(i)],
                        ));
                    }
                }
                _ => {}
            }
        }
        if judged == 0 {
            return Outcome::Inconclusive(
                "no reconnection without a session after a subscription".into(),
            );
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn t(resub: bool) -> Vec<crate::trace::Record> {
        let mut v = vec![
            (
                0,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            (
                10,
                Dut,
                Subscribed {
                    topic: s("c"),
                    qos: 1,
                },
            ),
            (1000, Dut, ConnectionLost { reason: s("reset") }),
            (
                2000,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
        ];
        if resub {
            v.push((
                2100,
                Dut,
                Subscribed {
                    topic: s("c"),
                    qos: 1,
                },
            ));
        }
        v.push(run_end(60_000));
        trace(v)
    }

    #[test]
    fn passes_when_renewed() {
        passes(
            &oracle("oracle = \"resubscribed_after_reconnect\""),
            &t(true),
        );
    }

    #[test]
    fn names_the_reconnection_and_the_topics() {
        let f = failures(
            &oracle("oracle = \"resubscribed_after_reconnect\""),
            &t(false),
        );
        assert_eq!(
            f[0].message,
            "reconnected without a session at 2.000s but did not renew `c` within 5s"
        );
        assert_eq!(f[0].events[0].index, 3);
    }
}
