//! The MQTT 5 codec against a real mosquitto (started by `mosquitto-rig`
//! on a free port; mosquitto 2 speaks version 5 to a client whose CONNECT
//! says protocol level 5). Everything on the wire is encoded and decoded
//! by `resilient_mqtt::codec::v5` over plain blocking sockets: no session
//! logic is involved.
//!
//! It checks that the broker accepts our CONNECT with properties and a
//! will with properties, assigns a client id, and sends a CONNACK we
//! decode; that SUBSCRIBE options and a subscription identifier are
//! honoured (no local, the identifier on delivery); that a PUBLISH with a
//! topic alias, user properties (repeated, in order) and the message
//! properties reaches a v5 subscriber with all of them; that a publish by
//! alias alone is delivered under the full topic; that UNSUBACK and PING
//! work; that DISCONNECT with reason 0x04 sends the will with its
//! properties; and that an unknown topic alias is answered by a server
//! DISCONNECT with reason 0x94 that we decode.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::codec::v5::{
    decode, Ack, ConnAck, Connect, Decoded, Disconnect, List, Packet, Pid, Properties, Property,
    PropertyId, Publish, QoS, QosPid, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscribeTopic, SubscriptionOptions, Unsubscribe, Will, DEFAULT_MAX_PACKET_SIZE,
};

/// A raw MQTT 5 connection: packets in and out through the codec.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(broker: &Mosquitto) -> Conn {
        let stream = TcpStream::connect(broker.addr()).expect("connect to mosquitto");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, p: &Packet<'_>) {
        let mut out = Vec::new();
        p.encode_to_vec(&mut out).expect("encode");
        self.stream.write_all(&out).expect("write");
    }

    /// The next whole frame (decode it with [`frame`]), or `None` at EOF.
    fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            match decode(&self.buf, DEFAULT_MAX_PACKET_SIZE).expect("a valid v5 packet") {
                Decoded::Packet { len, .. } => return Some(self.buf.drain(..len).collect()),
                Decoded::Incomplete { .. } => {
                    let mut chunk = [0u8; 4096];
                    let n = self.stream.read(&mut chunk).expect("read (5 s timeout)");
                    if n == 0 {
                        return None;
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
    }

    fn recv_frame(&mut self) -> Vec<u8> {
        self.recv().expect("a packet, not EOF")
    }
}

fn frame(bytes: &[u8]) -> Packet<'_> {
    match decode(bytes, DEFAULT_MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet, .. }) => packet,
        other => panic!("{other:?}"),
    }
}

fn pid(n: u16) -> Pid {
    Pid::new(n).unwrap()
}

fn connect<'a>(
    client_id: &'a str,
    properties: Properties<'a>,
    will: Option<Will<'a>>,
) -> Packet<'a> {
    Packet::Connect(Connect {
        clean_start: true,
        keep_alive: 30,
        properties,
        client_id,
        will,
        username: None,
        password: None,
    })
}

/// Connects and returns the CONNACK's bytes.
fn connected(broker: &Mosquitto, p: &Packet<'_>) -> (Conn, Vec<u8>) {
    let mut c = Conn::open(broker);
    c.send(p);
    let ack = c.recv_frame();
    match frame(&ack) {
        Packet::ConnAck(ConnAck { reason, .. }) => assert_eq!(reason, ReasonCode::Success),
        other => panic!("expected CONNACK, got {other:?}"),
    }
    (c, ack)
}

/// The next PUBLISH's bytes (acknowledging QoS 1).
fn next_publish(c: &mut Conn) -> Vec<u8> {
    let bytes = c.recv_frame();
    let Packet::Publish(p) = frame(&bytes) else {
        panic!("expected PUBLISH, got {:?}", frame(&bytes));
    };
    if let QosPid::AtLeastOnce(id) = p.qospid {
        c.send(&Packet::PubAck(Ack::success(id)));
    }
    bytes
}

fn start() -> Mosquitto {
    crate::support::start(Options::default())
}

#[test]
fn mosquitto_speaks_our_v5_codec() {
    let broker = start();

    // Subscriber: CONNECT with properties.
    let sub_props = [
        Property::SessionExpiryInterval(0),
        Property::ReceiveMaximum(10),
        Property::MaximumPacketSize(65_536),
        Property::RequestProblemInformation(1),
        Property::UserProperty("role", "subscriber"),
    ];
    let (mut sub, _) = connected(
        &broker,
        &connect("v5-sub", Properties::new(&sub_props), None),
    );

    // Publisher: empty client id (the server assigns one), and a will with
    // properties.
    let will_props = [
        Property::WillDelayInterval(0),
        Property::ContentType("text/plain"),
        Property::UserProperty("will", "yes"),
    ];
    let will = Will {
        properties: Properties::new(&will_props),
        topic: "v5/will",
        payload: b"gone",
        qos: QoS::AtLeastOnce,
        retain: false,
    };
    let (mut publisher, connack) = connected(&broker, &connect("", Properties::EMPTY, Some(will)));
    let Packet::ConnAck(connack) = frame(&connack) else {
        unreachable!()
    };
    println!("mosquitto CONNACK: {connack:?}");
    match connack.properties.get(PropertyId::AssignedClientIdentifier) {
        Some(Property::AssignedClientIdentifier(id)) => assert!(!id.is_empty()),
        other => panic!("no assigned client id: {other:?}"),
    }

    // SUBSCRIBE with options and a subscription identifier.
    let sub_id = [
        Property::SubscriptionIdentifier(42),
        Property::UserProperty("k", "v"),
    ];
    let topics = [
        SubscribeTopic {
            filter: "v5/#",
            options: SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                no_local: true,
                retain_as_published: true,
                retain_handling: RetainHandling::SendAtSubscribe,
            },
        },
        SubscribeTopic {
            filter: "other/+",
            options: SubscriptionOptions::qos(QoS::AtMostOnce),
        },
    ];
    sub.send(&Packet::Subscribe(Subscribe {
        pid: pid(1),
        properties: Properties::new(&sub_id),
        topics: List::new(&topics),
    }));
    let suback = sub.recv_frame();
    let Packet::SubAck(SubAck { pid: id, codes, .. }) = frame(&suback) else {
        panic!("expected SUBACK: {:?}", frame(&suback));
    };
    assert_eq!(id, pid(1));
    assert_eq!(
        codes.iter().collect::<Vec<_>>(),
        [ReasonCode::GrantedQoS1, ReasonCode::Success]
    );

    // PUBLISH with a topic alias, repeated user properties and the message
    // properties.
    let props = [
        Property::TopicAlias(1),
        Property::PayloadFormatIndicator(1),
        Property::MessageExpiryInterval(300),
        Property::ContentType("text/plain"),
        Property::ResponseTopic("v5/reply"),
        Property::CorrelationData(b"\x01\x02"),
        Property::UserProperty("a", "1"),
        Property::UserProperty("b", "2"),
        Property::UserProperty("a", "3"),
    ];
    publisher.send(&Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtLeastOnce(pid(7)),
        retain: false,
        topic: "v5/t",
        properties: Properties::new(&props),
        payload: b"hello v5",
    }));
    let puback = publisher.recv_frame();
    match frame(&puback) {
        Packet::PubAck(a) => {
            assert_eq!(a.pid, pid(7));
            assert_eq!(a.reason, ReasonCode::Success);
        }
        other => panic!("expected PUBACK, got {other:?}"),
    }

    let got = next_publish(&mut sub);
    let Packet::Publish(msg) = frame(&got) else {
        unreachable!()
    };
    println!("delivered: {msg:?}");
    assert_eq!(msg.topic, "v5/t");
    assert_eq!(msg.payload, b"hello v5");
    assert_eq!(msg.qospid.qos(), QoS::AtLeastOnce);
    let p = msg.properties;
    assert_eq!(
        p.user_properties().collect::<Vec<_>>(),
        [("a", "1"), ("b", "2"), ("a", "3")]
    );
    assert_eq!(p.subscription_identifiers().collect::<Vec<_>>(), [42]);
    assert_eq!(
        p.get(PropertyId::ContentType),
        Some(Property::ContentType("text/plain"))
    );
    assert_eq!(
        p.get(PropertyId::ResponseTopic),
        Some(Property::ResponseTopic("v5/reply"))
    );
    assert_eq!(
        p.get(PropertyId::CorrelationData),
        Some(Property::CorrelationData(b"\x01\x02"))
    );
    assert_eq!(
        p.get(PropertyId::PayloadFormatIndicator),
        Some(Property::PayloadFormatIndicator(1))
    );
    match p.get(PropertyId::MessageExpiryInterval) {
        Some(Property::MessageExpiryInterval(s)) => assert!((1..=300).contains(&s)),
        other => panic!("message expiry: {other:?}"),
    }
    // The alias is between the publisher and the broker only.
    assert_eq!(p.get(PropertyId::TopicAlias), None);

    // A publish by alias alone is delivered under the full topic.
    let alias = [Property::TopicAlias(1)];
    publisher.send(&Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "",
        properties: Properties::new(&alias),
        payload: b"by alias",
    }));
    let got = next_publish(&mut sub);
    let Packet::Publish(msg) = frame(&got) else {
        unreachable!()
    };
    assert_eq!((msg.topic, msg.payload), ("v5/t", &b"by alias"[..]));

    // No Local: the subscriber's own publish does not come back; the
    // publisher's next one does.
    sub.send(&Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "v5/self",
        properties: Properties::EMPTY,
        payload: b"mine",
    }));
    publisher.send(&Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "v5/after",
        properties: Properties::EMPTY,
        payload: b"theirs",
    }));
    let got = next_publish(&mut sub);
    let Packet::Publish(msg) = frame(&got) else {
        unreachable!()
    };
    assert_eq!(msg.topic, "v5/after", "no local was not honoured");

    // UNSUBSCRIBE: one subscription that exists, one that does not.
    let filters = ["other/+", "never/subscribed"];
    sub.send(&Packet::Unsubscribe(Unsubscribe {
        pid: pid(2),
        properties: Properties::EMPTY,
        topics: List::new(&filters),
    }));
    let unsuback = sub.recv_frame();
    let Packet::UnsubAck(u) = frame(&unsuback) else {
        panic!("expected UNSUBACK: {:?}", frame(&unsuback));
    };
    let codes: Vec<_> = u.codes.iter().collect();
    println!("UNSUBACK codes: {codes:?}");
    assert_eq!(codes.len(), 2);
    assert_eq!(codes[0], ReasonCode::Success);
    assert!(matches!(
        codes[1],
        ReasonCode::Success | ReasonCode::NoSubscriptionExisted
    ));

    sub.send(&Packet::PingReq);
    assert_eq!(frame(&sub.recv_frame()), Packet::PingResp);

    // DISCONNECT 0x04: the broker publishes the will, with its properties.
    publisher.send(&Packet::Disconnect(Disconnect {
        reason: ReasonCode::DisconnectWithWillMessage,
        properties: Properties::EMPTY,
    }));
    let got = next_publish(&mut sub);
    let Packet::Publish(msg) = frame(&got) else {
        unreachable!()
    };
    assert_eq!((msg.topic, msg.payload), ("v5/will", &b"gone"[..]));
    assert_eq!(
        msg.properties.get(PropertyId::ContentType),
        Some(Property::ContentType("text/plain"))
    );
    assert_eq!(
        msg.properties.user_properties().collect::<Vec<_>>(),
        [("will", "yes")]
    );

    sub.send(&Packet::Disconnect(Disconnect::default()));
    assert!(sub.recv().is_none(), "the broker closes after DISCONNECT");
}

/// A topic alias above the broker's Topic Alias Maximum (from its CONNACK)
/// is answered by DISCONNECT 0x94 (topic alias invalid); an alias never
/// named is a protocol error (0x82) in mosquitto 2.0.
#[test]
fn mosquitto_disconnects_a_bad_topic_alias_with_a_reason_code() {
    let broker = start();
    let bad_alias = |topic: &str, alias: u16| -> ReasonCode {
        let (mut c, connack) = connected(&broker, &connect("v5-alias", Properties::EMPTY, None));
        let Packet::ConnAck(connack) = frame(&connack) else {
            unreachable!()
        };
        let alias = match (alias, connack.properties.get(PropertyId::TopicAliasMaximum)) {
            (0, Some(Property::TopicAliasMaximum(max))) => max + 1,
            (0, other) => panic!("no topic alias maximum: {other:?}"),
            (a, _) => a,
        };
        let props = [Property::TopicAlias(alias)];
        c.send(&Packet::Publish(Publish {
            dup: false,
            qospid: QosPid::AtMostOnce,
            retain: false,
            topic,
            properties: Properties::new(&props),
            payload: b"x",
        }));
        let bytes = c.recv_frame();
        let reason = match frame(&bytes) {
            Packet::Disconnect(d) => d.reason,
            other => panic!("expected DISCONNECT, got {other:?}"),
        };
        assert!(c.recv().is_none(), "the broker closes after its DISCONNECT");
        reason
    };
    // 0: one above the maximum the broker announced.
    assert_eq!(bad_alias("v5/t", 0), ReasonCode::TopicAliasInvalid);
    assert_eq!(bad_alias("", 3), ReasonCode::ProtocolError);
}
