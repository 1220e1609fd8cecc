//! Input: a connection's bytes become packets (3.1.1 here, MQTT 5 through
//! [`super::mqtt5`]), and each packet goes to the concern that handles it.
//! A CONNECT a fault holds (hang, delay-connack) stays buffered and is read
//! again later; a packet that cannot be decoded ends the connection.

use std::time::Duration;

use resilient_mqtt::codec::v5 as wire;
use resilient_mqtt::codec::{
    decode, ConnAck, ConnectReturnCode, DecodeError, Decoded, Packet, PubAck, PubComp, PubRec,
    PubRel, QoS,
};

use super::{ConnId, Core};
use crate::connection::{ConnectRead, Phase};
use crate::fault::DropKind;
use crate::log::{summarize, Direction, DisconnectReason};
use crate::state::OutPhase;
use crate::v5::{self};

impl Core {
    /// Consumes as many buffered packets as the connection's state allows.
    pub(super) fn process(&mut self, id: ConnId, now: Duration) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let buf = std::mem::take(&mut conn.inbuf);
        let mut pos = 0;
        while let Some(conn) = self.conns.get(&id) {
            let ready = match conn.phase {
                Phase::AwaitConnect(_) | Phase::Connected(_) => true,
                Phase::DelayingConnect { .. } | Phase::Closing => false,
            };
            if !ready || self.is_hung(conn) || pos >= buf.len() {
                break;
            }
            let is_v5 = conn.v5.is_some()
                || (matches!(conn.phase, Phase::AwaitConnect(_)) && v5::is_v5_connect(&buf[pos..]));
            if is_v5 {
                match wire::decode(&buf[pos..], self.config.max_packet_size) {
                    Ok(wire::Decoded::Incomplete { .. }) => break,
                    Ok(wire::Decoded::Packet { packet, len }) => {
                        if !self.handle_packet_v5(id, packet, now) {
                            break;
                        }
                        pos += len;
                    }
                    Err(e) => {
                        self.decode_error_v5(id, e, now);
                        break;
                    }
                }
                continue;
            }
            if matches!(conn.phase, Phase::AwaitConnect(_)) {
                match mqtt31_as_311(&buf[pos..], self.config.max_packet_size) {
                    Mqtt31::No => {}
                    Mqtt31::Incomplete => break,
                    Mqtt31::Connect { as_311, len } => {
                        if let Some(c) = self.conns.get_mut(&id) {
                            c.mqtt31 = true;
                        }
                        let packet = match decode(&as_311, self.config.max_packet_size) {
                            Ok(Decoded::Packet { packet, .. }) => packet,
                            // Complete by construction; a bad rest of the
                            // CONNECT is a protocol error as in 3.1.1.
                            Ok(Decoded::Incomplete { .. }) => break,
                            Err(e) => {
                                self.decode_error(id, e, &as_311, now);
                                break;
                            }
                        };
                        if !self.handle_packet(id, packet, now) {
                            break;
                        }
                        pos += len;
                        continue;
                    }
                }
            }
            match decode(&buf[pos..], self.config.max_packet_size) {
                Ok(Decoded::Incomplete { .. }) => break,
                Ok(Decoded::Packet { packet, len }) => {
                    if !self.handle_packet(id, packet, now) {
                        break;
                    }
                    pos += len;
                }
                Err(e) => {
                    self.decode_error(id, e, &buf[pos..], now);
                    break;
                }
            }
        }
        if let Some(conn) = self.conns.get_mut(&id) {
            if conn.is_closing() {
                conn.inbuf = Vec::new();
            } else {
                let mut rest = buf;
                rest.drain(..pos);
                conn.inbuf = rest;
            }
        }
    }

    /// Handles one packet; false when it must stay buffered (CONNECT held
    /// by a hang or delay fault).
    pub(super) fn handle_packet(&mut self, id: ConnId, packet: Packet<'_>, now: Duration) -> bool {
        let Some(conn) = self.conns.get_mut(&id) else {
            return false;
        };
        match (&conn.phase, packet) {
            (Phase::AwaitConnect(read), Packet::Connect(c)) => {
                let read = *read;
                if read == ConnectRead::NotYet {
                    conn.phase = Phase::AwaitConnect(ConnectRead::Logged);
                    conn.client_id = Some(c.client_id.to_string());
                    let mut summary = summarize(&Packet::Connect(c));
                    if conn.mqtt31 {
                        summary += " v3.1";
                    }
                    if let Some(v) = &conn.v5 {
                        summary += &format!(
                            " v5 expiry={} receive_max={}",
                            v.session_expiry, v.receive_maximum
                        );
                    }
                    let cid = conn.client_id.clone();
                    self.log_packet(now, Direction::In, id.0, cid, summary, None);
                }
                let conn = self.conns.get_mut(&id).expect("present");
                if self.faults.is_hung(Some(c.client_id)) {
                    return false;
                }
                if read != ConnectRead::DelayServed {
                    if let Some(delay) = self.faults.connack_delay(Some(c.client_id)) {
                        conn.phase = Phase::DelayingConnect {
                            until: now.checked_add(delay).unwrap_or(Duration::MAX),
                        };
                        self.fault_injected(
                            id,
                            format!("CONNACK delayed {}ms", delay.as_millis()),
                            now,
                        );
                        return false;
                    }
                }
                self.handle_connect(id, c, now);
                true
            }
            (Phase::AwaitConnect(_), other) => {
                let summary = summarize(&other);
                self.log_packet(now, Direction::In, id.0, None, summary, None);
                let reason = format!(
                    "first packet is {}, not CONNECT",
                    other.packet_type().name()
                );
                self.close(id, DisconnectReason::ProtocolError(reason), false, now);
                true
            }
            (Phase::Connected(c), packet) => {
                let client_id = c.client_id.clone();
                if let Phase::Connected(c) = &mut conn.phase {
                    c.heard(now);
                }
                let mut summary = summarize(&packet);
                if let Some(note) = conn.in_note.take() {
                    summary += &note;
                }
                self.log_packet(
                    now,
                    Direction::In,
                    id.0,
                    Some(client_id.clone()),
                    summary,
                    None,
                );
                self.handle_connected(id, &client_id, packet, now);
                true
            }
            (Phase::DelayingConnect { .. } | Phase::Closing, _) => false,
        }
    }

    pub(super) fn decode_error(&mut self, id: ConnId, e: DecodeError, raw: &[u8], now: Duration) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let client_id = conn.client_id.clone();
        let awaiting = matches!(conn.phase, Phase::AwaitConnect(_));
        self.log_packet(
            now,
            Direction::In,
            id.0,
            client_id,
            format!("MALFORMED {e}"),
            None,
        );
        // A CONNECT for another protocol version is answered with return
        // code 1 before closing, as mosquitto does.
        let wrong_version = matches!(e, DecodeError::UnsupportedProtocolLevel(_))
            || (matches!(e, DecodeError::InvalidProtocolName) && is_mqisdp_connect(raw));
        if awaiting && wrong_version {
            self.send(
                id,
                Packet::ConnAck(ConnAck {
                    session_present: false,
                    code: ConnectReturnCode::UnacceptableProtocolVersion,
                }),
            );
            self.close(id, DisconnectReason::Refused(1), false, now);
            return;
        }
        self.close(
            id,
            DisconnectReason::ProtocolError(e.to_string()),
            true,
            now,
        );
    }

    /// Dispatches one packet of a connected client.
    pub(super) fn handle_connected(
        &mut self,
        id: ConnId,
        client_id: &str,
        packet: Packet<'_>,
        now: Duration,
    ) {
        match packet {
            Packet::Publish(p) => self.handle_publish(id, client_id, p, now),
            Packet::PubAck(PubAck(pid)) => {
                self.complete_outgoing(client_id, pid, QoS::AtLeastOnce, OutPhase::AwaitAck, now)
            }
            Packet::PubRec(PubRec(pid)) => self.pubrec_received(id, client_id, pid, now),
            Packet::PubRel(PubRel(pid)) => self.pubrel_received(id, client_id, pid, now),
            Packet::PubComp(PubComp(pid)) => {
                self.complete_outgoing(client_id, pid, QoS::ExactlyOnce, OutPhase::AwaitComp, now)
            }
            Packet::Subscribe(s) => self.subscribe(id, client_id, s, now),
            Packet::Unsubscribe(u) => self.unsubscribe(id, client_id, u, now),
            Packet::PingReq => self.send_with_faults(id, Packet::PingResp, DropKind::PingResp, now),
            Packet::Disconnect => self.close(id, DisconnectReason::ClientDisconnect, false, now),
            // mosquitto 2.0 closes without publishing the will here (unlike
            // other protocol errors); the differential test pins it.
            Packet::Connect(_) => self.close(
                id,
                DisconnectReason::ProtocolError("second CONNECT".into()),
                false,
                now,
            ),
            other @ (Packet::ConnAck(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_)
            | Packet::PingResp) => {
                let reason = format!("{} sent by a client", other.packet_type().name());
                self.close(id, DisconnectReason::ProtocolError(reason), true, now)
            }
        }
    }
}

/// Whether the bytes start a CONNECT for MQTT 3.1 ("MQIsdp").
fn is_mqisdp_connect(raw: &[u8]) -> bool {
    let Ok(Some(h)) = resilient_mqtt::codec::check(raw, usize::MAX) else {
        return false;
    };
    raw.get(h.header_len..h.header_len + 8) == Some(b"\x00\x06MQIsdp".as_slice())
}

/// What the input starts with, for MQTT 3.1.
enum Mqtt31 {
    /// Not an MQTT 3.1 CONNECT (or another level under the 3.1 name,
    /// refused as before with return code 1).
    No,
    /// Maybe one: more bytes needed.
    Incomplete,
    /// An MQTT 3.1 CONNECT (`MQIsdp`, level 3) of `len` bytes, and the same
    /// CONNECT as 3.1.1 (`MQTT`, level 4): the rest of the packet is the
    /// same in both versions, so mosquitto-like acceptance is a rename.
    Connect { as_311: Vec<u8>, len: usize },
}

fn mqtt31_as_311(raw: &[u8], max_packet_size: usize) -> Mqtt31 {
    const NAME: &[u8] = b"\x00\x06MQIsdp\x03";
    let h = match resilient_mqtt::codec::check(raw, max_packet_size) {
        Ok(Some(h)) if h.packet_type == resilient_mqtt::codec::PacketType::Connect => h,
        Ok(None) if raw.first() == Some(&0x10) => return Mqtt31::Incomplete,
        _ => return Mqtt31::No,
    };
    let body = &raw[h.header_len.min(raw.len())..];
    let known = body.len().min(NAME.len());
    if body[..known] != NAME[..known] || h.remaining_len < NAME.len() {
        return Mqtt31::No;
    }
    let len = h.header_len + h.remaining_len;
    if raw.len() < len {
        return Mqtt31::Incomplete;
    }
    let mut rest = b"\x00\x04MQTT\x04".to_vec();
    rest.extend_from_slice(&raw[h.header_len + NAME.len()..len]);
    let mut as_311 = vec![0x10];
    let mut n = rest.len();
    loop {
        let byte = (n % 128) as u8;
        n /= 128;
        as_311.push(if n > 0 { byte | 0x80 } else { byte });
        if n == 0 {
            break;
        }
    }
    as_311.extend_from_slice(&rest);
    Mqtt31::Connect { as_311, len }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::{connect, Kit};
    use crate::log::{BrokerEvent, DisconnectReason};
    use resilient_mqtt::codec::Packet;

    #[test]
    fn first_packet_must_be_connect() {
        let mut k = Kit::new();
        let id = k.open();
        k.send(id, Packet::PingReq);
        assert!(k.out(id).is_empty());
        assert!(k.closing(id));
        assert!(k.events().iter().any(|e| matches!(
            e,
            BrokerEvent::ClientDisconnected {
                reason: DisconnectReason::ProtocolError(r),
                ..
            } if r == "first packet is PINGREQ, not CONNECT"
        )));
    }

    #[test]
    fn packets_split_across_reads_are_reassembled() {
        let mut k = Kit::new();
        let id = k.open();
        let mut bytes = Vec::new();
        connect("dev", true).encode_to_vec(&mut bytes).unwrap();
        Packet::PingReq.encode_to_vec(&mut bytes).unwrap();
        for b in &bytes {
            k.core.handle_input(id, std::slice::from_ref(b), k.now);
        }
        assert_eq!(k.out(id), ["CONNACK sp=0 rc=0", "PINGRESP"]);
    }

    /// An MQTT 3.1 CONNECT: protocol name "MQIsdp", `level`, keepalive 60,
    /// client id "dev".
    fn mqisdp(level: u8, clean: bool) -> Vec<u8> {
        let mut raw = vec![0x10, 0x11, 0x00, 0x06];
        raw.extend_from_slice(b"MQIsdp");
        raw.extend_from_slice(&[level, if clean { 0x02 } else { 0 }, 0x00, 0x3c, 0x00, 0x03]);
        raw.extend_from_slice(b"dev");
        raw
    }

    #[test]
    fn mqtt31_is_served_as_mosquitto_serves_it() {
        let mut k = Kit::new();
        let id = k.open();
        // Split across reads, as any CONNECT may be.
        let raw = mqisdp(3, false);
        k.core.handle_input(id, &raw[..5], k.now);
        assert!(k.out(id).is_empty());
        k.core.handle_input(id, &raw[5..], k.now);
        assert_eq!(k.out(id), ["CONNACK sp=0 rc=0"]);
        assert!(!k.closing(id));
        k.send(id, Packet::PingReq);
        assert_eq!(k.out(id), ["PINGRESP"]);
        k.drop_conn(id);
        // A resumed session: 3.1 has no session-present bit (mosquitto
        // 2.0.11 answers 20 02 00 00 here too).
        let id = k.open();
        k.core.handle_input(id, &mqisdp(3, false), k.now);
        assert_eq!(k.out(id), ["CONNACK sp=0 rc=0"]);
        assert!(k.core.sessions().contains(&("dev".to_string(), true)));
    }

    #[test]
    fn another_level_under_the_31_name_gets_return_code_one() {
        let mut k = Kit::new();
        let id = k.open();
        k.core.handle_input(id, &mqisdp(4, true), k.now);
        assert_eq!(k.out(id), ["CONNACK sp=0 rc=1"]);
        assert!(k.closing(id));
    }

    #[test]
    fn a_second_connect_closes_without_the_will() {
        let mut k = Kit::new();
        let (id, _) = k.connect("dev", true);
        k.events();
        k.send(id, connect("dev", true));
        assert!(k.closing(id));
        assert!(!k
            .events()
            .iter()
            .any(|e| matches!(e, BrokerEvent::WillPublished { .. })));
    }
}
