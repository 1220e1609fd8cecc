//! Byte vectors computed by hand from MQTT 5.0 (the CONNECT variable
//! header is the specification's own example in §3.1.2.11, and the
//! variable byte integers are its Table 1-1 boundaries): each encoding is
//! exactly these bytes and decodes back to the packet.

use super::std;

use std::vec::Vec;

use super::super::*;
use super::{decode_whole, encode};

// The byte vectors, also the `decode_v5` fuzz target's seeds (corpus.rs).

#[rustfmt::skip]
pub(super) const CONNECT_WITH_PROPERTIES: &[u8] = &[
    0x10, 0x2B,
    // §3.1.2.11's example variable header: "MQTT", 5, flags 0xCE,
    // keep alive 10, properties: session expiry interval 10.
    0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0xCE, 0x00, 0x0A,
    0x05, 0x11, 0x00, 0x00, 0x00, 0x0A,
    // Client id, will properties (will delay 5), will topic and payload.
    0x00, 0x03, b'd', b'e', b'v',
    0x05, 0x18, 0x00, 0x00, 0x00, 0x05,
    0x00, 0x03, b'w', b'/', b's',
    0x00, 0x03, b'b', b'y', b'e',
    // User name, password.
    0x00, 0x01, b'u', 0x00, 0x01, b'p',
];
#[rustfmt::skip]
pub(super) const CONNECT_PASSWORD_ONLY: &[u8] = &[
    0x10, 0x10,
    0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x40, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, b'k',
];
#[rustfmt::skip]
pub(super) const CONNACK_WITH_PROPERTIES: &[u8] = &[
    0x20, 0x14, 0x01, 0x00, 0x11,
    0x21, 0x00, 0x14,
    0x22, 0x00, 0x0A,
    0x12, 0x00, 0x06, b'a', b'u', b't', b'o', b'-', b'1',
    0x24, 0x01,
];
#[rustfmt::skip]
pub(super) const PUBLISH_ALIAS_USER_PROPERTIES: &[u8] = &[
    0x32, 0x1B,
    0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A,
    0x11,
    0x23, 0x00, 0x03,
    0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',
    0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'w',
    b'h', b'i',
];
#[rustfmt::skip]
pub(super) const PUBLISH_MESSAGE_PROPERTIES: &[u8] = &[
    0x3D, 0x25,
    0x00, 0x01, b't', 0x12, 0x34,
    0x1F,
    0x01, 0x01,
    0x02, 0x00, 0x00, 0x00, 0x3C,
    0x03, 0x00, 0x0A, b't', b'e', b'x', b't', b'/', b'p', b'l', b'a', b'i', b'n',
    0x08, 0x00, 0x03, b'r', b'/', b'1',
    0x09, 0x00, 0x02, 0xC0, 0xFF,
];
#[rustfmt::skip]
pub(super) const SUBSCRIBE_WITH_OPTIONS: &[u8] = &[
    0x82, 0x0B, 0x00, 0x02, 0x02, 0x0B, 0x07,
    0x00, 0x03, b'a', b'/', b'+', 0x2D,
];
pub(super) const SUBACK_SEVERAL_CODES: &[u8] = &[
    0x90, 0x09, 0x00, 0x01, 0x00, 0x00, 0x01, 0x02, 0x80, 0x87, 0xA2,
];
pub(super) const PUBLISH_BY_ALIAS: &[u8] =
    &[0x30, 0x08, 0x00, 0x00, 0x03, 0x23, 0x00, 0x03, b'h', b'i'];
pub(super) const PUBACK_NO_SUBSCRIBERS: &[u8] = &[0x40, 0x03, 0x00, 0x0A, 0x10];
pub(super) const PUBREC_NO_SUBSCRIBERS: &[u8] = &[0x50, 0x03, 0x00, 0x0A, 0x10];
pub(super) const PUBCOMP_WITH_REASON_STRING: &[u8] = &[
    0x70, 0x09, 0x00, 0x01, 0x92, 0x05, 0x1F, 0x00, 0x02, b'n', b'o',
];
pub(super) const PUBREL_SUCCESS: &[u8] = &[0x62, 0x02, 0x00, 0x02];
pub(super) const UNSUBSCRIBE: &[u8] = &[0xA2, 0x06, 0x00, 0x03, 0x00, 0x00, 0x01, b'#'];
pub(super) const UNSUBACK: &[u8] = &[0xB0, 0x05, 0x00, 0x03, 0x00, 0x00, 0x11];
pub(super) const DISCONNECT_SHUTTING_DOWN: &[u8] = &[0xE0, 0x01, 0x8B];
pub(super) const DISCONNECT_SHUTTING_DOWN_WITH_REASON: &[u8] =
    &[0xE0, 0x08, 0x8B, 0x06, 0x1F, 0x00, 0x03, b'b', b'y', b'e'];
pub(super) const AUTH_CONTINUE: &[u8] = &[
    0xF0, 0x0A, 0x18, 0x08, 0x15, 0x00, 0x01, b'S', 0x16, 0x00, 0x01, 0x01,
];
pub(super) const PINGREQ: &[u8] = &[0xC0, 0x00];
pub(super) const PINGRESP: &[u8] = &[0xD0, 0x00];

/// `bytes` is the encoding of `p`, and decodes to it.
fn assert_vector(p: Packet<'_>, bytes: &[u8]) {
    assert_eq!(encode(&p), bytes, "encoding of {p:?}");
    assert_eq!(decode_whole(bytes), p);
}

/// `bytes` (a longer form) decodes to `p`, which encodes shorter.
fn assert_long_form(bytes: &[u8], p: Packet<'_>, short: &[u8]) {
    assert_eq!(decode_whole(bytes), p);
    assert_eq!(encode(&p), short);
}

fn pid(n: u16) -> Pid {
    Pid::new(n).unwrap()
}

#[test]
fn variable_byte_integer_boundaries() {
    // Table 1-1: the smallest and largest value of each length.
    let table: &[(u32, &[u8])] = &[
        (0, &[0x00]),
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    for &(value, bytes) in table {
        let mut r = crate::codec::Reader::new(bytes);
        assert_eq!(r.varint(true), Ok(value), "{bytes:02x?}");
        assert!(r.is_empty(), "{bytes:02x?} not all read");
        assert_eq!(super::super::varint::len(value as usize), bytes.len());
        // As a subscription identifier (0 is not a valid one).
        if value > 0 {
            let props = [Property::SubscriptionIdentifier(value)];
            let p = Packet::Publish(Publish {
                dup: false,
                qospid: QosPid::AtMostOnce,
                retain: false,
                topic: "t",
                properties: Properties::new(&props),
                payload: b"",
            });
            let mut expected: Vec<u8> = std::vec![0x30, 5 + bytes.len() as u8, 0, 1, b't'];
            expected.push(1 + bytes.len() as u8);
            expected.push(0x0B);
            expected.extend_from_slice(bytes);
            assert_vector(p, &expected);
        }
    }
}

#[test]
fn connect_with_properties_and_will_properties() {
    let props = [Property::SessionExpiryInterval(10)];
    let will_props = [Property::WillDelayInterval(5)];
    let p = Packet::Connect(Connect {
        clean_start: true,
        keep_alive: 10,
        properties: Properties::new(&props),
        client_id: "dev",
        will: Some(Will {
            properties: Properties::new(&will_props),
            topic: "w/s",
            payload: b"bye",
            qos: QoS::AtLeastOnce,
            retain: false,
        }),
        username: Some("u"),
        password: Some(b"p"),
    });
    let bytes = CONNECT_WITH_PROPERTIES;
    assert_vector(p, bytes);
}

#[test]
fn connect_password_without_user_name_is_allowed_in_v5() {
    let p = Packet::Connect(Connect {
        clean_start: false,
        keep_alive: 0,
        properties: Properties::EMPTY,
        client_id: "",
        will: None,
        username: None,
        password: Some(b"k"),
    });
    let bytes = CONNECT_PASSWORD_ONLY;
    assert_vector(p, bytes);
}

#[test]
fn connack_with_server_properties() {
    let props = [
        Property::ReceiveMaximum(20),
        Property::TopicAliasMaximum(10),
        Property::AssignedClientIdentifier("auto-1"),
        Property::MaximumQoS(1),
    ];
    let p = Packet::ConnAck(ConnAck {
        session_present: true,
        reason: ReasonCode::Success,
        properties: Properties::new(&props),
    });
    let bytes = CONNACK_WITH_PROPERTIES;
    assert_vector(p, bytes);
    // A refusal without properties.
    assert_vector(
        Packet::ConnAck(ConnAck {
            session_present: false,
            reason: ReasonCode::BadUserNameOrPassword,
            properties: Properties::EMPTY,
        }),
        &[0x20, 0x03, 0x00, 0x86, 0x00],
    );
}

#[test]
fn publish_with_topic_alias_and_user_properties() {
    let props = [
        Property::TopicAlias(3),
        Property::UserProperty("k", "v"),
        Property::UserProperty("k", "w"),
    ];
    let p = Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtLeastOnce(pid(10)),
        retain: false,
        topic: "a/b",
        properties: Properties::new(&props),
        payload: b"hi",
    });
    let bytes = PUBLISH_ALIAS_USER_PROPERTIES;
    assert_vector(p, bytes);
    let Packet::Publish(decoded) = decode_whole(bytes) else {
        unreachable!()
    };
    let users: Vec<_> = decoded.properties.user_properties().collect();
    assert_eq!(users, [("k", "v"), ("k", "w")]);
    assert_eq!(
        decoded.properties.get(PropertyId::TopicAlias),
        Some(Property::TopicAlias(3))
    );

    // The next publish names the topic by its alias alone.
    let alias = [Property::TopicAlias(3)];
    assert_vector(
        Packet::Publish(Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: false,
            topic: "",
            properties: Properties::new(&alias),
            payload: b"hi",
        }),
        PUBLISH_BY_ALIAS,
    );
}

#[test]
fn publish_message_properties() {
    let props = [
        Property::PayloadFormatIndicator(1),
        Property::MessageExpiryInterval(60),
        Property::ContentType("text/plain"),
        Property::ResponseTopic("r/1"),
        Property::CorrelationData(&[0xC0, 0xFF]),
    ];
    let p = Packet::Publish(Publish {
        dup: true,
        qospid: QosPid::ExactlyOnce(pid(0x1234)),
        retain: true,
        topic: "t",
        properties: Properties::new(&props),
        payload: b"",
    });
    let bytes = PUBLISH_MESSAGE_PROPERTIES;
    assert_vector(p, bytes);
}

#[test]
fn acks_in_their_three_forms() {
    // Success without properties: remaining length 2.
    assert_vector(
        Packet::PubAck(Ack::success(pid(10))),
        &[0x40, 0x02, 0x00, 0x0A],
    );
    // A reason code without properties: remaining length 3.
    let no_subscribers = Ack {
        pid: pid(10),
        reason: ReasonCode::NoMatchingSubscribers,
        properties: Properties::EMPTY,
    };
    assert_vector(Packet::PubAck(no_subscribers), PUBACK_NO_SUBSCRIBERS);
    assert_vector(Packet::PubRec(no_subscribers), PUBREC_NO_SUBSCRIBERS);
    // With a reason string.
    let props = [Property::ReasonString("no")];
    assert_vector(
        Packet::PubComp(Ack {
            pid: pid(1),
            reason: ReasonCode::PacketIdentifierNotFound,
            properties: Properties::new(&props),
        }),
        PUBCOMP_WITH_REASON_STRING,
    );
    assert_vector(Packet::PubRel(Ack::success(pid(2))), PUBREL_SUCCESS);
    // Longer forms with nothing in them decode, and encode to the shortest.
    assert_long_form(
        &[0x40, 0x03, 0x00, 0x0A, 0x00],
        Packet::PubAck(Ack::success(pid(10))),
        &[0x40, 0x02, 0x00, 0x0A],
    );
    assert_long_form(
        &[0x50, 0x04, 0x00, 0x0A, 0x10, 0x00],
        Packet::PubRec(no_subscribers),
        &[0x50, 0x03, 0x00, 0x0A, 0x10],
    );
}

#[test]
fn subscribe_with_options_and_subscription_identifier() {
    let props = [Property::SubscriptionIdentifier(7)];
    let topics = [SubscribeTopic {
        filter: "a/+",
        options: SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
        },
    }];
    let p = Packet::Subscribe(Subscribe {
        pid: pid(2),
        properties: Properties::new(&props),
        topics: List::new(&topics),
    });
    let bytes = SUBSCRIBE_WITH_OPTIONS;
    assert_vector(p, bytes);
}

#[test]
fn suback_with_several_reason_codes() {
    let codes = [
        ReasonCode::Success,
        ReasonCode::GrantedQoS1,
        ReasonCode::GrantedQoS2,
        ReasonCode::UnspecifiedError,
        ReasonCode::NotAuthorized,
        ReasonCode::WildcardSubscriptionsNotSupported,
    ];
    let p = Packet::SubAck(SubAck {
        pid: pid(1),
        properties: Properties::EMPTY,
        codes: List::new(&codes),
    });
    let bytes = SUBACK_SEVERAL_CODES;
    assert_vector(p, bytes);
    let Packet::SubAck(decoded) = decode_whole(bytes) else {
        unreachable!()
    };
    assert!(decoded.codes.iter().eq(codes.iter().copied()));
}

#[test]
fn unsubscribe_and_unsuback() {
    let filters = ["#"];
    assert_vector(
        Packet::Unsubscribe(Unsubscribe {
            pid: pid(3),
            properties: Properties::EMPTY,
            topics: List::new(&filters),
        }),
        UNSUBSCRIBE,
    );
    let codes = [ReasonCode::Success, ReasonCode::NoSubscriptionExisted];
    assert_vector(
        Packet::UnsubAck(UnsubAck {
            pid: pid(3),
            properties: Properties::EMPTY,
            codes: List::new(&codes),
        }),
        UNSUBACK,
    );
}

#[test]
fn disconnect_server_shutting_down() {
    let shutdown = Disconnect {
        reason: ReasonCode::ServerShuttingDown,
        properties: Properties::EMPTY,
    };
    assert_vector(Packet::Disconnect(shutdown), DISCONNECT_SHUTTING_DOWN);
    let props = [Property::ReasonString("bye")];
    assert_vector(
        Packet::Disconnect(Disconnect {
            reason: ReasonCode::ServerShuttingDown,
            properties: Properties::new(&props),
        }),
        DISCONNECT_SHUTTING_DOWN_WITH_REASON,
    );
    // Normal disconnection: remaining length 0; a server moving us on.
    assert_vector(Packet::Disconnect(Disconnect::default()), &[0xE0, 0x00]);
    let moved = [Property::ServerReference("b2:1883")];
    assert_vector(
        Packet::Disconnect(Disconnect {
            reason: ReasonCode::ServerMoved,
            properties: Properties::new(&moved),
        }),
        &[
            0xE0, 0x0C, 0x9D, 0x0A, 0x1C, 0x00, 0x07, b'b', b'2', b':', b'1', b'8', b'8', b'3',
        ],
    );
    assert_long_form(
        &[0xE0, 0x02, 0x8B, 0x00],
        Packet::Disconnect(shutdown),
        DISCONNECT_SHUTTING_DOWN,
    );
}

#[test]
fn auth_and_pings() {
    assert_vector(
        Packet::Auth(Auth {
            reason: ReasonCode::Success,
            properties: Properties::EMPTY,
        }),
        &[0xF0, 0x00],
    );
    let props = [
        Property::AuthenticationMethod("S"),
        Property::AuthenticationData(b"\x01"),
    ];
    assert_vector(
        Packet::Auth(Auth {
            reason: ReasonCode::ContinueAuthentication,
            properties: Properties::new(&props),
        }),
        AUTH_CONTINUE,
    );
    assert_vector(Packet::PingReq, PINGREQ);
    assert_vector(Packet::PingResp, PINGRESP);
}
