//! What the broker remembers between connections and, through
//! [`BrokerState`], across a restart: persistent sessions (subscriptions,
//! messages in flight and queued, QoS 2 messages awaiting PUBREL) and
//! retained messages. Plain data in ordered maps, serialisable with serde so
//! the simulator can keep it over a host bounce and the standalone broker can
//! write it to a file.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use resilient_mqtt::codec::QoS;
use serde::{Deserialize, Serialize};

/// An application message as the broker stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    #[serde(with = "qos_serde")]
    pub qos: QoS,
    pub retain: bool,
    /// The MQTT 5 properties it carries to subscribers (none from a 3.1.1
    /// publisher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<Box<MessageProps>>,
}

/// The properties of an MQTT 5 PUBLISH (or will) that the broker forwards
/// unchanged to subscribers, and its expiry (MQTT 5 section 3.3.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageProps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_data: Option<Vec<u8>>,
    /// User properties, in the publisher's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user: Vec<(String, String)>,
    /// The Message Expiry Interval as the publisher sent it (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_interval: Option<u32>,
    /// When the message expires on the broker's clock: set when it is
    /// published (a will's interval runs from when the will goes out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Duration>,
}

impl Message {
    /// Starts the Message Expiry Interval's clock, once: when the broker
    /// receives the message (a will's, when the will goes out).
    pub fn start_expiry(&mut self, now: Duration) {
        if let Some(p) = self.props.as_mut() {
            if p.expires_at.is_none() {
                p.expires_at = p
                    .expiry_interval
                    .map(|s| now.saturating_add(Duration::from_secs(s.into())));
            }
        }
    }

    /// Whether the message has expired at `now` (MQTT 5 message expiry).
    pub fn expired(&self, now: Duration) -> bool {
        self.props
            .as_ref()
            .and_then(|p| p.expires_at)
            .is_some_and(|t| t <= now)
    }
}

/// Where an outgoing QoS 1/2 message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutPhase {
    /// Queued, not sent yet (beyond the in-flight window or client offline).
    Queued,
    /// PUBLISH sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    AwaitAck,
    /// PUBREL sent; waiting for PUBCOMP (QoS 2).
    AwaitComp,
}

/// A QoS 1/2 message for one session, with the packet id it was given when
/// it was queued (as mosquitto assigns ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub pid: u16,
    pub message: Message,
    pub phase: OutPhase,
    /// Set once the PUBLISH has been sent: any resend carries DUP.
    pub sent: bool,
}

/// One client's session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SessionState {
    /// Topic filter -> maximum QoS.
    #[serde(with = "sub_serde")]
    pub subscriptions: BTreeMap<String, QoS>,
    /// QoS 1/2 messages in the in-flight window, in the order sent.
    pub inflight: Vec<Outgoing>,
    /// QoS 1/2 messages waiting for room in the window, oldest first.
    pub queued: VecDeque<Outgoing>,
    /// Incoming QoS 2 messages acknowledged with PUBREC, routed at PUBREL
    /// (as mosquitto does), by packet id.
    pub awaiting_pubrel: BTreeMap<u16, Message>,
    /// The last packet id given out.
    pub last_pid: u16,
    /// Messages dropped because the queue was full.
    pub dropped: u64,
    /// The session's client last connected with MQTT 5: a message matching
    /// several of its subscriptions is delivered once per subscription (a
    /// 3.1.1 client gets one copy), as mosquitto 2.0 does.
    #[serde(default)]
    pub mqtt5: bool,
    /// MQTT 5 subscription options beyond the QoS, for the filters that
    /// set any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sub_options: BTreeMap<String, SubOptions>,
}

/// The MQTT 5 subscription options that matter when a message is routed
/// (MQTT 5 section 3.8.3.1); retain handling acts at SUBSCRIBE only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubOptions {
    /// The subscriber's own publications are not sent to it.
    pub no_local: bool,
    /// RETAIN is kept as published instead of cleared.
    pub retain_as_published: bool,
}

/// Everything a broker restart with persistence keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BrokerState {
    /// Persistent sessions by client id (clean sessions are never kept).
    pub sessions: BTreeMap<String, SessionState>,
    /// Retained messages by topic.
    pub retained: BTreeMap<String, Message>,
}

mod qos_serde {
    use resilient_mqtt::codec::QoS;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(q: &QoS, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*q as u8)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<QoS, D::Error> {
        let n = u8::deserialize(d)?;
        QoS::from_u8(n)
            .ok_or_else(|| D::Error::custom(format!("invalid QoS {n}, expected 0, 1 or 2")))
    }
}

mod sub_serde {
    use std::collections::BTreeMap;

    use resilient_mqtt::codec::QoS;
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(m: &BTreeMap<String, QoS>, s: S) -> Result<S::Ok, S::Error> {
        m.iter()
            .map(|(k, v)| (k.clone(), *v as u8))
            .collect::<BTreeMap<String, u8>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, QoS>, D::Error> {
        let raw = BTreeMap::<String, u8>::deserialize(d)?;
        raw.into_iter()
            .map(|(k, n)| {
                QoS::from_u8(n)
                    .map(|q| (k, q))
                    .ok_or_else(|| D::Error::custom(format!("invalid QoS {n}, expected 0, 1 or 2")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_roundtrips_through_json() {
        let mut s = BrokerState::default();
        let mut sess = SessionState::default();
        sess.subscriptions.insert("a/#".into(), QoS::ExactlyOnce);
        sess.queued.push_back(Outgoing {
            pid: 7,
            message: Message {
                topic: "a/b".into(),
                payload: vec![0, 255],
                qos: QoS::AtLeastOnce,
                retain: false,
                props: None,
            },
            phase: OutPhase::Queued,
            sent: false,
        });
        s.sessions.insert("dev1".into(), sess);
        let json = serde_json::to_string(&s).unwrap();
        let back: BrokerState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn bad_qos_in_json_is_a_clear_error() {
        let json = r#"{"sessions":{"d":{"subscriptions":{"a":3},"inflight":[],"queued":[],"awaiting_pubrel":{},"last_pid":0,"dropped":0}},"retained":{}}"#;
        let err = serde_json::from_str::<BrokerState>(json).unwrap_err();
        assert!(err.to_string().contains("invalid QoS 3"), "{err}");
    }
}
