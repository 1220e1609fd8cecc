//! Byte-exact vectors from the MQTT 3.1.1 specification (OASIS Standard
//! mqtt-v3.1.1-os, 29 October 2014). Each one: encoding gives exactly these
//! bytes, and decoding them gives the packet back.
//!
//! Each vector was checked against the specification's text (a copy of
//! mqtt-v3.1.1-os found with the search tool, and a translation that keeps
//! the figures): Figure 1.2 (1.5.3.1), section 2.2.3 and Table 2.4, Figure
//! 3.6 (3.1.2.11), Figure 3.11 (3.3.2.3), Figures 3.21 and 3.23 (3.8.2,
//! 3.8.3.1), Table 3.6 / Figure 3.27 (3.9.3.1), Figure 3.30 (3.10.3.1), and
//! the fixed headers of sections 3.4 to 3.14. Where the specification shows
//! only a variable header or a payload, the rest of the packet (fixed
//! header, other fields) is completed here and marked as such.

// The crate is no_std; `std` comes from `extern crate std` in tests/mod.rs.
use super::std;

use std::vec::Vec;

use super::super::*;
use super::roundtrip::length_field;
use super::{decode_whole, encode};

/// Encode gives `bytes` exactly; decode gives the packet back.
fn assert_vector(p: &Packet<'_>, bytes: &[u8]) {
    assert_eq!(encode(p), bytes, "encoding of {p:?}");
    assert_eq!(&decode_whole(bytes), p, "decoding of {bytes:02X?}");
}

/// Section 2.2.3: the examples of the text (64 is 0x40; 321 is 0xC1 0x02)
/// and Table 2.4, the smallest and largest value of each size.
#[test]
fn table_2_4_remaining_length() {
    let table: [(usize, &[u8]); 10] = [
        (64, &[0x40]),
        (321, &[0xC1, 0x02]),
        (0, &[0x00]),
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    for (value, field) in table {
        assert_eq!(length_field(value), field, "encoding of {value}");
        let mut frame = std::vec![0x30];
        frame.extend_from_slice(field);
        let h = check(&frame, DEFAULT_MAX_PACKET_SIZE).unwrap().unwrap();
        assert_eq!(h.remaining_len, value, "decoding of {field:02X?}");
        assert_eq!(h.header_len, 1 + field.len());
    }
    assert_eq!(MAX_REMAINING_LENGTH, 268_435_455);
}

/// Section 1.5.3.1, Figure 1.2: "A" followed by U+2A6D4 (a CJK ideograph
/// outside the Basic Multilingual Plane) is 00 05 41 F0 AA 9B 94.
#[test]
fn figure_1_2_utf8_string() {
    const BYTES: [u8; 7] = [0x00, 0x05, 0x41, 0xF0, 0xAA, 0x9B, 0x94];
    let mut buf = [0u8; 7];
    let mut w = Writer::new(&mut buf);
    w.string("A\u{2A6D4}").unwrap();
    assert_eq!(w.position(), 7);
    assert_eq!(buf, BYTES);
    let mut r = Reader::new(&BYTES);
    assert_eq!(r.string(), Ok("A\u{2A6D4}"));
    assert!(r.is_empty());

    // The same string as a PUBLISH topic (packet completed here).
    let p = Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "A\u{2A6D4}",
        payload: b"",
    });
    assert_vector(&p, &[0x30, 0x07, 0x00, 0x05, 0x41, 0xF0, 0xAA, 0x9B, 0x94]);
}

/// Section 1.5.3 [MQTT-1.5.3-3]: EF BB BF is U+FEFF and is neither skipped
/// nor stripped by a receiver.
#[test]
fn byte_order_mark_is_kept() {
    let bytes = [0x30, 0x06, 0x00, 0x04, 0xEF, 0xBB, 0xBF, b'a'];
    let Packet::Publish(p) = decode_whole(&bytes) else {
        panic!("not a PUBLISH");
    };
    assert_eq!(p.topic, "\u{FEFF}a");
    assert_eq!(encode(&Packet::Publish(p)), bytes);
}

/// Section 3.1.2.11, Figure 3.6: protocol name 00 04 'M' 'Q' 'T' 'T',
/// level 4, flags: user name 1, password 1, will retain 0, will QoS 01,
/// will 1, clean session 1, reserved 0 (0xCE), keep alive 00 0A (10).
/// The fixed header and payload (client id, will, user name, password) are
/// completed here.
#[test]
fn figure_3_6_connect_variable_header() {
    const VARIABLE_HEADER: [u8; 10] = [0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xCE, 0x00, 0x0A];
    let p = Packet::Connect(Connect {
        client_id: "c",
        keep_alive: 10,
        clean_session: true,
        will: Some(Will {
            topic: "w",
            message: b"m",
            qos: QoS::AtLeastOnce,
            retain: false,
        }),
        username: Some("u"),
        password: Some(b"p"),
    });
    let mut expected = std::vec![0x10, 25];
    expected.extend_from_slice(&VARIABLE_HEADER);
    for field in [b"c", b"w", b"m", b"u", b"p"] {
        expected.extend_from_slice(&[0x00, 0x01, field[0]]);
    }
    assert_eq!(expected.len(), 2 + 25);
    assert_vector(&p, &expected);

    // The smallest CONNECT: no flags but clean session, empty client id.
    let p = Packet::Connect(Connect {
        client_id: "",
        keep_alive: 10,
        clean_session: true,
        will: None,
        username: None,
        password: None,
    });
    assert_vector(
        &p,
        &[
            0x10, 12, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x0A, 0x00, 0x00,
        ],
    );
}

/// Section 3.2: CONNACK, fixed header 20 02, then session present and the
/// return code (Table 3.1: 0 to 5).
#[test]
fn section_3_2_connack() {
    for (n, code) in [
        (0u8, ConnectReturnCode::Accepted),
        (1, ConnectReturnCode::UnacceptableProtocolVersion),
        (2, ConnectReturnCode::IdentifierRejected),
        (3, ConnectReturnCode::ServerUnavailable),
        (4, ConnectReturnCode::BadUserNameOrPassword),
        (5, ConnectReturnCode::NotAuthorized),
    ] {
        let p = Packet::ConnAck(ConnAck {
            session_present: false,
            code,
        });
        assert_vector(&p, &[0x20, 0x02, 0x00, n]);
    }
    let p = Packet::ConnAck(ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    });
    assert_vector(&p, &[0x20, 0x02, 0x01, 0x00]);
}

/// Section 3.3.2.3, Figure 3.11: topic name "a/b" (00 03 61 2F 62) and
/// packet identifier 10 (00 0A). Completed here as a QoS 1 PUBLISH, without
/// and with a payload.
#[test]
fn figure_3_11_publish_variable_header() {
    const VARIABLE_HEADER: [u8; 7] = [0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x0A];
    let pid = Pid::new(10).unwrap();
    let p = Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtLeastOnce(pid),
        retain: false,
        topic: "a/b",
        payload: b"",
    });
    let mut expected = std::vec![0x32, 0x07];
    expected.extend_from_slice(&VARIABLE_HEADER);
    assert_vector(&p, &expected);

    let p = Packet::Publish(Publish {
        dup: true,
        qospid: QosPid::ExactlyOnce(pid),
        retain: true,
        topic: "a/b",
        payload: b"hello",
    });
    let mut expected = std::vec![0x3D, 0x0C];
    expected.extend_from_slice(&VARIABLE_HEADER);
    expected.extend_from_slice(b"hello");
    assert_vector(&p, &expected);

    // QoS 0 has no packet identifier.
    let p = Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "a/b",
        payload: b"hi",
    });
    assert_vector(&p, &[0x30, 0x07, 0x00, 0x03, 0x61, 0x2F, 0x62, b'h', b'i']);
}

/// Section 3.8.3.1, Table 3.5 and Figure 3.23: topic filter "a/b" with
/// QoS 1, then "c/d" with QoS 2; Figure 3.21: packet identifier 10. The
/// fixed header 82 (flags 0010, section 3.8.1) completes it.
#[test]
fn figure_3_23_subscribe_payload() {
    const PAYLOAD: [u8; 12] = [
        0x00, 0x03, 0x61, 0x2F, 0x62, 0x01, 0x00, 0x03, 0x63, 0x2F, 0x64, 0x02,
    ];
    let topics = [
        SubscribeTopic {
            filter: "a/b",
            qos: QoS::AtLeastOnce,
        },
        SubscribeTopic {
            filter: "c/d",
            qos: QoS::ExactlyOnce,
        },
    ];
    let p = Packet::Subscribe(Subscribe {
        pid: Pid::new(10).unwrap(),
        topics: List::new(&topics),
    });
    let mut expected = std::vec![0x82, 0x0E, 0x00, 0x0A];
    expected.extend_from_slice(&PAYLOAD);
    assert_vector(&p, &expected);
}

/// Section 3.9.3.1, Table 3.6 and Figure 3.27: return codes "Success -
/// Maximum QoS 0" (0), "Success - Maximum QoS 2" (2) and "Failure" (128).
/// Fixed header 90 and packet identifier 10 complete it.
#[test]
fn figure_3_27_suback_payload() {
    let codes = [
        SubAckCode::Granted(QoS::AtMostOnce),
        SubAckCode::Granted(QoS::ExactlyOnce),
        SubAckCode::Failure,
    ];
    let p = Packet::SubAck(SubAck {
        pid: Pid::new(10).unwrap(),
        codes: List::new(&codes),
    });
    assert_vector(&p, &[0x90, 0x05, 0x00, 0x0A, 0x00, 0x02, 0x80]);
}

/// Section 3.10.3.1, Table 3.7 and Figure 3.30: topic filters "a/b" and
/// "c/d". Fixed header
/// A2 (flags 0010) and packet identifier 10 complete it.
#[test]
fn figure_3_30_unsubscribe_payload() {
    const PAYLOAD: [u8; 10] = [0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x03, 0x63, 0x2F, 0x64];
    let filters = ["a/b", "c/d"];
    let p = Packet::Unsubscribe(Unsubscribe {
        pid: Pid::new(10).unwrap(),
        topics: List::new(&filters),
    });
    let mut expected: Vec<u8> = std::vec![0xA2, 0x0C, 0x00, 0x0A];
    expected.extend_from_slice(&PAYLOAD);
    assert_vector(&p, &expected);
}

/// Sections 3.4 to 3.7 and 3.11: the acknowledgements are the fixed header
/// (PUBREL with flags 0010, the others 0000), length 2, packet identifier.
#[test]
fn acknowledgements() {
    let pid = Pid::new(10).unwrap();
    assert_vector(&Packet::PubAck(PubAck(pid)), &[0x40, 0x02, 0x00, 0x0A]);
    assert_vector(&Packet::PubRec(PubRec(pid)), &[0x50, 0x02, 0x00, 0x0A]);
    assert_vector(&Packet::PubRel(PubRel(pid)), &[0x62, 0x02, 0x00, 0x0A]);
    assert_vector(&Packet::PubComp(PubComp(pid)), &[0x70, 0x02, 0x00, 0x0A]);
    assert_vector(&Packet::UnsubAck(UnsubAck(pid)), &[0xB0, 0x02, 0x00, 0x0A]);
    let pid = Pid::new(0xABCD).unwrap();
    assert_vector(&Packet::PubRel(PubRel(pid)), &[0x62, 0x02, 0xAB, 0xCD]);
}

/// Sections 3.12 to 3.14: PINGREQ C0 00, PINGRESP D0 00, DISCONNECT E0 00.
#[test]
fn bodiless_packets() {
    assert_vector(&Packet::PingReq, &[0xC0, 0x00]);
    assert_vector(&Packet::PingResp, &[0xD0, 0x00]);
    assert_vector(&Packet::Disconnect, &[0xE0, 0x00]);
}

/// Section 2.2.1, Table 2.1: the packet type numbers and names.
#[test]
fn table_2_1_packet_types() {
    let names = [
        "CONNECT",
        "CONNACK",
        "PUBLISH",
        "PUBACK",
        "PUBREC",
        "PUBREL",
        "PUBCOMP",
        "SUBSCRIBE",
        "SUBACK",
        "UNSUBSCRIBE",
        "UNSUBACK",
        "PINGREQ",
        "PINGRESP",
        "DISCONNECT",
    ];
    for (i, name) in names.iter().enumerate() {
        let t = PacketType::from_nibble(i as u8 + 1).unwrap();
        assert_eq!(t as u8, i as u8 + 1);
        assert_eq!(t.name(), *name);
    }
    assert_eq!(PacketType::from_nibble(0), None);
    assert_eq!(PacketType::from_nibble(15), None);
}
