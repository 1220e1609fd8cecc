//! Observability: the packet log (every packet in and out, with time,
//! direction, client id and a one-line summary) and broker events
//! (connections, wills, takeovers, drops, faults). The harness reads them for
//! conformance checks. Passwords never appear: a CONNECT summary says only
//! whether one was given.

use std::fmt;
use std::time::Duration;

use resilient_mqtt::codec::{Packet, QosPid, SubAckCode};
use serde::Serialize;

/// Which way a packet went, seen from the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Direction {
    /// From the client to the broker.
    In,
    /// From the broker to the client.
    Out,
}

/// One packet on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacketLogEntry {
    /// Time since the broker started (tokio's clock, so simulated in turmoil):
    /// when the packet arrived, or when it left the broker (handed to the
    /// connection's transport).
    pub at: Duration,
    /// For a packet out that a delay fault held (or that waited behind a
    /// held one): when it was queued; `at` is when it left. `None`: it left
    /// when it was queued (and every packet in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<Duration>,
    pub direction: Direction,
    /// The connection, numbered from 1 in the order connections were opened.
    pub conn: u64,
    /// `None` until the connection's CONNECT has been read.
    pub client_id: Option<String>,
    /// E.g. `PUBLISH pid=3 qos=1 dup=0 retain=0 topic=a/b len=64`.
    pub summary: String,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DisconnectReason {
    /// The client sent DISCONNECT.
    ClientDisconnect,
    /// An MQTT 5 client sent DISCONNECT with this (non-zero) reason code.
    ClientDisconnectReason(u8),
    /// The peer closed the stream or it failed.
    ConnectionLost,
    /// Nothing arrived for 1.5 x keepalive.
    KeepaliveTimeout,
    /// The client broke the protocol (the text says how).
    ProtocolError(String),
    /// Another connection with the same client id took the session over.
    TakenOver,
    /// CONNECT refused with a non-zero return code.
    Refused(u8),
    /// A fault closed it (close-after-bytes, forget-sessions).
    Fault(String),
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::ClientDisconnect => write!(f, "client sent DISCONNECT"),
            DisconnectReason::ClientDisconnectReason(c) => {
                write!(f, "client sent DISCONNECT with reason 0x{c:02X}")
            }
            DisconnectReason::ConnectionLost => write!(f, "connection lost"),
            DisconnectReason::KeepaliveTimeout => write!(f, "keepalive timeout"),
            DisconnectReason::ProtocolError(e) => write!(f, "protocol error: {e}"),
            DisconnectReason::TakenOver => write!(f, "session taken over"),
            DisconnectReason::Refused(c) => write!(f, "connect refused with code {c}"),
            DisconnectReason::Fault(e) => write!(f, "fault: {e}"),
        }
    }
}

/// Something the broker did that is not a single packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum BrokerEvent {
    ClientConnected {
        client_id: String,
        clean_session: bool,
        session_present: bool,
    },
    ConnectRefused {
        client_id: String,
        code: u8,
    },
    ClientDisconnected {
        conn: u64,
        client_id: Option<String>,
        reason: DisconnectReason,
    },
    WillPublished {
        client_id: String,
        topic: String,
    },
    /// The old connection of `client_id` was closed by a new one.
    SessionTakenOver {
        client_id: String,
    },
    /// The detached session of `client_id` ended: its MQTT 5 Session
    /// Expiry Interval passed.
    SessionExpired {
        client_id: String,
    },
    /// A QoS 1/2 message for `client_id` did not fit its queue.
    MessageDropped {
        client_id: String,
        topic: String,
    },
    FaultSet {
        target: String,
        fault: String,
    },
    FaultsCleared {
        target: Option<String>,
    },
    /// A fault changed what happened on the wire (e.g. "dropped PUBACK pid=3").
    FaultInjected {
        conn: u64,
        client_id: Option<String>,
        action: String,
    },
    SessionsForgotten {
        count: usize,
    },
}

/// An event with its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventEntry {
    pub at: Duration,
    pub event: BrokerEvent,
}

/// What the tap delivers: packets and events in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LogRecord {
    Packet(PacketLogEntry),
    Event(EventEntry),
}

fn b(v: bool) -> u8 {
    v as u8
}

/// A one-line description of a packet; never includes a password or payload.
pub fn summarize(p: &Packet<'_>) -> String {
    match p {
        Packet::Connect(c) => {
            let mut s = format!(
                "CONNECT client_id={} clean={} keepalive={}",
                c.client_id,
                b(c.clean_session),
                c.keep_alive
            );
            if let Some(w) = &c.will {
                s += &format!(
                    " will={} will_qos={} will_retain={}",
                    w.topic,
                    w.qos as u8,
                    b(w.retain)
                );
            }
            if let Some(u) = c.username {
                s += &format!(" user={u}");
            }
            if c.password.is_some() {
                s += " password=<redacted>";
            }
            s
        }
        Packet::ConnAck(c) => format!("CONNACK sp={} rc={}", b(c.session_present), c.code as u8),
        Packet::Publish(p) => {
            let pid = match p.qospid {
                QosPid::AtMostOnce => String::new(),
                QosPid::AtLeastOnce(pid) | QosPid::ExactlyOnce(pid) => format!("pid={pid} "),
            };
            format!(
                "PUBLISH {pid}qos={} dup={} retain={} topic={} len={}",
                p.qospid.qos() as u8,
                b(p.dup),
                b(p.retain),
                p.topic,
                p.payload.len()
            )
        }
        Packet::PubAck(a) => format!("PUBACK pid={}", a.0),
        Packet::PubRec(a) => format!("PUBREC pid={}", a.0),
        Packet::PubRel(a) => format!("PUBREL pid={}", a.0),
        Packet::PubComp(a) => format!("PUBCOMP pid={}", a.0),
        Packet::Subscribe(s) => {
            let topics: Vec<String> = s
                .topics
                .iter()
                .map(|t| format!("{}:{}", t.filter, t.qos as u8))
                .collect();
            format!("SUBSCRIBE pid={} {}", s.pid, topics.join(","))
        }
        Packet::SubAck(s) => {
            let codes: Vec<String> = s
                .codes
                .iter()
                .map(|c| match c {
                    SubAckCode::Granted(q) => (q as u8).to_string(),
                    SubAckCode::Failure => "128".to_string(),
                })
                .collect();
            format!("SUBACK pid={} codes={}", s.pid, codes.join(","))
        }
        Packet::Unsubscribe(u) => {
            let topics: Vec<&str> = u.topics.iter().collect();
            format!("UNSUBSCRIBE pid={} {}", u.pid, topics.join(","))
        }
        Packet::UnsubAck(a) => format!("UNSUBACK pid={}", a.0),
        Packet::PingReq => "PINGREQ".into(),
        Packet::PingResp => "PINGRESP".into(),
        Packet::Disconnect => "DISCONNECT".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resilient_mqtt::codec::{Connect, Pid, Publish};

    #[test]
    fn connect_summary_redacts_password() {
        let p = Packet::Connect(Connect {
            client_id: "dev1",
            keep_alive: 30,
            clean_session: false,
            will: None,
            username: Some("alice"),
            password: Some(b"hunter2"),
        });
        let s = summarize(&p);
        assert_eq!(
            s,
            "CONNECT client_id=dev1 clean=0 keepalive=30 user=alice password=<redacted>"
        );
    }

    #[test]
    fn publish_summary() {
        let p = Packet::Publish(Publish {
            dup: true,
            qospid: QosPid::AtLeastOnce(Pid::new(3).unwrap()),
            retain: false,
            topic: "a/b",
            payload: &[0; 64],
        });
        assert_eq!(
            summarize(&p),
            "PUBLISH pid=3 qos=1 dup=1 retain=0 topic=a/b len=64"
        );
    }
}
