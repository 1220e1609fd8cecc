//! `qos1_no_loss`: QoS 1 (and 2) messages are never lost (P3, S2, B6),
//! and every loss is laid at the door of the party that caused it.
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
//! - `every_started = true`: also every qos >= 1 publish the application
//!   started (`app_publish_start`) was delivered, or its call reported a
//!   failure with a reason (`app_publish_failed`): nothing is lost without
//!   the application being told. A publish whose call a `dut_reboot` cut
//!   short is not judged here (the application that started it is gone;
//!   `offline_queue` judges what a reboot keeps).
//!
//! Who lost it (only the DUT's losses fail the DUT; the others are named in
//! the verdict's note):
//!
//! - **the broker** accepted it and did not deliver it: the broker's packet
//!   log shows the DUT's PUBLISH (its packet id) arriving, the observer was
//!   subscribed, and the broker then crashed (a restart with `persist =
//!   true` rolls back to its last autosave, at most 1 s old; `persist =
//!   false` starts empty) or simply never delivered it. An incoming message
//!   the broker sent on a QoS 2 id the DUT still held (`broker_violation`)
//!   is the broker's loss too, as is one the broker accepted from the
//!   observer before it crashed and rolled back.
//! - **the observer's subscription gap**: the broker received the DUT's
//!   PUBLISH while the observer held no subscription matching its topic
//!   (its session was new after a broker restart, and its SUBSCRIBE had
//!   not arrived yet), so the broker rightly routed it to nobody.
//! - **the DUT** otherwise: with a packet log, when the broker never
//!   received the message although `publish()` completed.
//!
//! Without a packet log (mosquitto), the evidence is the faults: a message
//! completed before a broker crash is the broker's; one completed after a
//! restart without persistence and before the observer's first delivery
//! after it is the observer's gap (inferred, and said so); every other loss
//! is the DUT's.
//!
//! - A black-box DUT's messages, seen on the wire (`app_publish_start`
//!   with `source = "wire"`: the first send of a numbered message, or a
//!   number skipped in its sequence): a device promising QoS 1 keeps a
//!   message until it is acknowledged, so every one of them reached the
//!   observer, acknowledged or not, unless a `dut_reboot` came after it
//!   (a restart loses what the device held in memory).
//!
//! Messages younger than `grace` (default 2 s) at the end of the run, and
//! incoming ones published while the DUT was down until the end, are not
//! judged: they may still be in flight. Nor are incoming ones that reached
//! the broker before the DUT's SUBSCRIBE did (its subscribe gap, seen in
//! the broker's packet log: `Trace::published_before_subscribe`).

use std::collections::{BTreeMap, BTreeSet};

use super::evidence::{Party, PartyEvidence};
use super::{secs, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::fields::Fields;
use crate::scenario::types::filter_matches;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event, EventRef, Source};

/// The autosave interval of every broker the harness starts (the
/// simulator's, and mosquitto's `autosave_interval 1`).
const AUTOSAVE_MS: u64 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Qos1NoLoss {
    pub grace: Dur,
    /// Every started qos >= 1 publish must be delivered or reported failed.
    pub every_started: bool,
}

/// A loss not held against the DUT.
struct Excused {
    party: Party,
    text: String,
}

impl OracleSpec for Qos1NoLoss {
    const NAME: &'static str = "qos1_no_loss";
    const FIELDS: &'static [&'static str] = &["grace", "every_started"];
    const SUMMARY: &'static str =
        "every completed qos>=1 app publish reaches the observer, every qos>=1 message to the DUT reaches it while its session lives; losses are blamed on the DUT, the broker or the observer's subscription gap";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(Qos1NoLoss {
            grace: f.opt("grace")?.unwrap_or(Dur::from_secs(2)),
            every_started: f.opt("every_started")?.unwrap_or(false),
        })
    }

    fn params(&self) -> String {
        let mut p = format!("grace={}", self.grace);
        if self.every_started {
            p.push_str(" every_started=true");
        }
        p
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        let out = s.workload.publish.iter().any(|p| p.qos.get() >= 1);
        let inc = s.workload.observer.iter().any(|o| {
            o.qos.get() >= 1
                && s.workload
                    .dut_subscribes_to(o.topic.as_str())
                    .is_some_and(|sub| sub.qos.get() >= 1)
        });
        if self.every_started && !out {
            return Err("`every_started` needs a qos >= 1 publish stream".into());
        }
        if out || inc {
            Ok(())
        } else {
            Err("needs a qos >= 1 publish stream, or a qos >= 1 observer stream to a qos >= 1 DUT subscription".into())
        }
    }

    /// Judged from packets and message ids: black-box DUTs whose profile
    /// declares `seq` too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire, Evidence::Messages]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let end = t.end_ms();
        let cutoff = end.saturating_sub(self.grace.as_millis());
        let ev = PartyEvidence::new(t);
        let mut failures = Vec::new();
        let mut excused: Vec<Excused> = Vec::new();
        let mut judged = 0usize;

        // Outgoing.
        let mut starts: BTreeMap<&str, (usize, u8)> = BTreeMap::new();
        let mut delivered: BTreeMap<&str, usize> = BTreeMap::new();
        let mut sends: BTreeMap<&str, Vec<(usize, u16)>> = BTreeMap::new();
        let mut failed: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
        let mut done: BTreeSet<&str> = BTreeSet::new();
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::App, Event::AppPublishStart { msg, qos, .. }) => {
                    starts.entry(msg).or_insert((i, *qos));
                }
                (Actor::App, Event::AppPublishDone { msg }) => {
                    done.insert(msg);
                }
                (Actor::App, Event::AppPublishFailed { msg, reason, .. }) => {
                    failed.entry(msg).or_insert((i, reason));
                }
                (Actor::Observer, Event::Delivered { msg, .. }) => {
                    delivered.entry(msg).or_insert(i);
                }
                (
                    Actor::Dut,
                    Event::PublishSent {
                        pid: Some(p), msg, ..
                    },
                ) => sends.entry(msg).or_default().push((i, *p)),
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
                if delivered.contains_key(msg.as_str()) {
                    continue;
                }
                let lost = format!(
                    "app publish {msg} (qos {qos}) completed at {} but never reached the observer",
                    secs(r.t_ms)
                );
                let sent = sends.get(msg.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                match outgoing_blame(t, &ev, &delivered, sent, i) {
                    (Party::Dut, why, mut events) => {
                        let mut refs = vec![t.r(si), t.r(i)];
                        refs.append(&mut events);
                        failures.push(Failure::new(
                            format!("{lost}: lost by the DUT ({why})"),
                            refs,
                        ));
                    }
                    (party, why, _) => excused.push(Excused {
                        party,
                        text: format!("{msg}: {why}"),
                    }),
                }
            }
        }
        if self.every_started {
            let reboots = t.reboots();
            for (msg, &(si, qos)) in &starts {
                let st = t.records[si].t_ms;
                if qos == 0 || st > cutoff || delivered.contains_key(msg) || done.contains(msg) {
                    continue;
                }
                // A dut_reboot ended the application that started it: no
                // one is left to tell (`offline_queue reboot = ...` judges
                // what a reboot keeps).
                let outcome_at = failed.get(msg).map(|&(fi, _)| t.records[fi].t_ms);
                if reboots
                    .iter()
                    .any(|&r| r >= st && outcome_at.is_none_or(|f| r < f))
                {
                    continue;
                }
                judged += 1;
                match failed.get(msg) {
                    Some((_, reason)) if !reason.trim().is_empty() => {}
                    Some(&(fi, _)) => failures.push(Failure::new(
                        format!("app publish {msg} (qos {qos}) started at {} failed without a reason", secs(st)),
                        vec![t.r(si), t.r(fi)],
                    )),
                    None => failures.push(Failure::new(
                        format!(
                            "app publish {msg} (qos {qos}) started at {} was neither delivered nor reported failed (every_started): lost by the DUT without telling the application",
                            secs(st)
                        ),
                        vec![t.r(si)],
                    )),
                }
            }
        }

        // A black-box DUT's messages, seen on the wire.
        let reboots = t.reboots();
        for (i, r) in t.iter() {
            let (Actor::App, Source::Wire, Event::AppPublishStart { msg, qos, .. }) =
                (r.actor, r.source, &r.event)
            else {
                continue;
            };
            if *qos == 0
                || r.t_ms > cutoff
                || t.records[..i].iter().any(|x| {
                    x.actor == Actor::App
                        && matches!(&x.event, Event::AppPublishStart { msg: m, .. } if m == msg)
                })
            {
                continue;
            }
            let completed = t.records[i..].iter().any(|x| {
                x.actor == Actor::App
                    && matches!(&x.event, Event::AppPublishDone { msg: m } if m == msg)
            });
            if completed {
                continue; // judged above
            }
            if reboots.iter().any(|&b| b >= r.t_ms && b <= cutoff) {
                continue;
            }
            judged += 1;
            if !delivered.contains_key(msg.as_str()) {
                failures.push(Failure::new(
                    format!(
                        "device message {msg} (qos {qos}, seen at {}) was never acknowledged nor delivered to the observer",
                        secs(r.t_ms)
                    ),
                    vec![t.r(i)],
                ));
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
        let violations: BTreeMap<&str, usize> = t
            .of(Actor::Dut)
            .filter_map(|(i, e)| match e {
                Event::BrokerViolation { msg, .. } => Some((msg.as_str(), i)),
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
                    if let Some(&v) = violations.get(msg.as_str()) {
                        excused.push(Excused {
                            party: Party::Broker,
                            text: format!(
                                "{msg}: the broker sent it on a QoS 2 packet id the DUT still held (broker_violation at {}), so it was not delivered",
                                secs(t.records[v].t_ms)
                            ),
                        });
                        continue;
                    }
                    if let Some(c) = ev.crash_after(i, r.t_ms) {
                        excused.push(Excused {
                            party: Party::Broker,
                            text: format!(
                                "{msg}: accepted by the broker at {}, lost when it crashed at {} and {}",
                                secs(r.t_ms),
                                secs(c.t_ms),
                                c.fate()
                            ),
                        });
                        continue;
                    }
                    failures.push(Failure::new(
                        format!(
                            "observer message {msg} (qos {qos}) to `{topic}` at {} never reached the DUT, and its session was never lost: lost by the DUT",
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
        Outcome::from_failures(failures).noted(excused_note(&excused))
    }
}

/// Who lost the completed publish `msg` (the `app_publish_done` at `done`),
/// sent as `sent` (publish_sent records and pids), and why; with the
/// records that show it.
fn outgoing_blame(
    t: &Trace<'_>,
    ev: &PartyEvidence<'_, '_>,
    delivered: &BTreeMap<&str, usize>,
    sent: &[(usize, u16)],
    done: usize,
) -> (Party, String, Vec<EventRef>) {
    let done_t = t.records[done].t_ms;
    if ev.has_packet_log {
        let pids: BTreeSet<u16> = sent.iter().map(|&(_, p)| p).collect();
        let Some(&(first, _)) = sent.first() else {
            return (
                Party::Dut,
                "it was never sent with a packet id".into(),
                vec![],
            );
        };
        let Some(a) = ev.broker_received_from_dut(&pids, first, done) else {
            return (
                Party::Dut,
                format!(
                    "the broker's packet log has no PUBLISH with its packet id {} from the DUT",
                    join(&pids)
                ),
                vec![t.r(first)],
            );
        };
        let at = t.records[a].t_ms;
        let topic = match &t.records[first].event {
            Event::PublishSent { topic, .. } => topic.as_str(),
            _ => "",
        };
        let (subscribed, since) = ev.observer_subscribed(topic, a);
        if !subscribed {
            let why = match since {
                Some(c) => format!(
                    "the broker received it at {} while the observer had no subscription to `{topic}` (lost at {} and not yet renewed)",
                    secs(at),
                    secs(t.records[c].t_ms)
                ),
                None => format!(
                    "the broker received it at {} while the observer had no subscription to `{topic}` yet",
                    secs(at)
                ),
            };
            return (Party::ObserverGap, why, vec![t.r(a)]);
        }
        if let Some(c) = ev.crash_after(a, at) {
            let rollback = if matches!(c.restart, Some((_, _, true))) && c.t_ms - at <= AUTOSAVE_MS
            {
                ", which was older than the message (autosave every 1 s)"
            } else {
                ""
            };
            return (
                Party::Broker,
                format!(
                    "accepted by the broker at {}, lost when it crashed at {} and {}{rollback}",
                    secs(at),
                    secs(c.t_ms),
                    c.fate()
                ),
                vec![t.r(a), t.r(c.index)],
            );
        }
        return (
            Party::Broker,
            format!(
                "accepted by the broker at {} while the observer was subscribed, never delivered by it",
                secs(at)
            ),
            vec![t.r(a)],
        );
    }
    // No packet log: the faults are the evidence.
    if let Some(c) = ev.crash_after(done, done_t) {
        return (
            Party::Broker,
            format!(
                "acknowledged to the DUT at {}, lost when the broker crashed at {} and {} (inferred: no broker packet log)",
                secs(done_t),
                secs(c.t_ms),
                c.fate()
            ),
            vec![t.r(c.index)],
        );
    }
    if let Some((r, rt)) = ev.empty_restart_before(done) {
        let first_after = delivered.values().filter(|&&d| d > r).min().copied();
        if first_after.is_some_and(|d| d > done) {
            return (
                Party::ObserverGap,
                format!(
                    "completed at {}, after the broker restarted without persistence at {} and before the observer received anything again (inferred: no broker packet log)",
                    secs(done_t),
                    secs(rt)
                ),
                vec![t.r(r)],
            );
        }
    }
    (
        Party::Dut,
        "nothing in the trace lays it at the broker's or the observer's door".into(),
        vec![],
    )
}

fn join(pids: &BTreeSet<u16>) -> String {
    pids.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The note naming the losses not held against the DUT, by party.
fn excused_note(excused: &[Excused]) -> String {
    const SHOWN: usize = 5;
    let mut parts = Vec::new();
    for party in [Party::Broker, Party::ObserverGap] {
        let of: Vec<&Excused> = excused.iter().filter(|e| e.party == party).collect();
        if of.is_empty() {
            continue;
        }
        let mut texts: Vec<&str> = of.iter().take(SHOWN).map(|e| e.text.as_str()).collect();
        let more = of.len().saturating_sub(SHOWN);
        let more = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        texts.dedup();
        parts.push(format!(
            "{} lost by {} (not the DUT's): {}{more}",
            of.len(),
            party.as_str(),
            texts.join("; ")
        ));
    }
    parts.join(". ")
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
                    queued_ms: None,
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

    /// A black-box DUT's message seen on the wire that was never
    /// acknowledged nor delivered is lost (paho-mqtt does not resend on a
    /// connection that stayed open); a reboot after it excuses it.
    #[test]
    fn wire_messages_never_acknowledged_are_lost() {
        use crate::trace::{Record, Source};
        let start = |t, m: &str| {
            Record::new(
                t,
                App,
                AppPublishStart {
                    msg: s(m),
                    topic: s("peers/d/seq"),
                    qos: 1,
                },
            )
            .from_source(Source::Wire)
        };
        let mut t = vec![
            start(100, "peers/d/seq#4"),
            start(200, "peers/d/seq#5"),
            Record::new(
                300,
                Observer,
                Delivered {
                    topic: s("peers/d/seq"),
                    msg: s("peers/d/seq#5"),
                    qos: 1,
                    retain: false,
                    dup: true,
                },
            ),
        ];
        t.push(Record::new(10_000, Harness, RunEnd));
        let f = failures(&oracle("oracle = \"qos1_no_loss\""), &t);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message.contains("device message peers/d/seq#4")
                && f[0].message.contains("never acknowledged"),
            "{}",
            f[0]
        );
        t.insert(
            1,
            Record::new(
                150,
                Faults,
                Fault {
                    kind: s("dut_reboot"),
                    detail: s(""),
                },
            ),
        );
        passes(&oracle("oracle = \"qos1_no_loss\""), &t);
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

    fn packet(
        t: u64,
        dir: crate::trace::Dir,
        client: &str,
        summary: &str,
    ) -> (u64, crate::trace::Actor, crate::trace::Event) {
        (
            t,
            Broker,
            BrokerPacket {
                dir,
                client_id: s(client),
                summary: s(summary),
                queued_ms: None,
            },
        )
    }

    fn fault(t: u64, kind: &str, detail: &str) -> (u64, crate::trace::Actor, crate::trace::Event) {
        (
            t,
            Faults,
            Fault {
                kind: s(kind),
                detail: s(detail),
            },
        )
    }

    /// The DUT publishes dut-0:1 (pid 1) at 100 ms; the broker gets it at
    /// 110 ms and acknowledges it; the DUT completes it at 120 ms.
    fn outgoing(
        extra: Vec<(u64, crate::trace::Actor, crate::trace::Event)>,
    ) -> Vec<crate::trace::Record> {
        use crate::trace::Dir::{In, Out};
        let mut t = vec![
            (
                100,
                App,
                AppPublishStart {
                    msg: s("dut-0:1"),
                    topic: s("t"),
                    qos: 1,
                },
            ),
            (
                100,
                Dut,
                PublishSent {
                    pid: Some(1),
                    qos: 1,
                    dup: false,
                    topic: s("t"),
                    msg: s("dut-0:1"),
                },
            ),
            packet(
                110,
                In,
                "dut",
                "PUBLISH pid=1 qos=1 dup=0 retain=0 topic=t len=64",
            ),
            packet(110, Out, "dut", "PUBACK pid=1"),
            (120, Dut, Puback { pid: 1 }),
            (120, App, AppPublishDone { msg: s("dut-0:1") }),
        ];
        t.extend(extra);
        t.sort_by_key(|x| x.0);
        t.push(run_end(10_000));
        trace(t)
    }

    fn note(o: &super::super::Oracle, t: &[crate::trace::Record]) -> String {
        let v = o.verdict(t);
        assert_eq!(v.status, super::super::Status::Pass, "{v:?}");
        v.note.unwrap_or_default()
    }

    /// (i) The broker restarted empty; the observer's new session has no
    /// subscription yet when the DUT's publish arrives: not the DUT's loss.
    #[test]
    fn a_publish_routed_before_the_observer_resubscribed_is_the_observers_gap() {
        use crate::trace::Dir::In;
        let t = outgoing(vec![
            packet(0, In, "observer-sub", "SUBSCRIBE pid=1 t:1"),
            fault(50, "broker_restart", "persist=false"),
            (
                60,
                Broker,
                ClientConnected {
                    client_id: s("observer-sub"),
                    clean: false,
                    session_present: false,
                },
            ),
            packet(200, In, "observer-sub", "SUBSCRIBE pid=2 t:1"),
        ]);
        let n = note(&oracle("oracle = \"qos1_no_loss\""), &t);
        assert_eq!(
            n,
            "1 lost by the observer's subscription gap (not the DUT's): dut-0:1: the broker received it at 0.110s while the observer had no subscription to `t` (lost at 0.050s and not yet renewed)"
        );
    }

    /// (ii) The broker accepted it, then crashed within its autosave
    /// interval and came back from the autosave: the broker's loss.
    #[test]
    fn a_publish_lost_in_the_brokers_rollback_is_the_brokers() {
        use crate::trace::Dir::In;
        let t = outgoing(vec![
            packet(0, In, "observer-sub", "SUBSCRIBE pid=1 t:1"),
            fault(600, "broker_crash", ""),
            fault(5_000, "broker_restart", "persist=true"),
        ]);
        let n = note(&oracle("oracle = \"qos1_no_loss\""), &t);
        assert_eq!(
            n,
            "1 lost by the broker (not the DUT's): dut-0:1: accepted by the broker at 0.110s, lost when it crashed at 0.600s and restarted at 5.000s from its last autosave (persist = true), which was older than the message (autosave every 1 s)"
        );
    }

    /// With a packet log that never shows the DUT's PUBLISH, a completed
    /// publish that vanished is the DUT's loss, and says so.
    #[test]
    fn a_publish_the_broker_never_received_is_the_duts() {
        let mut t = outgoing(vec![]);
        t.retain(
            |r| !matches!(&r.event, BrokerPacket { summary, .. } if summary.starts_with("PUBLISH")),
        );
        let f = failures(&oracle("oracle = \"qos1_no_loss\""), &t);
        assert_eq!(
            f[0].message,
            "app publish dut-0:1 (qos 1) completed at 0.120s but never reached the observer: lost by the DUT (the broker's packet log has no PUBLISH with its packet id 1 from the DUT)"
        );
    }

    /// Without a packet log, a crash after the publish completed is the
    /// evidence (inferred, and said so).
    #[test]
    fn without_a_packet_log_a_later_crash_is_the_brokers() {
        let mut t = outgoing(vec![fault(600, "broker_crash", "")]);
        t.retain(|r| !matches!(r.event, BrokerPacket { .. }));
        let n = note(&oracle("oracle = \"qos1_no_loss\""), &t);
        assert!(n.starts_with("1 lost by the broker (not the DUT's)"), "{n}");
        assert!(n.ends_with("(inferred: no broker packet log)"), "{n}");
    }

    /// An incoming message the broker sent on a QoS 2 id the DUT held.
    #[test]
    fn an_incoming_message_lost_to_a_broker_violation_is_the_brokers() {
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
            BrokerViolation {
                violation: s("qos2_id_reused"),
                pid: 3,
                topic: s("c"),
                msg: s("obs-0:1"),
                detail: s("reused"),
            },
        ));
        t.push(run_end(10_000));
        let n = note(&oracle("oracle = \"qos1_no_loss\""), &trace(t));
        assert!(
            n.contains("obs-0:1: the broker sent it on a QoS 2 packet id the DUT still held"),
            "{n}"
        );
    }

    /// every_started: a publish that neither arrived nor failed is the
    /// DUT's; one reported failed with a reason is not.
    #[test]
    fn every_started_needs_a_delivery_or_a_reported_failure() {
        let o = oracle("oracle = \"qos1_no_loss\"\nevery_started = true");
        let start = |t: u64, m: &str| {
            (
                t,
                App,
                AppPublishStart {
                    msg: s(m),
                    topic: s("t"),
                    qos: 1,
                },
            )
        };
        let mut t = vec![
            start(100, "dut-0:1"),
            start(200, "dut-0:2"),
            (
                300,
                App,
                AppPublishFailed {
                    msg: s("dut-0:2"),
                    qos: 1,
                    reason: s("the offline queue is full"),
                },
            ),
            run_end(10_000),
        ];
        let f = failures(&o, &trace(t.clone()));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            "app publish dut-0:1 (qos 1) started at 0.100s was neither delivered nor reported failed (every_started): lost by the DUT without telling the application"
        );
        t.insert(
            2,
            (
                250,
                Observer,
                Delivered {
                    topic: s("t"),
                    msg: s("dut-0:1"),
                    qos: 1,
                    retain: false,
                    dup: false,
                },
            ),
        );
        passes(&o, &trace(t.clone()));
        // Without the option, neither is judged.
        t.remove(2);
        let out = oracle("oracle = \"qos1_no_loss\"").check(&super::super::Trace::new(&trace(t)));
        assert!(
            matches!(out, super::super::Outcome::Inconclusive(_)),
            "{out:?}"
        );
    }

    /// every_started: a call a dut_reboot cut short is not judged (the
    /// application that started it is gone).
    #[test]
    fn every_started_leaves_calls_cut_by_a_reboot_alone() {
        let o = oracle("oracle = \"qos1_no_loss\"\nevery_started = true");
        let start = (
            100,
            App,
            AppPublishStart {
                msg: s("dut-0:1"),
                topic: s("t"),
                qos: 1,
            },
        );
        let cut = trace(vec![
            start.clone(),
            fault(200, "dut_reboot", ""),
            run_end(10_000),
        ]);
        let out = o.check(&super::super::Trace::new(&cut));
        assert!(
            matches!(out, super::super::Outcome::Inconclusive(_)),
            "{out:?}"
        );
        let before = trace(vec![start, run_end(10_000)]);
        assert_eq!(failures(&o, &before).len(), 1);
    }
}
