//! Delivery to one session: QoS 0 sent or discarded, QoS 1/2 given a
//! packet id, sent while the in-flight window has room, queued otherwise
//! (dropped past the queue limit); acknowledgements free the window;
//! on resume the in-flight messages are resent with DUP (PUBREL for QoS 2
//! awaiting PUBCOMP).

use std::collections::BTreeSet;
use std::time::Duration;

use resilient_mqtt::codec::{Packet, Pid, PubRel, Publish, QoS, QosPid};

use super::{ConnId, Core};
use crate::connection::Phase;
use crate::fault::DropKind;
use crate::log::{BrokerEvent, Direction};
use crate::state::{Message, OutPhase, Outgoing, SessionState};
use crate::v5;

impl Core {
    /// Delivers one message to one session: sent at once if online and the
    /// window has room, queued (QoS 1/2) otherwise, dropped when full.
    /// QoS 0 messages for offline sessions are discarded, as mosquitto does.
    pub(super) fn deliver(&mut self, client_id: &str, msg: Message, now: Duration) {
        if msg.expired(now) {
            return;
        }
        let max_queued = self.config.max_queued;
        let online = self
            .sessions
            .get(client_id)
            .and_then(|s| s.online)
            .filter(|c| {
                self.conns
                    .get(c)
                    .is_some_and(|c| matches!(c.phase, Phase::Connected(_)))
            });
        let max_inflight = self.window(online);
        if let Some(max) = online.and_then(|c| self.client_max_packet(c)) {
            if !fits(&msg, max, now) {
                return self.not_sent(online, client_id, &msg, max, now);
            }
        }
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        if msg.qos == QoS::AtMostOnce {
            if let Some(conn) = online {
                let o = Outgoing {
                    pid: 0,
                    message: msg,
                    phase: OutPhase::AwaitAck,
                    sent: false,
                };
                self.send_publish(conn, client_id, &o, now);
            }
            return;
        }
        let st = &mut session.state;
        let room_inflight =
            online.is_some() && st.inflight.len() < max_inflight && st.queued.is_empty();
        if !room_inflight && st.queued.len() >= max_queued {
            st.dropped += 1;
            self.stats.messages_dropped += 1;
            let topic = msg.topic;
            self.event(
                now,
                BrokerEvent::MessageDropped {
                    client_id: client_id.to_string(),
                    topic,
                },
            );
            return;
        }
        let Some(pid) = next_pid(st) else {
            st.dropped += 1;
            self.stats.messages_dropped += 1;
            return;
        };
        let mut o = Outgoing {
            pid,
            message: msg,
            phase: OutPhase::Queued,
            sent: false,
        };
        match online {
            Some(conn) if room_inflight => {
                o.phase = OutPhase::AwaitAck;
                let copy = o.clone();
                st.inflight.push(o);
                self.send_publish(conn, client_id, &copy, now);
                if let Some(s) = self.sessions.get_mut(client_id) {
                    if let Some(last) = s.state.inflight.last_mut() {
                        last.sent = true;
                    }
                }
            }
            _ => st.queued.push_back(o),
        }
    }

    /// Moves queued messages into the window while there is room.
    pub(super) fn fill_window(&mut self, client_id: &str, now: Duration) {
        loop {
            let online = self.sessions.get(client_id).and_then(|s| s.online);
            let max_inflight = self.window(online);
            let Some(session) = self.sessions.get_mut(client_id) else {
                return;
            };
            let Some(conn) = session.online else {
                return;
            };
            if session.state.inflight.len() >= max_inflight {
                return;
            }
            let Some(mut o) = session.state.queued.pop_front() else {
                return;
            };
            // An expired message not yet sent is not delivered (MQTT 5
            // section 3.3.2.3.3).
            if !o.sent && o.message.expired(now) {
                continue;
            }
            o.phase = OutPhase::AwaitAck;
            let copy = o.clone();
            o.sent = true;
            session.state.inflight.push(o);
            self.send_publish(conn, client_id, &copy, now);
        }
    }

    /// On session resume: resend what was in flight (DUP if it had been
    /// sent, PUBREL for QoS 2 awaiting PUBCOMP), then fill the window.
    pub(super) fn resume(&mut self, id: ConnId, client_id: &str, now: Duration) {
        // An MQTT 5 client's Receive Maximum may be smaller than what was in
        // flight (e.g. after a flood): what does not fit goes back to the
        // front of the queue, resent (with DUP) as room appears. With 3.1.1
        // the window never holds more than `max_inflight`, so nothing moves.
        let window = self.window(Some(id));
        // Kept messages larger than the client now accepts are discarded as
        // if sent (MQTT 5 section 3.1.2.11.4).
        if let Some(max) = self.client_max_packet(id) {
            let mut gone = Vec::new();
            if let Some(session) = self.sessions.get_mut(client_id) {
                let st = &mut session.state;
                gone.extend(
                    st.inflight
                        .iter()
                        .filter(|o| !fits(&o.message, max, now))
                        .map(|o| o.message.clone()),
                );
                gone.extend(
                    st.queued
                        .iter()
                        .filter(|o| !fits(&o.message, max, now))
                        .map(|o| o.message.clone()),
                );
                st.inflight.retain(|o| fits(&o.message, max, now));
                st.queued.retain(|o| fits(&o.message, max, now));
            }
            for m in gone {
                self.not_sent(Some(id), client_id, &m, max, now);
            }
        }
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        while session.state.inflight.len() > window {
            let Some(pos) = session
                .state
                .inflight
                .iter()
                .rposition(|o| o.phase != OutPhase::AwaitComp)
            else {
                break;
            };
            let mut o = session.state.inflight.remove(pos);
            o.phase = OutPhase::Queued;
            session.state.queued.push_front(o);
        }
        let inflight = session.state.inflight.clone();
        for o in &inflight {
            match o.phase {
                OutPhase::AwaitComp => {
                    if let Some(pid) = Pid::new(o.pid) {
                        self.send_with_faults(
                            id,
                            Packet::PubRel(PubRel(pid)),
                            DropKind::PubRel,
                            now,
                        );
                    }
                }
                _ => self.send_publish(id, client_id, o, now),
            }
        }
        if let Some(s) = self.sessions.get_mut(client_id) {
            for o in &mut s.state.inflight {
                if o.phase == OutPhase::Queued {
                    o.phase = OutPhase::AwaitAck;
                }
                o.sent = true;
            }
        }
        self.fill_window(client_id, now);
    }

    pub(super) fn complete_outgoing(
        &mut self,
        client_id: &str,
        pid: Pid,
        qos: QoS,
        phase: OutPhase,
        now: Duration,
    ) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        let before = s.state.inflight.len();
        s.state
            .inflight
            .retain(|o| !(o.pid == pid.get() && o.message.qos == qos && o.phase == phase));
        if s.state.inflight.len() != before {
            self.fill_window(client_id, now);
        }
    }

    /// A PUBREC for a QoS 2 message sent to the client: it now awaits
    /// PUBCOMP; PUBREL goes out.
    pub(super) fn pubrec_received(&mut self, id: ConnId, client_id: &str, pid: Pid, now: Duration) {
        let mut awaited = false;
        if let Some(s) = self.sessions.get_mut(client_id) {
            if let Some(o) = s
                .state
                .inflight
                .iter_mut()
                .find(|o| o.pid == pid.get() && o.message.qos == QoS::ExactlyOnce)
            {
                awaited = o.phase == OutPhase::AwaitAck;
                o.phase = OutPhase::AwaitComp;
            }
        }
        if awaited && !self.faults.is_empty() {
            self.reuse_pid_fault(id, client_id, pid, now);
        }
        // mosquitto answers PUBREL even for an unknown id.
        self.send_with_faults(id, Packet::PubRel(PubRel(pid)), DropKind::PubRel, now);
    }

    /// An MQTT 5 client's Maximum Packet Size, if it set one.
    fn client_max_packet(&self, conn: ConnId) -> Option<u32> {
        self.conns
            .get(&conn)
            .and_then(|c| c.v5.as_ref())
            .and_then(|v| v.max_packet_size)
    }

    /// A message too large for the client: logged, not sent (the spec's
    /// "discard it without sending it and then behave as if it had
    /// completed sending").
    fn not_sent(
        &mut self,
        conn: Option<ConnId>,
        client_id: &str,
        msg: &Message,
        max: u32,
        now: Duration,
    ) {
        let len = v5::publish_len(msg, now);
        let summary = format!(
            "PUBLISH topic={} qos={} len={} not sent: {len} bytes, over the client's Maximum Packet Size {max}",
            msg.topic,
            msg.qos as u8,
            msg.payload.len()
        );
        let conn = conn.map_or(0, |c| c.0);
        self.log_packet(
            now,
            Direction::Out,
            conn,
            Some(client_id.to_string()),
            summary,
            None,
        );
    }

    /// The in-flight window towards a connection: `max_inflight`, and no
    /// more than an MQTT 5 client's Receive Maximum.
    pub(super) fn window(&self, conn: Option<ConnId>) -> usize {
        let rm = conn
            .and_then(|c| self.conns.get(&c))
            .and_then(|c| c.v5.as_ref())
            .map_or(usize::MAX, |v| v.receive_maximum as usize);
        self.config.max_inflight.min(rm)
    }

    pub(super) fn send_publish(
        &mut self,
        conn: ConnId,
        client_id: &str,
        o: &Outgoing,
        now: Duration,
    ) {
        let qospid = match Pid::new(o.pid) {
            Some(pid) => QosPid::from_qos(o.message.qos, pid),
            None => QosPid::AtMostOnce,
        };
        let mut p = Publish {
            dup: o.sent && qospid != QosPid::AtMostOnce,
            qospid,
            retain: o.message.retain,
            topic: &o.message.topic,
            payload: &o.message.payload,
        };
        self.publish_props = o.message.props.clone();
        self.send_with_faults(conn, Packet::Publish(p), DropKind::Publish, now);
        self.stats.publishes_sent += 1;
        let twice = self.faults.take_duplicate(Some(client_id));
        if twice {
            p.dup = qospid != QosPid::AtMostOnce;
            self.send(conn, Packet::Publish(p));
        }
        self.publish_props = None;
        if twice {
            self.stats.publishes_sent += 1;
            self.fault_injected(
                conn,
                format!("PUBLISH to {} sent twice", o.message.topic),
                now,
            );
        }
    }
}

/// Whether `msg`, sent as MQTT 5 at `now`, fits in `max` bytes.
fn fits(msg: &Message, max: u32, now: Duration) -> bool {
    v5::publish_len(msg, now) <= max as usize
}

/// The next free packet id of a session (ids in use are skipped).
pub(super) fn next_pid(st: &mut SessionState) -> Option<u16> {
    let in_use: BTreeSet<u16> = st
        .inflight
        .iter()
        .chain(st.queued.iter())
        .map(|o| o.pid)
        .collect();
    let mut pid = Pid::new(st.last_pid).unwrap_or(Pid::MIN);
    if st.last_pid != 0 {
        pid = pid.next();
    }
    for _ in 0..u16::MAX {
        if !in_use.contains(&pid.get()) {
            st.last_pid = pid.get();
            return Some(pid.get());
        }
        pid = pid.next();
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::config::BrokerConfig;
    use crate::core::testkit::{puback, pubcomp, publish, pubrec, Kit};
    use crate::log::BrokerEvent;

    #[test]
    fn qos1_unacknowledged_is_resent_with_dup_on_resume() {
        let mut k = Kit::new();
        let s = k.subscriber("sub", false, "t", 1);
        let (p, _) = k.connect("pub", true);
        k.send(p, publish("t", b"a", 1, 1, false));
        assert_eq!(
            k.out(s),
            ["PUBLISH pid=1 qos=1 dup=0 retain=0 topic=t len=1"]
        );
        k.drop_conn(s);
        // Queued while offline: a new packet id.
        k.send(p, publish("t", b"b", 1, 2, false));
        let (s, out) = k.connect("sub", false);
        assert_eq!(
            out,
            [
                "CONNACK sp=1 rc=0",
                "PUBLISH pid=1 qos=1 dup=1 retain=0 topic=t len=1",
                "PUBLISH pid=2 qos=1 dup=0 retain=0 topic=t len=1",
            ]
        );
        k.send(s, puback(1));
        k.send(s, puback(2));
        k.drop_conn(s);
        let (_, out) = k.connect("sub", false);
        assert_eq!(out, ["CONNACK sp=1 rc=0"]);
    }

    #[test]
    fn qos2_awaiting_pubcomp_gets_pubrel_on_resume() {
        let mut k = Kit::new();
        let s = k.subscriber("sub", false, "t", 2);
        let (p, _) = k.connect("pub", true);
        k.send(p, publish("t", b"a", 1, 1, false));
        assert_eq!(
            k.out(s),
            ["PUBLISH pid=1 qos=1 dup=0 retain=0 topic=t len=1"]
        );
        k.send(p, publish("t", b"b", 2, 2, false));
        k.send(p, crate::core::testkit::pubrel(2));
        assert_eq!(
            k.out(s),
            ["PUBLISH pid=2 qos=2 dup=0 retain=0 topic=t len=1"]
        );
        k.send(s, pubrec(2));
        assert_eq!(k.out(s), ["PUBREL pid=2"]);
        k.drop_conn(s);
        let (s, out) = k.connect("sub", false);
        assert_eq!(
            out,
            [
                "CONNACK sp=1 rc=0",
                "PUBLISH pid=1 qos=1 dup=1 retain=0 topic=t len=1",
                "PUBREL pid=2",
            ]
        );
        k.send(s, pubcomp(2));
        k.send(s, puback(1));
        assert!(k.out(s).is_empty());
    }

    #[test]
    fn the_window_holds_max_inflight_and_the_queue_drops_past_its_limit() {
        let mut k = Kit::with(BrokerConfig {
            max_inflight: 2,
            max_queued: 1,
            ..BrokerConfig::default()
        });
        let s = k.subscriber("sub", true, "t", 1);
        let (p, _) = k.connect("pub", true);
        for i in 1..=4 {
            k.send(p, publish("t", b"x", 1, i, false));
        }
        assert_eq!(
            k.out(s),
            [
                "PUBLISH pid=1 qos=1 dup=0 retain=0 topic=t len=1",
                "PUBLISH pid=2 qos=1 dup=0 retain=0 topic=t len=1",
            ]
        );
        assert!(k
            .events()
            .iter()
            .any(|e| matches!(e, BrokerEvent::MessageDropped { .. })));
        assert_eq!(k.core.stats().messages_dropped, 1);
        // An acknowledgement frees the window for the queued one.
        k.send(s, puback(1));
        assert_eq!(
            k.out(s),
            ["PUBLISH pid=3 qos=1 dup=0 retain=0 topic=t len=1"]
        );
    }
}
