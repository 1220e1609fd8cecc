//! `fresh_ids_after_session_loss`: once the broker has lost the DUT's
//! session (a `connected` with `session_present = false` after an earlier
//! connection: a clean session, or a broker that forgot it), the DUT
//! starts afresh with its packet ids (B6, P5):
//!
//! - a publish left unfinished by the lost session is published again as
//!   a new message (DUP = 0 on its first send in the new session), never
//!   resent with DUP as if the broker still held it;
//! - no PUBREL goes out for a packet id of the lost session (only for a
//!   QoS 2 publish sent in the new one);
//! - incoming QoS 2 ids held for the lost session are forgotten: with the
//!   broker's packet log, a `qos2_duplicate` or `broker_violation` for an
//!   id the broker had not sent before in the new session means the DUT
//!   still held it (and dropped a new message).
//!
//! When the broker's own `client_connected` for the DUT says the session
//! was present, or the DUT's `session_uncertain` says its CONNACK did (the
//! driver reports `false` after an abandoned CONNECT, when it cannot be
//! sure the session is its own, and resends its in-flight messages as the
//! broker's word says), the session was not lost, and nothing is judged.
//! The DUT's own word matters where the broker's log is not there to read
//! (a broker the harness did not start).

use std::collections::BTreeSet;

use super::evidence::{is_observer, summary_pid};
use super::Evidence;
use super::{secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Dir, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct FreshIdsAfterSessionLoss;

/// What the new session has done so far.
struct Fresh {
    at: usize,
    /// Messages sent (DUP = 0) in the new session.
    sent: BTreeSet<String>,
    /// QoS 2 packet ids of publishes sent in the new session.
    qos2: BTreeSet<u16>,
    /// How many times the broker sent each id to the DUT in the new session.
    incoming: std::collections::BTreeMap<u16, u32>,
}

impl OracleSpec for FreshIdsAfterSessionLoss {
    const NAME: &'static str = "fresh_ids_after_session_loss";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str =
        "after a lost session, unfinished publishes go out as new (no DUP), no PUBREL for an old id, no incoming id held over";

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(FreshIdsAfterSessionLoss)
    }

    fn params(&self) -> String {
        String::new()
    }

    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire, Evidence::Messages]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let has_log = t
            .records
            .iter()
            .any(|r| matches!(r.event, Event::BrokerPacket { .. }));
        let mut failures = Vec::new();
        let mut judged = 0usize;
        let mut connected_before = false;
        let mut broker_says_present: Option<bool> = None;
        let mut fresh: Option<Fresh> = None;
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::Faults, Event::Fault { kind, .. })
                    if crate::scenario::fault::Fault::reboots(kind) =>
                {
                    // A new boot: a new driver with nothing held.
                    connected_before = false;
                    fresh = None;
                }
                (
                    Actor::Broker,
                    Event::ClientConnected {
                        client_id,
                        session_present,
                        ..
                    },
                ) if !is_observer(client_id) => {
                    broker_says_present = Some(*session_present);
                }
                (
                    Actor::Broker,
                    Event::BrokerPacket {
                        dir: Dir::Out,
                        client_id,
                        summary,
                        ..
                    },
                ) if !is_observer(client_id) && summary.starts_with("PUBLISH ") => {
                    if let (Some(f), Some(p)) = (fresh.as_mut(), summary_pid(summary)) {
                        *f.incoming.entry(p).or_default() += 1;
                    }
                }
                (Actor::Dut, Event::SessionUncertain) => broker_says_present = Some(true),
                (
                    Actor::Dut,
                    Event::Connected {
                        session_present, ..
                    },
                ) => {
                    let lost =
                        !session_present && connected_before && broker_says_present != Some(true);
                    if lost {
                        judged += 1;
                    }
                    fresh = lost.then(|| Fresh {
                        at: i,
                        sent: BTreeSet::new(),
                        qos2: BTreeSet::new(),
                        incoming: Default::default(),
                    });
                    connected_before = true;
                    broker_says_present = None;
                }
                (Actor::Dut, e) => {
                    let Some(f) = fresh.as_mut() else { continue };
                    let since = secs(t.records[f.at].t_ms);
                    match e {
                        Event::PublishSent {
                            dup: false,
                            msg,
                            pid,
                            qos,
                            ..
                        } => {
                            f.sent.insert(msg.clone());
                            if let (2, Some(p)) = (qos, pid) {
                                f.qos2.insert(*p);
                            }
                        }
                        Event::PublishSent {
                            dup: true,
                            msg,
                            pid,
                            ..
                        } if !f.sent.contains(msg) => {
                            failures.push(Failure::new(
                                format!(
                                    "{msg} resent with DUP (pid {}) at {} although the session was lost at {since}: it must be published again as a new message",
                                    pid.unwrap_or(0),
                                    secs(r.t_ms)
                                ),
                                vec![t.r(f.at), t.r(i)],
                            ));
                        }
                        Event::PubrelSent { pid, .. } if !f.qos2.contains(pid) => {
                            failures.push(Failure::new(
                                format!(
                                    "PUBREL for pid {pid} at {}, an id of the session lost at {since}",
                                    secs(r.t_ms)
                                ),
                                vec![t.r(f.at), t.r(i)],
                            ));
                        }
                        Event::Qos2Duplicate { pid } | Event::BrokerViolation { pid, .. }
                            if has_log && f.incoming.get(pid).copied().unwrap_or(0) < 2 =>
                        {
                            failures.push(Failure::new(
                                format!(
                                    "incoming pid {pid} at {} taken for one still awaiting PUBREL, but the broker had not sent it before in the session that began at {since}: an id held over from the lost session",
                                    secs(r.t_ms)
                                ),
                                vec![t.r(f.at), t.r(i)],
                            ));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        if judged == 0 {
            return Outcome::Inconclusive("the DUT's session was never lost".into());
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn connected(t: u64, sp: bool) -> (u64, crate::trace::Actor, crate::trace::Event) {
        (
            t,
            Dut,
            Connected {
                session_present: sp,
                keepalive_s: 60,
            },
        )
    }

    fn sent(
        t: u64,
        pid: u16,
        qos: u8,
        dup: bool,
    ) -> (u64, crate::trace::Actor, crate::trace::Event) {
        (
            t,
            Dut,
            PublishSent {
                pid: Some(pid),
                qos,
                dup,
                topic: s("t"),
                msg: s("dut-0:1"),
            },
        )
    }

    fn o() -> crate::oracle::Oracle {
        oracle("oracle = \"fresh_ids_after_session_loss\"")
    }

    #[test]
    fn passes_when_the_lost_publish_goes_out_as_new() {
        let t = trace(vec![
            connected(0, false),
            sent(10, 1, 1, false),
            (20, Dut, Down),
            connected(30, false),
            sent(31, 2, 1, false),
            sent(41, 2, 1, true),
            run_end(100),
        ]);
        passes(&o(), &t);
    }

    #[test]
    fn fails_on_a_dup_resend_into_a_new_session() {
        let t = trace(vec![
            connected(0, false),
            sent(10, 1, 1, false),
            (20, Dut, Down),
            connected(30, false),
            sent(31, 1, 1, true),
            run_end(100),
        ]);
        let f = failures(&o(), &t);
        assert!(
            f[0].message.starts_with(
                "dut-0:1 resent with DUP (pid 1) at 0.031s although the session was lost at 0.030s"
            ),
            "{}",
            f[0]
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }

    #[test]
    fn a_session_the_connack_kept_after_an_abandoned_connect_is_not_lost() {
        // D5: the driver reports `false` (its subscriptions are not known
        // to be kept) but its CONNACK said present, so its DUP resend is
        // right; no broker log here (a broker the harness did not start).
        let t = trace(vec![
            connected(0, false),
            sent(10, 1, 1, false),
            (20, Dut, Down),
            (30, Dut, SessionUncertain),
            connected(30, false),
            sent(30, 1, 1, true),
            run_end(100),
        ]);
        let outcome = o().check(&crate::oracle::Trace::new(&t));
        assert!(
            !matches!(outcome, crate::oracle::Outcome::Fail(_)),
            "{outcome:?}"
        );
    }

    #[test]
    fn fails_on_a_pubrel_for_an_old_id() {
        let t = trace(vec![
            connected(0, false),
            sent(10, 4, 2, false),
            (
                15,
                Dut,
                PubrelSent {
                    pid: 4,
                    resend: false,
                },
            ),
            (20, Dut, Down),
            connected(30, false),
            (
                31,
                Dut,
                PubrelSent {
                    pid: 4,
                    resend: true,
                },
            ),
            run_end(100),
        ]);
        let f = failures(&o(), &t);
        assert!(f[0].message.starts_with("PUBREL for pid 4"), "{}", f[0]);
    }

    #[test]
    fn fails_on_an_incoming_id_held_over() {
        let out = |t: u64| {
            (
                t,
                Broker,
                BrokerPacket {
                    dir: crate::trace::Dir::Out,
                    client_id: s("dut"),
                    summary: s("PUBLISH pid=9 qos=2 dup=0 retain=0 topic=c len=9"),
                    queued_ms: None,
                },
            )
        };
        let t = trace(vec![
            connected(0, false),
            out(5),
            (20, Dut, Down),
            connected(30, false),
            out(35),
            (36, Dut, Qos2Duplicate { pid: 9 }),
            run_end(100),
        ]);
        let f = failures(&o(), &t);
        assert!(f[0].message.starts_with("incoming pid 9"), "{}", f[0]);
    }

    #[test]
    fn a_session_the_broker_kept_is_not_judged() {
        let t = trace(vec![
            connected(0, false),
            sent(10, 1, 1, false),
            (20, Dut, Down),
            (
                29,
                Broker,
                ClientConnected {
                    client_id: s("dut"),
                    clean: false,
                    session_present: true,
                },
            ),
            connected(30, false),
            sent(31, 1, 1, true),
            run_end(100),
        ]);
        let out = o().check(&crate::oracle::Trace::new(&t));
        assert!(
            matches!(out, crate::oracle::Outcome::Inconclusive(_)),
            "{out:?}"
        );
    }
}
