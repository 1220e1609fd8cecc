//! Property tests: every MQTT 5 packet type, with generated properties
//! valid for it (every identifier its packet allows, user properties
//! repeated, subscription identifiers repeated in PUBLISH), survives encode
//! then decode unchanged, re-encodes to the same bytes, and satisfies the
//! shared [`invariant`](super::invariant); the acks, DISCONNECT and AUTH
//! use their shortest form; random and mutated bytes never panic.

use super::std;

use std::string::String;
use std::vec;
use std::vec::Vec;

use proptest::collection::vec as pvec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, Index};

use super::super::*;
use super::{decode_whole, encode, invariant};
use crate::codec::tests::roundtrip::{
    client_id, payload, pid, qos, qospid, topic_filter, topic_name,
};

// ---------------------------------------------------------------------------
// Owned models, so that strategies can generate them and tests borrow
// packets from them.

/// One property with owned values; `borrow` gives the codec's view.
#[derive(Debug, Clone)]
pub(super) struct OwnedProp {
    id: PropertyId,
    n: u32,
    s1: String,
    s2: String,
    b: Vec<u8>,
}

impl OwnedProp {
    /// Fits random values to the rules of `id`.
    fn fit(id: PropertyId, n: u32, topic: String, s2: String, b: Vec<u8>) -> Self {
        use PropertyId as I;
        let n = match id {
            I::PayloadFormatIndicator
            | I::RequestProblemInformation
            | I::RequestResponseInformation
            | I::MaximumQoS
            | I::RetainAvailable
            | I::WildcardSubscriptionAvailable
            | I::SubscriptionIdentifierAvailable
            | I::SharedSubscriptionAvailable => n % 2,
            I::SubscriptionIdentifier => n % MAX_VARINT + 1,
            I::ReceiveMaximum | I::TopicAlias => n % 65_535 + 1,
            I::ServerKeepAlive | I::TopicAliasMaximum => n % 65_536,
            I::MaximumPacketSize => n.max(1),
            _ => n,
        };
        OwnedProp {
            id,
            n,
            s1: topic,
            s2,
            b,
        }
    }

    pub(super) fn borrow(&self) -> Property<'_> {
        use Property as P;
        use PropertyId as I;
        let (n, s1, s2, b) = (self.n, self.s1.as_str(), self.s2.as_str(), &self.b[..]);
        match self.id {
            I::PayloadFormatIndicator => P::PayloadFormatIndicator(n as u8),
            I::MessageExpiryInterval => P::MessageExpiryInterval(n),
            I::ContentType => P::ContentType(s2),
            I::ResponseTopic => P::ResponseTopic(s1),
            I::CorrelationData => P::CorrelationData(b),
            I::SubscriptionIdentifier => P::SubscriptionIdentifier(n),
            I::SessionExpiryInterval => P::SessionExpiryInterval(n),
            I::AssignedClientIdentifier => P::AssignedClientIdentifier(s2),
            I::ServerKeepAlive => P::ServerKeepAlive(n as u16),
            I::AuthenticationMethod => P::AuthenticationMethod(s2),
            I::AuthenticationData => P::AuthenticationData(b),
            I::RequestProblemInformation => P::RequestProblemInformation(n as u8),
            I::WillDelayInterval => P::WillDelayInterval(n),
            I::RequestResponseInformation => P::RequestResponseInformation(n as u8),
            I::ResponseInformation => P::ResponseInformation(s2),
            I::ServerReference => P::ServerReference(s2),
            I::ReasonString => P::ReasonString(s2),
            I::ReceiveMaximum => P::ReceiveMaximum(n as u16),
            I::TopicAliasMaximum => P::TopicAliasMaximum(n as u16),
            I::TopicAlias => P::TopicAlias(n as u16),
            I::MaximumQoS => P::MaximumQoS(n as u8),
            I::RetainAvailable => P::RetainAvailable(n as u8),
            I::UserProperty => P::UserProperty(s1, s2),
            I::MaximumPacketSize => P::MaximumPacketSize(n),
            I::WildcardSubscriptionAvailable => P::WildcardSubscriptionAvailable(n as u8),
            I::SubscriptionIdentifierAvailable => P::SubscriptionIdentifierAvailable(n as u8),
            I::SharedSubscriptionAvailable => P::SharedSubscriptionAvailable(n as u8),
        }
    }
}

pub(super) fn borrow_all(props: &[OwnedProp]) -> Vec<Property<'_>> {
    props.iter().map(OwnedProp::borrow).collect()
}

/// Will properties, topic, payload, QoS, retain.
type OwnedWill = (Vec<OwnedProp>, String, Vec<u8>, QoS, bool);

#[derive(Debug, Clone)]
pub(super) enum Model {
    Connect {
        clean_start: bool,
        keep_alive: u16,
        props: Vec<OwnedProp>,
        client_id: String,
        will: Option<OwnedWill>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck(bool, ReasonCode, Vec<OwnedProp>),
    Publish {
        dup: bool,
        qospid: QosPid,
        retain: bool,
        topic: String,
        props: Vec<OwnedProp>,
        payload: Vec<u8>,
    },
    Ack(PacketType, Pid, ReasonCode, Vec<OwnedProp>),
    Subscribe(Pid, Vec<OwnedProp>, Vec<(String, SubscriptionOptions)>),
    SubAck(Pid, Vec<OwnedProp>, Vec<ReasonCode>),
    Unsubscribe(Pid, Vec<OwnedProp>, Vec<String>),
    UnsubAck(Pid, Vec<OwnedProp>, Vec<ReasonCode>),
    PingReq,
    PingResp,
    Disconnect(ReasonCode, Vec<OwnedProp>),
    Auth(ReasonCode, Vec<OwnedProp>),
}

impl Model {
    /// Calls `f` with the packet this model describes.
    pub(super) fn with_packet<R>(&self, f: impl FnOnce(&Packet<'_>) -> R) -> R {
        match self {
            Model::Connect {
                clean_start,
                keep_alive,
                props,
                client_id,
                will,
                username,
                password,
            } => {
                let props = borrow_all(props);
                let will_props = will.as_ref().map(|w| borrow_all(&w.0)).unwrap_or_default();
                f(&Packet::Connect(Connect {
                    clean_start: *clean_start,
                    keep_alive: *keep_alive,
                    properties: Properties::new(&props),
                    client_id,
                    will: will.as_ref().map(|(_, topic, payload, qos, retain)| Will {
                        properties: Properties::new(&will_props),
                        topic,
                        payload,
                        qos: *qos,
                        retain: *retain,
                    }),
                    username: username.as_deref(),
                    password: password.as_deref(),
                }))
            }
            Model::ConnAck(session_present, reason, props) => {
                let props = borrow_all(props);
                f(&Packet::ConnAck(ConnAck {
                    session_present: *session_present,
                    reason: *reason,
                    properties: Properties::new(&props),
                }))
            }
            Model::Publish {
                dup,
                qospid,
                retain,
                topic,
                props,
                payload,
            } => {
                let props = borrow_all(props);
                f(&Packet::Publish(Publish {
                    dup: *dup,
                    qospid: *qospid,
                    retain: *retain,
                    topic,
                    properties: Properties::new(&props),
                    payload,
                }))
            }
            Model::Ack(t, pid, reason, props) => {
                let props = borrow_all(props);
                let a = Ack {
                    pid: *pid,
                    reason: *reason,
                    properties: Properties::new(&props),
                };
                f(&match t {
                    PacketType::PubAck => Packet::PubAck(a),
                    PacketType::PubRec => Packet::PubRec(a),
                    PacketType::PubRel => Packet::PubRel(a),
                    _ => Packet::PubComp(a),
                })
            }
            Model::Subscribe(pid, props, topics) => {
                let props = borrow_all(props);
                let topics: Vec<_> = topics
                    .iter()
                    .map(|(filter, options)| SubscribeTopic {
                        filter,
                        options: *options,
                    })
                    .collect();
                f(&Packet::Subscribe(Subscribe {
                    pid: *pid,
                    properties: Properties::new(&props),
                    topics: List::new(&topics),
                }))
            }
            Model::SubAck(pid, props, codes) => {
                let props = borrow_all(props);
                f(&Packet::SubAck(SubAck {
                    pid: *pid,
                    properties: Properties::new(&props),
                    codes: List::new(codes),
                }))
            }
            Model::Unsubscribe(pid, props, topics) => {
                let props = borrow_all(props);
                let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                f(&Packet::Unsubscribe(Unsubscribe {
                    pid: *pid,
                    properties: Properties::new(&props),
                    topics: List::new(&topics),
                }))
            }
            Model::UnsubAck(pid, props, codes) => {
                let props = borrow_all(props);
                f(&Packet::UnsubAck(UnsubAck {
                    pid: *pid,
                    properties: Properties::new(&props),
                    codes: List::new(codes),
                }))
            }
            Model::PingReq => f(&Packet::PingReq),
            Model::PingResp => f(&Packet::PingResp),
            Model::Disconnect(reason, props) => {
                let props = borrow_all(props);
                f(&Packet::Disconnect(Disconnect {
                    reason: *reason,
                    properties: Properties::new(&props),
                }))
            }
            Model::Auth(reason, props) => {
                let props = borrow_all(props);
                f(&Packet::Auth(Auth {
                    reason: *reason,
                    properties: Properties::new(&props),
                }))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Strategies for valid packets.

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z0-9 =;/-]{0,8}", 1 => r"[^\x00]{0,6}"]
}

/// One property allowed in `context`, with a valid value.
fn property(context: PropertyContext) -> impl Strategy<Value = OwnedProp> {
    let ids: Vec<PropertyId> = PropertyId::ALL
        .iter()
        .copied()
        .filter(|id| id.allowed_in(context))
        .collect();
    (
        select(ids),
        prop_oneof![Just(0u32), Just(1), Just(u32::MAX), any::<u32>()],
        topic_name(),
        any_string(),
        pvec(any::<u8>(), 0..12),
    )
        .prop_map(|(id, n, t, s, b)| OwnedProp::fit(id, n, t, s, b))
}

/// A property block valid for `context`: repeats only where allowed, and
/// authentication data only with a method. User properties are frequent.
pub(super) fn properties(context: PropertyContext) -> impl Strategy<Value = Vec<OwnedProp>> {
    let user = (any_string(), any_string()).prop_map(|(k, v)| OwnedProp {
        id: PropertyId::UserProperty,
        n: 0,
        s1: k,
        s2: v,
        b: Vec::new(),
    });
    pvec(prop_oneof![3 => property(context), 1 => user], 0..7).prop_map(move |props| {
        let mut kept: Vec<OwnedProp> = Vec::new();
        for p in props {
            if p.id.repeatable_in(context) || !kept.iter().any(|k| k.id == p.id) {
                kept.push(p);
            }
        }
        let has = |kept: &[OwnedProp], id| kept.iter().any(|k: &OwnedProp| k.id == id);
        if has(&kept, PropertyId::AuthenticationData)
            && !has(&kept, PropertyId::AuthenticationMethod)
        {
            kept.retain(|k| k.id != PropertyId::AuthenticationData);
        }
        kept
    })
}

fn reason(t: PacketType) -> impl Strategy<Value = ReasonCode> {
    let codes: Vec<ReasonCode> = ReasonCode::allowed_in(t)
        .iter()
        .map(|&c| ReasonCode::from_u8(c).unwrap())
        .collect();
    select(codes)
}

fn credentials() -> impl Strategy<Value = (Option<String>, Option<Vec<u8>>)> {
    (
        option::of(r"[^\x00]{0,12}"),
        option::of(pvec(any::<u8>(), 0..20)),
    )
}

pub(super) fn connect() -> impl Strategy<Value = Model> {
    let will = (
        properties(PropertyContext::Will),
        topic_name(),
        pvec(any::<u8>(), 0..40),
        qos(),
        any::<bool>(),
    );
    (
        any::<bool>(),
        any::<u16>(),
        properties(PropertyContext::Connect),
        client_id(),
        option::of(will),
        credentials(),
    )
        .prop_map(
            |(clean_start, keep_alive, props, client_id, will, (username, password))| {
                Model::Connect {
                    clean_start,
                    keep_alive,
                    props,
                    client_id,
                    will,
                    username,
                    password,
                }
            },
        )
}

fn connack() -> impl Strategy<Value = Model> {
    (
        any::<bool>(),
        reason(PacketType::ConnAck),
        properties(PropertyContext::ConnAck),
    )
        .prop_map(|(sp, reason, props)| Model::ConnAck(sp && !reason.is_error(), reason, props))
}

pub(super) fn publish() -> impl Strategy<Value = Model> {
    (
        qospid(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => topic_name(), 1 => Just(String::new())],
        properties(PropertyContext::Publish),
        any::<u16>(),
        payload(),
    )
        .prop_map(|(qospid, dup, retain, topic, mut props, alias, payload)| {
            // An empty topic needs a topic alias.
            if topic.is_empty() && !props.iter().any(|p| p.id == PropertyId::TopicAlias) {
                props.push(OwnedProp::fit(
                    PropertyId::TopicAlias,
                    alias.into(),
                    String::new(),
                    String::new(),
                    Vec::new(),
                ));
            }
            Model::Publish {
                dup: dup && qospid != QosPid::AtMostOnce,
                qospid,
                retain,
                topic,
                props,
                payload,
            }
        })
}

fn ack() -> impl Strategy<Value = Model> {
    select(std::vec![
        PacketType::PubAck,
        PacketType::PubRec,
        PacketType::PubRel,
        PacketType::PubComp,
    ])
    .prop_flat_map(|t| {
        let context = match t {
            PacketType::PubAck => PropertyContext::PubAck,
            PacketType::PubRec => PropertyContext::PubRec,
            PacketType::PubRel => PropertyContext::PubRel,
            _ => PropertyContext::PubComp,
        };
        (pid(), reason(t), properties(context))
            .prop_map(move |(pid, r, props)| Model::Ack(t, pid, r, props))
    })
}

fn options() -> impl Strategy<Value = SubscriptionOptions> {
    (
        qos(),
        any::<bool>(),
        any::<bool>(),
        select(std::vec![
            RetainHandling::SendAtSubscribe,
            RetainHandling::SendAtSubscribeIfNew,
            RetainHandling::DoNotSend,
        ]),
    )
        .prop_map(|(qos, no_local, retain_as_published, retain_handling)| {
            SubscriptionOptions {
                qos,
                no_local,
                retain_as_published,
                retain_handling,
            }
        })
}

fn subscribe() -> impl Strategy<Value = Model> {
    let entry = (
        prop_oneof![
            4 => topic_filter(),
            1 => topic_filter().prop_map(|f| std::format!("$share/group/{f}")),
        ],
        options(),
    )
        .prop_map(|(f, mut o)| {
            if f.starts_with("$share/") {
                o.no_local = false;
            }
            (f, o)
        });
    (
        pid(),
        properties(PropertyContext::Subscribe),
        pvec(entry, 1..5),
    )
        .prop_map(|(pid, props, topics)| Model::Subscribe(pid, props, topics))
}

fn suback() -> impl Strategy<Value = Model> {
    (
        pid(),
        properties(PropertyContext::SubAck),
        pvec(reason(PacketType::SubAck), 1..6),
    )
        .prop_map(|(pid, props, codes)| Model::SubAck(pid, props, codes))
}

fn unsubscribe() -> impl Strategy<Value = Model> {
    (
        pid(),
        properties(PropertyContext::Unsubscribe),
        pvec(topic_filter(), 1..5),
    )
        .prop_map(|(pid, props, topics)| Model::Unsubscribe(pid, props, topics))
}

fn unsuback() -> impl Strategy<Value = Model> {
    (
        pid(),
        properties(PropertyContext::UnsubAck),
        pvec(reason(PacketType::UnsubAck), 1..6),
    )
        .prop_map(|(pid, props, codes)| Model::UnsubAck(pid, props, codes))
}

fn disconnect() -> impl Strategy<Value = Model> {
    (
        reason(PacketType::Disconnect),
        properties(PropertyContext::Disconnect),
    )
        .prop_map(|(r, props)| Model::Disconnect(r, props))
}

fn auth() -> impl Strategy<Value = Model> {
    (reason(PacketType::Auth), properties(PropertyContext::Auth))
        .prop_map(|(r, props)| Model::Auth(r, props))
}

pub(super) fn any_packet() -> impl Strategy<Value = Model> {
    prop_oneof![
        connect(),
        connack(),
        publish(),
        ack(),
        subscribe(),
        suback(),
        unsubscribe(),
        unsuback(),
        Just(Model::PingReq),
        Just(Model::PingResp),
        disconnect(),
        auth(),
    ]
}

// ---------------------------------------------------------------------------

/// Encodes `p`, checks it decodes back to `p`, alone and followed by more
/// bytes, and runs the shared invariants. Returns the bytes.
fn assert_roundtrip(p: &Packet<'_>) -> Vec<u8> {
    let bytes = encode(p);
    assert_eq!(&decode_whole(&bytes), p);
    assert_eq!(invariant::decode_invariants(&bytes), 1);
    let mut stream = bytes.clone();
    stream.extend_from_slice(&[0x30, 0x05, b'x']);
    match decode(&stream, DEFAULT_MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet, len }) => {
            assert_eq!(&packet, p);
            assert_eq!(len, bytes.len());
        }
        other => panic!("in a stream: {other:?}"),
    }
    #[cfg(feature = "alloc")]
    {
        let mut v = std::vec![0xAA];
        assert_eq!(p.encode_to_vec(&mut v), Ok(bytes.len()));
        assert_eq!(&v[1..], &bytes[..]);
    }
    bytes
}

/// Remaining length of an encoding whose header is one length byte.
fn body(bytes: &[u8]) -> &[u8] {
    let h = check(bytes, DEFAULT_MAX_PACKET_SIZE).unwrap().unwrap();
    &bytes[h.header_len..]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_packet_type_roundtrips(m in any_packet()) {
        m.with_packet(assert_roundtrip);
    }

    #[test]
    fn connect_with_will_properties_roundtrips(m in connect()) {
        m.with_packet(assert_roundtrip);
    }

    #[test]
    fn connack_roundtrips(m in connack()) {
        m.with_packet(assert_roundtrip);
    }

    #[test]
    fn publish_roundtrips(m in publish()) {
        m.with_packet(assert_roundtrip);
    }

    #[test]
    fn subscribe_with_options_roundtrips(m in subscribe()) {
        m.with_packet(assert_roundtrip);
    }

    #[test]
    fn suback_unsubscribe_unsuback_roundtrip(m in prop_oneof![suback(), unsubscribe(), unsuback()]) {
        m.with_packet(assert_roundtrip);
    }

    /// PUB* acks: 2 bytes of body for success without properties, 3 for a
    /// reason code alone, more with properties.
    #[test]
    fn acks_use_the_shortest_form(m in ack()) {
        m.with_packet(|p| {
            let bytes = assert_roundtrip(p);
            let (reason, empty) = match p {
                Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                    (a.reason, a.properties.is_empty())
                }
                _ => unreachable!(),
            };
            let n = body(&bytes).len();
            match (reason, empty) {
                (ReasonCode::Success, true) => prop_assert_eq!(n, 2),
                (_, true) => prop_assert_eq!(n, 3),
                _ => prop_assert!(n >= 4),
            }
            Ok(())
        })?;
    }

    /// DISCONNECT: empty body for a normal disconnection, one byte for a
    /// reason code alone. AUTH: empty for success, else code + properties.
    #[test]
    fn disconnect_and_auth_use_the_shortest_form(m in prop_oneof![disconnect(), auth()]) {
        m.with_packet(|p| {
            let bytes = assert_roundtrip(p);
            let (reason, empty, auth) = match p {
                Packet::Disconnect(d) => (d.reason, d.properties.is_empty(), false),
                Packet::Auth(a) => (a.reason, a.properties.is_empty(), true),
                _ => unreachable!(),
            };
            let n = body(&bytes).len();
            match (reason, empty, auth) {
                (ReasonCode::Success, true, _) => prop_assert_eq!(n, 0),
                (_, true, false) => prop_assert_eq!(n, 1),
                (_, true, true) => prop_assert_eq!(n, 2),
                _ => prop_assert!(n >= 2),
            }
            Ok(())
        })?;
    }

    /// Decoded properties equal the typed ones, in order, and the
    /// accessors find them.
    #[test]
    fn decoded_properties_equal_typed_properties(props in properties(PropertyContext::Publish)) {
        let typed = borrow_all(&props);
        let p = Packet::Publish(Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: false,
            topic: "t",
            properties: Properties::new(&typed),
            payload: b"",
        });
        let bytes = encode(&p);
        let Packet::Publish(decoded) = decode_whole(&bytes) else { unreachable!() };
        let got: Vec<Property<'_>> = decoded.properties.iter().collect();
        prop_assert_eq!(&got, &typed);
        prop_assert_eq!(decoded.properties.len(), typed.len());
        let users: Vec<_> = decoded.properties.user_properties().collect();
        prop_assert_eq!(users.len(), typed.iter().filter(|p| p.id() == PropertyId::UserProperty).count());
    }

    /// Random bytes, and valid packets with one byte changed, never panic
    /// and always satisfy the invariants.
    #[test]
    fn random_bytes_never_panic(bytes in pvec(any::<u8>(), 0..200)) {
        invariant::decode_invariants(&bytes);
    }

    #[test]
    fn mutated_packets_never_panic(m in any_packet(), at in any::<Index>(), byte in any::<u8>()) {
        let mut bytes = m.with_packet(encode);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        invariant::decode_invariants(&bytes);
        bytes.truncate(i);
        invariant::decode_invariants(&bytes);
    }
}

/// Every one of the 27 properties round-trips in every packet that may
/// carry it, and is refused (both ways) in every packet that may not.
#[test]
fn every_property_in_every_context() {
    use PropertyContext as C;
    let contexts = [
        C::Connect,
        C::Will,
        C::ConnAck,
        C::Publish,
        C::PubAck,
        C::PubRec,
        C::PubRel,
        C::PubComp,
        C::Subscribe,
        C::SubAck,
        C::Unsubscribe,
        C::UnsubAck,
        C::Disconnect,
        C::Auth,
    ];
    assert_eq!(PropertyId::ALL.len(), 27);
    let mut allowed_pairs = 0;
    for &id in PropertyId::ALL {
        let owned = OwnedProp::fit(id, 7, String::from("a/b"), String::from("v"), std::vec![1]);
        let mut props = std::vec![owned.borrow()];
        if id == PropertyId::AuthenticationData {
            props.insert(0, Property::AuthenticationMethod("m"));
        }
        for context in contexts {
            let block = Properties::new(&props);
            let p = packet_with(context, block);
            if id.allowed_in(context) {
                allowed_pairs += 1;
                p.with(|p| {
                    let bytes = assert_roundtrip(p);
                    assert!(bytes.len() > 2);
                });
            } else {
                // With authentication data, the method (first) is refused first.
                let id = props[0].id();
                let expected = EncodeError::Property(PropertyError::NotAllowed { id, context });
                p.with(|p| assert_eq!(p.encoded_len(), Err(expected), "{id:?} in {context:?}"));
            }
        }
    }
    // The specification's table (§2.2.2.2), counted by hand: 64
    // property/place pairs (the will's properties are one place).
    assert_eq!(allowed_pairs, 64);
}

/// A packet (or a CONNECT whose will carries the block) for a context.
struct WithProps<'a>(Packet<'a>);

impl<'a> WithProps<'a> {
    fn with<R>(&self, f: impl FnOnce(&Packet<'a>) -> R) -> R {
        f(&self.0)
    }
}

fn packet_with(context: PropertyContext, properties: Properties<'_>) -> WithProps<'_> {
    use PropertyContext as C;
    const TOPICS: &[SubscribeTopic<'static>] = &[SubscribeTopic {
        filter: "a/#",
        options: SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        },
    }];
    const CODES: &[ReasonCode] = &[ReasonCode::Success];
    const FILTERS: &[&str] = &["a/#"];
    let pid = Pid::new(3).unwrap();
    let ack = Ack {
        pid,
        reason: ReasonCode::Success,
        properties,
    };
    let connect = |properties, will| Connect {
        clean_start: true,
        keep_alive: 30,
        properties,
        client_id: "c",
        will,
        username: None,
        password: None,
    };
    WithProps(match context {
        C::Connect => Packet::Connect(connect(properties, None)),
        C::Will => Packet::Connect(connect(
            Properties::EMPTY,
            Some(Will {
                properties,
                topic: "w",
                payload: b"x",
                qos: QoS::AtMostOnce,
                retain: false,
            }),
        )),
        C::ConnAck => Packet::ConnAck(ConnAck {
            session_present: false,
            reason: ReasonCode::Success,
            properties,
        }),
        C::Publish => Packet::Publish(Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: false,
            topic: "t",
            properties,
            payload: b"p",
        }),
        C::PubAck => Packet::PubAck(ack),
        C::PubRec => Packet::PubRec(ack),
        C::PubRel => Packet::PubRel(ack),
        C::PubComp => Packet::PubComp(ack),
        C::Subscribe => Packet::Subscribe(Subscribe {
            pid,
            properties,
            topics: List::new(TOPICS),
        }),
        C::SubAck => Packet::SubAck(SubAck {
            pid,
            properties,
            codes: List::new(CODES),
        }),
        C::Unsubscribe => Packet::Unsubscribe(Unsubscribe {
            pid,
            properties,
            topics: List::new(FILTERS),
        }),
        C::UnsubAck => Packet::UnsubAck(UnsubAck {
            pid,
            properties,
            codes: List::new(CODES),
        }),
        C::Disconnect => Packet::Disconnect(Disconnect {
            reason: ReasonCode::Success,
            properties,
        }),
        C::Auth => Packet::Auth(Auth {
            reason: ReasonCode::ContinueAuthentication,
            properties,
        }),
    })
}

/// Subscription options: every valid byte decodes and encodes back; the
/// others are refused.
#[test]
fn subscription_options_every_byte() {
    let mut valid = 0;
    for b in 0..=255u8 {
        match SubscriptionOptions::from_u8(b) {
            Ok(o) => {
                valid += 1;
                assert_eq!(o.to_u8(), b);
            }
            Err(e) => assert!(
                b & 0xC0 != 0 || (b >> 4) & 3 == 3 || b & 3 == 3,
                "{b:#04x} refused: {e}"
            ),
        }
    }
    // QoS 0-2, no local, retain as published, retain handling 0-2.
    assert_eq!(valid, 3 * 2 * 2 * 3);
}

/// Every reason code decodes in exactly the packets whose table lists it.
#[test]
fn reason_codes_per_packet() {
    assert_eq!(ReasonCode::ALL.len(), 43);
    for code in 0..=255u8 {
        for t in [
            PacketType::ConnAck,
            PacketType::PubAck,
            PacketType::PubRec,
            PacketType::PubRel,
            PacketType::PubComp,
            PacketType::Disconnect,
            PacketType::Auth,
        ] {
            let ok = ReasonCode::for_packet(code, t).is_some();
            assert_eq!(ok, ReasonCode::allowed_in(t).contains(&code));
            if ok {
                assert!(
                    ReasonCode::from_u8(code).is_some(),
                    "{code:#04x} listed but undefined"
                );
            }
        }
    }
}
