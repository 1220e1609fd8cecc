//! Property tests: every packet type survives encode then decode unchanged;
//! every prefix of an encoding is "incomplete"; the remaining length works at
//! every boundary of its one- to four-byte forms; the packet-size limit is
//! enforced from the fixed header alone; random and mutated bytes never
//! panic and always satisfy the shared [`invariant`](super::invariant).

// The crate is no_std; `std` comes from `extern crate std` in tests/mod.rs.
use super::std;

use std::string::String;
use std::vec::Vec;
use std::{format, vec};

use proptest::collection::vec as pvec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;

use super::super::*;
use super::{decode_whole, encode, invariant};

// ---------------------------------------------------------------------------
// An owned model of a packet, so that strategies can generate it and the
// test can borrow a `Packet` from it.

#[derive(Debug, Clone)]
pub(super) enum Model {
    Connect {
        client_id: String,
        keep_alive: u16,
        clean_session: bool,
        will: Option<(String, Vec<u8>, QoS, bool)>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck(ConnAck),
    Publish {
        dup: bool,
        qospid: QosPid,
        retain: bool,
        topic: String,
        payload: Vec<u8>,
    },
    PubAck(Pid),
    PubRec(Pid),
    PubRel(Pid),
    PubComp(Pid),
    Subscribe(Pid, Vec<(String, QoS)>),
    SubAck(Pid, Vec<SubAckCode>),
    Unsubscribe(Pid, Vec<String>),
    UnsubAck(Pid),
    PingReq,
    PingResp,
    Disconnect,
}

impl Model {
    /// Calls `f` with the packet this model describes.
    pub(super) fn with_packet<R>(&self, f: impl FnOnce(&Packet<'_>) -> R) -> R {
        match self {
            Model::Connect {
                client_id,
                keep_alive,
                clean_session,
                will,
                username,
                password,
            } => f(&Packet::Connect(Connect {
                client_id,
                keep_alive: *keep_alive,
                clean_session: *clean_session,
                will: will.as_ref().map(|(topic, message, qos, retain)| Will {
                    topic,
                    message,
                    qos: *qos,
                    retain: *retain,
                }),
                username: username.as_deref(),
                password: password.as_deref(),
            })),
            Model::ConnAck(c) => f(&Packet::ConnAck(*c)),
            Model::Publish {
                dup,
                qospid,
                retain,
                topic,
                payload,
            } => f(&Packet::Publish(Publish {
                dup: *dup,
                qospid: *qospid,
                retain: *retain,
                topic,
                payload,
            })),
            Model::PubAck(p) => f(&Packet::PubAck(PubAck(*p))),
            Model::PubRec(p) => f(&Packet::PubRec(PubRec(*p))),
            Model::PubRel(p) => f(&Packet::PubRel(PubRel(*p))),
            Model::PubComp(p) => f(&Packet::PubComp(PubComp(*p))),
            Model::Subscribe(pid, topics) => {
                let items: Vec<SubscribeTopic<'_>> = topics
                    .iter()
                    .map(|(filter, qos)| SubscribeTopic { filter, qos: *qos })
                    .collect();
                f(&Packet::Subscribe(Subscribe {
                    pid: *pid,
                    topics: List::new(&items),
                }))
            }
            Model::SubAck(pid, codes) => f(&Packet::SubAck(SubAck {
                pid: *pid,
                codes: List::new(codes),
            })),
            Model::Unsubscribe(pid, topics) => {
                let items: Vec<&str> = topics.iter().map(String::as_str).collect();
                f(&Packet::Unsubscribe(Unsubscribe {
                    pid: *pid,
                    topics: List::new(&items),
                }))
            }
            Model::UnsubAck(p) => f(&Packet::UnsubAck(UnsubAck(*p))),
            Model::PingReq => f(&Packet::PingReq),
            Model::PingResp => f(&Packet::PingResp),
            Model::Disconnect => f(&Packet::Disconnect),
        }
    }
}

// ---------------------------------------------------------------------------
// Strategies for valid packets.

pub(crate) fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

pub(crate) fn pid() -> impl Strategy<Value = Pid> {
    prop_oneof![Just(1u16), Just(u16::MAX), 1..=u16::MAX].prop_map(|n| Pid::new(n).unwrap())
}

/// One topic level without wildcards or separators: mostly ASCII, sometimes
/// any Unicode scalar value but U+0000 (multi-byte UTF-8, U+FEFF...).
fn level() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9_$ -]{0,6}",
        1 => r"[^+#/\x00]{0,4}",
    ]
}

pub(crate) fn topic_name() -> impl Strategy<Value = String> {
    pvec(level(), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("a topic name is not empty", |t| !t.is_empty())
}

/// A filter: levels, some of them `+`, maybe a final `#`, or `#` alone.
pub(crate) fn topic_filter() -> impl Strategy<Value = String> {
    let levels = pvec(
        prop_oneof![3 => level(), 1 => Just(String::from("+"))],
        1..5,
    );
    (levels, any::<bool>())
        .prop_map(|(levels, hash)| {
            let mut f = levels.join("/");
            if hash {
                f.push_str("/#");
            }
            f
        })
        .prop_filter("a filter is not empty", |f| !f.is_empty())
        .boxed()
        .prop_union(Just(String::from("#")).boxed())
}

/// Payload sizes around the one- and two-byte remaining-length limits.
pub(crate) fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![Just(0usize), 1usize..64, 100usize..300, 16_370usize..16_400]
        .prop_flat_map(|n| pvec(any::<u8>(), n))
}

pub(crate) fn client_id() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9]{0,23}", r"[^\x00]{0,30}"]
}

/// (user name, password): none, user only, or both.
fn credentials() -> impl Strategy<Value = (Option<String>, Option<Vec<u8>>)> {
    prop_oneof![
        Just((None, None)),
        r"[^\x00]{0,12}".prop_map(|u| (Some(u), None)),
        (r"[^\x00]{0,12}", pvec(any::<u8>(), 0..40)).prop_map(|(u, p)| (Some(u), Some(p))),
    ]
}

fn connect() -> impl Strategy<Value = Model> {
    (
        client_id(),
        any::<u16>(),
        any::<bool>(),
        option::of((
            topic_name(),
            pvec(any::<u8>(), 0..100),
            qos(),
            any::<bool>(),
        )),
        credentials(),
    )
        .prop_map(
            |(client_id, keep_alive, clean_session, will, (username, password))| Model::Connect {
                client_id,
                keep_alive,
                clean_session,
                will,
                username,
                password,
            },
        )
}

fn return_code() -> impl Strategy<Value = ConnectReturnCode> {
    (0u8..6).prop_map(|n| ConnectReturnCode::from_u8(n).unwrap())
}

fn connack() -> impl Strategy<Value = Model> {
    (any::<bool>(), return_code()).prop_map(|(sp, code)| {
        Model::ConnAck(ConnAck {
            // Session present only with code 0 (MQTT-3.2.2-4).
            session_present: sp && code == ConnectReturnCode::Accepted,
            code,
        })
    })
}

pub(crate) fn qospid() -> impl Strategy<Value = QosPid> {
    prop_oneof![
        Just(QosPid::AtMostOnce),
        pid().prop_map(QosPid::AtLeastOnce),
        pid().prop_map(QosPid::ExactlyOnce),
    ]
}

fn publish() -> impl Strategy<Value = Model> {
    (
        qospid(),
        any::<bool>(),
        any::<bool>(),
        topic_name(),
        payload(),
    )
        .prop_map(|(qospid, dup, retain, topic, payload)| Model::Publish {
            // DUP never with QoS 0 (MQTT-3.3.1-2).
            dup: dup && qospid != QosPid::AtMostOnce,
            qospid,
            retain,
            topic,
            payload,
        })
}

fn ack() -> impl Strategy<Value = Model> {
    prop_oneof![
        pid().prop_map(Model::PubAck),
        pid().prop_map(Model::PubRec),
        pid().prop_map(Model::PubRel),
        pid().prop_map(Model::PubComp),
        pid().prop_map(Model::UnsubAck),
    ]
}

fn subscribe() -> impl Strategy<Value = Model> {
    (pid(), pvec((topic_filter(), qos()), 1..8)).prop_map(|(p, t)| Model::Subscribe(p, t))
}

fn suback_code() -> impl Strategy<Value = SubAckCode> {
    prop_oneof![
        qos().prop_map(SubAckCode::Granted),
        Just(SubAckCode::Failure)
    ]
}

fn suback() -> impl Strategy<Value = Model> {
    (pid(), pvec(suback_code(), 1..20)).prop_map(|(p, c)| Model::SubAck(p, c))
}

fn unsubscribe() -> impl Strategy<Value = Model> {
    (pid(), pvec(topic_filter(), 1..8)).prop_map(|(p, t)| Model::Unsubscribe(p, t))
}

fn bodiless() -> impl Strategy<Value = Model> {
    prop_oneof![
        Just(Model::PingReq),
        Just(Model::PingResp),
        Just(Model::Disconnect)
    ]
}

/// Any valid packet, every type equally likely.
pub(super) fn any_packet() -> impl Strategy<Value = Model> {
    prop_oneof![
        connect(),
        connack(),
        publish(),
        ack(),
        subscribe(),
        suback(),
        unsubscribe(),
        bodiless(),
    ]
}

// ---------------------------------------------------------------------------
// The round-trip check.

/// Encodes `p`, checks it decodes back to `p` alone and inside a stream, and
/// runs the shared invariants (every prefix incomplete, limits from the
/// header, canonical re-encoding). Returns the bytes.
fn assert_roundtrip(p: &Packet<'_>) -> Vec<u8> {
    let bytes = encode(p);
    assert_eq!(&decode_whole(&bytes), p);
    assert_eq!(invariant::decode_invariants(&bytes), 1);

    // Followed by the start of another packet, only this one is taken.
    let mut stream = bytes.clone();
    stream.extend_from_slice(&[0x30, 0x05, b'x']);
    match decode(&stream, DEFAULT_MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet, len }) => {
            assert_eq!(&packet, p);
            assert_eq!(len, bytes.len());
        }
        other => panic!("in a stream: {other:?}"),
    }

    // The smallest limit that admits it, and one less: known from the
    // fixed header alone.
    let n = bytes.len();
    let header_len = n - body_len(&bytes);
    if header_len < n {
        assert_eq!(
            decode(&bytes[..header_len], n),
            Ok(Decoded::Incomplete { needed: Some(n) })
        );
    }
    assert_eq!(
        decode(&bytes[..header_len], n - 1),
        Err(DecodeError::PacketTooLarge {
            size: n,
            max: n - 1
        })
    );
    bytes
}

/// The remaining length announced by an encoding's fixed header.
fn body_len(bytes: &[u8]) -> usize {
    check(bytes, DEFAULT_MAX_PACKET_SIZE)
        .unwrap()
        .unwrap()
        .remaining_len
}

proptest! {
    #[test]
    fn every_packet_type_roundtrips(m in any_packet()) {
        m.with_packet(assert_roundtrip);
    }

    #[test]
    fn connect_roundtrips(m in connect()) {
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
    fn acks_roundtrip(m in ack()) {
        m.with_packet(|p| {
            let bytes = assert_roundtrip(p);
            prop_assert_eq!(bytes.len(), 4);
            Ok(())
        })?;
    }

    #[test]
    fn subscribe_roundtrips(m in subscribe()) {
        m.with_packet(assert_roundtrip);
    }

    #[test]
    fn suback_roundtrips(m in suback()) {
        m.with_packet(assert_roundtrip);
    }

    #[test]
    fn unsubscribe_roundtrips(m in unsubscribe()) {
        m.with_packet(assert_roundtrip);
    }

    #[test]
    fn bodiless_roundtrip(m in bodiless()) {
        m.with_packet(|p| {
            let bytes = assert_roundtrip(p);
            prop_assert_eq!(bytes.len(), 2);
            Ok(())
        })?;
    }

    /// Any prefix of a valid encoding asks for more bytes, and says how many
    /// once the fixed header is complete.
    #[test]
    fn every_prefix_is_incomplete(m in any_packet()) {
        m.with_packet(|p| {
            let bytes = encode(p);
            let header_len = bytes.len() - body_len(&bytes);
            for end in 0..bytes.len() {
                let needed = (end >= header_len).then_some(bytes.len());
                prop_assert_eq!(
                    decode(&bytes[..end], DEFAULT_MAX_PACKET_SIZE),
                    Ok(Decoded::Incomplete { needed })
                );
                prop_assert_eq!(
                    check(&bytes[..end], DEFAULT_MAX_PACKET_SIZE).unwrap().is_some(),
                    end >= header_len
                );
            }
            Ok(())
        })?;
    }

    /// Packets back to back decode one after the other.
    #[test]
    fn stream_of_packets_decodes_in_order(ms in pvec(any_packet(), 1..6)) {
        let mut stream = Vec::new();
        let mut each = Vec::new();
        for m in &ms {
            let bytes = m.with_packet(encode);
            stream.extend_from_slice(&bytes);
            each.push(bytes);
        }
        prop_assert_eq!(invariant::decode_invariants(&stream), ms.len());
        let mut rest = &stream[..];
        for bytes in &each {
            match decode(rest, DEFAULT_MAX_PACKET_SIZE) {
                Ok(Decoded::Packet { packet, len }) => {
                    prop_assert_eq!(len, bytes.len());
                    prop_assert_eq!(packet, decode_whole(bytes));
                    rest = &rest[len..];
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
        prop_assert!(rest.is_empty());
    }

    /// The limit depends on the announced size only, and needs only the
    /// fixed header.
    #[test]
    fn size_limit_needs_only_the_fixed_header(m in any_packet(), max in 0usize..20_000) {
        m.with_packet(|p| {
            let bytes = encode(p);
            let n = bytes.len();
            let header_len = n - body_len(&bytes);
            let expected_header_only = if n > max {
                Err(DecodeError::PacketTooLarge { size: n, max })
            } else if header_len == n {
                Ok(Decoded::Packet { packet: p.clone(), len: n })
            } else {
                Ok(Decoded::Incomplete { needed: Some(n) })
            };
            prop_assert_eq!(decode(&bytes[..header_len], max), expected_header_only);
            let whole = decode(&bytes, max);
            if n > max {
                prop_assert_eq!(whole, Err(DecodeError::PacketTooLarge { size: n, max }));
            } else {
                prop_assert_eq!(whole, Ok(Decoded::Packet { packet: p.clone(), len: n }));
            }
            Ok(())
        })?;
    }

    /// Every remaining length 0..=268,435,455 encodes in the fewest bytes and
    /// reads back from the fixed header.
    #[test]
    fn remaining_length_roundtrips(len in prop_oneof![
        0usize..=127,
        128usize..=16_383,
        16_384usize..=2_097_151,
        2_097_152usize..=MAX_REMAINING_LENGTH,
    ]) {
        let bytes = length_field(len);
        let expected = 1 + usize::from(len > 127) + usize::from(len > 16_383)
            + usize::from(len > 2_097_151);
        prop_assert_eq!(bytes.len(), expected);
        let mut frame = vec![0x30];
        frame.extend_from_slice(&bytes);
        let h = check(&frame, DEFAULT_MAX_PACKET_SIZE).unwrap().unwrap();
        prop_assert_eq!(h.remaining_len, len);
        prop_assert_eq!(h.header_len, 1 + bytes.len());
    }

    /// Random bytes: never a panic, and every invariant holds.
    #[test]
    fn random_bytes_never_panic(data in pvec(any::<u8>(), 0..600)) {
        invariant::decode_invariants(&data);
    }

    /// Random bodies behind a valid fixed header reach the body parsers
    /// (random bytes alone rarely form a complete frame).
    #[test]
    fn random_bodies_never_panic(first in 0x10u8..0xF0, body in pvec(any::<u8>(), 0..300)) {
        let mut frame = vec![first];
        frame.extend_from_slice(&length_field(body.len()));
        frame.extend_from_slice(&body);
        invariant::decode_invariants(&frame);
    }

    /// A valid encoding with one byte changed: an error or a valid packet.
    #[test]
    fn mutated_encodings_never_panic(m in any_packet(), at in any::<Index>(), byte in any::<u8>()) {
        let mut bytes = m.with_packet(encode);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        invariant::decode_invariants(&bytes);
    }

    /// Whatever the encoder accepts, even from fields chosen without regard
    /// for the rules, decodes back to exactly the same packet; what it
    /// refuses is a typed error.
    #[test]
    fn encode_accepts_only_what_decodes_back(m in loose_packet()) {
        m.with_packet(|p| {
            let mut buf = vec![0u8; 300_000];
            let result = p.encode(&mut buf);
            // encoded_len checks exactly what encode checks.
            prop_assert_eq!(p.encoded_len(), result);
            match result {
                Ok(n) => prop_assert_eq!(&decode_whole(&buf[..n]), p),
                Err(e) => {
                    let message = format!("{e}");
                    prop_assert!(!message.is_empty());
                }
            }
            Ok(())
        })?;
    }
}

/// The remaining-length field for `len`, written by the codec's writer.
pub(super) fn length_field(len: usize) -> Vec<u8> {
    let mut buf = [0u8; 4];
    let mut w = Writer::new(&mut buf);
    w.remaining_length(len).unwrap();
    let n = w.position();
    buf[..n].to_vec()
}

/// Strings that may break the rules: wildcards, U+0000, empty, long.
fn loose_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-c/+#]{0,6}",
        1 => r"[a\x00/]{0,3}",
        1 => (65_530usize..65_540).prop_map(|n| "a".repeat(n)),
    ]
}

/// Packets built from fields that may or may not be valid.
fn loose_packet() -> impl Strategy<Value = Model> {
    let connect = (
        loose_string(),
        option::of((
            loose_string(),
            pvec(any::<u8>(), 0..4),
            qos(),
            any::<bool>(),
        )),
        option::of(loose_string()),
        option::of(pvec(any::<u8>(), 0..4)),
    )
        .prop_map(|(client_id, will, username, password)| Model::Connect {
            client_id,
            keep_alive: 60,
            clean_session: true,
            will,
            username,
            password,
        });
    let connack = (any::<bool>(), return_code()).prop_map(|(session_present, code)| {
        Model::ConnAck(ConnAck {
            session_present,
            code,
        })
    });
    let publish =
        (qospid(), any::<bool>(), loose_string()).prop_map(|(qospid, dup, topic)| Model::Publish {
            dup,
            qospid,
            retain: false,
            topic,
            payload: Vec::new(),
        });
    let subscribe =
        (pid(), pvec((loose_string(), qos()), 0..3)).prop_map(|(p, t)| Model::Subscribe(p, t));
    let unsubscribe =
        (pid(), pvec(loose_string(), 0..3)).prop_map(|(p, t)| Model::Unsubscribe(p, t));
    let suback = (pid(), pvec(suback_code(), 0..3)).prop_map(|(p, c)| Model::SubAck(p, c));
    prop_oneof![connect, connack, publish, subscribe, unsubscribe, suback]
}

// ---------------------------------------------------------------------------
// Exhaustive and boundary cases.

/// Every CONNECT flag combination: will absent or present with each QoS and
/// retain, each credential combination, clean session on and off. The flags
/// byte is checked bit by bit against section 3.1.2.3.
#[test]
fn connect_every_flag_combination() {
    let wills = [
        None,
        Some((QoS::AtMostOnce, false)),
        Some((QoS::AtMostOnce, true)),
        Some((QoS::AtLeastOnce, false)),
        Some((QoS::AtLeastOnce, true)),
        Some((QoS::ExactlyOnce, false)),
        Some((QoS::ExactlyOnce, true)),
    ];
    let credentials: [(Option<&str>, Option<&[u8]>); 3] = [
        (None, None),
        (Some("user"), None),
        (Some("user"), Some(b"pw")),
    ];
    let mut seen = 0;
    for will in wills {
        for (username, password) in credentials {
            for clean_session in [false, true] {
                for keep_alive in [0, 10, u16::MAX] {
                    let c = Connect {
                        client_id: "dev-1",
                        keep_alive,
                        clean_session,
                        will: will.map(|(qos, retain)| Will {
                            topic: "dev/1/status",
                            message: b"offline",
                            qos,
                            retain,
                        }),
                        username,
                        password,
                    };
                    let bytes = assert_roundtrip(&Packet::Connect(c));
                    let mut flags = 0u8;
                    flags |= u8::from(username.is_some()) << 7;
                    flags |= u8::from(password.is_some()) << 6;
                    if let Some((qos, retain)) = will {
                        flags |= u8::from(retain) << 5 | (qos as u8) << 3 | 1 << 2;
                    }
                    flags |= u8::from(clean_session) << 1;
                    // type, length, 00 04 "MQTT", level, flags, keep alive
                    assert_eq!(&bytes[2..9], b"\x00\x04MQTT\x04");
                    assert_eq!(bytes[9], flags, "flags for {c:?}");
                    assert_eq!(bytes[10..12], keep_alive.to_be_bytes());
                    seen += 1;
                }
            }
        }
    }
    assert_eq!(seen, 7 * 3 * 2 * 3);
}

/// All six return codes, with and without session present.
#[test]
fn connack_every_return_code() {
    for n in 0u8..6 {
        let code = ConnectReturnCode::from_u8(n).unwrap();
        assert_eq!(code as u8, n);
        let bytes = assert_roundtrip(&Packet::ConnAck(ConnAck {
            session_present: false,
            code,
        }));
        assert_eq!(bytes, [0x20, 0x02, 0x00, n]);
    }
    let bytes = assert_roundtrip(&Packet::ConnAck(ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    }));
    assert_eq!(bytes, [0x20, 0x02, 0x01, 0x00]);
    assert_eq!(ConnectReturnCode::from_u8(6), None);
}

/// The fixed-header flags of PUBLISH for each QoS, DUP and RETAIN.
#[test]
fn publish_flag_bits() {
    let pid = Pid::new(7).unwrap();
    for (qospid, qos_bits) in [
        (QosPid::AtMostOnce, 0u8),
        (QosPid::AtLeastOnce(pid), 1),
        (QosPid::ExactlyOnce(pid), 2),
    ] {
        for dup in [false, true] {
            if dup && qos_bits == 0 {
                continue;
            }
            for retain in [false, true] {
                let p = Publish {
                    dup,
                    qospid,
                    retain,
                    topic: "t",
                    payload: b"x",
                };
                let bytes = assert_roundtrip(&Packet::Publish(p));
                let expected = 0x30 | u8::from(dup) << 3 | qos_bits << 1 | u8::from(retain);
                assert_eq!(bytes[0], expected);
                assert_eq!(p.qospid.qos() as u8, qos_bits);
            }
        }
    }
}

/// The boundaries of Table 2.4, through real PUBLISH packets: the payload is
/// sized so that the remaining length is exactly the boundary value.
#[test]
fn publish_at_every_remaining_length_boundary() {
    // Topic "t" at QoS 0: 2 + 1 bytes before the payload.
    for (rem, field) in [
        (3usize, &[0x03u8][..]),
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
    ] {
        let payload: Vec<u8> = (0..rem - 3).map(|i| (i % 251) as u8).collect();
        let p = Packet::Publish(Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: false,
            topic: "t",
            payload: &payload,
        });
        let bytes = encode(&p);
        assert_eq!(bytes.len(), 1 + field.len() + rem);
        assert_eq!(&bytes[1..1 + field.len()], field, "length field for {rem}");
        assert_eq!(decode_whole(&bytes), p);
        if rem <= 16_384 {
            assert_roundtrip(&p);
        }
    }
}

/// The largest packet the protocol allows (remaining length 268,435,455)
/// encodes and decodes; one byte more is refused by the encoder.
#[test]
fn largest_packet_roundtrips_and_one_more_is_refused() {
    // vec![0; n] is zero-filled lazily by the allocator: cheap until read.
    let payload = vec![0u8; MAX_REMAINING_LENGTH - 3];
    let p = Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "t",
        payload: &payload,
    });
    assert_eq!(p.encoded_len(), Ok(DEFAULT_MAX_PACKET_SIZE));
    let bytes = encode(&p);
    assert_eq!(&bytes[..5], &[0x30, 0xFF, 0xFF, 0xFF, 0x7F]);
    assert_eq!(decode_whole(&bytes), p);
    // Limits known from these five bytes alone.
    assert_eq!(
        decode(&bytes[..5], DEFAULT_MAX_PACKET_SIZE - 1),
        Err(DecodeError::PacketTooLarge {
            size: DEFAULT_MAX_PACKET_SIZE,
            max: DEFAULT_MAX_PACKET_SIZE - 1
        })
    );
    drop(bytes);

    let payload = vec![0u8; MAX_REMAINING_LENGTH - 2];
    let p = Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "t",
        payload: &payload,
    });
    let too_large = Err(EncodeError::PacketTooLarge(MAX_REMAINING_LENGTH + 1));
    assert_eq!(p.encoded_len(), too_large);
    assert_eq!(p.encode(&mut [0u8; 16]), too_large);
}

/// Subscriptions with every kind of wildcard.
#[test]
fn subscribe_wildcards_roundtrip() {
    let filters = [
        "#",
        "+",
        "+/+",
        "/+",
        "sport/#",
        "sport/tennis/+",
        "sport/+/player1",
        "+/tennis/#",
        "$SYS/#",
        "a//b",
        "/",
    ];
    for f in filters {
        assert!(valid_topic_filter(f), "{f}");
    }
    let items: Vec<SubscribeTopic<'_>> = filters
        .iter()
        .zip(
            [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
                .iter()
                .cycle(),
        )
        .map(|(filter, qos)| SubscribeTopic { filter, qos: *qos })
        .collect();
    let pid = Pid::new(42).unwrap();
    assert_roundtrip(&Packet::Subscribe(Subscribe {
        pid,
        topics: List::new(&items),
    }));
    assert_roundtrip(&Packet::Unsubscribe(Unsubscribe {
        pid,
        topics: List::new(&filters),
    }));
}

/// A decoded list and the typed list it came from are equal, iterate alike
/// and count alike.
#[test]
fn decoded_lists_equal_typed_lists() {
    let codes = [
        SubAckCode::Granted(QoS::AtMostOnce),
        SubAckCode::Failure,
        SubAckCode::Granted(QoS::ExactlyOnce),
    ];
    let typed = SubAck {
        pid: Pid::MIN,
        codes: List::new(&codes),
    };
    let bytes = encode(&Packet::SubAck(typed));
    let Packet::SubAck(decoded) = decode_whole(&bytes) else {
        panic!("not a SUBACK");
    };
    assert_eq!(decoded, typed);
    assert_eq!(decoded.codes.len(), 3);
    assert!(!decoded.codes.is_empty());
    assert!(decoded.codes.iter().eq(codes.iter().copied()));
    assert_eq!(
        format!("{:?}", decoded.codes),
        "[Granted(AtMostOnce), Failure, Granted(ExactlyOnce)]"
    );
}

#[test]
fn pid_next_wraps_from_65535_to_1() {
    assert_eq!(Pid::new(0), None);
    assert_eq!(Pid::MIN.get(), 1);
    assert_eq!(Pid::new(1).unwrap().next().get(), 2);
    assert_eq!(Pid::new(u16::MAX).unwrap().next(), Pid::MIN);
}
