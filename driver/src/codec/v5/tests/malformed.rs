//! Every rejection of the MQTT 5 codec with its exact typed error: on the
//! decode side from hand-made bytes, and on the encode side from typed
//! packets the decoder would refuse.

use super::std;

use std::vec::Vec;

use super::super::*;
use super::decode_err;

/// A frame with a one-byte remaining length.
fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 128);
    let mut v = std::vec![first, body.len() as u8];
    v.extend_from_slice(body);
    v
}

/// A QoS 0 PUBLISH to "t" with this property block (length added).
fn publish_with(props: &[u8]) -> Vec<u8> {
    let mut body = std::vec![0x00, 0x01, b't', props.len() as u8];
    body.extend_from_slice(props);
    frame(0x30, &body)
}

fn prop_err(e: PropertyError) -> DecodeError {
    DecodeError::Property(e)
}

#[test]
fn property_in_the_wrong_packet() {
    // PUBACK with a topic alias.
    let bytes = frame(0x40, &[0x00, 0x0A, 0x00, 0x03, 0x23, 0x00, 0x01]);
    assert_eq!(
        decode_err(&bytes),
        prop_err(PropertyError::NotAllowed {
            id: PropertyId::TopicAlias,
            context: PropertyContext::PubAck
        })
    );
    // PUBLISH with a session expiry interval.
    assert_eq!(
        decode_err(&publish_with(&[0x11, 0, 0, 0, 1])),
        prop_err(PropertyError::NotAllowed {
            id: PropertyId::SessionExpiryInterval,
            context: PropertyContext::Publish
        })
    );
    // A will delay among CONNECT's own properties (it belongs to the will).
    #[rustfmt::skip]
    let connect = frame(0x10, &[
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x00,
        0x05, 0x18, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00,
    ]);
    assert_eq!(
        decode_err(&connect),
        prop_err(PropertyError::NotAllowed {
            id: PropertyId::WillDelayInterval,
            context: PropertyContext::Connect
        })
    );
}

#[test]
fn duplicate_properties() {
    assert_eq!(
        decode_err(&publish_with(&[0x23, 0x00, 0x01, 0x23, 0x00, 0x02])),
        prop_err(PropertyError::Duplicate(PropertyId::TopicAlias))
    );
    // User properties repeat; subscription identifiers repeat in PUBLISH...
    let ok = publish_with(&[
        0x26, 0, 1, b'a', 0, 0, 0x26, 0, 1, b'a', 0, 0, 0x0B, 0x01, 0x0B, 0x02,
    ]);
    assert!(matches!(
        decode(&ok, DEFAULT_MAX_PACKET_SIZE),
        Ok(Decoded::Packet { .. })
    ));
    // ... but not in SUBSCRIBE.
    let subscribe = frame(
        0x82,
        &[
            0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, b'a', 0x00,
        ],
    );
    assert_eq!(
        decode_err(&subscribe),
        prop_err(PropertyError::Duplicate(PropertyId::SubscriptionIdentifier))
    );
}

#[test]
fn unknown_property_and_invalid_values() {
    assert_eq!(
        decode_err(&publish_with(&[0x05, 0x00])),
        prop_err(PropertyError::Unknown(0x05))
    );
    let invalid = |props: &[u8], id| {
        assert_eq!(
            decode_err(&publish_with(props)),
            prop_err(PropertyError::InvalidValue(id)),
            "{props:02x?}"
        );
    };
    invalid(&[0x01, 0x02], PropertyId::PayloadFormatIndicator);
    invalid(&[0x23, 0x00, 0x00], PropertyId::TopicAlias);
    invalid(&[0x0B, 0x00], PropertyId::SubscriptionIdentifier);
    invalid(&[0x08, 0x00, 0x01, b'#'], PropertyId::ResponseTopic);
    // CONNACK: maximum QoS 2, receive maximum 0.
    for props in [&[0x24u8, 0x02][..], &[0x21u8, 0x00, 0x00][..]] {
        let mut body = std::vec![0x00, 0x00, props.len() as u8];
        body.extend_from_slice(props);
        assert!(matches!(
            decode_err(&frame(0x20, &body)),
            DecodeError::Property(PropertyError::InvalidValue(_))
        ));
    }
    // Authentication data without a method.
    let auth = frame(0xF0, &[0x18, 0x04, 0x16, 0x00, 0x01, 0x01]);
    assert_eq!(
        decode_err(&auth),
        prop_err(PropertyError::AuthDataWithoutMethod)
    );
}

#[test]
fn bad_reason_codes() {
    // 0x8B (server shutting down) is a DISCONNECT code, not a PUBACK one.
    assert_eq!(
        decode_err(&frame(0x40, &[0x00, 0x0A, 0x8B])),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::PubAck,
            code: 0x8B
        }
    );
    // 0x03 is not defined at all.
    assert_eq!(
        decode_err(&frame(0xE0, &[0x03])),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::Disconnect,
            code: 0x03
        }
    );
    assert_eq!(
        decode_err(&frame(0x90, &[0x00, 0x01, 0x00, 0x00, 0x11])),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::SubAck,
            code: 0x11
        }
    );
    assert_eq!(
        decode_err(&frame(0x20, &[0x00, 0x05, 0x00])),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::ConnAck,
            code: 0x05
        }
    );
    assert_eq!(
        decode_err(&frame(0x62, &[0x00, 0x01, 0x10])),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::PubRel,
            code: 0x10
        }
    );
}

#[test]
fn truncated_and_overlong_variable_byte_integers() {
    // Fixed header: still arriving, then a fifth byte, then a non-minimal form.
    assert_eq!(
        decode(&[0x30, 0x80, 0x80], DEFAULT_MAX_PACKET_SIZE),
        Ok(Decoded::Incomplete { needed: None })
    );
    assert_eq!(
        decode_err(&[0x30, 0x80, 0x80, 0x80, 0x80, 0x01]),
        DecodeError::MalformedVarInt
    );
    assert_eq!(
        decode_err(&[0x30, 0x80, 0x00]),
        DecodeError::MalformedVarInt
    );
    // Property length: the body ends inside it.
    assert_eq!(
        decode_err(&frame(0x30, &[0x00, 0x01, b't', 0x80])),
        DecodeError::UnexpectedEnd
    );
    // A subscription identifier cut by the end of its property block.
    assert_eq!(
        decode_err(&publish_with(&[0x0B, 0x80])),
        DecodeError::UnexpectedEnd
    );
    // A non-minimal property length.
    assert_eq!(
        decode_err(&frame(0x30, &[0x00, 0x01, b't', 0x80, 0x00])),
        DecodeError::MalformedVarInt
    );
}

#[test]
fn remaining_length_and_property_length_too_long() {
    // The remaining length announces more than the fields: trailing bytes.
    assert_eq!(
        decode_err(&frame(0xC0, &[0x00])),
        DecodeError::TrailingBytes {
            packet_type: PacketType::PingReq,
            extra: 1
        }
    );
    assert_eq!(
        decode_err(&frame(0x40, &[0x00, 0x0A, 0x00, 0x00, 0x00])),
        DecodeError::TrailingBytes {
            packet_type: PacketType::PubAck,
            extra: 1
        }
    );
    // A property length beyond the body.
    assert_eq!(
        decode_err(&frame(0x40, &[0x00, 0x0A, 0x00, 0x05, 0x1F])),
        DecodeError::UnexpectedEnd
    );
    // A remaining length beyond the configured maximum, from the header alone.
    assert_eq!(
        decode(&[0x30, 0xFF, 0x7F], 1000),
        Err(DecodeError::PacketTooLarge {
            size: 16_386,
            max: 1000
        })
    );
    // AUTH may not stop after its reason code.
    assert_eq!(
        decode_err(&frame(0xF0, &[0x18])),
        DecodeError::UnexpectedEnd
    );
}

#[test]
fn header_and_connect_rules() {
    assert_eq!(
        decode_err(&[0x00, 0x00]),
        DecodeError::ReservedPacketType(0)
    );
    assert_eq!(
        decode_err(&[0xF1, 0x00]),
        DecodeError::InvalidFlags {
            packet_type: PacketType::Auth,
            flags: 1
        }
    );
    assert_eq!(decode_err(&[0x36, 0x00]), DecodeError::InvalidQoS(3));
    assert_eq!(decode_err(&[0x38, 0x00]), DecodeError::DupWithQoS0);
    let connect = |level: u8, flags: u8| {
        frame(
            0x10,
            &[0, 4, b'M', b'Q', b'T', b'T', level, flags, 0, 0, 0, 0, 0],
        )
    };
    assert_eq!(
        decode_err(&connect(4, 0x02)),
        DecodeError::UnsupportedProtocolLevel(4)
    );
    assert_eq!(
        decode_err(&connect(5, 0x01)),
        DecodeError::InvalidConnectFlags(0x01)
    );
    assert_eq!(
        decode_err(&connect(5, 0x20)),
        DecodeError::InvalidConnectFlags(0x20)
    );
    assert_eq!(
        decode_err(&frame(0x20, &[0x02, 0x00, 0x00])),
        DecodeError::InvalidConnAckFlags(0x02)
    );
    assert_eq!(
        decode_err(&frame(0x20, &[0x01, 0x87, 0x00])),
        DecodeError::SessionPresentWithError
    );
}

#[test]
fn topics_lists_and_subscription_options() {
    // An empty topic needs a topic alias.
    assert_eq!(
        decode_err(&frame(0x30, &[0x00, 0x00, 0x00])),
        DecodeError::InvalidTopicName
    );
    assert_eq!(
        decode_err(&frame(0x30, &[0x00, 0x01, b'+', 0x00])),
        DecodeError::InvalidTopicName
    );
    let subscribe = |filter: &[u8], options: u8| {
        let mut body = std::vec![0x00, 0x01, 0x00, 0x00, filter.len() as u8];
        body.extend_from_slice(filter);
        body.push(options);
        frame(0x82, &body)
    };
    assert_eq!(
        decode_err(&subscribe(b"a", 0xC1)),
        DecodeError::InvalidSubscriptionOptions(0xC1)
    );
    assert_eq!(
        decode_err(&subscribe(b"a", 0x30)),
        DecodeError::InvalidSubscriptionOptions(0x30)
    );
    assert_eq!(
        decode_err(&subscribe(b"a", 0x03)),
        DecodeError::InvalidQoS(3)
    );
    assert_eq!(
        decode_err(&subscribe(b"a/#/b", 0x00)),
        DecodeError::InvalidTopicFilter
    );
    assert_eq!(
        decode_err(&subscribe(b"$share/g/a", 0x04)),
        DecodeError::NoLocalOnSharedSubscription
    );
    assert_eq!(
        decode_err(&frame(0x82, &[0x00, 0x01, 0x00])),
        DecodeError::EmptyList(PacketType::Subscribe)
    );
    assert_eq!(
        decode_err(&frame(0xB0, &[0x00, 0x01, 0x00])),
        DecodeError::EmptyList(PacketType::UnsubAck)
    );
    assert_eq!(
        decode_err(&frame(0xA2, &[0x00, 0x00, 0x00, 0x00, 0x01, b'a'])),
        DecodeError::ZeroPacketId
    );
}

#[test]
fn the_encoder_refuses_what_the_decoder_would() {
    let pid = Pid::new(1).unwrap();
    let ack = |reason, properties| {
        Packet::PubAck(Ack {
            pid,
            reason,
            properties,
        })
    };
    assert_eq!(
        ack(ReasonCode::ServerShuttingDown, Properties::EMPTY).encoded_len(),
        Err(EncodeError::InvalidReasonCode {
            packet_type: PacketType::PubAck,
            code: 0x8B
        })
    );
    let dup = [Property::ReasonString("a"), Property::ReasonString("b")];
    assert_eq!(
        ack(ReasonCode::Success, Properties::new(&dup)).encoded_len(),
        Err(EncodeError::Property(PropertyError::Duplicate(
            PropertyId::ReasonString
        )))
    );
    let wrong = [Property::TopicAlias(1)];
    assert_eq!(
        ack(ReasonCode::Success, Properties::new(&wrong)).encoded_len(),
        Err(EncodeError::Property(PropertyError::NotAllowed {
            id: PropertyId::TopicAlias,
            context: PropertyContext::PubAck
        }))
    );
    let nul = [Property::UserProperty("a\0", "b")];
    assert_eq!(
        ack(ReasonCode::Success, Properties::new(&nul)).encoded_len(),
        Err(EncodeError::InvalidString)
    );
    let zero = [Property::ReceiveMaximum(0)];
    let connect = Packet::Connect(Connect {
        clean_start: true,
        keep_alive: 0,
        properties: Properties::new(&zero),
        client_id: "",
        will: None,
        username: None,
        password: None,
    });
    assert_eq!(
        connect.encoded_len(),
        Err(EncodeError::Property(PropertyError::InvalidValue(
            PropertyId::ReceiveMaximum
        )))
    );
    let publish = |topic, properties| {
        Packet::Publish(Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: false,
            topic,
            properties,
            payload: b"",
        })
    };
    assert_eq!(
        publish("", Properties::EMPTY).encoded_len(),
        Err(EncodeError::InvalidTopicName)
    );
    let big = [Property::SubscriptionIdentifier(MAX_VARINT + 1)];
    assert_eq!(
        publish("t", Properties::new(&big)).encoded_len(),
        Err(EncodeError::Property(PropertyError::InvalidValue(
            PropertyId::SubscriptionIdentifier
        )))
    );
    let shared = [SubscribeTopic {
        filter: "$share/g/a",
        options: SubscriptionOptions {
            no_local: true,
            ..SubscriptionOptions::qos(QoS::AtMostOnce)
        },
    }];
    assert_eq!(
        Packet::Subscribe(Subscribe {
            pid,
            properties: Properties::EMPTY,
            topics: List::new(&shared),
        })
        .encoded_len(),
        Err(EncodeError::NoLocalOnSharedSubscription)
    );
    assert_eq!(
        Packet::SubAck(SubAck {
            pid,
            properties: Properties::EMPTY,
            codes: List::new(&[]),
        })
        .encoded_len(),
        Err(EncodeError::EmptyList)
    );
    assert_eq!(
        Packet::ConnAck(ConnAck {
            session_present: true,
            reason: ReasonCode::NotAuthorized,
            properties: Properties::EMPTY,
        })
        .encoded_len(),
        Err(EncodeError::SessionPresentWithError)
    );
    let mut small = [0u8; 3];
    assert_eq!(
        Packet::PubAck(Ack::success(pid)).encode(&mut small),
        Err(EncodeError::BufferTooSmall {
            needed: 4,
            available: 3
        })
    );
}

/// Every error has a message.
#[test]
fn errors_display() {
    let e = DecodeError::Property(PropertyError::NotAllowed {
        id: PropertyId::TopicAlias,
        context: PropertyContext::PubAck,
    });
    assert_eq!(
        std::format!("{e}"),
        "property Topic Alias is not allowed in PUBACK"
    );
    assert_eq!(
        std::format!("{}", ReasonCode::ServerShuttingDown),
        "server shutting down (0x8b)"
    );
}
