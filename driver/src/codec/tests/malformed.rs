//! Malformed input: each rejection with its exact typed error. Decoding
//! first (bytes from the network), then encoding (packets the codec refuses
//! to write because its own decoder, or the specification, would reject
//! them).

// The crate is no_std; `std` comes from `extern crate std` in tests/mod.rs.
use super::std;

use std::vec::Vec;

use super::super::*;
use super::invariant;

/// `bytes` is rejected with `err`, also when more bytes follow (the error
/// does not depend on what comes next), and the shared invariants hold.
#[track_caller]
fn assert_rejects(bytes: &[u8], err: DecodeError) {
    assert_eq!(
        decode(bytes, DEFAULT_MAX_PACKET_SIZE),
        Err(err),
        "decoding {bytes:02X?}"
    );
    let mut longer = bytes.to_vec();
    longer.extend_from_slice(&[0xC0, 0x00, 0xFF]);
    assert_eq!(decode(&longer, DEFAULT_MAX_PACKET_SIZE), Err(err));
    assert_eq!(invariant::decode_invariants(bytes), 0);
}

/// A frame of type byte `first` around `body`.
fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut f = std::vec![first];
    f.extend_from_slice(&super::roundtrip::length_field(body.len()));
    f.extend_from_slice(body);
    f
}

/// A length-prefixed string field.
fn s(text: &[u8]) -> Vec<u8> {
    let mut f = (text.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(text);
    f
}

/// A CONNECT body: "MQTT", level, flags, keep alive 60, then `payload`.
fn connect_body(name: &[u8], level: u8, flags: u8, payload: &[&[u8]]) -> Vec<u8> {
    let mut b = s(name);
    b.extend_from_slice(&[level, flags, 0x00, 60]);
    for field in payload {
        b.extend_from_slice(field);
    }
    b
}

// ---------------------------------------------------------------------------
// Fixed header.

#[test]
fn reserved_packet_types_0_and_15() {
    assert_rejects(&[0x00, 0x00], DecodeError::ReservedPacketType(0));
    assert_rejects(&[0xF0, 0x00], DecodeError::ReservedPacketType(15));
    // Known from the first byte alone.
    assert_rejects(&[0x0F], DecodeError::ReservedPacketType(0));
    assert_rejects(&[0xFF], DecodeError::ReservedPacketType(15));
}

/// Every type but PUBLISH has one allowed flags value (Table 2.2); all 15
/// others are `InvalidFlags`, known from the first byte alone.
#[test]
fn wrong_fixed_header_flags_for_every_type() {
    let mut rejected = 0;
    for nibble in 1u8..=14 {
        let t = PacketType::from_nibble(nibble).unwrap();
        if t == PacketType::Publish {
            continue;
        }
        let allowed = match t {
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
        };
        for flags in 0u8..16 {
            let first = [nibble << 4 | flags];
            let result = decode(&first, DEFAULT_MAX_PACKET_SIZE);
            let first = first[0];
            if flags == allowed {
                assert_eq!(result, Ok(Decoded::Incomplete { needed: None }));
            } else {
                assert_rejects(
                    &[first, 0x00],
                    DecodeError::InvalidFlags {
                        packet_type: t,
                        flags,
                    },
                );
                assert_eq!(
                    result,
                    Err(DecodeError::InvalidFlags {
                        packet_type: t,
                        flags
                    })
                );
                rejected += 1;
            }
        }
    }
    assert_eq!(rejected, 13 * 15);
}

#[test]
fn subscribe_pubrel_unsubscribe_without_0010() {
    let flags0 = |packet_type| DecodeError::InvalidFlags {
        packet_type,
        flags: 0,
    };
    assert_rejects(
        &frame(0x80, &[0x00, 0x01, 0x00, 0x01, b'a', 0x00]),
        flags0(PacketType::Subscribe),
    );
    assert_rejects(&[0x60, 0x02, 0x00, 0x01], flags0(PacketType::PubRel));
    assert_rejects(
        &frame(0xA0, &[0x00, 0x01, 0x00, 0x01, b'a']),
        flags0(PacketType::Unsubscribe),
    );
}

#[test]
fn publish_qos_3() {
    assert_rejects(&[0x36, 0x03, 0x00, 0x01, b'a'], DecodeError::InvalidQoS(3));
    assert_rejects(&[0x3F], DecodeError::InvalidQoS(3));
}

#[test]
fn publish_dup_on_qos_0() {
    assert_rejects(&[0x38, 0x03, 0x00, 0x01, b'a'], DecodeError::DupWithQoS0);
    assert_rejects(&[0x39], DecodeError::DupWithQoS0);
}

/// A fifth remaining-length byte is malformed, known as soon as the fourth
/// length byte has its continuation bit set.
#[test]
fn fifth_remaining_length_byte() {
    assert_rejects(
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
        DecodeError::MalformedRemainingLength,
    );
    assert_rejects(
        &[0xC0, 0x80, 0x80, 0x80, 0x80],
        DecodeError::MalformedRemainingLength,
    );
    // Four bytes with the continuation bit: still only incomplete.
    assert_eq!(
        decode(&[0x30, 0x80, 0x80, 0x80], DEFAULT_MAX_PACKET_SIZE),
        Ok(Decoded::Incomplete { needed: None })
    );
}

/// The limit is applied as soon as the length field is complete, long
/// before the body could arrive.
#[test]
fn packet_too_large_from_the_header_alone() {
    // 0x80 0x01 = 128: 131 bytes in all, known from three bytes.
    assert_eq!(
        decode(&[0x30, 0x80, 0x01], 130),
        Err(DecodeError::PacketTooLarge {
            size: 131,
            max: 130
        })
    );
    assert_eq!(
        decode(&[0x30, 0x80, 0x01], 131),
        Ok(Decoded::Incomplete { needed: Some(131) })
    );
    // The largest length, against a device-sized limit.
    assert_eq!(
        decode(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F], 4096),
        Err(DecodeError::PacketTooLarge {
            size: DEFAULT_MAX_PACKET_SIZE,
            max: 4096
        })
    );
    // Even a bodiless packet needs two bytes.
    assert_eq!(
        decode(&[0xC0, 0x00], 1),
        Err(DecodeError::PacketTooLarge { size: 2, max: 1 })
    );
}

// ---------------------------------------------------------------------------
// Fields.

#[test]
fn packet_id_zero() {
    for first in [0x40, 0x50, 0x62, 0x70, 0xB0] {
        assert_rejects(&[first, 0x02, 0x00, 0x00], DecodeError::ZeroPacketId);
    }
    // PUBLISH QoS 1 and 2.
    assert_rejects(
        &[0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00],
        DecodeError::ZeroPacketId,
    );
    assert_rejects(
        &[0x34, 0x05, 0x00, 0x01, b'a', 0x00, 0x00],
        DecodeError::ZeroPacketId,
    );
    // SUBSCRIBE, SUBACK, UNSUBSCRIBE.
    assert_rejects(
        &frame(0x82, &[0x00, 0x00, 0x00, 0x01, b'a', 0x00]),
        DecodeError::ZeroPacketId,
    );
    assert_rejects(&[0x90, 0x03, 0x00, 0x00, 0x00], DecodeError::ZeroPacketId);
    assert_rejects(
        &frame(0xA2, &[0x00, 0x00, 0x00, 0x01, b'a']),
        DecodeError::ZeroPacketId,
    );
}

/// Strings must be well-formed UTF-8 (no surrogates, no overlong forms) and
/// must not contain U+0000 (MQTT-1.5.3-1, MQTT-1.5.3-2), wherever they are.
#[test]
fn invalid_strings_everywhere() {
    let bad: [&[u8]; 6] = [
        &[0xC3, 0x28],             // invalid continuation
        &[0xED, 0xA0, 0x80],       // U+D800, a surrogate
        &[0xC0, 0x80],             // overlong U+0000
        &[b'a', 0x00, b'b'],       // U+0000
        &[0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
        &[0xFF],
    ];
    for text in bad {
        let field = s(text);
        // PUBLISH topic.
        assert_rejects(&frame(0x30, &field), DecodeError::InvalidString);
        // CONNECT client id, will topic, user name.
        assert_rejects(
            &frame(0x10, &connect_body(b"MQTT", 4, 0x02, &[&field])),
            DecodeError::InvalidString,
        );
        assert_rejects(
            &frame(
                0x10,
                &connect_body(b"MQTT", 4, 0x06, &[&s(b"id"), &field, &s(b"m")]),
            ),
            DecodeError::InvalidString,
        );
        assert_rejects(
            &frame(0x10, &connect_body(b"MQTT", 4, 0x82, &[&s(b"id"), &field])),
            DecodeError::InvalidString,
        );
        // SUBSCRIBE and UNSUBSCRIBE filters.
        let mut body = std::vec![0x00, 0x01];
        body.extend_from_slice(&field);
        assert_rejects(&frame(0xA2, &body), DecodeError::InvalidString);
        body.push(0x00);
        assert_rejects(&frame(0x82, &body), DecodeError::InvalidString);
    }
    // A password is binary data: any bytes are fine.
    let p = frame(
        0x10,
        &connect_body(b"MQTT", 4, 0xC2, &[&s(b"id"), &s(b"u"), &s(&[0x00, 0xFF])]),
    );
    let Ok(Decoded::Packet {
        packet: Packet::Connect(c),
        ..
    }) = decode(&p, DEFAULT_MAX_PACKET_SIZE)
    else {
        panic!("CONNECT with a binary password rejected");
    };
    assert_eq!(c.password, Some(&[0x00, 0xFF][..]));
}

// ---------------------------------------------------------------------------
// CONNECT and CONNACK.

#[test]
fn connect_protocol_name_not_mqtt() {
    for name in [&b"MQIsdp"[..], b"mqtt", b"MQT", b"MQTTT", b""] {
        assert_rejects(
            &frame(0x10, &connect_body(name, 4, 0x02, &[&s(b"id")])),
            DecodeError::InvalidProtocolName,
        );
    }
    // MQTT 3.1 clients send "MQIsdp" level 3.
    assert_rejects(
        &frame(0x10, &connect_body(b"MQIsdp", 3, 0x02, &[&s(b"id")])),
        DecodeError::InvalidProtocolName,
    );
}

#[test]
fn connect_protocol_level_not_4() {
    for level in [0u8, 3, 5, 255] {
        assert_rejects(
            &frame(0x10, &connect_body(b"MQTT", level, 0x02, &[&s(b"id")])),
            DecodeError::UnsupportedProtocolLevel(level),
        );
    }
}

#[test]
fn connect_reserved_flag_bit() {
    assert_rejects(
        &frame(0x10, &connect_body(b"MQTT", 4, 0x03, &[&s(b"id")])),
        DecodeError::InvalidConnectFlags(0x03),
    );
    assert_rejects(
        &frame(0x10, &connect_body(b"MQTT", 4, 0x01, &[&s(b"id")])),
        DecodeError::InvalidConnectFlags(0x01),
    );
}

#[test]
fn connect_password_without_username() {
    assert_rejects(
        &frame(
            0x10,
            &connect_body(b"MQTT", 4, 0x42, &[&s(b"id"), &s(b"pw")]),
        ),
        DecodeError::InvalidConnectFlags(0x42),
    );
}

#[test]
fn connect_will_qos_3() {
    // Will flag, will QoS 3, clean session.
    assert_rejects(
        &frame(
            0x10,
            &connect_body(b"MQTT", 4, 0x1E, &[&s(b"id"), &s(b"t"), &s(b"m")]),
        ),
        DecodeError::InvalidQoS(3),
    );
}

/// Will QoS and will retain must be 0 when the will flag is 0
/// (MQTT-3.1.2-13, MQTT-3.1.2-15).
#[test]
fn connect_will_fields_without_will_flag() {
    for flags in [0x0A, 0x12, 0x1A, 0x22] {
        assert_rejects(
            &frame(0x10, &connect_body(b"MQTT", 4, flags, &[&s(b"id")])),
            DecodeError::InvalidConnectFlags(flags),
        );
    }
}

#[test]
fn connect_will_topic_with_wildcards() {
    for topic in [&b"a/+"[..], b"#", b""] {
        assert_rejects(
            &frame(
                0x10,
                &connect_body(b"MQTT", 4, 0x06, &[&s(b"id"), &s(topic), &s(b"m")]),
            ),
            DecodeError::InvalidTopicName,
        );
    }
}

/// Fields the flags announce but the body lacks; bytes the flags do not
/// announce.
#[test]
fn connect_body_shorter_or_longer_than_its_flags() {
    assert_rejects(
        &frame(0x10, &connect_body(b"MQTT", 4, 0x82, &[&s(b"id")])),
        DecodeError::UnexpectedEnd,
    );
    assert_rejects(
        &frame(
            0x10,
            &connect_body(b"MQTT", 4, 0x06, &[&s(b"id"), &s(b"t")]),
        ),
        DecodeError::UnexpectedEnd,
    );
    assert_rejects(
        &frame(
            0x10,
            &connect_body(b"MQTT", 4, 0x02, &[&s(b"id"), &s(b"u")]),
        ),
        DecodeError::TrailingBytes {
            packet_type: PacketType::Connect,
            extra: 3,
        },
    );
    // Cut inside the variable header.
    assert_rejects(&frame(0x10, &s(b"MQTT")), DecodeError::UnexpectedEnd);
}

#[test]
fn invalid_connack() {
    // Return code 6 and above.
    for code in [6u8, 0x80, 0xFF] {
        assert_rejects(
            &[0x20, 0x02, 0x00, code],
            DecodeError::InvalidConnAck { flags: 0, code },
        );
    }
    // Reserved acknowledge flags.
    for flags in [0x02u8, 0x80, 0xFF] {
        assert_rejects(
            &[0x20, 0x02, flags, 0x00],
            DecodeError::InvalidConnAck { flags, code: 0 },
        );
    }
    // Session present with a refusal (MQTT-3.2.2-4).
    for code in 1u8..=5 {
        assert_rejects(
            &[0x20, 0x02, 0x01, code],
            DecodeError::InvalidConnAck { flags: 1, code },
        );
    }
    // Wrong length.
    assert_rejects(&[0x20, 0x01, 0x00], DecodeError::UnexpectedEnd);
    assert_rejects(
        &[0x20, 0x03, 0x00, 0x00, 0x00],
        DecodeError::TrailingBytes {
            packet_type: PacketType::ConnAck,
            extra: 1,
        },
    );
}

// ---------------------------------------------------------------------------
// PUBLISH, SUBSCRIBE, SUBACK, UNSUBSCRIBE.

#[test]
fn publish_topic_name_with_wildcards_or_empty() {
    for topic in [&b"a/+"[..], b"+", b"#", b"a/#", b"a+b", b""] {
        assert_rejects(&frame(0x30, &s(topic)), DecodeError::InvalidTopicName);
        let mut body = s(topic);
        body.extend_from_slice(&[0x00, 0x01]);
        assert_rejects(&frame(0x32, &body), DecodeError::InvalidTopicName);
    }
}

#[test]
fn publish_cut_short() {
    // Topic length beyond the body.
    assert_rejects(&[0x30, 0x03, 0x00, 0x05, b'a'], DecodeError::UnexpectedEnd);
    // QoS 1 without its packet identifier.
    assert_rejects(
        &[0x32, 0x04, 0x00, 0x01, b'a', 0x00],
        DecodeError::UnexpectedEnd,
    );
    // Remaining length 0 or 1: no room for the topic length.
    assert_rejects(&[0x30, 0x00], DecodeError::UnexpectedEnd);
    assert_rejects(&[0x30, 0x01, 0x00], DecodeError::UnexpectedEnd);
}

/// "a/#/b" (# not last), "a+" and "a#" (wildcard inside a level), "#/"
/// (# followed by a level), "" (empty): in SUBSCRIBE and UNSUBSCRIBE.
#[test]
fn bad_topic_filters() {
    for filter in [
        "a/#/b", "a+", "+a", "a#", "#a", "#/", "a/b#", "++", "##", "",
    ] {
        assert!(!valid_topic_filter(filter), "{filter:?}");
        let mut body = std::vec![0x00, 0x01];
        body.extend_from_slice(&s(filter.as_bytes()));
        assert_rejects(&frame(0xA2, &body), DecodeError::InvalidTopicFilter);
        body.push(0x01);
        assert_rejects(&frame(0x82, &body), DecodeError::InvalidTopicFilter);
        // A bad filter after a good one.
        let mut body = std::vec![0x00, 0x01];
        body.extend_from_slice(&s(b"ok/#"));
        body.push(0x00);
        body.extend_from_slice(&s(filter.as_bytes()));
        body.push(0x00);
        assert_rejects(&frame(0x82, &body), DecodeError::InvalidTopicFilter);
    }
}

#[test]
fn subscribe_requested_qos_3_or_reserved_bits() {
    for q in [3u8, 0x04, 0x41, 0x80, 0xFF] {
        let mut body = std::vec![0x00, 0x01];
        body.extend_from_slice(&s(b"a"));
        body.push(q);
        assert_rejects(&frame(0x82, &body), DecodeError::InvalidQoS(q));
    }
    // The requested QoS byte missing.
    let mut body = std::vec![0x00, 0x01];
    body.extend_from_slice(&s(b"a"));
    assert_rejects(&frame(0x82, &body), DecodeError::UnexpectedEnd);
}

#[test]
fn empty_subscribe_unsubscribe_suback_lists() {
    assert_rejects(
        &[0x82, 0x02, 0x00, 0x01],
        DecodeError::EmptyList(PacketType::Subscribe),
    );
    assert_rejects(
        &[0xA2, 0x02, 0x00, 0x01],
        DecodeError::EmptyList(PacketType::Unsubscribe),
    );
    assert_rejects(
        &[0x90, 0x02, 0x00, 0x01],
        DecodeError::EmptyList(PacketType::SubAck),
    );
}

#[test]
fn suback_bad_return_codes() {
    for code in [3u8, 0x7F, 0x81, 0xFF] {
        assert_rejects(
            &[0x90, 0x03, 0x00, 0x01, code],
            DecodeError::InvalidSubAckCode(code),
        );
        // After valid codes too.
        assert_rejects(
            &[0x90, 0x05, 0x00, 0x01, 0x00, 0x80, code],
            DecodeError::InvalidSubAckCode(code),
        );
    }
}

#[test]
fn trailing_bytes() {
    for (first, packet_type) in [
        (0xC0, PacketType::PingReq),
        (0xD0, PacketType::PingResp),
        (0xE0, PacketType::Disconnect),
    ] {
        assert_rejects(
            &[first, 0x01, 0x00],
            DecodeError::TrailingBytes {
                packet_type,
                extra: 1,
            },
        );
    }
    for (first, packet_type) in [
        (0x40, PacketType::PubAck),
        (0x50, PacketType::PubRec),
        (0x62, PacketType::PubRel),
        (0x70, PacketType::PubComp),
        (0xB0, PacketType::UnsubAck),
    ] {
        assert_rejects(
            &[first, 0x04, 0x00, 0x01, 0xAA, 0xBB],
            DecodeError::TrailingBytes {
                packet_type,
                extra: 2,
            },
        );
        assert_rejects(&[first, 0x01, 0x00], DecodeError::UnexpectedEnd);
        assert_rejects(&[first, 0x00], DecodeError::UnexpectedEnd);
    }
}

// ---------------------------------------------------------------------------
// Display: every error has a message (the session logs them).

#[test]
fn every_decode_error_has_a_message() {
    use std::string::ToString;
    let errors = [
        DecodeError::ReservedPacketType(0),
        DecodeError::InvalidFlags {
            packet_type: PacketType::Subscribe,
            flags: 0,
        },
        DecodeError::InvalidQoS(3),
        DecodeError::DupWithQoS0,
        DecodeError::MalformedRemainingLength,
        DecodeError::PacketTooLarge { size: 10, max: 5 },
        DecodeError::UnexpectedEnd,
        DecodeError::TrailingBytes {
            packet_type: PacketType::PingReq,
            extra: 1,
        },
        DecodeError::InvalidString,
        DecodeError::ZeroPacketId,
        DecodeError::InvalidProtocolName,
        DecodeError::UnsupportedProtocolLevel(5),
        DecodeError::InvalidConnectFlags(1),
        DecodeError::InvalidConnAck { flags: 0, code: 6 },
        DecodeError::InvalidTopicName,
        DecodeError::InvalidTopicFilter,
        DecodeError::EmptyList(PacketType::SubAck),
        DecodeError::InvalidSubAckCode(3),
    ];
    let messages: Vec<_> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages[1],
        "invalid fixed-header flags 0b0000 for SUBSCRIBE"
    );
    assert_eq!(messages[5], "packet of 10 bytes exceeds the maximum of 5");
    assert_eq!(messages[17], "invalid SUBACK return code 0x03");
    for (i, m) in messages.iter().enumerate() {
        assert!(!m.is_empty());
        assert!(!messages[..i].contains(m), "duplicate message {m:?}");
    }
}

// ---------------------------------------------------------------------------
// The encoder refuses what the decoder (or the specification) rejects.

#[track_caller]
fn assert_encode_refuses(p: &Packet<'_>, err: EncodeError) {
    let mut buf = [0u8; 256];
    assert_eq!(p.encode(&mut buf), Err(err), "encoding {p:?}");
}

fn publish(topic: &str) -> Packet<'_> {
    Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic,
        payload: b"",
    })
}

fn connect<'a>(client_id: &'a str) -> Connect<'a> {
    Connect {
        client_id,
        keep_alive: 60,
        clean_session: true,
        will: None,
        username: None,
        password: None,
    }
}

#[test]
fn encode_refuses_bad_topic_names() {
    for topic in ["", "a/+", "#", "a\0b"] {
        assert_encode_refuses(&publish(topic), EncodeError::InvalidTopicName);
        let mut c = connect("id");
        c.will = Some(Will {
            topic,
            message: b"",
            qos: QoS::AtMostOnce,
            retain: false,
        });
        assert_encode_refuses(&Packet::Connect(c), EncodeError::InvalidTopicName);
    }
}

#[test]
fn encode_refuses_bad_topic_filters() {
    for filter in ["a/#/b", "a+", "", "a\0"] {
        let topics = [SubscribeTopic {
            filter,
            qos: QoS::AtMostOnce,
        }];
        assert_encode_refuses(
            &Packet::Subscribe(Subscribe {
                pid: Pid::MIN,
                topics: List::new(&topics),
            }),
            EncodeError::InvalidTopicFilter,
        );
        let filters = [filter];
        assert_encode_refuses(
            &Packet::Unsubscribe(Unsubscribe {
                pid: Pid::MIN,
                topics: List::new(&filters),
            }),
            EncodeError::InvalidTopicFilter,
        );
    }
}

#[test]
fn encode_refuses_empty_lists() {
    let pid = Pid::MIN;
    let p = Packet::Subscribe(Subscribe {
        pid,
        topics: List::new(&[]),
    });
    assert_eq!(p.encoded_len(), Err(EncodeError::EmptyList));
    assert_encode_refuses(&p, EncodeError::EmptyList);
    assert_encode_refuses(
        &Packet::Unsubscribe(Unsubscribe {
            pid,
            topics: List::new(&[]),
        }),
        EncodeError::EmptyList,
    );
    assert_encode_refuses(
        &Packet::SubAck(SubAck {
            pid,
            codes: List::new(&[]),
        }),
        EncodeError::EmptyList,
    );
}

#[test]
fn encode_refuses_nul_in_strings() {
    assert_encode_refuses(&Packet::Connect(connect("a\0")), EncodeError::InvalidString);
    let mut c = connect("id");
    c.username = Some("\0");
    assert_encode_refuses(&Packet::Connect(c), EncodeError::InvalidString);
}

#[test]
fn encode_refuses_password_without_username() {
    let mut c = connect("id");
    c.password = Some(b"secret");
    assert_encode_refuses(&Packet::Connect(c), EncodeError::PasswordWithoutUsername);
}

#[test]
fn encode_refuses_dup_on_qos_0() {
    let p = Packet::Publish(Publish {
        dup: true,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "t",
        payload: b"",
    });
    assert_encode_refuses(&p, EncodeError::DupWithQoS0);
}

#[test]
fn encode_refuses_session_present_with_a_refusal() {
    for n in 1u8..=5 {
        let p = Packet::ConnAck(ConnAck {
            session_present: true,
            code: ConnectReturnCode::from_u8(n).unwrap(),
        });
        assert_encode_refuses(&p, EncodeError::SessionPresentWithError);
    }
}

#[test]
fn encode_refuses_fields_over_65535_bytes() {
    let long = "a".repeat(65_536);
    let p = Packet::Connect(connect(&long));
    assert_eq!(p.encoded_len(), Err(EncodeError::FieldTooLong(65_536)));
    assert_encode_refuses(&p, EncodeError::FieldTooLong(65_536));
    assert_eq!(
        publish(&long).encoded_len(),
        Err(EncodeError::FieldTooLong(65_536))
    );
    // 65,535 is the largest allowed.
    let max = "a".repeat(65_535);
    assert_eq!(publish(&max).encoded_len(), Ok(1 + 3 + 2 + 65_535));
}

#[test]
fn encode_into_a_short_buffer() {
    let p = publish("topic");
    let n = p.encoded_len().unwrap();
    for len in 0..n {
        let mut buf = std::vec![0u8; len];
        assert_eq!(
            p.encode(&mut buf),
            Err(EncodeError::BufferTooSmall {
                needed: n,
                available: len
            })
        );
    }
}

/// A refused packet leaves the output vector as it was: nothing half-written
/// can be queued for sending.
#[cfg(feature = "alloc")]
#[test]
fn encode_to_vec_appends_or_leaves_untouched() {
    let mut out = std::vec![0xAA];
    assert_eq!(
        publish("a/+").encode_to_vec(&mut out),
        Err(EncodeError::InvalidTopicName)
    );
    let mut c = connect("id");
    c.password = Some(b"pw");
    assert_eq!(
        Packet::Connect(c).encode_to_vec(&mut out),
        Err(EncodeError::PasswordWithoutUsername)
    );
    assert_eq!(out, [0xAA]);
    assert_eq!(Packet::PingReq.encode_to_vec(&mut out), Ok(2));
    assert_eq!(publish("t").encode_to_vec(&mut out), Ok(5));
    assert_eq!(out, [0xAA, 0xC0, 0x00, 0x30, 0x03, 0x00, 0x01, b't']);
}
