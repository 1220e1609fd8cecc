//! MQTT 5 on a connection (issue 11): a connection whose CONNECT carries
//! protocol level 5 speaks MQTT 5 from then on. The broker logic in
//! [`crate::core`] stays one: incoming v5 packets are translated into the
//! 3.1.1 packets it already handles (after the v5-only work: topic aliases
//! resolved, session expiry read, the broker's Receive Maximum enforced),
//! and the 3.1.1 packets it sends are encoded as their v5 forms here.
//!
//! What the broker does in MQTT 5, as mosquitto 2.0 does by default:
//!
//! - CONNACK advertises Receive Maximum = `max_inflight` (20) and Topic
//!   Alias Maximum = [`TOPIC_ALIAS_MAXIMUM`] (10), and the Assigned Client
//!   Identifier when the client sent an empty one; refusals use the v5
//!   reason codes for the 3.1.1 return codes.
//! - Session Expiry Interval: 0 (or absent) ends the session with the
//!   connection, anything larger keeps it that long after the connection
//!   ends (0xFFFFFFFF: for ever). A DISCONNECT may lower it to 0 or change
//!   a non-zero one.
//! - Subscription options no-local, retain-as-published and retain
//!   handling are honoured.
//! - Clean Start discards a kept session; session present follows.
//! - The client's Receive Maximum bounds the broker's in-flight window
//!   towards it (the `flood` fault breaks that on purpose).
//! - Incoming topic aliases are resolved per connection; an alias outside
//!   1..=10 is DISCONNECT 0x94, an unknown one DISCONNECT 0x82.
//! - More than 20 incoming QoS 2 publishes awaiting PUBREL is DISCONNECT
//!   0x93.
//! - A DISCONNECT with 0x04 publishes the will; any other client
//!   DISCONNECT discards it. The will delay interval is not implemented
//!   (the will goes out at once).
//! - The broker never uses topic aliases towards the client. A PUBLISH (or
//!   will) carries the publisher's Payload Format Indicator, Content Type,
//!   Response Topic, Correlation Data and User Properties to every
//!   subscriber, and its Message Expiry Interval as the time remaining.

use std::collections::BTreeMap;
use std::time::Duration;

use resilient_mqtt::codec::v5::{
    self as wire, Ack, ConnAck as ConnAck5, Disconnect, Properties, Property, PropertyId,
    ReasonCode,
};
use resilient_mqtt::codec::{ConnectReturnCode, Packet, SubAckCode};

use crate::state::{Message, MessageProps};

/// The Topic Alias Maximum the broker advertises (mosquitto's default).
pub const TOPIC_ALIAS_MAXIMUM: u16 = 10;

/// What the broker knows of a v5 connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct V5Conn {
    /// The client's Receive Maximum (65535 when absent).
    pub receive_maximum: u16,
    /// Session Expiry Interval from CONNECT (seconds; 0 = ends with the
    /// connection).
    pub session_expiry: u32,
    /// Topic aliases the client set up on this connection.
    pub in_aliases: BTreeMap<u16, String>,
    /// The client id the broker generated, sent in CONNACK.
    pub assigned_id: Option<String>,
    /// UNSUBACK reason codes by packet id, decided when the UNSUBSCRIBE
    /// arrived.
    pub unsub_codes: BTreeMap<u16, Vec<ReasonCode>>,
    /// SUBSCRIBE filters refused before the core saw them, by packet id: per
    /// filter in order, `Some(code)` refused (0x9E shared subscription,
    /// 0xA1 subscription identifier) or `None` (handed to the core, whose
    /// SUBACK code fills the place).
    pub sub_refused: BTreeMap<u16, Vec<Option<ReasonCode>>>,
    /// The client's Maximum Packet Size: larger PUBLISHes are not sent to
    /// it (MQTT 5 section 3.1.2.11.4).
    pub max_packet_size: Option<u32>,
    /// The forwarded properties of the PUBLISH being handled (set before
    /// its 3.1.1 form goes to the core, taken by the core).
    pub in_props: Option<Box<MessageProps>>,
    /// The forwarded properties of the will from CONNECT.
    pub will_props: Option<Box<MessageProps>>,
    /// The options of the SUBSCRIBE being handled, for each filter handed
    /// to the core, in order (set before its 3.1.1 form goes to the core,
    /// taken by the core).
    pub sub_options: Option<Vec<wire::SubscriptionOptions>>,
}

impl V5Conn {
    /// From a CONNECT's properties.
    pub(crate) fn from_connect(properties: &Properties<'_>) -> Self {
        let mut c = V5Conn {
            receive_maximum: u16::MAX,
            ..V5Conn::default()
        };
        for p in properties.iter() {
            match p {
                Property::ReceiveMaximum(v) => c.receive_maximum = v,
                Property::SessionExpiryInterval(v) => c.session_expiry = v,
                Property::MaximumPacketSize(v) => c.max_packet_size = Some(v),
                _ => {}
            }
        }
        c
    }

    /// Resolves a PUBLISH's topic: the topic, or what its alias stands for
    /// (recording a new alias). Errors are the DISCONNECT reason and why.
    pub(crate) fn resolve_topic(
        &mut self,
        topic: &str,
        properties: &Properties<'_>,
    ) -> Result<String, (ReasonCode, String)> {
        let alias = match properties.get(PropertyId::TopicAlias) {
            Some(Property::TopicAlias(a)) => a,
            _ => return Ok(topic.to_string()),
        };
        if alias == 0 || alias > TOPIC_ALIAS_MAXIMUM {
            return Err((
                ReasonCode::TopicAliasInvalid,
                format!("topic alias {alias} outside 1..={TOPIC_ALIAS_MAXIMUM}"),
            ));
        }
        if topic.is_empty() {
            self.in_aliases.get(&alias).cloned().ok_or_else(|| {
                (
                    ReasonCode::ProtocolError,
                    format!("topic alias {alias} was never set"),
                )
            })
        } else {
            self.in_aliases.insert(alias, topic.to_string());
            Ok(topic.to_string())
        }
    }
}

/// The properties of a v5 PUBLISH or will that are forwarded (topic alias
/// and subscription identifiers are not), `None` if there are none.
pub(crate) fn message_props(properties: &Properties<'_>) -> Option<Box<MessageProps>> {
    let mut m = MessageProps::default();
    for p in properties.iter() {
        match p {
            Property::PayloadFormatIndicator(v) => m.payload_format = Some(v),
            Property::ContentType(v) => m.content_type = Some(v.to_string()),
            Property::ResponseTopic(v) => m.response_topic = Some(v.to_string()),
            Property::CorrelationData(v) => m.correlation_data = Some(v.to_vec()),
            Property::UserProperty(k, v) => m.user.push((k.to_string(), v.to_string())),
            Property::MessageExpiryInterval(v) => m.expiry_interval = Some(v),
            _ => {}
        }
    }
    (m != MessageProps::default()).then(|| Box::new(m))
}

/// The properties a PUBLISH of a message with these properties carries at
/// `now`: the Message Expiry Interval is the whole seconds remaining
/// (rounded up, so a message still alive never says 0).
pub(crate) fn publish_properties(m: &MessageProps, now: Duration) -> Vec<Property<'_>> {
    let mut v = Vec::new();
    if let Some(f) = m.payload_format {
        v.push(Property::PayloadFormatIndicator(f));
    }
    if let Some(at) = m.expires_at {
        let left = at.saturating_sub(now).as_millis().div_ceil(1000);
        v.push(Property::MessageExpiryInterval(
            left.clamp(1, u32::MAX as u128) as u32,
        ));
    }
    if let Some(t) = &m.content_type {
        v.push(Property::ContentType(t));
    }
    if let Some(t) = &m.response_topic {
        v.push(Property::ResponseTopic(t));
    }
    if let Some(d) = &m.correlation_data {
        v.push(Property::CorrelationData(d));
    }
    v.extend(m.user.iter().map(|(k, x)| Property::UserProperty(k, x)));
    v
}

/// The bytes of a PUBLISH of `msg` as the broker sends it on an MQTT 5
/// connection at `now`: for the client's Maximum Packet Size.
pub(crate) fn publish_len(msg: &Message, now: Duration) -> usize {
    let props = msg
        .props
        .as_deref()
        .map(|m| publish_properties(m, now))
        .unwrap_or_default();
    let qospid = match resilient_mqtt::codec::Pid::new(1) {
        Some(pid) => resilient_mqtt::codec::QosPid::from_qos(msg.qos, pid),
        None => resilient_mqtt::codec::QosPid::AtMostOnce,
    };
    let mut out = Vec::new();
    let packet = wire::Packet::Publish(wire::Publish {
        dup: false,
        qospid,
        retain: msg.retain,
        topic: &msg.topic,
        properties: Properties::new(&props),
        payload: &msg.payload,
    });
    // A message the codec cannot encode cannot be sent either.
    packet
        .encode_to_vec(&mut out)
        .map_or(usize::MAX, |_| out.len())
}

/// What a SUBSCRIBE asks for that this broker does not serve: shared
/// subscriptions (`$share/...`: 0x9E) and subscription identifiers (0xA1,
/// every filter of the packet), both advertised unavailable in CONNACK.
pub(crate) fn refused_filters(s: &wire::Subscribe<'_>) -> Vec<Option<ReasonCode>> {
    let with_id = s.properties.subscription_identifiers().next().is_some();
    s.topics
        .iter()
        .map(|t| {
            if with_id {
                Some(ReasonCode::SubscriptionIdentifiersNotSupported)
            } else if t.filter.starts_with("$share/") {
                Some(ReasonCode::SharedSubscriptionsNotSupported)
            } else {
                None
            }
        })
        .collect()
}

/// Whether the bytes start a CONNECT with protocol level 5.
pub(crate) fn is_v5_connect(raw: &[u8]) -> bool {
    let Ok(Some(h)) = resilient_mqtt::codec::check(raw, usize::MAX) else {
        return false;
    };
    h.packet_type == resilient_mqtt::codec::PacketType::Connect
        && raw.get(h.header_len..h.header_len + 7) == Some(b"\x00\x04MQTT\x05".as_slice())
}

/// The v5 reason code for a 3.1.1 CONNACK return code.
pub(crate) fn connack_reason(code: ConnectReturnCode) -> ReasonCode {
    match code {
        ConnectReturnCode::Accepted => ReasonCode::Success,
        ConnectReturnCode::UnacceptableProtocolVersion => ReasonCode::UnsupportedProtocolVersion,
        ConnectReturnCode::IdentifierRejected => ReasonCode::ClientIdentifierNotValid,
        ConnectReturnCode::ServerUnavailable => ReasonCode::ServerUnavailable,
        ConnectReturnCode::BadUserNameOrPassword => ReasonCode::BadUserNameOrPassword,
        ConnectReturnCode::NotAuthorized => ReasonCode::NotAuthorized,
    }
}

/// Encodes, as MQTT 5, a packet the broker built in its 3.1.1 form, with
/// the summary for the packet log. `None` for packets a broker never sends.
pub(crate) fn encode(
    p: &Packet<'_>,
    conn: &mut V5Conn,
    receive_maximum: u16,
    max_packet_size: Option<u32>,
    publish_props: Option<(&MessageProps, Duration)>,
) -> Option<(Vec<u8>, String)> {
    let mut out = Vec::new();
    let summary = crate::log::summarize(p);
    let ok = match *p {
        Packet::ConnAck(c) => {
            let reason = connack_reason(c.code);
            let mut props = Vec::new();
            if reason == ReasonCode::Success {
                props.push(Property::ReceiveMaximum(receive_maximum.max(1)));
                props.push(Property::TopicAliasMaximum(TOPIC_ALIAS_MAXIMUM));
                if let Some(id) = &conn.assigned_id {
                    props.push(Property::AssignedClientIdentifier(id));
                }
                if let Some(max) = max_packet_size {
                    props.push(Property::MaximumPacketSize(max));
                }
                // Not served: said here, refused in SUBACK (see
                // `refused_filters`).
                props.push(Property::SubscriptionIdentifierAvailable(0));
                props.push(Property::SharedSubscriptionAvailable(0));
            }
            let packet = wire::Packet::ConnAck(ConnAck5 {
                session_present: c.session_present,
                reason,
                properties: Properties::new(&props),
            });
            let mut summary = format!(
                "CONNACK sp={} rc=0x{:02X} v5 receive_max={} topic_alias_max={TOPIC_ALIAS_MAXIMUM}",
                c.session_present as u8, reason as u8, receive_maximum
            );
            if let Some(max) = max_packet_size {
                summary += &format!(" max_packet={max}");
            }
            return packet.encode_to_vec(&mut out).ok().map(|_| (out, summary));
        }
        Packet::Publish(p) => {
            let props = publish_props
                .map(|(m, now)| publish_properties(m, now))
                .unwrap_or_default();
            wire::Packet::Publish(wire::Publish {
                dup: p.dup,
                qospid: p.qospid,
                retain: p.retain,
                topic: p.topic,
                properties: Properties::new(&props),
                payload: p.payload,
            })
            .encode_to_vec(&mut out)
        }
        Packet::PubAck(a) => wire::Packet::PubAck(Ack::success(a.0)).encode_to_vec(&mut out),
        Packet::PubRec(a) => wire::Packet::PubRec(Ack::success(a.0)).encode_to_vec(&mut out),
        Packet::PubRel(a) => wire::Packet::PubRel(Ack::success(a.0)).encode_to_vec(&mut out),
        Packet::PubComp(a) => wire::Packet::PubComp(Ack::success(a.0)).encode_to_vec(&mut out),
        Packet::SubAck(s) => {
            let mut granted = s.codes.iter().map(|c| match c {
                SubAckCode::Granted(q) => match q as u8 {
                    0 => ReasonCode::Success,
                    1 => ReasonCode::GrantedQoS1,
                    _ => ReasonCode::GrantedQoS2,
                },
                SubAckCode::Failure => ReasonCode::UnspecifiedError,
            });
            // Filters refused before the core saw them keep their place.
            let (codes, summary) = match conn.sub_refused.remove(&s.pid.get()) {
                Some(places) => {
                    let codes: Vec<ReasonCode> = places
                        .into_iter()
                        .map(|r| {
                            r.or_else(|| granted.next())
                                .unwrap_or(ReasonCode::UnspecifiedError)
                        })
                        .collect();
                    let summary =
                        format!("SUBACK pid={} codes={}", s.pid.get(), codes_text(&codes));
                    (codes, summary)
                }
                None => (granted.collect(), summary),
            };
            let packet = wire::Packet::SubAck(wire::SubAck {
                pid: s.pid,
                properties: Properties::EMPTY,
                codes: resilient_mqtt::codec::List::new(&codes),
            });
            return packet.encode_to_vec(&mut out).ok().map(|_| (out, summary));
        }
        Packet::UnsubAck(u) => {
            let codes = conn
                .unsub_codes
                .remove(&u.0.get())
                .unwrap_or_else(|| vec![ReasonCode::Success]);
            let summary = format!("{summary} codes={}", codes_text(&codes));
            let packet = wire::Packet::UnsubAck(wire::UnsubAck {
                pid: u.0,
                properties: Properties::EMPTY,
                codes: resilient_mqtt::codec::List::new(&codes),
            });
            return packet.encode_to_vec(&mut out).ok().map(|_| (out, summary));
        }
        Packet::PingResp => wire::Packet::PingResp.encode_to_vec(&mut out),
        Packet::Disconnect => {
            wire::Packet::Disconnect(Disconnect::default()).encode_to_vec(&mut out)
        }
        Packet::Connect(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) | Packet::PingReq => {
            return None
        }
    };
    ok.ok().map(|_| (out, summary))
}

/// A server DISCONNECT with this reason, and its summary.
pub(crate) fn disconnect(reason: ReasonCode, text: &str) -> Option<(Vec<u8>, String)> {
    let props = [Property::ReasonString(text)];
    let packet = wire::Packet::Disconnect(Disconnect {
        reason,
        properties: Properties::new(&props),
    });
    let mut out = Vec::new();
    packet.encode_to_vec(&mut out).ok()?;
    Some((out, disconnect_summary(reason)))
}

/// `DISCONNECT rc=0x8B (server shutting down)`.
pub(crate) fn disconnect_summary(reason: ReasonCode) -> String {
    format!("DISCONNECT rc=0x{:02X} ({})", reason as u8, reason.name())
}

fn codes_text(codes: &[ReasonCode]) -> String {
    codes
        .iter()
        .map(|c| format!("0x{:02X}", *c as u8))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;
    use resilient_mqtt::codec::v5::{
        self as wire, Ack, Connect, Properties, Property, ReasonCode, SubscribeTopic,
        SubscriptionOptions,
    };
    use resilient_mqtt::codec::{self as v3, List, Pid, QoS, QosPid};

    use crate::core::{ConnId, Core};
    use crate::fault::{Fault, FaultTarget};
    use crate::BrokerConfig;

    const T: Duration = Duration::from_millis(10);

    fn core() -> Core {
        Core::new(BrokerConfig::default())
    }

    fn bytes(p: wire::Packet<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        p.encode_to_vec(&mut out).expect("valid packet");
        out
    }

    fn connect_v5(id: &str, clean_start: bool, props: &[Property<'_>]) -> Vec<u8> {
        bytes(wire::Packet::Connect(Connect {
            clean_start,
            keep_alive: 60,
            properties: Properties::new(props),
            client_id: id,
            will: None,
            username: None,
            password: None,
        }))
    }

    /// Every v5 packet the broker sent on `id` since the last call, as text.
    fn out5(core: &mut Core, id: ConnId) -> Vec<String> {
        out5_at(core, id, T)
    }

    /// [`out5`] at a later time.
    fn out5_at(core: &mut Core, id: ConnId, now: Duration) -> Vec<String> {
        let raw = core.poll_transmit(id, now).unwrap_or_default();
        let mut pos = 0;
        let mut v = Vec::new();
        while pos < raw.len() {
            match wire::decode(&raw[pos..], usize::MAX).expect("valid v5 output") {
                wire::Decoded::Packet { packet, len } => {
                    v.push(text(&packet));
                    pos += len;
                }
                wire::Decoded::Incomplete { .. } => panic!("cut packet"),
            }
        }
        v
    }

    fn text(p: &wire::Packet<'_>) -> String {
        match p {
            wire::Packet::ConnAck(c) => {
                let props: Vec<String> = c.properties.iter().map(|p| format!("{p:?}")).collect();
                format!(
                    "CONNACK sp={} rc={:?} {}",
                    c.session_present as u8,
                    c.reason,
                    props.join(" ")
                )
            }
            wire::Packet::Publish(p) => {
                let mut s = format!(
                    "PUBLISH {} qos={}{} {}",
                    p.topic,
                    p.qospid.qos() as u8,
                    if p.retain { " retain" } else { "" },
                    String::from_utf8_lossy(p.payload)
                );
                for prop in p.properties.iter() {
                    s += &format!(" {prop:?}");
                }
                s
            }
            wire::Packet::Disconnect(d) => format!("DISCONNECT {:?}", d.reason),
            wire::Packet::SubAck(s) => {
                let c: Vec<String> = s.codes.iter().map(|c| format!("{c:?}")).collect();
                format!("SUBACK {}", c.join(","))
            }
            wire::Packet::UnsubAck(s) => {
                let c: Vec<String> = s.codes.iter().map(|c| format!("{c:?}")).collect();
                format!("UNSUBACK {}", c.join(","))
            }
            other => other.packet_type().name().to_string(),
        }
    }

    fn online5(core: &mut Core, id: &str, props: &[Property<'_>]) -> (ConnId, String) {
        let c = core.open(T);
        core.handle_input(c, &connect_v5(id, false, props), T);
        let out = out5(core, c);
        (c, out.join("|"))
    }

    fn subscribe5(core: &mut Core, c: ConnId, filter: &str, q: QoS) {
        subscribe5_with(core, c, &[filter], q, &[]);
    }

    fn subscribe5_with(
        core: &mut Core,
        c: ConnId,
        filters: &[&str],
        q: QoS,
        props: &[Property<'_>],
    ) {
        subscribe5_options(core, c, filters, SubscriptionOptions::qos(q), props);
    }

    fn subscribe5_options(
        core: &mut Core,
        c: ConnId,
        filters: &[&str],
        options: SubscriptionOptions,
        props: &[Property<'_>],
    ) {
        let topics: Vec<SubscribeTopic<'_>> = filters
            .iter()
            .map(|filter| SubscribeTopic { filter, options })
            .collect();
        let p = wire::Packet::Subscribe(wire::Subscribe {
            pid: Pid::new(1).unwrap(),
            properties: Properties::new(props),
            topics: List::new(&topics),
        });
        core.handle_input(c, &bytes(p), T);
    }

    fn publish5(topic: &str, props: &[Property<'_>], q: QoS, pid: u16, payload: &[u8]) -> Vec<u8> {
        bytes(wire::Packet::Publish(wire::Publish {
            dup: false,
            qospid: QosPid::from_qos(q, Pid::new(pid).unwrap()),
            retain: false,
            topic,
            properties: Properties::new(props),
            payload,
        }))
    }

    /// Every property a publisher can give its subscribers (section 3.3.2.3).
    const FORWARDED: [Property<'static>; 6] = [
        Property::PayloadFormatIndicator(1),
        Property::ContentType("text/plain"),
        Property::ResponseTopic("reply/here"),
        Property::CorrelationData(b"\x00id"),
        Property::UserProperty("a", "2"),
        Property::UserProperty("c", "3"),
    ];
    const FORWARDED_TEXT: &str = "PayloadFormatIndicator(1) ContentType(\"text/plain\") \
        ResponseTopic(\"reply/here\") CorrelationData([0, 105, 100]) \
        UserProperty(\"a\", \"2\") UserProperty(\"c\", \"3\")";

    #[test]
    fn publish_properties_reach_every_v5_subscriber_live_and_retained() {
        let mut b = core();
        let (s, _) = online5(&mut b, "s", &[]);
        subscribe5(&mut b, s, "t/#", QoS::ExactlyOnce);
        out5(&mut b, s);
        let (p, _) = online5(&mut b, "p", &[]);
        let mut props = FORWARDED.to_vec();
        // The topic alias is the publisher's connection's, not forwarded.
        props.push(Property::TopicAlias(1));
        for (q, pid) in [(QoS::AtMostOnce, 1), (QoS::AtLeastOnce, 2)] {
            b.handle_input(p, &publish5("t/a", &props, q, pid, b"m"), T);
        }
        let got = out5(&mut b, s);
        assert_eq!(
            got,
            [
                format!("PUBLISH t/a qos=0 m {FORWARDED_TEXT}"),
                format!("PUBLISH t/a qos=1 m {FORWARDED_TEXT}"),
            ]
        );
        // A retained message keeps them for later subscribers.
        let retained = bytes(wire::Packet::Publish(wire::Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: true,
            topic: "t/r",
            properties: Properties::new(&FORWARDED),
            payload: b"r",
        }));
        b.handle_input(p, &retained, T);
        out5(&mut b, s);
        let (s2, _) = online5(&mut b, "s2", &[]);
        subscribe5(&mut b, s2, "t/+", QoS::AtMostOnce);
        assert_eq!(
            out5(&mut b, s2),
            [
                "SUBACK Success".to_string(),
                format!("PUBLISH t/r qos=0 retain r {FORWARDED_TEXT}")
            ]
        );
        // A 3.1.1 subscriber gets the message without them.
        let v3 = b.open(T);
        let mut raw = Vec::new();
        v3::Packet::Connect(v3::Connect {
            client_id: "v3",
            keep_alive: 60,
            clean_session: true,
            will: None,
            username: None,
            password: None,
        })
        .encode_to_vec(&mut raw)
        .unwrap();
        v3::Packet::Subscribe(v3::Subscribe {
            pid: Pid::new(1).unwrap(),
            topics: List::new(&[v3::SubscribeTopic {
                filter: "t/a",
                qos: QoS::AtMostOnce,
            }]),
        })
        .encode_to_vec(&mut raw)
        .unwrap();
        b.handle_input(v3, &raw, T);
        b.poll_transmit(v3, T);
        b.handle_input(p, &publish5("t/a", &FORWARDED, QoS::AtMostOnce, 1, b"m"), T);
        let mut expected = Vec::new();
        v3::Packet::Publish(v3::Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: false,
            topic: "t/a",
            payload: b"m",
        })
        .encode_to_vec(&mut expected)
        .unwrap();
        assert_eq!(b.poll_transmit(v3, T), Some(expected));
    }

    #[test]
    fn expired_messages_are_not_delivered_and_the_rest_carry_the_time_left() {
        let mut b = core();
        let (s, _) = online5(&mut b, "s", &[Property::SessionExpiryInterval(600)]);
        subscribe5(&mut b, s, "t", QoS::AtLeastOnce);
        out5(&mut b, s);
        b.handle_closed(s, T);
        let (p, _) = online5(&mut b, "p", &[]);
        let short = [Property::MessageExpiryInterval(1)];
        let long = [Property::MessageExpiryInterval(6)];
        b.handle_input(p, &publish5("t", &short, QoS::AtLeastOnce, 1, b"short"), T);
        b.handle_input(p, &publish5("t", &long, QoS::AtLeastOnce, 2, b"long"), T);
        let retained = |props: &[Property<'_>], payload: &[u8]| {
            bytes(wire::Packet::Publish(wire::Publish {
                dup: false,
                qospid: QosPid::AtMostOnce,
                retain: true,
                topic: "r",
                properties: Properties::new(props),
                payload,
            }))
        };
        b.handle_input(p, &retained(&short, b"r"), T);
        // Live delivery carries the whole interval.
        let (live, _) = online5(&mut b, "live", &[]);
        subscribe5(&mut b, live, "t", QoS::AtMostOnce);
        out5(&mut b, live);
        b.handle_input(p, &publish5("t", &long, QoS::AtMostOnce, 3, b"now"), T);
        assert_eq!(
            out5(&mut b, live),
            ["PUBLISH t qos=0 now MessageExpiryInterval(6)"]
        );
        // 2.5 s later: the 1 s message is gone, the 6 s one has 4 s left
        // (rounded up), the expired retained message is not sent.
        let later = T + Duration::from_millis(2500);
        let c = b.open(later);
        b.handle_input(
            c,
            &connect_v5("s", false, &[Property::SessionExpiryInterval(600)]),
            later,
        );
        let got = out5_at(&mut b, c, later);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1], "PUBLISH t qos=1 long MessageExpiryInterval(4)");
        let sub = bytes(wire::Packet::Subscribe(wire::Subscribe {
            pid: Pid::new(2).unwrap(),
            properties: Properties::EMPTY,
            topics: List::new(&[SubscribeTopic {
                filter: "r",
                options: SubscriptionOptions::qos(QoS::AtMostOnce),
            }]),
        }));
        b.handle_input(c, &sub, later);
        let raw = b.poll_transmit(c, later).unwrap_or_default();
        assert!(matches!(
            wire::decode(&raw, usize::MAX).unwrap(),
            wire::Decoded::Packet { packet: wire::Packet::SubAck(_), len } if len == raw.len()
        ));
    }

    #[test]
    fn a_session_ends_when_its_expiry_interval_has_passed() {
        let mut b = core();
        let secs = |s: u64| T + Duration::from_secs(s);
        // Connects "d" (clean start off) at `now`: its CONNACK's session
        // present flag.
        let resume = |b: &mut Core, expiry: u32, now: Duration| -> (ConnId, bool) {
            let c = b.open(now);
            let props = [Property::SessionExpiryInterval(expiry)];
            b.handle_input(c, &connect_v5("d", false, &props), now);
            let out = out5_at(b, c, now);
            (c, out[0].starts_with("CONNACK sp=1"))
        };
        let (c, _) = resume(&mut b, 5, T);
        subscribe5(&mut b, c, "t", QoS::AtLeastOnce);
        b.handle_closed(c, T);
        // 2 s later it is still there; 5 s after that disconnect it is not.
        let (c, present) = resume(&mut b, 5, secs(2));
        assert!(present);
        b.handle_closed(c, secs(2));
        b.handle_timeout(secs(7) - Duration::from_millis(1));
        assert!(b.sessions().iter().any(|(id, _)| id == "d"));
        b.handle_timeout(secs(7));
        assert!(!b.sessions().iter().any(|(id, _)| id == "d"));
        assert!(b.events().iter().any(|e| e.event
            == crate::log::BrokerEvent::SessionExpired {
                client_id: "d".into()
            }));
        let (c, present) = resume(&mut b, 1, secs(8));
        assert!(!present);
        // A DISCONNECT may lengthen the interval: 1 s becomes 5 s.
        let disconnect = |e: u32| {
            let props = [Property::SessionExpiryInterval(e)];
            bytes(wire::Packet::Disconnect(wire::Disconnect {
                reason: ReasonCode::Success,
                properties: Properties::new(&props),
            }))
        };
        b.handle_input(c, &disconnect(5), secs(8));
        b.handle_closed(c, secs(8));
        let (c, present) = resume(&mut b, 1, secs(11));
        assert!(present, "the interval from DISCONNECT holds");
        b.handle_closed(c, secs(11));
        // Checked at CONNECT too, with no timer run in between.
        let (_, present) = resume(&mut b, 1, secs(13));
        assert!(!present, "1 s after the last disconnect it is gone");
    }

    #[test]
    fn subscription_options_no_local_retain_as_published_and_retain_handling() {
        use resilient_mqtt::codec::v5::RetainHandling;
        let mut b = core();
        let opts = |no_local, retain_as_published, retain_handling| SubscriptionOptions {
            qos: QoS::AtMostOnce,
            no_local,
            retain_as_published,
            retain_handling,
        };
        let send = RetainHandling::SendAtSubscribe;
        let (a, _) = online5(&mut b, "a", &[]);
        let (c, _) = online5(&mut b, "c", &[]);
        // No local: "a" does not get its own message, "c" does.
        for x in [a, c] {
            subscribe5_options(&mut b, x, &["t"], opts(true, false, send), &[]);
            out5(&mut b, x);
        }
        b.handle_input(a, &publish5("t", &[], QoS::AtMostOnce, 1, b"own"), T);
        assert!(out5(&mut b, a).is_empty());
        assert_eq!(out5(&mut b, c), ["PUBLISH t qos=0 own"]);
        // Retain as published: RETAIN kept on live delivery (cleared
        // without it).
        subscribe5_options(&mut b, a, &["r"], opts(false, true, send), &[]);
        subscribe5(&mut b, c, "r", QoS::AtMostOnce);
        out5(&mut b, a);
        out5(&mut b, c);
        let retained = bytes(wire::Packet::Publish(wire::Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: true,
            topic: "r",
            properties: Properties::EMPTY,
            payload: b"kept",
        }));
        b.handle_input(c, &retained, T);
        assert_eq!(out5(&mut b, a), ["PUBLISH r qos=0 retain kept"]);
        assert_eq!(out5(&mut b, c), ["PUBLISH r qos=0 kept"]);
        // Retain handling 1: retained messages for a new subscription only.
        let (d, _) = online5(&mut b, "d", &[]);
        let if_new = opts(false, false, RetainHandling::SendAtSubscribeIfNew);
        subscribe5_options(&mut b, d, &["r"], if_new, &[]);
        assert_eq!(
            out5(&mut b, d),
            ["SUBACK Success", "PUBLISH r qos=0 retain kept"]
        );
        subscribe5_options(&mut b, d, &["r"], if_new, &[]);
        assert_eq!(out5(&mut b, d), ["SUBACK Success"]);
        // 2: never; 0: every time.
        let never = opts(false, false, RetainHandling::DoNotSend);
        let (e, _) = online5(&mut b, "e", &[]);
        subscribe5_options(&mut b, e, &["r"], never, &[]);
        assert_eq!(out5(&mut b, e), ["SUBACK Success"]);
        for _ in 0..2 {
            subscribe5_options(&mut b, e, &["r"], opts(false, false, send), &[]);
            assert_eq!(
                out5(&mut b, e),
                ["SUBACK Success", "PUBLISH r qos=0 retain kept"]
            );
        }
    }

    #[test]
    fn a_wills_properties_go_out_with_it() {
        let mut b = core();
        let (s, _) = online5(&mut b, "s", &[]);
        subscribe5(&mut b, s, "will", QoS::AtMostOnce);
        out5(&mut b, s);
        let c = b.open(T);
        let will_props = [
            Property::WillDelayInterval(0),
            Property::UserProperty("a", "2"),
            Property::UserProperty("c", "3"),
        ];
        let connect = bytes(wire::Packet::Connect(Connect {
            clean_start: true,
            keep_alive: 60,
            properties: Properties::EMPTY,
            client_id: "w",
            will: Some(wire::Will {
                properties: Properties::new(&will_props),
                topic: "will",
                payload: b"gone",
                qos: QoS::AtMostOnce,
                retain: false,
            }),
            username: None,
            password: None,
        }));
        b.handle_input(c, &connect, T);
        b.handle_closed(c, T);
        assert_eq!(
            out5(&mut b, s),
            ["PUBLISH will qos=0 gone UserProperty(\"a\", \"2\") UserProperty(\"c\", \"3\")"]
        );
    }

    #[test]
    fn connack_advertises_limits_and_session_expiry_keeps_the_session() {
        let mut b = core();
        let (c, ack) = online5(&mut b, "d", &[Property::SessionExpiryInterval(60)]);
        assert_eq!(
            ack,
            "CONNACK sp=0 rc=Success ReceiveMaximum(20) TopicAliasMaximum(10) \
             SubscriptionIdentifierAvailable(0) SharedSubscriptionAvailable(0)"
        );
        b.handle_input(c, &bytes(wire::Packet::Disconnect(Default::default())), T);
        assert!(b.should_close(c));
        b.handle_closed(c, T);
        let (c, ack) = online5(&mut b, "d", &[Property::SessionExpiryInterval(60)]);
        assert!(ack.starts_with("CONNACK sp=1"), "{ack}");
        b.handle_closed(c, T);
        // Expiry 0 (absent): the session ends with the connection.
        let (c, ack) = online5(&mut b, "d", &[]);
        assert!(ack.starts_with("CONNACK sp=1"), "{ack}");
        b.handle_closed(c, T);
        let (_, ack) = online5(&mut b, "d", &[]);
        assert!(ack.starts_with("CONNACK sp=0"), "{ack}");
    }

    #[test]
    fn clean_start_discards_a_kept_session() {
        let mut b = core();
        let (c, _) = online5(&mut b, "d", &[Property::SessionExpiryInterval(60)]);
        b.handle_closed(c, T);
        let c = b.open(T);
        b.handle_input(
            c,
            &connect_v5("d", true, &[Property::SessionExpiryInterval(60)]),
            T,
        );
        assert!(out5(&mut b, c)[0].starts_with("CONNACK sp=0"));
    }

    #[test]
    fn empty_client_id_is_assigned_even_without_clean_start() {
        let mut b = core();
        let (_, ack) = online5(&mut b, "", &[]);
        assert!(ack.contains("AssignedClientIdentifier(\"auto-"), "{ack}");
    }

    #[test]
    fn aliases_resolve_and_messages_route_between_versions() {
        let mut b = core();
        // A 3.1.1 subscriber.
        let s = b.open(T);
        let mut connect = Vec::new();
        v3::Packet::Connect(v3::Connect {
            client_id: "old",
            keep_alive: 60,
            clean_session: true,
            will: None,
            username: None,
            password: None,
        })
        .encode_to_vec(&mut connect)
        .unwrap();
        b.handle_input(s, &connect, T);
        let topics = [v3::SubscribeTopic {
            filter: "a/#",
            qos: QoS::AtLeastOnce,
        }];
        let mut sub = Vec::new();
        v3::Packet::Subscribe(v3::Subscribe {
            pid: Pid::new(1).unwrap(),
            topics: List::new(&topics),
        })
        .encode_to_vec(&mut sub)
        .unwrap();
        b.handle_input(s, &sub, T);
        b.poll_transmit(s, T);
        // A v5 publisher sets alias 3 and then uses it.
        let (p, _) = online5(&mut b, "new", &[]);
        b.handle_input(
            p,
            &publish5(
                "a/b",
                &[Property::TopicAlias(3)],
                QoS::AtLeastOnce,
                1,
                b"one",
            ),
            T,
        );
        b.handle_input(
            p,
            &publish5("", &[Property::TopicAlias(3)], QoS::AtLeastOnce, 2, b"two"),
            T,
        );
        assert_eq!(out5(&mut b, p), ["PUBACK", "PUBACK"]);
        let logged: Vec<String> = b
            .packet_log()
            .into_iter()
            .filter(|e| e.direction == crate::Direction::In && e.summary.starts_with("PUBLISH"))
            .map(|e| e.summary)
            .collect();
        assert_eq!(
            logged[..2],
            [
                "PUBLISH pid=1 qos=1 dup=0 retain=0 topic=a/b len=3 alias=3 (set)",
                "PUBLISH pid=2 qos=1 dup=0 retain=0 topic=a/b len=3 alias=3 (used)"
            ]
        );
        let raw = b.poll_transmit(s, T).unwrap();
        let mut pos = 0;
        let mut got = Vec::new();
        while let Ok(v3::Decoded::Packet { packet, len }) = v3::decode(&raw[pos..], usize::MAX) {
            got.push(crate::log::summarize(&packet));
            pos += len;
        }
        assert_eq!(
            got,
            [
                "PUBLISH pid=1 qos=1 dup=0 retain=0 topic=a/b len=3",
                "PUBLISH pid=2 qos=1 dup=0 retain=0 topic=a/b len=3"
            ]
        );
        // A 3.1.1 publish reaches a v5 subscriber in v5 encoding.
        let (v, _) = online5(&mut b, "sub5", &[]);
        subscribe5(&mut b, v, "a/#", QoS::AtLeastOnce);
        assert_eq!(out5(&mut b, v), ["SUBACK GrantedQoS1"]);
        let mut publish = Vec::new();
        v3::Packet::Publish(v3::Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: false,
            topic: "a/c",
            payload: b"x",
        })
        .encode_to_vec(&mut publish)
        .unwrap();
        b.handle_input(s, &publish, T);
        assert_eq!(out5(&mut b, v), ["PUBLISH a/c qos=0 x"]);
        // UNSUBACK says which filters existed.
        let unsub = wire::Packet::Unsubscribe(wire::Unsubscribe {
            pid: Pid::new(9).unwrap(),
            properties: Properties::EMPTY,
            topics: List::new(&["a/#", "zz"]),
        });
        b.handle_input(v, &bytes(unsub), T);
        assert_eq!(out5(&mut b, v), ["UNSUBACK Success,NoSubscriptionExisted"]);
    }

    #[test]
    fn bad_aliases_are_disconnected_with_their_reason() {
        let mut b = core();
        let (p, _) = online5(&mut b, "p", &[]);
        b.handle_input(
            p,
            &publish5("", &[Property::TopicAlias(4)], QoS::AtMostOnce, 1, b""),
            T,
        );
        assert_eq!(out5(&mut b, p), ["DISCONNECT ProtocolError"]);
        assert!(b.should_close(p));
        let (p, _) = online5(&mut b, "q", &[]);
        b.handle_input(
            p,
            &publish5("a", &[Property::TopicAlias(11)], QoS::AtMostOnce, 1, b""),
            T,
        );
        assert_eq!(out5(&mut b, p), ["DISCONNECT TopicAliasInvalid"]);
    }

    #[test]
    fn shared_subscriptions_and_subscription_identifiers_are_refused_in_suback() {
        // Advertised unavailable in CONNACK (see above), refused with the
        // SUBACK reason codes the spec has for them; other filters of the
        // same SUBSCRIBE are served.
        let mut b = core();
        let (s, _) = online5(&mut b, "s", &[]);
        subscribe5_with(&mut b, s, &["$share/g/t", "t"], QoS::AtLeastOnce, &[]);
        assert_eq!(
            out5(&mut b, s),
            ["SUBACK SharedSubscriptionsNotSupported,GrantedQoS1"]
        );
        let id = [Property::SubscriptionIdentifier(456789)];
        subscribe5_with(&mut b, s, &["u", "v"], QoS::AtLeastOnce, &id);
        assert_eq!(
            out5(&mut b, s),
            ["SUBACK SubscriptionIdentifiersNotSupported,SubscriptionIdentifiersNotSupported"]
        );
        let (p, _) = online5(&mut b, "p", &[]);
        for topic in ["t", "u", "g/t"] {
            b.handle_input(p, &publish5(topic, &[], QoS::AtMostOnce, 1, b"m"), T);
        }
        assert_eq!(out5(&mut b, s), ["PUBLISH t qos=0 m"]);
    }

    #[test]
    fn a_publish_over_the_clients_maximum_packet_size_is_not_sent_to_it() {
        let mut b = core();
        let (s, _) = online5(&mut b, "s", &[Property::MaximumPacketSize(64)]);
        subscribe5(&mut b, s, "t", QoS::AtLeastOnce);
        out5(&mut b, s);
        let (p, _) = online5(&mut b, "p", &[]);
        // 1 + 1 + (2 + 1 + 2 + 1 + 57) = 65 bytes: one too many.
        b.handle_input(p, &publish5("t", &[], QoS::AtLeastOnce, 1, &[b'x'; 57]), T);
        b.handle_input(p, &publish5("t", &[], QoS::AtLeastOnce, 2, &[b'y'; 56]), T);
        let got = out5(&mut b, s);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("PUBLISH t qos=1 yyy"), "{got:?}");
        assert!(b.packet_log().iter().any(|e| e.summary
            == "PUBLISH topic=t qos=1 len=57 not sent: 65 bytes, over the client's Maximum Packet Size 64"));
        // As if sent: nothing waits in the window for it.
        let ack = wire::Packet::PubAck(Ack::success(Pid::new(1).unwrap()));
        b.handle_input(s, &bytes(ack), T);
        assert!(out5(&mut b, s).is_empty());
    }

    #[test]
    fn the_brokers_maximum_packet_size_is_advertised_and_enforced_with_0x95() {
        let mut b = Core::new(BrokerConfig {
            max_packet_size: 100,
            ..BrokerConfig::default()
        });
        let (c, ack) = online5(&mut b, "d", &[]);
        assert!(ack.contains("MaximumPacketSize(100)"), "{ack}");
        b.handle_input(c, &publish5("t", &[], QoS::AtMostOnce, 1, &[0; 100]), T);
        assert_eq!(out5(&mut b, c), ["DISCONNECT PacketTooLarge"]);
        assert!(b.should_close(c));
        // The default is mosquitto's: the protocol's maximum, unannounced.
        let mut b = core();
        let (_, ack) = online5(&mut b, "d", &[]);
        assert!(!ack.contains("MaximumPacketSize"), "{ack}");
    }

    #[test]
    fn overlapping_subscriptions_give_a_v5_client_one_copy_each() {
        // As mosquitto 2.0.11 does for MQTT 5 (a 3.1.1 client gets one):
        // in its tree walk's order, `+` before `#`, each at its own QoS.
        let mut b = core();
        let (s, _) = online5(&mut b, "s", &[]);
        subscribe5(&mut b, s, "ov/#", QoS::AtLeastOnce);
        subscribe5(&mut b, s, "ov/+", QoS::AtMostOnce);
        out5(&mut b, s);
        let (p, _) = online5(&mut b, "p", &[]);
        b.handle_input(p, &publish5("ov/c", &[], QoS::AtLeastOnce, 1, b"m"), T);
        assert_eq!(
            out5(&mut b, s),
            ["PUBLISH ov/c qos=0 m", "PUBLISH ov/c qos=1 m"]
        );
    }

    #[test]
    fn the_clients_receive_maximum_bounds_the_window() {
        let mut b = core();
        let (s, _) = online5(&mut b, "s", &[Property::ReceiveMaximum(2)]);
        subscribe5(&mut b, s, "t", QoS::AtLeastOnce);
        out5(&mut b, s);
        let (p, _) = online5(&mut b, "p", &[]);
        for i in 1..=4 {
            b.handle_input(p, &publish5("t", &[], QoS::AtLeastOnce, i, b"m"), T);
        }
        assert_eq!(out5(&mut b, s).len(), 2);
        let ack = wire::Packet::PubAck(Ack::success(Pid::new(1).unwrap()));
        b.handle_input(s, &bytes(ack), T);
        assert_eq!(out5(&mut b, s), ["PUBLISH t qos=1 m"]);
    }

    #[test]
    fn disconnect_fault_sends_the_reason_then_closes() {
        let mut b = core();
        let (c, _) = online5(&mut b, "d", &[]);
        let fault = Fault::parse(&["disconnect"]).unwrap();
        b.set_fault(FaultTarget::Client("d".into()), fault, T);
        assert_eq!(out5(&mut b, c), ["DISCONNECT ServerShuttingDown"]);
        assert!(b.should_close(c));
        // Acts once: the next connection is served normally.
        let (_, ack) = online5(&mut b, "d", &[]);
        assert!(ack.starts_with("CONNACK sp=0 rc=Success"), "{ack}");
    }

    #[test]
    fn flood_sends_one_more_than_the_receive_maximum() {
        let mut b = core();
        let (c, _) = online5(&mut b, "d", &[Property::ReceiveMaximum(3)]);
        let fault = Fault::parse(&["flood"]).unwrap();
        b.set_fault(FaultTarget::All, fault, T);
        let out = out5(&mut b, c);
        assert_eq!(out.len(), 4, "{out:?}");
        assert!(out
            .iter()
            .all(|p| p.starts_with("PUBLISH chaos/flood qos=2")));
        // The client refuses; a kept session resends within the window.
        let d = wire::Packet::Disconnect(wire::Disconnect {
            reason: ReasonCode::ReceiveMaximumExceeded,
            properties: Properties::EMPTY,
        });
        b.handle_input(c, &bytes(d), T);
        b.handle_closed(c, T);
        let (c, _) = online5(
            &mut b,
            "d",
            &[
                Property::ReceiveMaximum(3),
                Property::SessionExpiryInterval(60),
            ],
        );
        // Expiry was 0 on the flooded connection: the session is gone.
        assert_eq!(out5(&mut b, c), Vec::<String>::new());
        b.set_fault(FaultTarget::All, Fault::parse(&["flood"]).unwrap(), T);
        assert_eq!(out5(&mut b, c).len(), 4);
        b.handle_closed(c, T);
        let c = b.open(T);
        b.handle_input(
            c,
            &connect_v5(
                "d",
                false,
                &[
                    Property::ReceiveMaximum(3),
                    Property::SessionExpiryInterval(60),
                ],
            ),
            T,
        );
        let out = out5(&mut b, c);
        assert!(out[0].starts_with("CONNACK sp=1"), "{out:?}");
        assert_eq!(out.len(), 4, "CONNACK and 3 resends: {out:?}");
    }

    proptest! {
        #[test]
        fn any_input_after_a_v5_connect_is_handled(junk in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = core();
            let c = b.open(T);
            let mut input = connect_v5("x", true, &[]);
            input.extend_from_slice(&junk);
            b.handle_input(c, &input, T);
            let _ = b.poll_transmit(c, T);
        }
    }
}
