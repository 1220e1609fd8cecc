//! In flight, outgoing: publishes and subscribe/unsubscribe requests from
//! the outbox to the broker and back (P2-P5, S1). Sending up to the
//! in-flight window, the acks that complete them, resends after the reply
//! timeout (P3) and on a resumed session, and the round-trip samples they
//! give (Karn's rule).

use super::outbox::{OpKind, OutPublish, OutState};
use super::state::Conn;
use super::store::{caps, List, Map, Seq};
use super::v5::{AckReason, Wire};
use super::{DownReason, Event, Instant, RequestError, Session};
use crate::codec::{
    self, Packet, Pid, PubRel, Publish, QoS, QosPid, SubAckCode, Subscribe, SubscribeTopic,
    Unsubscribe,
};

/// Which ack answered an outgoing publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckKind {
    /// PUBACK (QoS 1).
    Puback,
    /// PUBCOMP (QoS 2, after PUBREL).
    Pubcomp,
    /// MQTT 5: a PUBREC with a failure code (QoS 2, before PUBREL).
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    RefusedPubrec,
}

/// The answer to a subscribe or unsubscribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpAck {
    /// A 3.1.1 SUBACK's code (`None`: the SUBACK listed none).
    Subscribe311(Option<SubAckCode>),
    /// An MQTT 5 SUBACK: the granted QoS or the failure reason.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    Subscribe(Result<QoS, AckReason>),
    /// UNSUBACK: success (with a reason worth reporting, MQTT 5) or the
    /// failure reason (MQTT 5).
    Unsubscribe(Result<Option<AckReason>, AckReason>),
}

/// How the broker's ack of a publish ended it (MQTT 5 adds the reasons).
pub(crate) type AckOutcome = Result<Option<AckReason>, AckReason>;

impl Session {
    /// P3: when an in-flight publish is due for a resend, if it is.
    pub(super) fn resend_due(&self, p: &OutPublish) -> Option<Instant> {
        let resends = match p.state {
            OutState::Queued => 0,
            OutState::AwaitAck { resends, .. } | OutState::AwaitComp { resends, .. } => resends,
        };
        Some(p.sent_at()? + self.rtt.resend_after(resends))
    }

    /// Sends what can be sent now: operations, then publishes in order, up
    /// to the in-flight window.
    pub(super) fn flush(&mut self, now: Instant) {
        if !matches!(self.conn, Conn::Up(_)) {
            return;
        }
        let mut sent_any = false;
        for i in 0..self.outbox.ops.len() {
            if self.outbox.ops[i].sent.is_some() {
                continue;
            }
            let pid = self.outbox.alloc_pid();
            let op = &mut self.outbox.ops[i];
            op.sent = Some((pid, now));
            let kind = op.kind.clone();
            match &kind {
                OpKind::Subscribe {
                    filter,
                    qos,
                    options,
                } => {
                    match self.wire {
                        #[cfg(feature = "alloc")]
                        Wire::V5(_) => {
                            self.v5_send_subscribe(pid, filter, *qos, options.as_deref())
                        }
                        Wire::V311 => {
                            let _ = options;
                            let topics = [SubscribeTopic { filter, qos: *qos }];
                            self.tx.encode(&Packet::Subscribe(Subscribe {
                                pid,
                                topics: codec::List::new(&topics),
                            }));
                        }
                    }
                    self.events.push(Event::SubscribeSent {
                        topic: filter.clone(),
                        qos: *qos,
                    });
                }
                #[cfg(feature = "alloc")]
                OpKind::Unsubscribe { filter } if self.wire.is_v5() => {
                    self.v5_send_unsubscribe(pid, filter);
                }
                OpKind::Unsubscribe { filter } => {
                    let topics = [filter.as_str()];
                    self.tx.encode(&Packet::Unsubscribe(Unsubscribe {
                        pid,
                        topics: codec::List::new(&topics),
                    }));
                }
            }
            sent_any = true;
        }
        let mut completed: List<usize, { caps::OUTBOX }> = List::new();
        let mut inflight = self.outbox.inflight();
        // P4; MQTT 5: never more than the server's Receive Maximum.
        let window = self.inflight_window();
        for i in 0..self.outbox.publishes.len() {
            if self.outbox.publishes[i].state != OutState::Queued {
                continue;
            }
            let qos = self.outbox.publishes[i].qos;
            if qos != QoS::AtMostOnce && inflight >= window {
                continue;
            }
            let pid = if qos == QoS::AtMostOnce {
                Pid::MIN
            } else {
                self.outbox.alloc_pid()
            };
            let qospid = QosPid::from_qos(qos, pid);
            match self.wire {
                #[cfg(feature = "alloc")]
                Wire::V5(_) => self.v5_send_publish(i, qospid, false),
                Wire::V311 => {
                    let p = &self.outbox.publishes[i];
                    let packet = Publish {
                        dup: false,
                        qospid,
                        retain: p.retain,
                        topic: &p.topic,
                        payload: &p.payload,
                    };
                    self.tx.encode(&Packet::Publish(packet));
                }
            }
            let p = &mut self.outbox.publishes[i];
            self.events.push(Event::PublishSent {
                token: p.token,
                pid: qospid.pid(),
                qos,
                dup: false,
                topic: p.topic.clone(),
                payload: p.payload.clone(),
            });
            if qos == QoS::AtMostOnce {
                // P2: QoS 0 is done once sent.
                let _ = completed.try_push(i);
            } else {
                p.state = OutState::AwaitAck {
                    pid,
                    sent_at: now,
                    resends: 0,
                };
                inflight += 1;
            }
            sent_any = true;
        }
        for &i in completed.iter().rev() {
            if let Some(p) = self.outbox.publishes.take_at(i) {
                self.events.push(Event::PublishDone { token: p.token });
            }
        }
        if sent_any {
            if let Conn::Up(live) = &mut self.conn {
                live.last_tx = now;
            }
        }
        self.check_tx(now);
    }

    /// After CONNACK: with the session kept, resend what was in flight with
    /// the same ids: PUBLISH with DUP, or for QoS 2 past its PUBREC, PUBREL
    /// (never the PUBLISH again, P5); with a new session, publish it again
    /// as new messages with new ids (B6: never lost).
    ///
    /// A QoS 2 publish whose PUBREC came but whose PUBCOMP did not is
    /// republished too when the session is gone: a broker that routes QoS 2
    /// at PUBREL (mosquitto, the chaos broker) never routed it, so dropping
    /// it would lose it; a broker that routes at PUBLISH already did, and
    /// then the republished copy is a duplicate. MQTT gives the client no
    /// way to tell the two apart once the session is lost; we choose no
    /// loss, as for QoS 1.
    pub(super) fn resume_outbox(&mut self, now: Instant, session_present: bool) {
        for i in 0..self.outbox.publishes.len() {
            let state = self.outbox.publishes[i].state;
            match (state, session_present) {
                (OutState::Queued, _) => {}
                (OutState::AwaitAck { .. } | OutState::AwaitComp { .. }, true) => {
                    self.resend(now, i)
                }
                (OutState::AwaitAck { .. } | OutState::AwaitComp { .. }, false) => {
                    self.outbox.publishes[i].state = OutState::Queued
                }
            }
        }
    }

    pub(super) fn resend(&mut self, now: Instant, i: usize) {
        let Some(p) = self.outbox.publishes.get_mut(i) else {
            return;
        };
        self.stats.resends += 1;
        match p.state {
            OutState::AwaitAck { pid, resends, .. } => {
                p.state = OutState::AwaitAck {
                    pid,
                    sent_at: now,
                    resends: resends.saturating_add(1),
                };
                let qospid = QosPid::from_qos(p.qos, pid);
                match self.wire {
                    #[cfg(feature = "alloc")]
                    Wire::V5(_) => self.v5_send_publish(i, qospid, true),
                    Wire::V311 => {
                        let packet = Publish {
                            dup: true,
                            qospid,
                            retain: p.retain,
                            topic: &p.topic,
                            payload: &p.payload,
                        };
                        self.tx.encode(&Packet::Publish(packet));
                    }
                }
                let p = &self.outbox.publishes[i];
                self.events.push(Event::Retransmit {
                    token: p.token,
                    pid,
                });
                self.events.push(Event::PublishSent {
                    token: p.token,
                    pid: Some(pid),
                    qos: p.qos,
                    dup: true,
                    topic: p.topic.clone(),
                    payload: p.payload.clone(),
                });
            }
            OutState::AwaitComp { pid, resends, .. } => {
                p.state = OutState::AwaitComp {
                    pid,
                    sent_at: now,
                    resends: resends.saturating_add(1),
                };
                self.tx.encode(&Packet::PubRel(PubRel(pid)));
                self.events.push(Event::PubRelSent {
                    token: p.token,
                    pid,
                    resend: true,
                });
            }
            OutState::Queued => {}
        }
        if let Conn::Up(live) = &mut self.conn {
            live.last_tx = now;
        }
    }

    /// The ack that ends an outgoing publish: PUBACK, PUBCOMP, or (MQTT 5)
    /// a PUBREC with a failure code. `outcome` carries MQTT 5's reason:
    /// success (reported with [`Event::AckReason`] when it says more than
    /// plain success) or a failure that completes the publish with
    /// [`RequestError::Rejected`] (never retried: the broker decided).
    pub(super) fn handle_ack(
        &mut self,
        now: Instant,
        pid: Pid,
        kind: AckKind,
        outcome: AckOutcome,
    ) {
        let found = self.outbox.find(pid).filter(|&i| {
            let p = &self.outbox.publishes[i];
            match (kind, p.state) {
                (AckKind::Puback, OutState::AwaitAck { .. }) => p.qos == QoS::AtLeastOnce,
                (AckKind::Pubcomp, OutState::AwaitComp { .. }) => true,
                (AckKind::RefusedPubrec, OutState::AwaitAck { .. }) => p.qos == QoS::ExactlyOnce,
                _ => false,
            }
        });
        match found.and_then(|i| self.outbox.publishes.take_at(i)) {
            Some(p) => {
                self.queue_forget(&p);
                // C3 beyond: Karn's rule: only a publish sent once gives a
                // round-trip sample (a resent one's ack is ambiguous). For
                // QoS 2 the sample is PUBREL -> PUBCOMP.
                if let OutState::AwaitAck {
                    sent_at,
                    resends: 0,
                    ..
                }
                | OutState::AwaitComp {
                    sent_at,
                    resends: 0,
                    ..
                } = p.state
                {
                    self.rtt.sample(now.saturating_since(sent_at));
                }
                self.events.push(Event::Acked { pid });
                match outcome {
                    Ok(reason) => {
                        if let Some(reason) = reason {
                            self.events.push(Event::AckReason {
                                token: Some(p.token),
                                pid,
                                reason,
                            });
                        }
                        self.events.push(Event::PublishDone { token: p.token });
                    }
                    Err(r) => self.events.push(Event::PublishFailed {
                        token: p.token,
                        error: RequestError::Rejected {
                            reason: r.code,
                            reason_string: r.reason_string,
                        },
                    }),
                }
            }
            None => {
                // B1: an ack for an id not in flight (e.g. the original and
                // its DUP resend both acknowledged) is ignored.
                self.stats.stray_acks += 1;
                self.events.push(Event::StrayAck { pid });
            }
        }
    }

    /// P5: PUBREC for an outgoing QoS 2 publish. The first one moves it to
    /// awaiting PUBCOMP; a repeated one (the broker resent it, or a delayed
    /// copy) is answered with PUBREL again and counts as a resend (Karn: the
    /// PUBCOMP that follows is no round-trip sample). A PUBREC for an id not
    /// in flight is counted as stray and answered with PUBREL as well, as
    /// mosquitto does, so a broker still holding that id can release it.
    pub(super) fn handle_pubrec(&mut self, now: Instant, pid: Pid) {
        let found = self
            .outbox
            .find(pid)
            .filter(|&i| self.outbox.publishes[i].qos == QoS::ExactlyOnce);
        let Some(i) = found else {
            self.stats.stray_acks += 1;
            self.events.push(Event::StrayAck { pid });
            self.tx.encode(&Packet::PubRel(PubRel(pid)));
            return;
        };
        let p = &mut self.outbox.publishes[i];
        let resend = match p.state {
            OutState::AwaitComp { resends, .. } => {
                p.state = OutState::AwaitComp {
                    pid,
                    sent_at: now,
                    resends: resends.saturating_add(1),
                };
                self.stats.resends += 1;
                true
            }
            _ => {
                p.state = OutState::AwaitComp {
                    pid,
                    sent_at: now,
                    resends: 0,
                };
                false
            }
        };
        self.tx.encode(&Packet::PubRel(PubRel(pid)));
        self.events.push(Event::PubRelSent {
            token: p.token,
            pid,
            resend,
        });
    }

    pub(super) fn handle_op_ack(&mut self, pid: Pid, ack: OpAck) {
        let Some(i) = self.outbox.find_op(pid) else {
            self.stats.stray_acks += 1;
            self.events.push(Event::StrayAck { pid });
            return;
        };
        let Some(op) = self.outbox.ops.take_at(i) else {
            return;
        };
        let rejected = |r: AckReason| RequestError::Rejected {
            reason: r.code,
            reason_string: r.reason_string,
        };
        match op.kind {
            OpKind::Subscribe {
                filter, options, ..
            } => {
                let granted = match ack {
                    OpAck::Subscribe311(Some(SubAckCode::Granted(q))) => Ok(q),
                    OpAck::Subscribe(Ok(q)) => Ok(q),
                    OpAck::Subscribe(Err(r)) => Err(rejected(r)),
                    _ => Err(RequestError::SubscriptionRefused),
                };
                let result = match granted {
                    Ok(q) => {
                        self.events.push(Event::Subscribed {
                            topic: filter.clone(),
                            qos: q,
                        });
                        // A full table (only without alloc) still grants
                        // the subscription; it is then not restored (D5).
                        let _ = self.subscriptions.try_put(filter, (q, options));
                        Ok(q)
                    }
                    Err(e) => Err(e),
                };
                if let Some(token) = op.token {
                    self.events.push(Event::SubscribeDone { token, result });
                }
            }
            OpKind::Unsubscribe { filter } => {
                let result = match ack {
                    OpAck::Unsubscribe(Ok(reason)) => {
                        if let Some(reason) = reason {
                            self.events.push(Event::AckReason {
                                token: op.token,
                                pid,
                                reason,
                            });
                        }
                        self.subscriptions.remove(&filter);
                        Ok(())
                    }
                    OpAck::Unsubscribe(Err(r)) => Err(rejected(r)),
                    _ => Ok(()),
                };
                if let Some(token) = op.token {
                    self.events.push(Event::UnsubscribeDone { token, result });
                }
            }
        }
    }

    /// S1, P3: requests in flight past their reply timeout: an unanswered
    /// subscribe or unsubscribe ends the connection; a publish is resent,
    /// up to `max_repubs` times.
    pub(super) fn timeout_inflight(&mut self, now: Instant) {
        let rt = self.rtt.timeout();
        // S1: subscribe/unsubscribe acks.
        if self
            .outbox
            .ops
            .iter()
            .any(|o| o.sent.is_some_and(|(_, s)| now >= s + rt))
        {
            self.lost(now, DownReason::AckTimeout);
            return;
        }
        // P3: resend unacknowledged publishes, up to max_repubs.
        let mut resend: List<usize, { caps::OUTBOX }> = List::new();
        for (i, p) in self.outbox.publishes.iter().enumerate() {
            if self.resend_due(p).is_some_and(|t| now >= t) {
                let resends = match p.state {
                    OutState::AwaitAck { resends, .. } | OutState::AwaitComp { resends, .. } => {
                        resends
                    }
                    OutState::Queued => 0,
                };
                if resends >= self.config.max_repubs {
                    self.lost(now, DownReason::MaxRepubs);
                    return;
                }
                let _ = resend.try_push(i);
            }
        }
        for i in resend {
            self.resend(now, i);
        }
    }
}
