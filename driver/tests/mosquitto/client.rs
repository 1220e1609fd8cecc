//! The async client against a real mosquitto started on a free port:
//! publish/subscribe at QoS 0 and 1, retained messages, wills, persistent
//! sessions, refused credentials, and recovery from a broker crash; QoS 2
//! (P5) exactly once, on a live link and across a link outage with kept
//! sessions (mosquitto routes QoS 2 at PUBREL and resends in-flight messages
//! on resume; the driver must not deliver or publish anything twice).

use std::collections::BTreeMap;
use std::time::Duration;

use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::client::{Client, ClientBuilder, Notification, WatchLink};
use resilient_mqtt::codec::{ConnectReturnCode, QoS};
use resilient_mqtt::session::{Config, ConnectError, Message, WillConfig};
use tokio::time::timeout;

use crate::support::start;

/// The shared configuration with a 100-message queue.
fn config(broker: &Mosquitto, id: &str) -> Config {
    Config {
        queue_len: 100,
        ..crate::support::config(broker, id)
    }
}

async fn connected(config: Config) -> Client {
    let client = ClientBuilder::new(config).spawn().expect("config");
    client.connect_quick().await.expect("connect");
    client
}

async fn next(client: &Client) -> Message {
    timeout(Duration::from_secs(5), client.next_message())
        .await
        .expect("a message within 5 s")
        .expect("driver alive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_subscribe_qos0_qos1_and_retained() {
    let broker = start(Options::default());
    let sub = connected(config(&broker, "sub")).await;
    let publisher = connected(config(&broker, "pub")).await;
    assert_eq!(
        sub.subscribe("t/#", QoS::AtLeastOnce).await.unwrap(),
        QoS::AtLeastOnce
    );
    publisher
        .publish("t/0", b"zero", false, QoS::AtMostOnce)
        .await
        .unwrap();
    publisher
        .publish("t/1", b"one", false, QoS::AtLeastOnce)
        .await
        .unwrap();
    let a = next(&sub).await;
    let b = next(&sub).await;
    assert_eq!(
        (a.topic.as_str(), a.payload.as_slice(), a.qos),
        ("t/0", &b"zero"[..], QoS::AtMostOnce)
    );
    assert_eq!(
        (b.topic.as_str(), b.payload.as_slice(), b.qos),
        ("t/1", &b"one"[..], QoS::AtLeastOnce)
    );
    assert!(!a.retained && !b.retained);

    // S4: a retained message reaches a later subscriber with the flag set.
    publisher
        .publish("r/state", b"on", true, QoS::AtLeastOnce)
        .await
        .unwrap();
    let late = connected(config(&broker, "late")).await;
    late.subscribe("r/state", QoS::AtLeastOnce).await.unwrap();
    let r = next(&late).await;
    assert_eq!(r.payload, b"on");
    assert!(r.retained);
    late.unsubscribe("r/state").await.unwrap();
    late.unsubscribe("never/subscribed").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn will_on_abrupt_close_not_after_disconnect() {
    let broker = start(Options::default());
    let watcher = connected(config(&broker, "watcher")).await;
    watcher.subscribe("will/#", QoS::AtLeastOnce).await.unwrap();
    let with_will = |id: &str, topic: &str| Config {
        will: Some(WillConfig {
            topic: topic.into(),
            message: b"gone".to_vec(),
            retain: false,
            qos: QoS::AtLeastOnce,
        }),
        ..config(&broker, id)
    };
    let abrupt = connected(with_will("abrupt", "will/abrupt")).await;
    abrupt.close().await;
    let w = next(&watcher).await;
    assert_eq!(
        (w.topic.as_str(), w.payload.as_slice()),
        ("will/abrupt", &b"gone"[..])
    );

    let polite = connected(with_will("polite", "will/polite")).await;
    polite.disconnect().await;
    let none = timeout(Duration::from_secs(2), watcher.next_message()).await;
    assert!(none.is_err(), "no will after DISCONNECT, got {none:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_session_receives_what_was_sent_while_away() {
    let broker = start(Options::default());
    let link = WatchLink::new(true);
    let dut_config = Config {
        clean_init: false,
        clean: false,
        link_integrity: Duration::from_millis(200),
        ..config(&broker, "away-dut")
    };
    let mut builder = ClientBuilder::new(dut_config).link(link.clone());
    builder = builder.on_event(|_| {});
    let dut = builder.spawn().unwrap();
    dut.connect_quick().await.unwrap();
    dut.subscribe("away/t", QoS::AtLeastOnce).await.unwrap();
    let mut notes = dut.notifications();

    link.set_available(false);
    let down = timeout(Duration::from_secs(2), notes.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(down, Notification::Down { .. }), "{down:?}");
    let publisher = connected(config(&broker, "away-pub")).await;
    for i in 0..3u8 {
        publisher
            .publish("away/t", &[i], false, QoS::AtLeastOnce)
            .await
            .unwrap();
    }
    link.set_available(true);
    let up = timeout(Duration::from_secs(10), notes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        up,
        Notification::Up {
            session_present: true
        }
    );
    let got: Vec<u8> = [next(&dut).await, next(&dut).await, next(&dut).await]
        .iter()
        .map(|m| m.payload[0])
        .collect();
    assert_eq!(got, [0, 1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_not_authorised() {
    let broker = start(Options {
        users: vec![("dev".into(), "right".into())],
        ..Options::default()
    });
    let bad = Config {
        user: Some("dev".into()),
        password: Some(b"wrong".to_vec()),
        ..config(&broker, "bad")
    };
    let client = ClientBuilder::new(bad).spawn().unwrap();
    let err = client.connect_quick().await.unwrap_err();
    assert_eq!(
        err,
        resilient_mqtt::client::ClientError::Connect(ConnectError::Refused(
            ConnectReturnCode::NotAuthorized
        ))
    );
    let good = Config {
        user: Some("dev".into()),
        password: Some(b"right".to_vec()),
        ..config(&broker, "good")
    };
    connected(good).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_from_broker_kill_and_restart_without_losing_qos1() {
    let mut broker = start(Options {
        persistence: true,
        ..Options::default()
    });
    let observer_config = Config {
        clean_init: false,
        clean: false,
        ..config(&broker, "observer")
    };
    let observer = connected(observer_config).await;
    observer
        .subscribe("stream/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let dut = connected(config(&broker, "dut")).await;
    let mut notes = dut.notifications();
    for i in 0..5u8 {
        dut.publish("stream/a", &[i], false, QoS::AtLeastOnce)
            .await
            .unwrap();
    }
    // Let mosquitto autosave the observer's session (autosave_interval 1).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tokio::task::block_in_place(|| broker.kill());
    let down = timeout(Duration::from_secs(2), notes.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(down, Notification::Down { .. }),
        "B2: seen at once: {down:?}"
    );

    // A publish issued during the outage waits, then completes after it.
    let pending = {
        let dut = dut.clone();
        tokio::spawn(async move {
            dut.publish("stream/a", b"during", false, QoS::AtLeastOnce)
                .await
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !pending.is_finished(),
        "a QoS 1 publish cannot complete while the broker is down"
    );
    tokio::task::block_in_place(|| broker.restart()).unwrap();
    timeout(Duration::from_secs(15), pending)
        .await
        .expect("completes after the outage")
        .unwrap()
        .unwrap();
    assert!(dut.is_connected());

    let mut seen = Vec::new();
    while let Ok(Some(m)) = timeout(Duration::from_secs(5), observer.next_message()).await {
        seen.push(m.payload.clone());
        if m.payload == b"during" {
            break;
        }
    }
    assert!(
        seen.iter().any(|p| p == b"during"),
        "delivered at least once: {seen:?}"
    );
    assert!(dut.stats().connections >= 2);
}

/// P1, P2: QoS 0 publishes made while connected return once queued to the
/// driver (they do not wait for it); a burst of them still reaches the
/// broker complete and in order, ahead of a QoS 1 publish made after them,
/// and a bad topic is still refused to the caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos0_burst_arrives_complete_and_in_order_before_a_later_qos1() {
    const N: usize = 500;
    let broker = start(Options::default());
    let sub = connected(Config {
        queue_len: 1000,
        ..config(&broker, "burst-sub")
    })
    .await;
    sub.subscribe("burst/#", QoS::AtMostOnce).await.unwrap();
    let publisher = connected(config(&broker, "burst-pub")).await;
    for i in 0..N {
        publisher
            .publish("burst/0", format!("{i}").as_bytes(), false, QoS::AtMostOnce)
            .await
            .unwrap();
    }
    publisher
        .publish("burst/1", b"end", false, QoS::AtLeastOnce)
        .await
        .unwrap();
    for i in 0..N {
        let m = next(&sub).await;
        assert_eq!(
            (m.topic.as_str(), m.payload.as_slice()),
            ("burst/0", format!("{i}").as_bytes()),
            "QoS 0 message {i} out of order or lost"
        );
    }
    assert_eq!(next(&sub).await.payload, b"end");
    let err = publisher
        .publish("bad/#", b"x", false, QoS::AtMostOnce)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("topic"), "{err}");
}

// ----- QoS 2 (P5) -------------------------------------------------------

/// Collects messages until `want` distinct payloads arrived, then listens
/// one more second for duplicates. Returns payload -> copies.
async fn collect(client: &Client, want: usize) -> BTreeMap<Vec<u8>, Vec<Message>> {
    let mut got: BTreeMap<Vec<u8>, Vec<Message>> = BTreeMap::new();
    while got.len() < want {
        let m = timeout(Duration::from_secs(10), client.next_message())
            .await
            .unwrap_or_else(|_| panic!("only {} of {want} messages arrived", got.len()))
            .expect("driver alive");
        got.entry(m.payload.clone()).or_default().push(m);
    }
    while let Ok(Some(m)) = timeout(Duration::from_secs(1), client.next_message()).await {
        got.entry(m.payload.clone()).or_default().push(m);
    }
    got
}

fn assert_exactly_once(got: &BTreeMap<Vec<u8>, Vec<Message>>, want: usize) {
    assert_eq!(got.len(), want, "distinct messages");
    for (payload, copies) in got {
        assert_eq!(
            copies.len(),
            1,
            "{:?} delivered {} times",
            String::from_utf8_lossy(payload),
            copies.len()
        );
        assert_eq!(copies[0].qos, QoS::ExactlyOnce);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos2_publish_and_subscribe_exactly_once() {
    let broker = start(Options::default());
    let sub = connected(Config {
        queue_len: 1000,
        ..config(&broker, "q2-sub")
    })
    .await;
    assert_eq!(
        sub.subscribe("q2/#", QoS::ExactlyOnce).await.unwrap(),
        QoS::ExactlyOnce
    );
    // mosquitto 2.0.11 (default max_inflight_messages 20) answers PUBREC and
    // PUBCOMP to a 3.1.1 client's QoS 2 PUBLISHes beyond 20 unreleased ones
    // but never routes them: with 32 in flight, 68 of these 100 arrived
    // (measured). The driver cannot detect that; keep QoS 2 bursts within
    // the broker's limit (MQTT 5's receive maximum announces it).
    let publisher = connected(Config {
        max_inflight: 20,
        ..config(&broker, "q2-pub")
    })
    .await;
    // Concurrent publishes: several QoS 2 flows in flight at once (P4).
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let p = publisher.clone();
        tasks.push(tokio::spawn(async move {
            p.publish("q2/t", format!("m{i}").as_bytes(), false, QoS::ExactlyOnce)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("completed after PUBCOMP");
    }
    let got = collect(&sub, 100).await;
    assert_exactly_once(&got, 100);
    assert_eq!(publisher.stats().resends, 0);
    assert_eq!(publisher.stats().stray_acks, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos2_exactly_once_across_an_outage_with_kept_sessions() {
    let broker = start(Options::default());
    let link = WatchLink::new(true);
    let dut_config = Config {
        clean_init: false,
        clean: false,
        link_integrity: Duration::from_millis(200),
        queue_len: 1000,
        ..config(&broker, "q2-dut")
    };
    let dut = ClientBuilder::new(dut_config)
        .link(link.clone())
        .spawn()
        .unwrap();
    dut.connect_quick().await.unwrap();
    dut.subscribe("q2in/#", QoS::ExactlyOnce).await.unwrap();
    let observer = connected(Config {
        clean_init: false,
        clean: false,
        queue_len: 1000,
        ..config(&broker, "q2-observer")
    })
    .await;
    observer
        .subscribe("q2out/#", QoS::ExactlyOnce)
        .await
        .unwrap();
    let mut notes = dut.notifications();

    link.set_available(false);
    let down = timeout(Duration::from_secs(2), notes.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(down, Notification::Down { .. }), "{down:?}");
    // Towards the DUT while it is away: queued by mosquitto.
    for i in 0..20u32 {
        observer
            .publish(
                "q2in/t",
                format!("in{i}").as_bytes(),
                false,
                QoS::ExactlyOnce,
            )
            .await
            .unwrap();
    }
    // From the DUT while it is away: they wait for the link (P1).
    let pending: Vec<_> = (0..20u32)
        .map(|i| {
            let dut = dut.clone();
            tokio::spawn(async move {
                dut.publish(
                    "q2out/t",
                    format!("out{i}").as_bytes(),
                    false,
                    QoS::ExactlyOnce,
                )
                .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(pending.iter().all(|p| !p.is_finished()));
    link.set_available(true);
    let up = timeout(Duration::from_secs(10), notes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        up,
        Notification::Up {
            session_present: true
        }
    );
    for p in pending {
        timeout(Duration::from_secs(10), p)
            .await
            .expect("completes after the outage")
            .unwrap()
            .unwrap();
    }
    assert_exactly_once(&collect(&dut, 20).await, 20);
    assert_exactly_once(&collect(&observer, 20).await, 20);
}
