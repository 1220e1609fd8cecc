//! `exactly_once`: QoS 2 messages arrive exactly once, in both directions
//! (P5), including across reconnects that keep the session.
//!
//! - Outgoing: every application publish at qos 2 reaches the observer at
//!   most once, and exactly once when its `publish()` completed
//!   (`app_publish_done`).
//! - Incoming: every qos 2 message the observer published to a topic the
//!   DUT was subscribed to at qos 2 reaches the DUT's application at most
//!   once (`message`, or `discarded` by a full incoming queue), and at least
//!   once unless the DUT's session was lost after it, the DUT was never
//!   up again, or it reached the broker before the DUT's SUBSCRIBE (the
//!   subscribe gap; all as in `qos1_no_loss`).
//!
//! Two duplicates are MQTT's, not the driver's, and are allowed:
//! - outgoing, a message the broker had acknowledged with PUBREC
//!   (`pubrel_sent` for its pid) when the DUT's session was lost before
//!   PUBCOMP (`connected` with `session_present = false`): the driver
//!   publishes it again as a new message so that it is never lost (B6); a
//!   broker that routes QoS 2 at PUBLISH, rather than at PUBREL as mosquitto
//!   and the chaos broker do, has delivered it already. Two deliveries are
//!   allowed for such a message.
//! - incoming, deliveries on both sides of a `dut_reboot`: the packet ids
//!   awaiting PUBREL live in RAM and a reboot forgets them.
//!
//! Retained copies (`retain = true`) are not counted: a resubscription
//! legitimately delivers the retained message again. Messages younger than
//! `grace` (default 2 s) at the end of the run are not judged for loss.

use std::collections::{BTreeMap, BTreeSet};

use super::Evidence;
use super::{secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::fields::Fields;
use crate::scenario::types::filter_matches;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event, EventRef};

#[derive(Debug, Clone, PartialEq)]
pub struct ExactlyOnce {
    pub grace: Dur,
}

impl OracleSpec for ExactlyOnce {
    const NAME: &'static str = "exactly_once";
    const FIELDS: &'static [&'static str] = &["grace"];
    const SUMMARY: &'static str =
        "every qos 2 message arrives exactly once, DUT -> observer (when completed) and observer -> DUT (while its session lives)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(ExactlyOnce {
            grace: f.opt("grace")?.unwrap_or(Dur::from_secs(2)),
        })
    }

    fn params(&self) -> String {
        format!("grace={}", self.grace)
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        let out = s.workload.publish.iter().any(|p| p.qos.get() == 2);
        let inc = s.workload.observer.iter().any(|o| {
            o.qos.get() == 2
                && s.workload
                    .dut_subscribes_to(o.topic.as_str())
                    .is_some_and(|sub| sub.qos.get() == 2)
        });
        if out || inc {
            Ok(())
        } else {
            Err("needs a qos 2 publish stream, or a qos 2 observer stream to a qos 2 DUT subscription".into())
        }
    }

    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire, Evidence::Messages]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let cutoff = t.end_ms().saturating_sub(self.grace.as_millis());
        let mut failures = Vec::new();
        let (judged_out, out) = outgoing(t, cutoff);
        let (judged_in, inc) = incoming(t, cutoff);
        failures.extend(out);
        failures.extend(inc);
        if judged_out + judged_in == 0 && failures.is_empty() {
            return Outcome::Inconclusive("no qos 2 message to judge".into());
        }
        Outcome::from_failures(failures)
    }
}

/// Non-retained deliveries by message id, for one actor.
fn deliveries<'a>(t: &Trace<'a>, actor: Actor) -> BTreeMap<&'a str, Vec<usize>> {
    let mut m: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in t.of(actor) {
        let msg = match e {
            Event::Delivered {
                msg, retain: false, ..
            }
            | Event::Message {
                msg, retain: false, ..
            }
            | Event::Discarded { msg, .. } => msg,
            _ => continue,
        };
        m.entry(msg.as_str()).or_default().push(i);
    }
    m
}

/// DUT -> observer: (messages judged, failures).
fn outgoing(t: &Trace<'_>, cutoff: u64) -> (usize, Vec<Failure>) {
    // Which message each in-flight pid carries; messages past PUBREC and
    // not completed; those whose session was lost in that window.
    let mut pid_msg: BTreeMap<u16, &str> = BTreeMap::new();
    let mut released: BTreeSet<&str> = BTreeSet::new();
    let mut excused: BTreeSet<&str> = BTreeSet::new();
    let mut starts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut done: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in t.iter() {
        match (&r.actor, &r.event) {
            (Actor::App, Event::AppPublishStart { msg, qos: 2, .. }) => {
                starts.entry(msg).or_insert(i);
            }
            (Actor::App, Event::AppPublishDone { msg }) => {
                released.remove(msg.as_str());
                done.entry(msg).or_insert(i);
            }
            (
                Actor::Dut,
                Event::PublishSent {
                    pid: Some(pid),
                    qos: 2,
                    msg,
                    ..
                },
            ) => {
                pid_msg.insert(*pid, msg);
            }
            (Actor::Dut, Event::PubrelSent { pid, .. }) => {
                if let Some(m) = pid_msg.get(pid) {
                    released.insert(m);
                }
            }
            (
                Actor::Dut,
                Event::Connected {
                    session_present: false,
                    ..
                },
            ) => excused.append(&mut released),
            (Actor::Faults, Event::Fault { kind, .. })
                if crate::scenario::fault::Fault::reboots(kind) =>
            {
                released.clear();
            }
            _ => {}
        }
    }
    let delivered = deliveries(t, Actor::Observer);
    let mut judged = 0;
    let mut failures = Vec::new();
    for (msg, &si) in &starts {
        let got = delivered.get(msg).map(Vec::as_slice).unwrap_or(&[]);
        let allowed = if excused.contains(msg) { 2 } else { 1 };
        let completed = done.get(msg).filter(|&&di| t.records[di].t_ms <= cutoff);
        if completed.is_some() || !got.is_empty() {
            judged += 1;
        }
        if got.len() > allowed {
            let mut events = vec![t.r(si)];
            events.extend(got.iter().map(|&i| t.r(i)));
            failures.push(Failure::new(
                format!(
                    "qos 2 app publish {msg} reached the observer {} times",
                    got.len()
                ),
                events,
            ));
        } else if let (Some(&di), true) = (completed, got.is_empty()) {
            failures.push(Failure::new(
                format!(
                    "qos 2 app publish {msg} completed at {} but never reached the observer",
                    secs(t.records[di].t_ms)
                ),
                vec![t.r(si), t.r(di)],
            ));
        }
    }
    (judged, failures)
}

/// Observer -> DUT: (messages judged, failures).
fn incoming(t: &Trace<'_>, cutoff: u64) -> (usize, Vec<Failure>) {
    let received = deliveries(t, Actor::Dut);
    let reboots = t.reboots();
    let updown = t.dut_updown();
    let mut subs: BTreeMap<&str, u8> = BTreeMap::new();
    let mut judged = 0;
    let mut failures = Vec::new();
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
            (Actor::Observer, Event::ObserverPublish { topic, msg, qos: 2 }) => {
                let subscribed = subs
                    .iter()
                    .any(|(f, q)| *q == 2 && filter_matches(f, topic));
                if !subscribed {
                    continue;
                }
                let got = received.get(msg.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                if let [first, .., last] = got {
                    judged += 1;
                    let (a, b) = (t.records[*first].t_ms, t.records[*last].t_ms);
                    let rebooted = reboots.iter().any(|&x| x > a && x <= b);
                    if !rebooted {
                        let mut events: Vec<EventRef> = vec![t.r(i)];
                        events.extend(got.iter().map(|&j| t.r(j)));
                        failures.push(Failure::new(
                            format!(
                                "qos 2 observer message {msg} reached the DUT {} times",
                                got.len()
                            ),
                            events,
                        ));
                    }
                    continue;
                }
                if !got.is_empty() {
                    judged += 1;
                    continue;
                }
                if r.t_ms > cutoff
                    || t.dut_session_lost_after(i)
                    || !t.dut_up_after(&updown, r.t_ms, cutoff)
                    || t.published_before_subscribe(i, topic)
                {
                    continue;
                }
                judged += 1;
                failures.push(Failure::new(
                    format!(
                        "qos 2 observer message {msg} to `{topic}` at {} never reached the DUT, and its session was never lost",
                        secs(r.t_ms)
                    ),
                    vec![t.r(i)],
                ));
            }
            _ => {}
        }
    }
    (judged, failures)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::{Oracle, Outcome, Trace};
    use super::ExactlyOnce;
    use crate::duration::Dur;
    use crate::trace::Event::{self, *};
    use crate::trace::{Actor, Record};

    fn oracle() -> Oracle {
        Oracle::ExactlyOnce(ExactlyOnce {
            grace: Dur::from_secs(2),
        })
    }

    fn connected(sp: bool) -> Event {
        Connected {
            session_present: sp,
            keepalive_s: 60,
        }
    }

    fn sent(pid: u16, dup: bool) -> Event {
        PublishSent {
            pid: Some(pid),
            qos: 2,
            dup,
            topic: s("t"),
            msg: s("dut-0:1"),
        }
    }

    fn delivered(msg: &str) -> Event {
        Delivered {
            topic: s("t"),
            msg: s(msg),
            qos: 2,
            retain: false,
            dup: false,
        }
    }

    fn message(msg: &str) -> Event {
        Message {
            topic: s("c"),
            qos: 2,
            retain: false,
            dup: false,
            msg: s(msg),
        }
    }

    /// The DUT publishes dut-0:1 at qos 2 (pid 1) and gets PUBREC.
    fn outgoing() -> Vec<(u64, Actor, Event)> {
        vec![
            (0, Dut, connected(false)),
            (0, Dut, Up),
            (
                100,
                App,
                AppPublishStart {
                    msg: s("dut-0:1"),
                    topic: s("t"),
                    qos: 2,
                },
            ),
            (100, Dut, sent(1, false)),
            (
                110,
                Dut,
                PubrelSent {
                    pid: 1,
                    resend: false,
                },
            ),
        ]
    }

    fn check(t: Vec<(u64, Actor, Event)>) -> Outcome {
        let records: Vec<Record> = trace(t);
        oracle().check(&Trace::new(&records))
    }

    #[test]
    fn once_passes_twice_fails_never_fails() {
        let mut t = outgoing();
        t.push((120, Observer, delivered("dut-0:1")));
        t.push((130, App, AppPublishDone { msg: s("dut-0:1") }));
        t.push(run_end(10_000));
        assert_eq!(check(t.clone()), Outcome::Pass);

        let mut twice = t.clone();
        twice.insert(6, (125, Observer, delivered("dut-0:1")));
        let f = failures(&oracle(), &trace(twice));
        assert!(
            f[0].message.contains("reached the observer 2 times"),
            "{f:?}"
        );

        let lost: Vec<_> = t.into_iter().filter(|x| x.0 != 120).collect();
        let f = failures(&oracle(), &trace(lost));
        assert!(f[0].message.contains("never reached the observer"), "{f:?}");
    }

    #[test]
    fn a_session_lost_after_pubrec_allows_one_duplicate() {
        let mut t = outgoing();
        t.push((120, Observer, delivered("dut-0:1")));
        t.push((200, Dut, Down));
        t.push((300, Dut, connected(false)));
        t.push((300, Dut, Up));
        t.push((300, Dut, sent(2, false)));
        t.push((
            310,
            Dut,
            PubrelSent {
                pid: 2,
                resend: false,
            },
        ));
        t.push((320, Observer, delivered("dut-0:1")));
        t.push((330, App, AppPublishDone { msg: s("dut-0:1") }));
        t.push(run_end(10_000));
        assert_eq!(check(t.clone()), Outcome::Pass);
        // A kept session allows no duplicate.
        let kept: Vec<_> = t
            .into_iter()
            .map(|(ms, a, e)| match e {
                Connected { .. } if ms == 300 => (ms, a, connected(true)),
                other => (ms, a, other),
            })
            .collect();
        let f = failures(&oracle(), &trace(kept));
        assert!(f[0].message.contains("2 times"), "{f:?}");
    }

    #[test]
    fn incoming_duplicates_and_losses_are_named() {
        let base = vec![
            (0, Dut, connected(false)),
            (0, Dut, Up),
            (
                10,
                Dut,
                Subscribed {
                    topic: s("c/#"),
                    qos: 2,
                },
            ),
            (
                100,
                Observer,
                ObserverPublish {
                    topic: s("c/x"),
                    msg: s("obs-0:1"),
                    qos: 2,
                },
            ),
        ];
        let mut once = base.clone();
        once.push((110, Dut, message("obs-0:1")));
        once.push(run_end(10_000));
        assert_eq!(check(once.clone()), Outcome::Pass);

        let mut twice = once.clone();
        twice.insert(5, (120, Dut, message("obs-0:1")));
        let f = failures(&oracle(), &trace(twice.clone()));
        assert!(f[0].message.contains("reached the DUT 2 times"), "{f:?}");
        assert_eq!(f[0].events.len(), 3);

        // A reboot between the two deliveries forgets the pids: allowed.
        twice.insert(
            5,
            (
                115,
                Faults,
                Fault {
                    kind: s("dut_reboot"),
                    detail: s(""),
                },
            ),
        );
        assert_eq!(check(twice), Outcome::Pass);

        let mut lost = base.clone();
        lost.push(run_end(10_000));
        let f = failures(&oracle(), &trace(lost));
        assert!(f[0].message.contains("never reached the DUT"), "{f:?}");

        // Seed 24 of qos2-incoming-kept-session: the PUBLISH reached the
        // broker before the DUT's SUBSCRIBE (broker packet log), though its
        // PUBCOMP came back after the SUBACK: not judged.
        let packet = |t: u64, client: &str, summary: &str| {
            (
                t,
                Broker,
                BrokerPacket {
                    dir: crate::trace::Dir::In,
                    client_id: s(client),
                    summary: s(summary),
                    queued_ms: None,
                },
            )
        };
        let mut gap = base.clone();
        gap.insert(
            2,
            packet(
                5,
                "observer-pub",
                "PUBLISH pid=1 qos=2 dup=0 retain=0 topic=c/x len=32",
            ),
        );
        gap.insert(3, packet(8, "dut", "SUBSCRIBE pid=1 c/#:2"));
        gap.push(run_end(10_000));
        assert_eq!(
            check(gap),
            Outcome::Inconclusive("no qos 2 message to judge".into())
        );

        // A lost session excuses the loss.
        let mut excused = base;
        excused.push((200, Dut, Down));
        excused.push((300, Dut, connected(false)));
        excused.push((300, Dut, Up));
        excused.push(run_end(10_000));
        assert_eq!(
            check(excused),
            Outcome::Inconclusive("no qos 2 message to judge".into())
        );
    }
}
