//! `qos1_no_loss`: QoS 1 (and 2) messages are never lost (P3, S2, B6).
//!
//! - Every application publish at qos >= 1 whose `publish()` completed
//!   (`app_publish_done`) was delivered to the observer (`delivered` with the
//!   same `msg`).
//! - Every qos >= 1 message the observer published to a topic the DUT was
//!   subscribed to (at qos >= 1) reached the DUT (`message`, or `discarded`
//!   by a full incoming queue, which is counted, not lost) unless the DUT's
//!   session was lost first (a later `connected` with
//!   `session_present = false`: clean sessions and broker restarts without
//!   persistence legitimately drop them). With `clean = false` this is
//!   "messages sent during an outage arrive after it" (S2).
//!
//! Messages younger than `grace` (default 2 s) at the end of the run, and
//! incoming ones published while the DUT was down until the end, are not
//! judged: they may still be in flight. Nor are incoming ones that reached
//! the broker before the DUT's SUBSCRIBE did (its subscribe gap, seen in
//! the broker's packet log: `Trace::published_before_subscribe`).

use std::collections::{BTreeMap, BTreeSet};

use super::{secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::fields::Fields;
use crate::scenario::types::filter_matches;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct Qos1NoLoss {
    pub grace: Dur,
}

impl OracleSpec for Qos1NoLoss {
    const NAME: &'static str = "qos1_no_loss";
    const FIELDS: &'static [&'static str] = &["grace"];
    const SUMMARY: &'static str =
        "every completed qos>=1 app publish reaches the observer, every qos>=1 message to the DUT reaches it while its session lives";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(Qos1NoLoss {
            grace: f.opt("grace")?.unwrap_or(Dur::from_secs(2)),
        })
    }

    fn params(&self) -> String {
        format!("grace={}", self.grace)
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        let out = s.workload.publish.iter().any(|p| p.qos.get() >= 1);
        let inc = s.workload.observer.iter().any(|o| {
            o.qos.get() >= 1
                && s.workload
                    .dut_subscribes_to(o.topic.as_str())
                    .is_some_and(|sub| sub.qos.get() >= 1)
        });
        if out || inc {
            Ok(())
        } else {
            Err("needs a qos >= 1 publish stream, or a qos >= 1 observer stream to a qos >= 1 DUT subscription".into())
        }
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let end = t.end_ms();
        let cutoff = end.saturating_sub(self.grace.as_millis());
        let mut failures = Vec::new();
        let mut judged = 0usize;

        // Outgoing.
        let mut starts: BTreeMap<&str, (usize, u8)> = BTreeMap::new();
        let mut delivered: BTreeSet<&str> = BTreeSet::new();
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::App, Event::AppPublishStart { msg, qos, .. }) => {
                    starts.entry(msg).or_insert((i, *qos));
                }
                (Actor::Observer, Event::Delivered { msg, .. }) => {
                    delivered.insert(msg);
                }
                _ => {}
            }
        }
        for (i, r) in t.iter() {
            if let (Actor::App, Event::AppPublishDone { msg }) = (&r.actor, &r.event) {
                let Some(&(si, qos)) = starts.get(msg.as_str()) else {
                    continue;
                };
                if qos == 0 || r.t_ms > cutoff {
                    continue;
                }
                judged += 1;
                if !delivered.contains(msg.as_str()) {
                    failures.push(Failure::new(
                        format!(
                            "app publish {msg} (qos {qos}) completed at {} but never reached the observer",
                            secs(r.t_ms)
                        ),
                        vec![t.r(si), t.r(i)],
                    ));
                }
            }
        }

        // Incoming.
        let received: BTreeSet<&str> = t
            .of(Actor::Dut)
            .filter_map(|(_, e)| match e {
                Event::Message { msg, .. } | Event::Discarded { msg, .. } => Some(msg.as_str()),
                _ => None,
            })
            .collect();
        let updown = t.dut_updown();
        let mut subs: BTreeMap<&str, u8> = BTreeMap::new();
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::Dut, Event::Subscribed { topic, qos }) => {
                    subs.insert(topic, *qos);
                }
                (
                    Actor::Dut,
                    Event::Connected {
                        session_present: false,
                        ..
                    },
                ) => subs.clear(),
                (Actor::Observer, Event::ObserverPublish { topic, msg, qos }) if *qos >= 1 => {
                    let subscribed = subs
                        .iter()
                        .any(|(f, q)| *q >= 1 && filter_matches(f, topic))
                        && !t.published_before_subscribe(i, topic);
                    if !subscribed || r.t_ms > cutoff || received.contains(msg.as_str()) {
                        if subscribed && r.t_ms <= cutoff {
                            judged += 1;
                        }
                        continue;
                    }
                    // Lost session after the publish? Was the DUT ever up
                    // between the publish and the cutoff?
                    if t.dut_session_lost_after(i) || !t.dut_up_after(&updown, r.t_ms, cutoff) {
                        continue;
                    }
                    judged += 1;
                    failures.push(Failure::new(
                        format!(
                            "observer message {msg} (qos {qos}) to `{topic}` at {} never reached the DUT, and its session was never lost",
                            secs(r.t_ms)
                        ),
                        vec![t.r(i)],
                    ));
                }
                _ => {}
            }
        }
        if judged == 0 && failures.is_empty() {
            return Outcome::Inconclusive("no qos >= 1 message to judge".into());
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
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            (0, Dut, Up),
            (
                10,
                Dut,
                Subscribed {
                    topic: s("c"),
                    qos: 1,
                },
            ),
            (
                100,
                App,
                AppPublishStart {
                    msg: s("dut-0:1"),
                    topic: s("t"),
                    qos: 1,
                },
            ),
            (150, App, AppPublishDone { msg: s("dut-0:1") }),
            (
                1000,
                Observer,
                ObserverPublish {
                    topic: s("c"),
                    msg: s("obs-0:1"),
                    qos: 1,
                },
            ),
        ]
    }

    #[test]
    fn passes_when_everything_arrives() {
        let mut t = base();
        t.push((
            160,
            Observer,
            Delivered {
                topic: s("t"),
                msg: s("dut-0:1"),
                qos: 1,
                retain: false,
                dup: false,
            },
        ));
        t.sort_by_key(|x| x.0);
        t.push((
            1010,
            Dut,
            Message {
                topic: s("c"),
                qos: 1,
                retain: false,
                dup: false,
                msg: s("obs-0:1"),
            },
        ));
        t.push(run_end(10_000));
        passes(&oracle("oracle = \"qos1_no_loss\""), &trace(t));
    }

    /// Seed 5 of behaviour-k-connect: after a reboot with a clean session
    /// the observer's PUBLISH reached the broker 10 ms before the DUT's
    /// SUBSCRIBE, but its PUBACK (`observer_publish`) came back after the
    /// DUT's SUBACK (`subscribed`): nobody to route it to, not a loss.
    #[test]
    fn a_publish_that_beat_the_subscribe_to_the_broker_is_not_judged() {
        let packet = |t: u64, client: &str, summary: &str| {
            (
                t,
                Broker,
                BrokerPacket {
                    dir: crate::trace::Dir::In,
                    client_id: s(client),
                    summary: s(summary),
                },
            )
        };
        let mut t = base();
        t.retain(|x| !matches!(x.2, ObserverPublish { .. } | Subscribed { .. }));
        t.push((
            160,
            Observer,
            Delivered {
                topic: s("t"),
                msg: s("dut-0:1"),
                qos: 1,
                retain: false,
                dup: false,
            },
        ));
        let publish = packet(
            1000,
            "observer-pub",
            "PUBLISH pid=52 qos=1 dup=0 retain=0 topic=c len=32",
        );
        let subscribe = packet(1010, "dut", "SUBSCRIBE pid=1 c:1");
        let tail = vec![
            (
                1020,
                Dut,
                Subscribed {
                    topic: s("c"),
                    qos: 1,
                },
            ),
            (
                1020,
                Observer,
                ObserverPublish {
                    topic: s("c"),
                    msg: s("obs-0:1"),
                    qos: 1,
                },
            ),
            run_end(10_000),
        ];
        let o = oracle("oracle = \"qos1_no_loss\"");
        let mut gap = t.clone();
        gap.extend([publish.clone(), subscribe.clone()]);
        gap.extend(tail.clone());
        passes(&o, &trace(gap));
        // The other way round the DUT was subscribed first: a loss.
        let mut lost = t;
        lost.extend([
            (1000, subscribe.1, subscribe.2),
            (1010, publish.1, publish.2),
        ]);
        lost.extend(tail);
        let f = failures(&o, &trace(lost));
        assert!(f[0].message.contains("observer message obs-0:1"), "{f:?}");
    }

    #[test]
    fn names_the_lost_messages() {
        let mut t = base();
        t.push(run_end(10_000));
        let f = failures(&oracle("oracle = \"qos1_no_loss\""), &trace(t));
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].message.contains("app publish dut-0:1"), "{}", f[0]);
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![3, 4]
        );
        assert!(
            f[1].message.contains("observer message obs-0:1"),
            "{}",
            f[1]
        );
        assert_eq!(f[1].events[0].index, 5);
    }

    #[test]
    fn a_lost_session_excuses_incoming_messages() {
        let mut t = base();
        t.push((
            160,
            Observer,
            Delivered {
                topic: s("t"),
                msg: s("dut-0:1"),
                qos: 1,
                retain: false,
                dup: false,
            },
        ));
        t.sort_by_key(|x| x.0);
        t.push((2000, Dut, Down));
        t.push((
            3000,
            Dut,
            Connected {
                session_present: false,
                keepalive_s: 60,
            },
        ));
        t.push((3000, Dut, Up));
        t.push(run_end(10_000));
        passes(&oracle("oracle = \"qos1_no_loss\""), &trace(t));
    }
}
