//! Property tests: bytes from a client are outside input, so any of them,
//! random or almost-valid, must never panic the broker nor disturb another
//! client; and the broker is a function of its inputs.

use crate::support::client::{connect, Client};
use chaos_broker::core::Core;
use chaos_broker::isolation::check_isolation;
use chaos_broker::{Broker, BrokerConfig};
use proptest::prelude::*;
use resilient_mqtt::codec::{
    Connect, List, Packet, Pid, PubAck, PubComp, PubRec, PubRel, Publish, QoS, QosPid, Subscribe,
    SubscribeTopic, Unsubscribe, Will,
};
use std::time::Duration;

/// An owned description of a packet, so strategies can build them.
#[derive(Debug, Clone)]
enum P {
    Connect {
        id: String,
        clean: bool,
        ka: u16,
        will: Option<(String, u8, bool)>,
    },
    Publish {
        topic: String,
        qos: u8,
        pid: u16,
        retain: bool,
        dup: bool,
        payload: Vec<u8>,
    },
    Subscribe {
        pid: u16,
        filters: Vec<(String, u8)>,
    },
    Unsubscribe {
        pid: u16,
        filters: Vec<String>,
    },
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Ping,
    Disconnect,
}

fn encode(p: &P) -> Vec<u8> {
    let mut v = Vec::new();
    let pid = |n: u16| Pid::new(n.max(1)).expect("non-zero");
    let q = |n: u8| QoS::from_u8(n % 3).expect("0..=2");
    let r = match p {
        P::Connect {
            id,
            clean,
            ka,
            will,
        } => Packet::Connect(Connect {
            client_id: id,
            keep_alive: *ka,
            clean_session: *clean,
            will: will.as_ref().map(|(t, qq, ret)| Will {
                topic: t,
                message: b"w",
                qos: q(*qq),
                retain: *ret,
            }),
            username: None,
            password: None,
        })
        .encode_to_vec(&mut v),
        P::Publish {
            topic,
            qos,
            pid: n,
            retain,
            dup,
            payload,
        } => {
            let qospid = match qos % 3 {
                0 => QosPid::AtMostOnce,
                1 => QosPid::AtLeastOnce(pid(*n)),
                _ => QosPid::ExactlyOnce(pid(*n)),
            };
            Packet::Publish(Publish {
                dup: *dup && qospid != QosPid::AtMostOnce,
                qospid,
                retain: *retain,
                topic,
                payload,
            })
            .encode_to_vec(&mut v)
        }
        P::Subscribe { pid: n, filters } => {
            let t: Vec<SubscribeTopic> = filters
                .iter()
                .map(|(f, qq)| SubscribeTopic {
                    filter: f,
                    qos: q(*qq),
                })
                .collect();
            Packet::Subscribe(Subscribe {
                pid: pid(*n),
                topics: List::new(&t),
            })
            .encode_to_vec(&mut v)
        }
        P::Unsubscribe { pid: n, filters } => {
            let t: Vec<&str> = filters.iter().map(|s| s.as_str()).collect();
            Packet::Unsubscribe(Unsubscribe {
                pid: pid(*n),
                topics: List::new(&t),
            })
            .encode_to_vec(&mut v)
        }
        P::PubAck(n) => Packet::PubAck(PubAck(pid(*n))).encode_to_vec(&mut v),
        P::PubRec(n) => Packet::PubRec(PubRec(pid(*n))).encode_to_vec(&mut v),
        P::PubRel(n) => Packet::PubRel(PubRel(pid(*n))).encode_to_vec(&mut v),
        P::PubComp(n) => Packet::PubComp(PubComp(pid(*n))).encode_to_vec(&mut v),
        P::Ping => Packet::PingReq.encode_to_vec(&mut v),
        P::Disconnect => Packet::Disconnect.encode_to_vec(&mut v),
    };
    // Strategies only build encodable packets; an error would be a test bug.
    r.expect("encodable");
    v
}

fn topic() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("probe/x".to_string()),
        Just("a/b".to_string()),
        Just("$SYS/x".to_string()),
        "[a-c/]{1,6}".prop_filter("valid topic", |s| !s.is_empty()),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("#".to_string()),
        Just("probe/#".to_string()),
        Just("+/+".to_string()),
        Just("a/+".to_string()),
        topic(),
    ]
}

fn packet() -> impl Strategy<Value = P> {
    prop_oneof![
        (
            prop_oneof![
                Just("well-behaved".to_string()),
                Just("x".to_string()),
                Just(String::new())
            ],
            any::<bool>(),
            0u16..5,
            proptest::option::of((topic(), 0u8..3, any::<bool>()))
        )
            .prop_map(|(id, clean, ka, will)| P::Connect {
                id,
                clean,
                ka,
                will
            }),
        (
            topic(),
            0u8..3,
            1u16..5,
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..8)
        )
            .prop_map(|(topic, qos, pid, retain, dup, payload)| P::Publish {
                topic,
                qos,
                pid,
                retain,
                dup,
                payload
            }),
        (1u16..5, proptest::collection::vec((filter(), 0u8..3), 1..3))
            .prop_map(|(pid, filters)| P::Subscribe { pid, filters }),
        (1u16..5, proptest::collection::vec(filter(), 1..3))
            .prop_map(|(pid, filters)| P::Unsubscribe { pid, filters }),
        (1u16..5).prop_map(P::PubAck),
        (1u16..5).prop_map(P::PubRec),
        (1u16..5).prop_map(P::PubRel),
        (1u16..5).prop_map(P::PubComp),
        Just(P::Ping),
        Just(P::Disconnect),
    ]
}

/// A plausible session: a CONNECT first (usually), then packets, with an
/// occasional corrupted byte.
fn session_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..64,
        0u8..8,
        proptest::collection::vec(packet(), 0..12),
        proptest::option::weighted(0.3, (any::<prop::sample::Index>(), any::<u8>())),
    )
        .prop_map(|(chunk, step, packets, corrupt)| {
            let mut v = vec![chunk, step];
            v.extend(encode(&P::Connect {
                id: "fuzz".into(),
                clean: false,
                ka: 2,
                will: None,
            }));
            for p in &packets {
                v.extend(encode(p));
            }
            if let Some((i, b)) = corrupt {
                let i = 2 + i.index(v.len() - 2);
                v[i] = b;
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_disturb_another_client(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert_eq!(check_isolation(&data), Ok(()));
    }

    #[test]
    fn almost_valid_sessions_never_disturb_another_client(data in session_bytes()) {
        prop_assert_eq!(check_isolation(&data), Ok(()));
    }

    #[test]
    fn the_core_is_a_function_of_its_inputs(data in session_bytes()) {
        let run = || {
            let mut core = Core::new(BrokerConfig::default());
            let a = core.open(Duration::ZERO);
            let mut now = Duration::ZERO;
            for piece in data.chunks(7) {
                core.handle_input(a, piece, now);
                now += Duration::from_millis(900);
                core.handle_timeout(now);
                while core.poll_transmit(a, now).is_some() {}
            }
            (core.packet_log(), core.events(), core.snapshot())
        };
        prop_assert_eq!(run(), run());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The same over the async shell and real streams.
    #[test]
    fn garbage_stream_does_not_disturb_a_served_client(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        rt.block_on(async {
            let b = Broker::new(BrokerConfig::default()).unwrap();
            let (c, s) = tokio::io::duplex(4096);
            let bb = b.clone();
            tokio::spawn(async move { bb.serve_connection(s).await });
            let mut good = Client::new(c);
            good.connect(connect("good", true, 0)).await;
            good.subscribe(1, &[("g", 0)]).await;
            good.expect("SUBACK pid=1 codes=0").await;

            let (c, s) = tokio::io::duplex(4096);
            let bb = b.clone();
            let server = tokio::spawn(async move { bb.serve_connection(s).await });
            let mut bad = Client::new(c);
            bad.send_raw(&data).await;
            bad.close().await;
            server.await.expect("the connection task did not panic");

            let (c, s) = tokio::io::duplex(4096);
            let bb = b.clone();
            tokio::spawn(async move { bb.serve_connection(s).await });
            let mut p = Client::new(c);
            p.connect(connect("p", true, 0)).await;
            p.publish("g", b"ok", 0, 0, false).await;
            good.expect("PUBLISH qos=0 dup=0 retain=0 topic=g len=2").await;
        });
    }
}
