//! MQTT 5 session behaviour (V1, V2) without a runtime: a scripted server
//! ([`T5`]) decodes every byte the session sends with the MQTT 5 codec and
//! answers with hand-made packets, so each test shows the exact packet
//! (flags, properties, reason codes) a behaviour produces.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::super::*;
use super::secs;
use crate::codec::v5::{
    self as wire, Ack, ConnAck as ConnAck5, Disconnect, Packet as P5, Properties, Property,
    PropertyId, ReasonCode as RC, SubAck as SubAck5, UnsubAck as UnsubAck5,
};
use crate::codec::{List, Pid, QoS, QosPid};

/// One packet the session sent, as its bytes.
#[derive(Debug, Clone)]
struct Frame(Vec<u8>);

impl Frame {
    fn packet(&self) -> P5<'_> {
        match wire::decode(&self.0, usize::MAX).expect("the session sent valid MQTT 5") {
            wire::Decoded::Packet { packet, .. } => packet,
            other => panic!("incomplete frame {other:?}"),
        }
    }

    fn publish(&self) -> wire::Publish<'_> {
        match self.packet() {
            P5::Publish(p) => p,
            other => panic!("not a PUBLISH: {other:?}"),
        }
    }

    fn connect(&self) -> wire::Connect<'_> {
        match self.packet() {
            P5::Connect(c) => c,
            other => panic!("not a CONNECT: {other:?}"),
        }
    }

    fn is_publish(&self) -> bool {
        matches!(self.packet(), P5::Publish(_))
    }
}

/// A session and a scripted MQTT 5 server.
struct T5 {
    s: Session,
    now: Instant,
    sent: Vec<Frame>,
    events: Vec<Event>,
    actions: Vec<Action>,
}

impl T5 {
    /// Link up, `connect(quick)`, transport open: the CONNECT is in `sent`.
    fn new(config: Config) -> T5 {
        let mut t = T5 {
            s: Session::new(config).expect("valid config"),
            now: Instant::ZERO,
            sent: Vec::new(),
            events: Vec::new(),
            actions: Vec::new(),
        };
        t.s.handle_link(t.now, true);
        t.s.connect(t.now, true).unwrap();
        t.pump();
        t
    }

    /// Connected with a CONNACK carrying `props`.
    fn connected(config: Config, props: &[Property<'_>]) -> T5 {
        let mut t = T5::new(config);
        t.connack(false, RC::Success, props);
        assert!(t.s.is_connected(), "not connected: {:?}", t.events);
        t
    }

    fn pump(&mut self) {
        loop {
            let mut progress = false;
            if let Some(bytes) = self.s.poll_transmit() {
                progress = true;
                let mut at = 0;
                while at < bytes.len() {
                    let h = wire::check(&bytes[at..], usize::MAX).unwrap().unwrap();
                    self.sent
                        .push(Frame(bytes[at..at + h.total_len()].to_vec()));
                    at += h.total_len();
                }
            }
            if let Some(a) = self.s.poll_action() {
                progress = true;
                if a == Action::OpenTransport {
                    self.s.handle_transport_connected(self.now);
                }
                self.actions.push(a);
            }
            while let Some(e) = self.s.poll_event() {
                progress = true;
                self.events.push(e);
            }
            if !progress {
                return;
            }
        }
    }

    fn send(&mut self, p: P5<'_>) {
        let mut bytes = Vec::new();
        p.encode_to_vec(&mut bytes).unwrap();
        self.s.handle_bytes(self.now, &bytes);
        self.pump();
    }

    fn connack(&mut self, session_present: bool, reason: RC, props: &[Property<'_>]) {
        self.send(P5::ConnAck(ConnAck5 {
            session_present,
            reason,
            properties: Properties::new(props),
        }));
    }

    fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            match self.s.poll_timeout() {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    self.s.handle_timeout(self.now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = until;
        self.s.handle_timeout(self.now);
        self.pump();
    }

    fn take_sent(&mut self) -> Vec<Frame> {
        core::mem::take(&mut self.sent)
    }

    fn publishes(&self) -> Vec<Frame> {
        self.sent
            .iter()
            .filter(|f| f.is_publish())
            .cloned()
            .collect()
    }

    fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> Token {
        let t = self
            .s
            .publish(self.now, topic, payload, qos, false)
            .unwrap();
        self.pump();
        t
    }

    fn has_event(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(f)
    }

    /// The link drops and comes back: a new connection (CONNECT in `sent`).
    fn reconnect(&mut self) {
        self.s.handle_link(self.now, false);
        self.pump();
        self.s.handle_link(self.now, true);
        self.pump();
    }

    fn last_disconnect_reason(&self) -> Option<RC> {
        self.sent.iter().rev().find_map(|f| match f.packet() {
            P5::Disconnect(d) => Some(d.reason),
            _ => None,
        })
    }
}

fn v5(options: V5Config) -> Config {
    Config {
        client_id: "dev".into(),
        response_time: secs(2),
        link_integrity: Duration::ZERO,
        protocol: Protocol::v5(options),
        ..Config::default()
    }
}

fn pid(n: u16) -> Pid {
    Pid::new(n).unwrap()
}

fn ack(pid: Pid, reason: RC) -> Ack<'static> {
    Ack {
        pid,
        reason,
        properties: Properties::EMPTY,
    }
}

fn incoming(topic: &str, qospid: QosPid, props: &[Property<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    P5::Publish(wire::Publish {
        dup: false,
        qospid,
        retain: false,
        topic,
        properties: Properties::new(props),
        payload: b"m",
    })
    .encode_to_vec(&mut out)
    .unwrap();
    out
}

fn messages(t: &T5) -> Vec<Message> {
    t.events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn alias_of(p: &wire::Publish<'_>) -> Option<u16> {
    match p.properties.get(PropertyId::TopicAlias) {
        Some(Property::TopicAlias(a)) => Some(a),
        _ => None,
    }
}

// ----- CONNECT, session expiry, clean start --------------------------------

#[test]
fn default_protocol_stays_311() {
    assert_eq!(Config::default().protocol, Protocol::V311);
    let mut s = Session::new(Config::default()).unwrap();
    s.handle_link(Instant::ZERO, true);
    s.connect(Instant::ZERO, true).unwrap();
    while let Some(a) = s.poll_action() {
        if a == Action::OpenTransport {
            s.handle_transport_connected(Instant::ZERO);
        }
    }
    let bytes = s.poll_transmit().unwrap();
    // "MQTT" then level 4.
    assert_eq!(&bytes[4..9], b"MQTT\x04");
}

#[test]
fn connect_carries_the_v5_properties() {
    let t = T5::new(Config {
        max_packet_size: 4096,
        ..v5(V5Config {
            session_expiry: 300,
            receive_maximum: 7,
            topic_alias_maximum: 5,
            user_properties: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
            ..V5Config::default()
        })
    });
    let c = t.sent[0].connect();
    assert!(c.clean_start);
    assert_eq!(c.client_id, "dev");
    let props: Vec<Property<'_>> = c.properties.iter().collect();
    assert_eq!(
        props,
        vec![
            Property::SessionExpiryInterval(300),
            Property::ReceiveMaximum(7),
            Property::MaximumPacketSize(4096),
            Property::TopicAliasMaximum(5),
            Property::UserProperty("a", "1"),
            Property::UserProperty("a", "2"),
        ]
    );
}

#[test]
fn clean_start_follows_clean_init_and_clean_without_k4() {
    let mut t = T5::connected(
        Config {
            clean_init: true,
            clean: false,
            ..v5(V5Config {
                session_expiry: 3600,
                ..V5Config::default()
            })
        },
        &[],
    );
    // One CONNECT with clean start (no K4 disconnect-and-reconnect: a v5
    // clean start does not end the new session at disconnect).
    let connects: Vec<bool> = t
        .sent
        .iter()
        .filter_map(|f| match f.packet() {
            P5::Connect(c) => Some(c.clean_start),
            _ => None,
        })
        .collect();
    assert_eq!(connects, vec![true]);
    assert!(!t
        .sent
        .iter()
        .any(|f| matches!(f.packet(), P5::Disconnect(_))));
    t.take_sent();
    t.reconnect();
    let c = t.sent[0].connect();
    assert!(!c.clean_start, "reconnects resume the session");
    assert_eq!(
        c.properties.get(PropertyId::SessionExpiryInterval),
        Some(Property::SessionExpiryInterval(3600))
    );
}

#[test]
fn persistent_session_without_expiry_is_a_config_error() {
    let bad = Config {
        clean: false,
        ..v5(V5Config::default())
    };
    assert_eq!(
        Session::new(bad).unwrap_err(),
        ConfigError::PersistentSessionNeedsExpiry
    );
    let zero = v5(V5Config {
        receive_maximum: 0,
        ..V5Config::default()
    });
    assert_eq!(
        Session::new(zero).unwrap_err(),
        ConfigError::ZeroReceiveMaximum
    );
}

// ----- receive maximum ---------------------------------------------------------

#[test]
fn server_receive_maximum_bounds_publishes_in_flight() {
    let mut t = T5::connected(v5(V5Config::default()), &[Property::ReceiveMaximum(2)]);
    assert_eq!(t.s.server_limits().unwrap().receive_maximum, 2);
    t.take_sent();
    let tokens: Vec<Token> = (0..5)
        .map(|i| t.publish("t", &[i], QoS::AtLeastOnce))
        .collect();
    let first = t.publishes();
    assert_eq!(
        first.len(),
        2,
        "only the server's receive maximum in flight"
    );
    // QoS 0 is not counted.
    t.publish("t", b"q0", QoS::AtMostOnce);
    assert_eq!(t.publishes().len(), 3);
    let p = first[0].publish().qospid.pid().unwrap();
    t.send(P5::PubAck(ack(p, RC::Success)));
    assert!(t.has_event(|e| *e == Event::PublishDone { token: tokens[0] }));
    assert_eq!(t.publishes().len(), 4, "one ack makes room for one more");
}

#[test]
fn server_exceeding_our_receive_maximum_is_disconnected_0x93() {
    let mut t = T5::connected(
        v5(V5Config {
            receive_maximum: 2,
            ..V5Config::default()
        }),
        &[],
    );
    for n in 1..=2 {
        t.s.handle_bytes(t.now, &incoming("in", QosPid::ExactlyOnce(pid(n)), &[]));
    }
    t.pump();
    assert!(t.s.is_connected());
    // A resend of a held id is no new publish.
    t.s.handle_bytes(t.now, &incoming("in", QosPid::ExactlyOnce(pid(2)), &[]));
    t.pump();
    assert!(t.s.is_connected());
    t.s.handle_bytes(t.now, &incoming("in", QosPid::ExactlyOnce(pid(3)), &[]));
    t.pump();
    assert_eq!(t.last_disconnect_reason(), Some(RC::ReceiveMaximumExceeded));
    assert!(t.has_event(|e| matches!(
        e,
        Event::Down { reason: DownReason::ClientDisconnect { reason: RC::ReceiveMaximumExceeded, detail } }
            if detail.contains("Receive Maximum")
    )));
    // The DISCONNECT goes out before the transport is closed; the driver
    // reconnects only after a linger (see the next test).
    let close = t.actions.iter().rposition(|a| *a == Action::CloseTransport);
    let opens = t
        .actions
        .iter()
        .filter(|a| **a == Action::OpenTransport)
        .count();
    t.advance(Duration::from_secs(1));
    let reopen = t.actions.iter().rposition(|a| *a == Action::OpenTransport);
    assert!(close < reopen);
    assert_eq!(
        t.actions
            .iter()
            .filter(|a| **a == Action::OpenTransport)
            .count(),
        opens + 1
    );
    assert_eq!(messages(&t).len(), 2);
}

/// Seeds 50, 85, 94, 97 of mqtt5-receive-maximum-violation: the DUT sent
/// DISCONNECT 0x93 and its new CONNECT at once; the CONNECT overtook the
/// DISCONNECT (two connections), the broker took the session over and
/// never saw the 0x93. The next connection now waits one retransmission
/// timeout of the measured round trip, and no more than that.
#[test]
fn after_our_own_disconnect_the_next_connect_waits_for_it_to_land() {
    let mut t = T5::connected(
        v5(V5Config {
            receive_maximum: 1,
            ..V5Config::default()
        }),
        &[],
    );
    // A measured round trip of 40 ms: a QoS 1 publish acknowledged.
    let tok = t.publish("t", b"x", QoS::AtLeastOnce);
    let p = t.publishes()[0].publish().qospid.pid().unwrap();
    t.advance(Duration::from_millis(40));
    t.send(P5::PubAck(ack(p, RC::Success)));
    assert!(t.has_event(|e| *e == Event::PublishDone { token: tok }));
    let linger = t.s.disconnect_linger();
    assert_eq!(linger, Duration::from_millis(40 + 4 * 20));
    let opens = |t: &T5| {
        t.actions
            .iter()
            .filter(|a| **a == Action::OpenTransport)
            .count()
    };
    let before = opens(&t);
    for n in 1..=2 {
        t.s.handle_bytes(t.now, &incoming("in", QosPid::ExactlyOnce(pid(n)), &[]));
    }
    t.pump();
    assert_eq!(t.last_disconnect_reason(), Some(RC::ReceiveMaximumExceeded));
    assert_eq!(opens(&t), before, "no CONNECT at once");
    t.advance(linger - Duration::from_millis(1));
    assert_eq!(opens(&t), before, "no CONNECT before the linger");
    t.advance(Duration::from_millis(1));
    assert_eq!(opens(&t), before + 1, "and one right after it");
}

#[test]
fn the_linger_is_bounded_before_a_measurement_and_by_response_time() {
    let t = T5::connected(v5(V5Config::default()), &[]);
    assert_eq!(
        t.s.disconnect_linger(),
        crate::session::connect::DISCONNECT_LINGER
    );
}

// ----- maximum packet size -------------------------------------------------

#[test]
fn publish_over_the_server_maximum_packet_size_fails_unsent() {
    let mut t = T5::connected(v5(V5Config::default()), &[Property::MaximumPacketSize(64)]);
    t.take_sent();
    let err =
        t.s.publish(t.now, "t", &[0u8; 100], QoS::AtLeastOnce, false)
            .unwrap_err();
    assert!(
        matches!(err, RequestError::TooLargeForServer { max: 64, size } if size > 100),
        "{err:?}"
    );
    assert!(err.to_string().contains("Maximum Packet Size of 64"));
    assert!(t.publishes().is_empty());
    // A small one fits.
    t.publish("t", &[0u8; 10], QoS::AtLeastOnce);
    assert_eq!(t.publishes().len(), 1);
}

#[test]
fn queued_publish_too_large_for_the_next_server_fails_at_connack() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.s.handle_link(t.now, false);
    t.pump();
    let big =
        t.s.publish(t.now, "t", &[0u8; 500], QoS::AtLeastOnce, false)
            .unwrap();
    let small =
        t.s.publish(t.now, "t", &[0u8; 5], QoS::AtLeastOnce, false)
            .unwrap();
    t.s.handle_link(t.now, true);
    t.pump();
    t.take_sent();
    t.connack(false, RC::Success, &[Property::MaximumPacketSize(200)]);
    assert!(t.has_event(|e| matches!(e, Event::PublishFailed { token, error: RequestError::TooLargeForServer { max: 200, .. } } if *token == big)));
    let sent = t.publishes();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].publish().payload, &[0u8; 5]);
    assert!(!t.has_event(|e| matches!(e, Event::PublishFailed { token, .. } if *token == small)));
}

#[test]
fn our_maximum_packet_size_is_enforced_on_receive() {
    let mut t = T5::connected(
        Config {
            max_packet_size: 50,
            ..v5(V5Config::default())
        },
        &[],
    );
    let mut big = Vec::new();
    P5::Publish(wire::Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "t",
        properties: Properties::EMPTY,
        payload: &[1u8; 80],
    })
    .encode_to_vec(&mut big)
    .unwrap();
    t.s.handle_bytes(t.now, &big);
    t.pump();
    assert_eq!(t.last_disconnect_reason(), Some(RC::PacketTooLarge));
    assert!(messages(&t).is_empty());
}

// ----- topic aliases -------------------------------------------------------

#[test]
fn outgoing_topic_aliases_and_reset_after_reconnect() {
    let mut t = T5::connected(v5(V5Config::default()), &[Property::TopicAliasMaximum(2)]);
    t.take_sent();
    for topic in ["a/1", "a/1", "b", "b", "c", "a/1"] {
        t.publish(topic, b"x", QoS::AtMostOnce);
    }
    let got: Vec<(String, Option<u16>)> = t
        .publishes()
        .iter()
        .map(|f| {
            let p = f.publish();
            (p.topic.to_string(), alias_of(&p))
        })
        .collect();
    let want: Vec<(String, Option<u16>)> = vec![
        ("a/1".into(), Some(1)),
        ("".into(), Some(1)),
        ("b".into(), Some(2)),
        ("".into(), Some(2)),
        ("c".into(), None), // both aliases in use: full topic
        ("".into(), Some(1)),
    ];
    assert_eq!(got, want);
    // Aliases are per connection: after a reconnect the topic goes in full.
    t.reconnect();
    t.connack(false, RC::Success, &[Property::TopicAliasMaximum(2)]);
    t.take_sent();
    t.publish("a/1", b"x", QoS::AtMostOnce);
    t.publish("a/1", b"x", QoS::AtMostOnce);
    let p = t.publishes();
    assert_eq!(
        (p[0].publish().topic, alias_of(&p[0].publish())),
        ("a/1", Some(1))
    );
    assert_eq!(
        (p[1].publish().topic, alias_of(&p[1].publish())),
        ("", Some(1))
    );
}

#[test]
fn no_outgoing_aliases_when_the_server_allows_none() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.take_sent();
    t.publish("a", b"x", QoS::AtMostOnce);
    t.publish("a", b"x", QoS::AtMostOnce);
    for f in t.publishes() {
        assert_eq!((f.publish().topic, alias_of(&f.publish())), ("a", None));
    }
}

#[test]
fn resent_publish_after_reconnect_with_session_carries_the_full_topic() {
    let mut t = T5::connected(
        Config {
            clean_init: false,
            clean: false,
            ..v5(V5Config {
                session_expiry: 60,
                ..V5Config::default()
            })
        },
        &[Property::TopicAliasMaximum(4)],
    );
    t.publish("x", b"1", QoS::AtLeastOnce); // sets alias 1 (no PUBACK)
    t.reconnect();
    t.take_sent();
    t.connack(true, RC::Success, &[Property::TopicAliasMaximum(4)]);
    let p = t.publishes();
    assert_eq!(p.len(), 1);
    let p = p[0].publish();
    assert!(p.dup);
    assert_eq!((p.topic, alias_of(&p)), ("x", Some(1)));
}

#[test]
fn incoming_topic_aliases_are_resolved() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.s.handle_bytes(
        t.now,
        &incoming("s/1", QosPid::AtMostOnce, &[Property::TopicAlias(3)]),
    );
    t.s.handle_bytes(
        t.now,
        &incoming("", QosPid::AtMostOnce, &[Property::TopicAlias(3)]),
    );
    t.pump();
    let topics: Vec<String> = messages(&t).into_iter().map(|m| m.topic).collect();
    assert_eq!(topics, vec!["s/1".to_string(), "s/1".to_string()]);
    // Aliases end with the connection.
    t.reconnect();
    t.connack(false, RC::Success, &[]);
    t.take_sent();
    t.s.handle_bytes(
        t.now,
        &incoming("", QosPid::AtMostOnce, &[Property::TopicAlias(3)]),
    );
    t.pump();
    assert_eq!(t.last_disconnect_reason(), Some(RC::ProtocolError));
    assert_eq!(messages(&t).len(), 2);
}

#[test]
fn incoming_alias_above_our_maximum_is_disconnected_0x94() {
    let mut t = T5::connected(
        v5(V5Config {
            topic_alias_maximum: 2,
            ..V5Config::default()
        }),
        &[],
    );
    t.s.handle_bytes(
        t.now,
        &incoming("s", QosPid::AtMostOnce, &[Property::TopicAlias(3)]),
    );
    t.pump();
    assert_eq!(t.last_disconnect_reason(), Some(RC::TopicAliasInvalid));
    assert!(messages(&t).is_empty());
}

// ----- server-assigned client id ------------------------------------------------

#[test]
fn server_assigned_client_id_is_kept_and_reused() {
    let mut t = T5::new(Config {
        client_id: String::new(),
        ..v5(V5Config::default())
    });
    assert_eq!(t.sent[0].connect().client_id, "");
    t.connack(
        false,
        RC::Success,
        &[Property::AssignedClientIdentifier("auto-42")],
    );
    assert!(t.s.is_connected());
    assert!(t.has_event(|e| *e
        == Event::ClientIdAssigned {
            client_id: "auto-42".into()
        }));
    assert_eq!(t.s.client_id(), "auto-42");
    t.take_sent();
    t.reconnect();
    assert_eq!(t.sent[0].connect().client_id, "auto-42");
}

#[test]
fn empty_client_id_without_assignment_fails_the_connect() {
    let mut t = T5::new(Config {
        client_id: String::new(),
        ..v5(V5Config::default())
    });
    t.connack(false, RC::Success, &[]);
    assert!(!t.s.is_connected());
    assert!(t.has_event(
        |e| matches!(e, Event::ConnectResult(Err(ConnectError::Protocol(m))) if m.contains("assign"))
    ));
}

// ----- subscription options and identifiers ---------------------------------------

#[test]
fn subscribe_with_options_and_identifier() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.take_sent();
    let options = SubscribeOptions {
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
        subscription_identifier: Some(77),
        user_properties: vec![("k".into(), "v".into())],
    };
    let tok =
        t.s.subscribe_with(t.now, "s/#", QoS::AtLeastOnce, options)
            .unwrap();
    t.pump();
    let (spid, opts, props) = match t.sent[0].packet() {
        P5::Subscribe(s) => {
            let e = s.topics.iter().next().unwrap();
            assert_eq!(e.filter, "s/#");
            (s.pid, e.options, s.properties.iter().collect::<Vec<_>>())
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(opts.to_u8(), 0b0010_1101);
    assert_eq!(
        props,
        vec![
            Property::SubscriptionIdentifier(77),
            Property::UserProperty("k", "v")
        ]
    );
    let codes = [RC::GrantedQoS1];
    t.send(P5::SubAck(SubAck5 {
        pid: spid,
        properties: Properties::EMPTY,
        codes: List::new(&codes),
    }));
    assert!(t.has_event(|e| *e
        == Event::SubscribeDone {
            token: tok,
            result: Ok(QoS::AtLeastOnce)
        }));
    // The identifier comes back on matching messages.
    t.s.handle_bytes(
        t.now,
        &incoming(
            "s/x",
            QosPid::AtLeastOnce(pid(9)),
            &[
                Property::SubscriptionIdentifier(77),
                Property::SubscriptionIdentifier(5),
            ],
        ),
    );
    t.pump();
    let m = messages(&t).pop().unwrap();
    assert_eq!(m.properties.unwrap().subscription_identifiers, vec![77, 5]);
}

#[test]
fn restored_subscriptions_keep_their_options() {
    let mut t = T5::connected(
        Config {
            restore_subscriptions: true,
            ..v5(V5Config::default())
        },
        &[],
    );
    let options = SubscribeOptions {
        no_local: true,
        subscription_identifier: Some(3),
        ..SubscribeOptions::default()
    };
    t.s.subscribe_with(t.now, "r", QoS::AtMostOnce, options)
        .unwrap();
    t.pump();
    let spid = match t.sent.last().unwrap().packet() {
        P5::Subscribe(s) => s.pid,
        other => panic!("{other:?}"),
    };
    let codes = [RC::Success];
    t.send(P5::SubAck(SubAck5 {
        pid: spid,
        properties: Properties::EMPTY,
        codes: List::new(&codes),
    }));
    t.reconnect();
    t.take_sent();
    t.connack(false, RC::Success, &[]);
    let restored = t
        .sent
        .iter()
        .find_map(|f| match f.packet() {
            P5::Subscribe(s) => Some((
                s.topics.iter().next().unwrap().options.no_local,
                s.properties.get(PropertyId::SubscriptionIdentifier),
            )),
            _ => None,
        })
        .expect("resubscribed");
    assert_eq!(restored, (true, Some(Property::SubscriptionIdentifier(3))));
}

#[test]
fn v5_options_on_a_311_session_need_mqtt5() {
    let mut pair = super::Pair::connected(Config::default());
    let now = pair.now;
    let err = pair
        .session
        .subscribe_with(
            now,
            "a",
            QoS::AtMostOnce,
            SubscribeOptions {
                no_local: true,
                ..SubscribeOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(err, RequestError::NeedsMqtt5("subscription options"));
    let err = pair
        .session
        .publish_with(
            now,
            "a",
            b"x",
            QoS::AtMostOnce,
            false,
            PublishProperties {
                content_type: Some("text/plain".into()),
                ..PublishProperties::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("needs MQTT 5"));
    // Defaults are fine on 3.1.1.
    assert!(pair
        .session
        .publish_with(
            now,
            "a",
            b"x",
            QoS::AtMostOnce,
            false,
            PublishProperties::default()
        )
        .is_ok());
}

// ----- user properties and publish properties -------------------------------------

#[test]
fn several_user_properties_on_publish_and_receive() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.take_sent();
    let props = PublishProperties {
        user_properties: vec![
            ("k".into(), "1".into()),
            ("k".into(), "2".into()),
            ("z".into(), "".into()),
        ],
        content_type: Some("application/json".into()),
        response_topic: Some("reply/me".into()),
        correlation_data: Some(vec![1, 2]),
        message_expiry: Some(30),
        payload_is_utf8: Some(true),
    };
    t.s.publish_with(t.now, "t", b"{}", QoS::AtLeastOnce, false, props)
        .unwrap();
    t.pump();
    let p = t.publishes();
    let got: Vec<Property<'_>> = p[0].publish().properties.iter().collect();
    assert_eq!(
        got,
        vec![
            Property::PayloadFormatIndicator(1),
            Property::MessageExpiryInterval(30),
            Property::ContentType("application/json"),
            Property::ResponseTopic("reply/me"),
            Property::CorrelationData(&[1, 2]),
            Property::UserProperty("k", "1"),
            Property::UserProperty("k", "2"),
            Property::UserProperty("z", ""),
        ]
    );
    t.s.handle_bytes(
        t.now,
        &incoming(
            "in",
            QosPid::AtMostOnce,
            &[
                Property::UserProperty("a", "x"),
                Property::UserProperty("a", "y"),
                Property::ContentType("text/plain"),
            ],
        ),
    );
    t.pump();
    let m = messages(&t).pop().unwrap();
    let mp = m.properties.unwrap();
    assert_eq!(
        mp.user_properties,
        vec![("a".into(), "x".into()), ("a".into(), "y".into())]
    );
    assert_eq!(mp.content_type.as_deref(), Some("text/plain"));
}

#[test]
fn invalid_publish_properties_are_refused() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    let err =
        t.s.publish_with(
            t.now,
            "t",
            b"",
            QoS::AtMostOnce,
            false,
            PublishProperties {
                response_topic: Some("a/+".into()),
                ..PublishProperties::default()
            },
        )
        .unwrap_err();
    assert_eq!(err, RequestError::InvalidProperties);
}

// ----- will properties ----------------------------------------------------------

#[test]
fn will_properties_and_delay_in_connect() {
    let t = T5::new(Config {
        will: Some(WillConfig {
            topic: "dev/status".into(),
            message: b"gone".to_vec(),
            retain: true,
            qos: QoS::AtLeastOnce,
        }),
        ..v5(V5Config {
            will: WillProperties {
                delay_interval: 10,
                message: PublishProperties {
                    message_expiry: Some(60),
                    user_properties: vec![("why".into(), "lost".into())],
                    ..PublishProperties::default()
                },
            },
            ..V5Config::default()
        })
    });
    let c = t.sent[0].connect();
    let w = c.will.expect("will");
    assert_eq!(
        (w.topic, w.payload, w.qos, w.retain),
        ("dev/status", &b"gone"[..], QoS::AtLeastOnce, true)
    );
    let props: Vec<Property<'_>> = w.properties.iter().collect();
    assert_eq!(
        props,
        vec![
            Property::WillDelayInterval(10),
            Property::MessageExpiryInterval(60),
            Property::UserProperty("why", "lost"),
        ]
    );
}

// ----- server DISCONNECT and redirect -------------------------------------------

#[test]
fn server_disconnect_with_reason_is_down_then_reconnect() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.take_sent();
    let props = [Property::ReasonString("maintenance")];
    t.send(P5::Disconnect(Disconnect {
        reason: RC::ServerShuttingDown,
        properties: Properties::new(&props),
    }));
    let down = DownReason::ServerDisconnect {
        reason: RC::ServerShuttingDown,
        reason_string: Some("maintenance".into()),
    };
    assert!(t.has_event(|e| *e
        == Event::Down {
            reason: down.clone()
        }));
    assert!(down
        .to_string()
        .contains("server shutting down (0x8b): maintenance"));
    // The normal reconnect: a new CONNECT on a new transport.
    assert!(matches!(t.sent.last().unwrap().packet(), P5::Connect(_)));
    t.connack(false, RC::Success, &[]);
    assert!(t.s.is_connected());
}

#[test]
fn server_reference_is_noted_in_connack_and_disconnect() {
    let mut t = T5::new(v5(V5Config::default()));
    let props = [Property::ServerReference("other.example:1883")];
    t.send(P5::ConnAck(ConnAck5 {
        session_present: false,
        reason: RC::UseAnotherServer,
        properties: Properties::new(&props),
    }));
    assert!(t.has_event(|e| *e
        == Event::ServerRedirect {
            reason: RC::UseAnotherServer,
            reference: "other.example:1883".into()
        }));
    assert!(t.has_event(|e| matches!(
        e,
        Event::ConnectResult(Err(ConnectError::RefusedV5 {
            reason: RC::UseAnotherServer,
            ..
        }))
    )));

    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.send(P5::Disconnect(Disconnect {
        reason: RC::ServerMoved,
        properties: Properties::new(&props),
    }));
    assert!(t.has_event(|e| *e
        == Event::ServerRedirect {
            reason: RC::ServerMoved,
            reference: "other.example:1883".into()
        }));
    assert!(t.has_event(|e| matches!(
        e,
        Event::Down {
            reason: DownReason::ServerDisconnect {
                reason: RC::ServerMoved,
                ..
            }
        }
    )));
}

// ----- reason codes on acks -------------------------------------------------------

#[test]
fn puback_no_matching_subscribers_is_success_with_reason() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.take_sent();
    let tok = t.publish("t", b"x", QoS::AtLeastOnce);
    let p = t.publishes()[0].publish().qospid.pid().unwrap();
    t.send(P5::PubAck(ack(p, RC::NoMatchingSubscribers)));
    let i = t
        .events
        .iter()
        .position(|e| {
            matches!(e, Event::AckReason { token: Some(x), reason, .. }
                if *x == tok && reason.code == RC::NoMatchingSubscribers)
        })
        .expect("reason reported");
    let done = t
        .events
        .iter()
        .position(|e| *e == Event::PublishDone { token: tok })
        .expect("done");
    assert!(i < done);
}

#[test]
fn puback_failure_completes_with_error_and_is_not_retried() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.take_sent();
    let tok = t.publish("t", b"x", QoS::AtLeastOnce);
    let p = t.publishes()[0].publish().qospid.pid().unwrap();
    let props = [Property::ReasonString("acl")];
    t.send(P5::PubAck(Ack {
        pid: p,
        reason: RC::NotAuthorized,
        properties: Properties::new(&props),
    }));
    assert!(t.has_event(|e| *e
        == Event::PublishFailed {
            token: tok,
            error: RequestError::Rejected {
                reason: RC::NotAuthorized,
                reason_string: Some("acl".into())
            }
        }));
    t.advance(secs(30));
    assert_eq!(t.publishes().len(), 1, "never resent");
    assert_eq!(t.s.pending_publishes(), 0);
}

#[test]
fn pubrec_failure_ends_a_qos2_publish_without_pubrel() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.take_sent();
    let tok = t.publish("t", b"x", QoS::ExactlyOnce);
    let p = t.publishes()[0].publish().qospid.pid().unwrap();
    t.send(P5::PubRec(ack(p, RC::QuotaExceeded)));
    assert!(t.has_event(|e| matches!(e, Event::PublishFailed { token, error: RequestError::Rejected { reason: RC::QuotaExceeded, .. } } if *token == tok)));
    assert!(!t.sent.iter().any(|f| matches!(f.packet(), P5::PubRel(_))));
    // A successful PUBREC still leads to PUBREL, PUBCOMP to done.
    let tok2 = t.publish("t", b"y", QoS::ExactlyOnce);
    let p2 = t.publishes()[1].publish().qospid.pid().unwrap();
    t.send(P5::PubRec(ack(p2, RC::Success)));
    assert!(t
        .sent
        .iter()
        .any(|f| matches!(f.packet(), P5::PubRel(a) if a.pid == p2)));
    t.send(P5::PubComp(ack(p2, RC::Success)));
    assert!(t.has_event(|e| *e == Event::PublishDone { token: tok2 }));
}

#[test]
fn suback_and_unsuback_reason_codes() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.take_sent();
    let tok = t.s.subscribe(t.now, "deny/#", QoS::AtLeastOnce).unwrap();
    t.pump();
    let spid = match t.sent.last().unwrap().packet() {
        P5::Subscribe(s) => s.pid,
        other => panic!("{other:?}"),
    };
    let codes = [RC::NotAuthorized];
    t.send(P5::SubAck(SubAck5 {
        pid: spid,
        properties: Properties::EMPTY,
        codes: List::new(&codes),
    }));
    assert!(t.has_event(|e| *e
        == Event::SubscribeDone {
            token: tok,
            result: Err(RequestError::Rejected {
                reason: RC::NotAuthorized,
                reason_string: None
            })
        }));

    let tok = t.s.unsubscribe(t.now, "never").unwrap();
    t.pump();
    let upid = match t.sent.last().unwrap().packet() {
        P5::Unsubscribe(u) => u.pid,
        other => panic!("{other:?}"),
    };
    let codes = [RC::NoSubscriptionExisted];
    t.send(P5::UnsubAck(UnsubAck5 {
        pid: upid,
        properties: Properties::EMPTY,
        codes: List::new(&codes),
    }));
    assert!(t.has_event(|e| matches!(e, Event::AckReason { token: Some(x), reason, .. } if *x == tok && reason.code == RC::NoSubscriptionExisted)));
    assert!(t.has_event(|e| *e
        == Event::UnsubscribeDone {
            token: tok,
            result: Ok(())
        }));
}

#[test]
fn connack_refusal_reason_is_reported() {
    let mut t = T5::new(v5(V5Config::default()));
    t.connack(false, RC::BadUserNameOrPassword, &[]);
    let err = t
        .events
        .iter()
        .find_map(|e| match e {
            Event::ConnectResult(Err(e)) => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        err,
        ConnectError::RefusedV5 {
            reason: RC::BadUserNameOrPassword,
            reason_string: None
        }
    );
    assert!(err.to_string().contains("bad user name or password (0x86)"));
}

// ----- other server limits ------------------------------------------------------

#[test]
fn server_keep_alive_sets_the_ping_interval() {
    let mut t = T5::connected(v5(V5Config::default()), &[Property::ServerKeepAlive(8)]);
    t.take_sent();
    t.advance(Duration::from_millis(2100));
    assert!(
        t.sent.iter().any(|f| matches!(f.packet(), P5::PingReq)),
        "ping after 8 s / 4"
    );
}

#[test]
fn server_maximum_qos_and_retain_available_are_honoured() {
    let mut t = T5::connected(
        v5(V5Config::default()),
        &[Property::MaximumQoS(0), Property::RetainAvailable(0)],
    );
    let err =
        t.s.publish(t.now, "t", b"x", QoS::AtLeastOnce, false)
            .unwrap_err();
    assert!(matches!(err, RequestError::NotSupportedByServer(_)));
    let err =
        t.s.publish(t.now, "t", b"x", QoS::AtMostOnce, true)
            .unwrap_err();
    assert!(err.to_string().contains("retain"));
    assert!(t
        .s
        .publish(t.now, "t", b"x", QoS::AtMostOnce, false)
        .is_ok());
}

#[test]
fn auth_from_the_server_is_a_protocol_error_naming_what_is_missing() {
    let mut t = T5::connected(v5(V5Config::default()), &[]);
    t.send(P5::Auth(wire::Auth {
        reason: RC::ContinueAuthentication,
        properties: Properties::EMPTY,
    }));
    assert!(t.has_event(|e| matches!(
        e,
        Event::Down { reason: DownReason::ClientDisconnect { detail, .. } }
            if detail.contains("not implemented")
    )));
}

// ----- any server input -------------------------------------------------------

mod any_input {
    //! Whatever an MQTT 5 server sends (well-formed packets in any order
    //! with any ids, aliases and reason codes, or raw bytes) never panics
    //! the session, and its invariants hold: it is connected or on its way
    //! back, our Receive Maximum bounds the QoS 2 publishes it holds, and
    //! no request is lost (each one completes or is still pending).

    use super::*;
    use proptest::collection::vec as pvec;
    use proptest::prelude::*;

    /// One server packet, described by numbers only.
    #[derive(Debug, Clone)]
    enum Server {
        Publish {
            topic: u8,
            alias: Option<u16>,
            qos: u8,
            pid: u16,
        },
        Ack {
            kind: u8,
            pid: u16,
            code: u8,
        },
        SubAck {
            pid: u16,
            code: u8,
        },
        Disconnect(u8),
        Ping,
        Raw(Vec<u8>),
    }

    fn server() -> impl Strategy<Value = Server> {
        prop_oneof![
            10 => (0u8..4, proptest::option::weighted(0.3, 0u16..4), 0u8..3, 1u16..8).prop_map(
                |(topic, alias, qos, pid)| Server::Publish { topic, alias, qos, pid }
            ),
            3 => (0u8..4, 1u16..8, any::<u8>()).prop_map(|(kind, pid, code)| Server::Ack { kind, pid, code }),
            1 => (1u16..8, any::<u8>()).prop_map(|(pid, code)| Server::SubAck { pid, code }),
            1 => any::<u8>().prop_map(Server::Disconnect),
            1 => Just(Server::Ping),
            1 => pvec(any::<u8>(), 0..12).prop_map(Server::Raw),
        ]
    }

    fn code_for(t: wire::PacketType, b: u8) -> RC {
        let allowed = RC::allowed_in(t);
        RC::from_u8(allowed[b as usize % allowed.len()]).unwrap()
    }

    fn bytes(s: &Server) -> Vec<u8> {
        let mut out = Vec::new();
        let topics = ["", "a", "b/c", "d"];
        let p = match s {
            Server::Raw(b) => return b.clone(),
            Server::Ping => P5::PingResp,
            Server::Publish {
                topic,
                alias,
                qos,
                pid,
            } => {
                let props_alias = alias.map(Property::TopicAlias);
                let props: Vec<Property<'_>> = props_alias.into_iter().collect();
                let qospid = match qos {
                    0 => QosPid::AtMostOnce,
                    1 => QosPid::AtLeastOnce(Pid::new(*pid).unwrap()),
                    _ => QosPid::ExactlyOnce(Pid::new(*pid).unwrap()),
                };
                let publish = wire::Publish {
                    dup: false,
                    qospid,
                    retain: false,
                    topic: topics[*topic as usize],
                    properties: Properties::new(&props),
                    payload: b"p",
                };
                // Alias 0 or an empty topic without an alias cannot be
                // encoded: send them as raw bytes the decoder refuses.
                if P5::Publish(publish).encode_to_vec(&mut out).is_err() {
                    return vec![0x30, 0x03, 0x00, 0x00, 0x00];
                }
                return out;
            }
            Server::Ack { kind, pid, code } => {
                let pid = Pid::new(*pid).unwrap();
                match kind {
                    0 => P5::PubAck(ack(pid, code_for(wire::PacketType::PubAck, *code))),
                    1 => P5::PubRec(ack(pid, code_for(wire::PacketType::PubRec, *code))),
                    2 => P5::PubRel(ack(pid, code_for(wire::PacketType::PubRel, *code))),
                    _ => P5::PubComp(ack(pid, code_for(wire::PacketType::PubComp, *code))),
                }
            }
            Server::SubAck { pid, code } => {
                let codes = [code_for(wire::PacketType::SubAck, *code)];
                P5::SubAck(SubAck5 {
                    pid: Pid::new(*pid).unwrap(),
                    properties: Properties::EMPTY,
                    codes: List::new(&codes),
                })
                .encode_to_vec(&mut out)
                .unwrap();
                return out;
            }
            Server::Disconnect(code) => P5::Disconnect(Disconnect {
                reason: code_for(wire::PacketType::Disconnect, *code),
                properties: Properties::EMPTY,
            }),
        };
        p.encode_to_vec(&mut out).unwrap();
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn server_input_never_breaks_the_session(
            script in pvec(server(), 1..40),
            alias_max in 0u16..4,
        ) {
            let mut t = T5::connected(
                v5(V5Config {
                    receive_maximum: 3,
                    topic_alias_maximum: 2,
                    ..V5Config::default()
                }),
                &[Property::TopicAliasMaximum(alias_max), Property::ReceiveMaximum(2)],
            );
            let mut tokens = Vec::new();
            for (i, s) in script.iter().enumerate() {
                if i % 3 == 0 {
                    if let Ok(tok) = t.s.publish(t.now, "out", b"x", QoS::ExactlyOnce, false) {
                        tokens.push(tok);
                    }
                    if let Ok(tok) = t.s.subscribe(t.now, "in/#", QoS::AtLeastOnce) {
                        let _ = tok;
                    }
                }
                let b = bytes(s);
                t.s.handle_bytes(t.now, &b);
                t.pump();
                if !t.s.is_connected() {
                    // Back up: a new CONNACK on the new connection.
                    t.advance(Duration::from_millis(600));
                    if !t.s.is_connected() && t.sent.iter().any(|f| matches!(f.packet(), P5::Connect(_))) {
                        t.connack(false, RC::Success, &[Property::TopicAliasMaximum(alias_max)]);
                    }
                }
                prop_assert!(t.s.incoming_qos2.len() <= 3);
                prop_assert!(!t.s.is_closed());
                t.take_sent();
            }
            let completed = t
                .events
                .iter()
                .filter(|e| matches!(e, Event::PublishDone { .. } | Event::PublishFailed { .. }))
                .count();
            prop_assert_eq!(completed + t.s.pending_publishes(), tokens.len());
        }
    }
}
