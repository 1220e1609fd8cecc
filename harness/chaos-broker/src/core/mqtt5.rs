//! MQTT 5 connections: the v5-only work on each packet (topic aliases,
//! the Receive Maximum for incoming QoS 2, per-filter UNSUBACK codes, a
//! DISCONNECT's reason and session expiry), then the 3.1.1 form through
//! the same logic as 3.1.1 connections; server DISCONNECTs.

use std::time::Duration;

use resilient_mqtt::codec::v5 as wire;
use resilient_mqtt::codec::v5::{Property, ReasonCode};
use resilient_mqtt::codec::{
    Connect, List, Packet, PubAck, PubComp, PubRec, PubRel, Publish, QosPid, SubscribeTopic,
    Unsubscribe, Will,
};

use super::{ConnId, Core};
use crate::connection::Phase;
use crate::log::{Direction, DisconnectReason};
use crate::v5::{self, V5Conn};

impl Core {
    /// Handles one packet of an MQTT 5 connection: the v5-only work, then
    /// the 3.1.1 form through [`Core::handle_packet`]. False when it must
    /// stay buffered.
    pub(super) fn handle_packet_v5(
        &mut self,
        id: ConnId,
        packet: wire::Packet<'_>,
        now: Duration,
    ) -> bool {
        let Some(conn) = self.conns.get_mut(&id) else {
            return false;
        };
        let client_id = match &conn.phase {
            Phase::Connected(c) => Some(c.client_id.clone()),
            Phase::AwaitConnect(_) => None,
            Phase::DelayingConnect { .. } | Phase::Closing => return false,
        };
        match packet {
            wire::Packet::Connect(c) => {
                if conn.v5.is_none() || client_id.is_none() {
                    let mut v = V5Conn::from_connect(&c.properties);
                    v.will_props = c.will.and_then(|w| v5::message_props(&w.properties));
                    conn.v5 = Some(v);
                }
                let v3 = Connect {
                    client_id: c.client_id,
                    keep_alive: c.keep_alive,
                    clean_session: c.clean_start,
                    will: c.will.map(|w| Will {
                        topic: w.topic,
                        message: w.payload,
                        qos: w.qos,
                        retain: w.retain,
                    }),
                    username: c.username,
                    password: c.password,
                };
                self.handle_packet(id, Packet::Connect(v3), now)
            }
            wire::Packet::Publish(p) => {
                if let Some(Property::TopicAlias(a)) =
                    p.properties.get(wire::PropertyId::TopicAlias)
                {
                    let how = if p.topic.is_empty() { "used" } else { "set" };
                    conn.in_note = Some(format!(" alias={a} ({how})"));
                }
                let Some(v) = conn.v5.as_mut() else {
                    return false;
                };
                v.in_props = v5::message_props(&p.properties);
                let topic = match v.resolve_topic(p.topic, &p.properties) {
                    Ok(t) => t,
                    Err((reason, why)) => {
                        self.v5_violation(id, "PUBLISH", reason, &why, now);
                        return true;
                    }
                };
                if let (QosPid::ExactlyOnce(pid), Some(cid)) = (p.qospid, &client_id) {
                    let limit = self.config.max_inflight;
                    let over = self.sessions.get(cid).is_some_and(|s| {
                        !s.state.awaiting_pubrel.contains_key(&pid.get())
                            && s.state.awaiting_pubrel.len() >= limit
                    });
                    if over {
                        let why = format!("more than the Receive Maximum of {limit} QoS 2 publishes awaiting PUBREL");
                        self.v5_violation(
                            id,
                            "PUBLISH",
                            ReasonCode::ReceiveMaximumExceeded,
                            &why,
                            now,
                        );
                        return true;
                    }
                }
                let v3 = Publish {
                    dup: p.dup,
                    qospid: p.qospid,
                    retain: p.retain,
                    topic: &topic,
                    payload: p.payload,
                };
                self.handle_packet(id, Packet::Publish(v3), now)
            }
            wire::Packet::PubAck(a) => self.handle_packet(id, Packet::PubAck(PubAck(a.pid)), now),
            wire::Packet::PubRec(a) => self.handle_packet(id, Packet::PubRec(PubRec(a.pid)), now),
            wire::Packet::PubRel(a) => self.handle_packet(id, Packet::PubRel(PubRel(a.pid)), now),
            wire::Packet::PubComp(a) => {
                self.handle_packet(id, Packet::PubComp(PubComp(a.pid)), now)
            }
            wire::Packet::Subscribe(s) => {
                // Shared subscriptions and subscription identifiers are not
                // served (CONNACK says so): those filters are refused in
                // SUBACK, the rest go to the core.
                let refused = v5::refused_filters(&s);
                let topics: Vec<SubscribeTopic<'_>> = s
                    .topics
                    .iter()
                    .zip(&refused)
                    .filter(|(_, r)| r.is_none())
                    .map(|(t, _)| SubscribeTopic {
                        filter: t.filter,
                        qos: t.options.qos,
                    })
                    .collect();
                if let Some(v) = conn.v5.as_mut() {
                    v.sub_options = Some(
                        s.topics
                            .iter()
                            .zip(&refused)
                            .filter(|(_, r)| r.is_none())
                            .map(|(t, _)| t.options)
                            .collect(),
                    );
                    if refused.iter().any(Option::is_some) {
                        v.sub_refused.insert(s.pid.get(), refused);
                    }
                }
                let v3 = resilient_mqtt::codec::Subscribe {
                    pid: s.pid,
                    topics: List::new(&topics),
                };
                self.handle_packet(id, Packet::Subscribe(v3), now)
            }
            wire::Packet::Unsubscribe(u) => {
                let codes: Vec<ReasonCode> = u
                    .topics
                    .iter()
                    .map(|f| {
                        let had = client_id
                            .as_ref()
                            .and_then(|cid| self.sessions.get(cid))
                            .is_some_and(|s| s.state.subscriptions.contains_key(f));
                        if had {
                            ReasonCode::Success
                        } else {
                            ReasonCode::NoSubscriptionExisted
                        }
                    })
                    .collect();
                if let Some(v) = self.conns.get_mut(&id).and_then(|c| c.v5.as_mut()) {
                    v.unsub_codes.insert(u.pid.get(), codes);
                }
                let v3 = Unsubscribe {
                    pid: u.pid,
                    topics: u.topics,
                };
                self.handle_packet(id, Packet::Unsubscribe(v3), now)
            }
            wire::Packet::PingReq => self.handle_packet(id, Packet::PingReq, now),
            wire::Packet::Disconnect(d) => {
                let Some(cid) = client_id else {
                    return self.handle_packet(id, Packet::Disconnect, now);
                };
                if let Phase::Connected(c) = &mut conn.phase {
                    c.heard(now);
                }
                let mut summary = v5::disconnect_summary(d.reason);
                // A client may lower its session expiry to 0 on the way out.
                if let Some(Property::SessionExpiryInterval(e)) =
                    d.properties.get(wire::PropertyId::SessionExpiryInterval)
                {
                    summary += &format!(" expiry={e}");
                    if let Some(s) = self.sessions.get_mut(&cid) {
                        if s.online == Some(id) {
                            if e == 0 {
                                s.clean = true;
                            } else if !s.clean {
                                // From 0 it cannot be raised (section
                                // 3.14.2.2.2); otherwise the new interval
                                // counts from now.
                                s.expiry = (e != u32::MAX).then_some(e);
                            }
                        }
                    }
                }
                self.log_packet(now, Direction::In, id.0, Some(cid), summary, None);
                let will = d.reason == ReasonCode::DisconnectWithWillMessage;
                let reason = if d.reason == ReasonCode::Success {
                    DisconnectReason::ClientDisconnect
                } else {
                    DisconnectReason::ClientDisconnectReason(d.reason as u8)
                };
                self.close(id, reason, will, now);
                true
            }
            other @ (wire::Packet::ConnAck(_)
            | wire::Packet::SubAck(_)
            | wire::Packet::UnsubAck(_)
            | wire::Packet::PingResp
            | wire::Packet::Auth(_)) => {
                let name = other.packet_type().name();
                if client_id.is_none() {
                    let reason = format!("first packet is {name}, not CONNECT");
                    self.log_packet(now, Direction::In, id.0, None, name.to_string(), None);
                    self.close(id, DisconnectReason::ProtocolError(reason), false, now);
                } else {
                    let why = format!("{name} sent by a client");
                    self.v5_violation(id, name, ReasonCode::ProtocolError, &why, now);
                }
                true
            }
        }
    }

    /// An MQTT 5 client broke a rule: the packet is logged, DISCONNECT with
    /// the reason goes out, the connection closes (will published).
    pub(super) fn v5_violation(
        &mut self,
        id: ConnId,
        what: &str,
        reason: ReasonCode,
        why: &str,
        now: Duration,
    ) {
        let client_id = self.conns.get(&id).and_then(|c| c.client_id.clone());
        self.log_packet(
            now,
            Direction::In,
            id.0,
            client_id,
            format!("{what} refused: {why}"),
            None,
        );
        self.send_disconnect_v5(id, reason, why);
        self.close(
            id,
            DisconnectReason::ProtocolError(why.to_string()),
            true,
            now,
        );
    }

    pub(super) fn decode_error_v5(&mut self, id: ConnId, e: wire::DecodeError, now: Duration) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let client_id = conn.client_id.clone();
        let connected = matches!(conn.phase, Phase::Connected(_));
        self.log_packet(
            now,
            Direction::In,
            id.0,
            client_id,
            format!("MALFORMED {e}"),
            None,
        );
        if connected {
            let reason = match e {
                wire::DecodeError::PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
                _ => ReasonCode::MalformedPacket,
            };
            self.send_disconnect_v5(id, reason, &e.to_string());
        }
        self.close(
            id,
            DisconnectReason::ProtocolError(e.to_string()),
            true,
            now,
        );
    }

    /// Queues a server DISCONNECT on an MQTT 5 connection (nothing on 3.1.1).
    pub(crate) fn send_disconnect_v5(&mut self, id: ConnId, reason: ReasonCode, text: &str) {
        if self.conns.get(&id).is_some_and(|c| c.v5.is_some()) {
            if let Some((bytes, summary)) = v5::disconnect(reason, text) {
                self.push_frame(id, bytes, summary, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::Kit;
    use resilient_mqtt::codec::v5 as wire;

    #[test]
    fn v5_connect_gets_a_v5_connack_and_a_client_auth_is_refused() {
        let mut k = Kit::new();
        let id = k.open();
        // CONNECT, protocol level 5, clean start, keepalive 60, no properties, id "d".
        let mut raw = vec![0x10, 0x0e, 0x00, 0x04];
        raw.extend_from_slice(b"MQTT");
        raw.extend_from_slice(&[0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x01]);
        raw.extend_from_slice(b"d");
        k.core.handle_input(id, &raw, k.now);
        let mut bytes = Vec::new();
        while let Some(b) = k.core.poll_transmit(id, k.now) {
            bytes.extend_from_slice(&b);
        }
        match wire::decode(&bytes, usize::MAX) {
            Ok(wire::Decoded::Packet {
                packet: wire::Packet::ConnAck(c),
                ..
            }) => assert_eq!(c.reason, wire::ReasonCode::Success),
            other => panic!("expected a v5 CONNACK, got {other:?}"),
        }
        // AUTH from a client: DISCONNECT 0x82 (protocol error), then close.
        k.core.handle_input(id, &[0xf0, 0x00], k.now);
        let mut bytes = Vec::new();
        while let Some(b) = k.core.poll_transmit(id, k.now) {
            bytes.extend_from_slice(&b);
        }
        match wire::decode(&bytes, usize::MAX) {
            Ok(wire::Decoded::Packet {
                packet: wire::Packet::Disconnect(d),
                ..
            }) => assert_eq!(d.reason, wire::ReasonCode::ProtocolError),
            other => panic!("expected a v5 DISCONNECT, got {other:?}"),
        }
        assert!(k.closing(id));
    }
}
