//! The broker's behaviour, one test per rule, over in-memory duplex streams
//! with tokio's paused clock (keepalive and delays in virtual time).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::client::{connect, will, Client, Event};
use chaos_broker::fault::{DropKind, DropPackets, Fault, FaultTarget};
use chaos_broker::{Broker, BrokerConfig, BrokerEvent, Direction, DisconnectReason, LogRecord};
use resilient_mqtt::codec::Packet;
use tokio::io::DuplexStream;

fn broker() -> Broker {
    Broker::new(BrokerConfig::default()).expect("valid config")
}

fn attach(b: &Broker) -> Client<DuplexStream> {
    let (client, server) = tokio::io::duplex(1 << 16);
    let b = b.clone();
    tokio::spawn(async move { b.serve_connection(server).await });
    Client::new(client)
}

/// A connected client (clean unless said otherwise).
async fn online(b: &Broker, id: &str, clean: bool) -> Client<DuplexStream> {
    let mut c = attach(b);
    let ack = c.connect(connect(id, clean, 60)).await;
    assert!(ack.starts_with("CONNACK") && ack.ends_with("rc=0"), "{ack}");
    c
}

async fn subscriber(b: &Broker, id: &str, filter: &str, q: u8) -> Client<DuplexStream> {
    let mut c = online(b, id, true).await;
    c.subscribe(1, &[(filter, q)]).await;
    c.expect(&format!("SUBACK pid=1 codes={q}")).await;
    c
}

const QUIET: Duration = Duration::from_millis(300);

// ----- connect --------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn session_present_only_for_a_resumed_persistent_session() {
    let b = broker();
    let mut c = attach(&b);
    assert_eq!(
        c.connect(connect("dev", false, 60)).await,
        "CONNACK sp=0 rc=0"
    );
    c.disconnect().await;
    c.expect_closed().await;
    let mut c = attach(&b);
    assert_eq!(
        c.connect(connect("dev", false, 60)).await,
        "CONNACK sp=1 rc=0"
    );
    c.disconnect().await;
    c.expect_closed().await;
    // A clean connect discards it; the next persistent one starts afresh.
    let mut c = attach(&b);
    assert_eq!(
        c.connect(connect("dev", true, 60)).await,
        "CONNACK sp=0 rc=0"
    );
    c.disconnect().await;
    c.expect_closed().await;
    let mut c = attach(&b);
    assert_eq!(
        c.connect(connect("dev", false, 60)).await,
        "CONNACK sp=0 rc=0"
    );
}

#[tokio::test(start_paused = true)]
async fn empty_client_id_needs_a_clean_session() {
    let b = broker();
    let mut c = attach(&b);
    assert_eq!(c.connect(connect("", false, 60)).await, "CONNACK sp=0 rc=2");
    c.expect_closed().await;
    let mut c = attach(&b);
    assert_eq!(c.connect(connect("", true, 60)).await, "CONNACK sp=0 rc=0");
    let ids: Vec<String> = b.sessions().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 1);
    assert!(ids[0].starts_with("auto-"), "{ids:?}");
}

#[tokio::test(start_paused = true)]
async fn first_packet_must_be_connect() {
    let b = broker();
    let mut c = attach(&b);
    c.ping().await;
    c.expect_closed().await;
}

#[tokio::test(start_paused = true)]
async fn second_connect_closes_without_will_other_protocol_errors_publish_it() {
    let b = broker();
    let mut watcher = subscriber(&b, "w", "will/#", 0).await;
    let mut c = attach(&b);
    let mut con = connect("dev", true, 60);
    con.will = Some(will("will/dev", b"gone", 0, false));
    assert_eq!(c.connect(con).await, "CONNACK sp=0 rc=0");
    c.send(Packet::Connect(connect("dev", true, 60))).await;
    c.expect_closed().await;
    // As mosquitto 2.0 does (see the differential test).
    watcher.expect_silence(QUIET).await;
    let mut c = attach(&b);
    c.connect(con).await;
    c.send_raw(&[0x30, 0x03, 0x00, 0x09, b'a']).await;
    c.expect_closed().await;
    watcher
        .expect("PUBLISH qos=0 dup=0 retain=0 topic=will/dev len=4")
        .await;
}

#[tokio::test(start_paused = true)]
async fn reserved_flag_bits_close_the_connection() {
    let b = broker();
    let mut c = online(&b, "dev", true).await;
    // SUBSCRIBE must carry flags 0b0010; 0b0000 is a protocol error.
    c.send_raw(&[0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00])
        .await;
    c.expect_closed().await;
    // PINGREQ with a flag bit set.
    let mut c = online(&b, "dev2", true).await;
    c.send_raw(&[0xC1, 0x00]).await;
    c.expect_closed().await;
}

#[tokio::test(start_paused = true)]
async fn malformed_lengths_close_the_connection() {
    let b = broker();
    let mut c = online(&b, "dev", true).await;
    // A fifth remaining-length byte.
    c.send_raw(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]).await;
    c.expect_closed().await;
    // A topic length running past the packet.
    let mut c = online(&b, "dev2", true).await;
    c.send_raw(&[0x30, 0x03, 0x00, 0x09, b'a']).await;
    c.expect_closed().await;
    // A packet over the configured maximum size is refused from its header
    // (by default any size MQTT can frame is accepted, as by mosquitto).
    let b = Broker::new(BrokerConfig {
        max_packet_size: 1024 * 1024,
        ..BrokerConfig::default()
    })
    .unwrap();
    let mut c = online(&b, "dev3", true).await;
    c.send_raw(&[0x30, 0xff, 0xff, 0xff, 0x7f]).await;
    c.expect_closed().await;
}

#[tokio::test(start_paused = true)]
async fn other_protocol_levels_get_return_code_1_but_mqtt31_is_served() {
    let b = broker();
    let mut c = attach(&b);
    // CONNECT "MQTT" level 6 (level 5 is MQTT 5, spoken since issue 11).
    c.send_raw(&[
        0x10, 0x0d, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x06, 0x02, 0x00, 0x3c, 0x00, 0x01, b'x',
    ])
    .await;
    c.expect("CONNACK sp=0 rc=1").await;
    c.expect_closed().await;
    // CONNECT "MQIsdp" level 3 (MQTT 3.1): served, as mosquitto does.
    let mut c = attach(&b);
    c.send_raw(&[
        0x10, 0x0f, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03, 0x02, 0x00, 0x3c, 0x00,
        0x01, b'x',
    ])
    .await;
    c.expect("CONNACK sp=0 rc=0").await;
    c.ping().await;
    c.expect("PINGRESP").await;
    // CONNECT "MQIsdp" level 4: the 3.1 name is only for level 3.
    let mut c = attach(&b);
    c.send_raw(&[
        0x10, 0x0f, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x04, 0x02, 0x00, 0x3c, 0x00,
        0x01, b'x',
    ])
    .await;
    c.expect("CONNACK sp=0 rc=1").await;
    c.expect_closed().await;
}

#[tokio::test(start_paused = true)]
async fn authentication_table() {
    let mut users = BTreeMap::new();
    users.insert("alice".to_string(), b"correct horse".to_vec());
    let b = Broker::new(BrokerConfig {
        users: Some(users),
        ..BrokerConfig::default()
    })
    .unwrap();
    let mut c = attach(&b);
    assert_eq!(c.connect(connect("a", true, 60)).await, "CONNACK sp=0 rc=5");
    c.expect_closed().await;
    let mut c = attach(&b);
    let mut con = connect("a", true, 60);
    con.username = Some("alice");
    con.password = Some(b"wrong");
    assert_eq!(c.connect(con).await, "CONNACK sp=0 rc=5");
    c.expect_closed().await;
    let mut c = attach(&b);
    con.password = Some(b"correct horse");
    assert_eq!(c.connect(con).await, "CONNACK sp=0 rc=0");
    let log = format!("{:?}{:?}", b.packet_log(), b.events());
    assert!(log.contains("user=alice password=<redacted>"), "{log}");
    assert!(!log.contains("correct horse") && !log.contains("wrong"));
}

// ----- delivery -------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn qos_is_downgraded_to_the_subscription_and_retain_cleared_live() {
    let b = broker();
    let mut s0 = subscriber(&b, "s0", "t/#", 0).await;
    let mut s1 = subscriber(&b, "s1", "t/+", 1).await;
    let mut p = online(&b, "p", true).await;
    p.publish("t/a", b"hello", 2, 7, true).await;
    p.expect("PUBREC pid=7").await;
    p.pubrel(7).await;
    p.expect("PUBCOMP pid=7").await;
    let g = s0.recv_got().await;
    assert_eq!(g.summary, "PUBLISH qos=0 dup=0 retain=0 topic=t/a len=5");
    assert_eq!(g.payload, b"hello");
    s1.expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=t/a len=5")
        .await;
    s1.puback(1).await;
    p.publish("t/a/b", b"x", 1, 8, false).await;
    p.expect("PUBACK pid=8").await;
    s0.expect("PUBLISH qos=0 dup=0 retain=0 topic=t/a/b len=1")
        .await;
    s1.expect_silence(QUIET).await;
}

#[tokio::test(start_paused = true)]
async fn overlapping_subscriptions_deliver_once_for_the_first_found() {
    let b = broker();
    let mut s = online(&b, "s", true).await;
    s.subscribe(1, &[("a/#", 0), ("a/b", 1)]).await;
    s.expect("SUBACK pid=1 codes=0,1").await;
    let mut p = online(&b, "p", true).await;
    p.publish("a/b", b"x", 1, 1, false).await;
    p.expect("PUBACK pid=1").await;
    s.expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=a/b len=1")
        .await;
    s.expect_silence(QUIET).await;
}

#[tokio::test(start_paused = true)]
async fn dollar_topics_are_not_matched_by_first_level_wildcards() {
    let b = broker();
    let mut all = subscriber(&b, "all", "#", 0).await;
    let mut dollar = subscriber(&b, "dollar", "$app/+", 0).await;
    let mut p = online(&b, "p", true).await;
    p.publish("$app/x", b"1", 0, 0, false).await;
    dollar
        .expect("PUBLISH qos=0 dup=0 retain=0 topic=$app/x len=1")
        .await;
    all.expect_silence(QUIET).await;
    // $SYS is the broker's: client publishes there are not routed.
    let mut sys = subscriber(&b, "sys", "$SYS/#", 0).await;
    p.publish("$SYS/fake", b"1", 0, 0, false).await;
    sys.expect_silence(QUIET).await;
}

#[tokio::test(start_paused = true)]
async fn retained_set_replace_clear() {
    let b = broker();
    let mut p = online(&b, "p", true).await;
    p.publish("r/1", b"first", 1, 1, true).await;
    p.expect("PUBACK pid=1").await;
    p.publish("r/1", b"second!", 1, 2, true).await;
    p.expect("PUBACK pid=2").await;
    p.publish("r/2", b"other", 0, 0, true).await;
    let mut s = online(&b, "s", true).await;
    s.subscribe(1, &[("r/#", 1)]).await;
    s.expect("SUBACK pid=1 codes=1").await;
    let g = s.recv_got().await;
    assert_eq!(
        g.summary,
        "PUBLISH pid=1 qos=1 dup=0 retain=1 topic=r/1 len=7"
    );
    assert_eq!(g.payload, b"second!");
    s.expect("PUBLISH qos=0 dup=0 retain=1 topic=r/2 len=5")
        .await;
    s.puback(1).await;
    // An empty retained payload clears it (and is delivered live, once).
    p.publish("r/1", b"", 0, 0, true).await;
    s.expect("PUBLISH qos=0 dup=0 retain=0 topic=r/1 len=0")
        .await;
    let mut s2 = online(&b, "s2", true).await;
    s2.subscribe(1, &[("r/#", 1)]).await;
    s2.expect("SUBACK pid=1 codes=1").await;
    s2.expect("PUBLISH qos=0 dup=0 retain=1 topic=r/2 len=5")
        .await;
    s2.expect_silence(QUIET).await;
    assert_eq!(b.snapshot().retained.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn unsubscribe_stops_delivery() {
    let b = broker();
    let mut s = subscriber(&b, "s", "u/#", 0).await;
    s.unsubscribe(2, &["u/#"]).await;
    s.expect("UNSUBACK pid=2").await;
    let mut p = online(&b, "p", true).await;
    p.publish("u/x", b"1", 0, 0, false).await;
    s.expect_silence(QUIET).await;
    // Unsubscribing a filter never subscribed is still acknowledged.
    s.unsubscribe(3, &["nope"]).await;
    s.expect("UNSUBACK pid=3").await;
}

#[tokio::test(start_paused = true)]
async fn qos2_outbound_flow() {
    let b = broker();
    let mut s = subscriber(&b, "s", "q2", 2).await;
    let mut p = online(&b, "p", true).await;
    p.publish("q2", b"x", 2, 1, false).await;
    p.expect("PUBREC pid=1").await;
    // A resend before PUBREL is stored once.
    p.publish_dup("q2", b"x", 2, 1, false, true).await;
    p.expect("PUBREC pid=1").await;
    s.expect_silence(QUIET).await; // routed at PUBREL, as mosquitto does
    p.pubrel(1).await;
    p.expect("PUBCOMP pid=1").await;
    s.expect("PUBLISH pid=1 qos=2 dup=0 retain=0 topic=q2 len=1")
        .await;
    s.pubrec(1).await;
    s.expect("PUBREL pid=1").await;
    s.pubcomp(1).await;
    s.expect_silence(QUIET).await;
    // PUBREL for an unknown id is still completed.
    p.pubrel(9).await;
    p.expect("PUBCOMP pid=9").await;
}

// ----- sessions ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn offline_persistent_session_gets_its_backlog() {
    let b = broker();
    let mut s = online(&b, "s", false).await;
    s.subscribe(1, &[("b/#", 2)]).await;
    s.expect("SUBACK pid=1 codes=2").await;
    s.disconnect().await;
    s.expect_closed().await;
    let mut p = online(&b, "p", true).await;
    p.publish("b/1", b"one", 1, 1, false).await;
    p.expect("PUBACK pid=1").await;
    p.publish("b/0", b"zero", 0, 0, false).await; // qos 0 is not queued
    p.publish("b/2", b"two", 2, 2, false).await;
    p.expect("PUBREC pid=2").await;
    p.pubrel(2).await;
    p.expect("PUBCOMP pid=2").await;
    let mut s = attach(&b);
    assert_eq!(
        s.connect(connect("s", false, 60)).await,
        "CONNACK sp=1 rc=0"
    );
    s.expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=b/1 len=3")
        .await;
    s.expect("PUBLISH pid=2 qos=2 dup=0 retain=0 topic=b/2 len=3")
        .await;
    s.expect_silence(QUIET).await;
}

#[tokio::test(start_paused = true)]
async fn inflight_messages_are_resent_with_dup_on_resume() {
    let b = broker();
    let mut s = online(&b, "s", false).await;
    s.subscribe(1, &[("d", 2)]).await;
    s.expect("SUBACK pid=1 codes=2").await;
    let mut p = online(&b, "p", true).await;
    p.publish("d", b"1", 1, 1, false).await;
    p.expect("PUBACK pid=1").await;
    p.publish("d", b"2", 2, 2, false).await;
    p.expect("PUBREC pid=2").await;
    p.pubrel(2).await;
    p.expect("PUBCOMP pid=2").await;
    s.expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=d len=1")
        .await;
    s.expect("PUBLISH pid=2 qos=2 dup=0 retain=0 topic=d len=1")
        .await;
    s.pubrec(2).await;
    s.expect("PUBREL pid=2").await;
    drop(s); // vanish without acknowledging
    tokio::time::sleep(QUIET).await;
    let mut s = attach(&b);
    assert_eq!(
        s.connect(connect("s", false, 60)).await,
        "CONNACK sp=1 rc=0"
    );
    s.expect("PUBLISH pid=1 qos=1 dup=1 retain=0 topic=d len=1")
        .await;
    s.expect("PUBREL pid=2").await;
    s.puback(1).await;
    s.pubcomp(2).await;
    s.expect_silence(QUIET).await;
    // Packet ids go on from where the session was.
    p.publish("d", b"3", 1, 3, false).await;
    p.expect("PUBACK pid=3").await;
    s.expect("PUBLISH pid=3 qos=1 dup=0 retain=0 topic=d len=1")
        .await;
}

#[tokio::test(start_paused = true)]
async fn queue_is_bounded_and_drops_are_counted() {
    let b = Broker::new(BrokerConfig {
        max_queued: 2,
        max_inflight: 1,
        ..BrokerConfig::default()
    })
    .unwrap();
    let mut s = online(&b, "s", false).await;
    s.subscribe(1, &[("q", 1)]).await;
    s.expect("SUBACK pid=1 codes=1").await;
    s.disconnect().await;
    s.expect_closed().await;
    let mut p = online(&b, "p", true).await;
    for i in 1..=4u16 {
        p.publish("q", &[i as u8], 1, i, false).await;
        p.expect(&format!("PUBACK pid={i}")).await;
    }
    assert_eq!(b.snapshot().sessions["s"].dropped, 2);
    assert_eq!(b.stats().messages_dropped, 2);
    let drops = b
        .events()
        .into_iter()
        .filter(|e| matches!(e.event, BrokerEvent::MessageDropped { .. }))
        .count();
    assert_eq!(drops, 2);
    let mut s = attach(&b);
    assert_eq!(
        s.connect(connect("s", false, 60)).await,
        "CONNACK sp=1 rc=0"
    );
    // One in flight at a time: the second waits for the first's PUBACK.
    s.expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=q len=1")
        .await;
    s.expect_silence(QUIET).await;
    s.puback(1).await;
    s.expect("PUBLISH pid=2 qos=1 dup=0 retain=0 topic=q len=1")
        .await;
}

#[tokio::test(start_paused = true)]
async fn takeover_closes_the_old_connection() {
    let b = broker();
    let mut watcher = subscriber(&b, "w", "will/#", 0).await;
    let mut old = attach(&b);
    let mut con = connect("dev", false, 60);
    con.will = Some(will("will/dev", b"x", 0, false));
    assert_eq!(old.connect(con).await, "CONNACK sp=0 rc=0");
    let mut new = attach(&b);
    assert_eq!(
        new.connect(connect("dev", false, 60)).await,
        "CONNACK sp=1 rc=0"
    );
    old.expect_closed().await;
    // Persistent to persistent: mosquitto does not publish the old will.
    watcher.expect_silence(QUIET).await;
    // A clean takeover does.
    let mut old2 = attach(&b);
    let mut con = connect("dev2", true, 60);
    con.will = Some(will("will/dev2", b"x", 0, false));
    old2.connect(con).await;
    let mut new2 = attach(&b);
    assert_eq!(
        new2.connect(connect("dev2", true, 60)).await,
        "CONNACK sp=0 rc=0"
    );
    old2.expect_closed().await;
    watcher
        .expect("PUBLISH qos=0 dup=0 retain=0 topic=will/dev2 len=1")
        .await;
    assert!(b.events().iter().any(|e| e.event
        == BrokerEvent::SessionTakenOver {
            client_id: "dev".into()
        }));
}

// ----- wills and keepalive ---------------------------------------------------

#[tokio::test(start_paused = true)]
async fn will_on_abrupt_close_not_after_disconnect() {
    let b = broker();
    let mut watcher = subscriber(&b, "w", "will/#", 1).await;
    let mut c = attach(&b);
    let mut con = connect("a", true, 60);
    con.will = Some(will("will/a", b"bye", 1, true));
    c.connect(con).await;
    c.close().await;
    watcher
        .expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=will/a len=3")
        .await;
    watcher.puback(1).await;
    assert!(
        b.snapshot().retained.contains_key("will/a"),
        "will retain flag honoured"
    );
    let mut c = attach(&b);
    let mut con = connect("b", true, 60);
    con.will = Some(will("will/b", b"bye", 0, false));
    c.connect(con).await;
    c.disconnect().await;
    c.expect_closed().await;
    watcher.expect_silence(QUIET).await;
}

#[tokio::test(start_paused = true)]
async fn keepalive_expires_at_one_and_a_half_times() {
    let b = broker();
    let mut watcher = subscriber(&b, "w", "will/#", 0).await;
    let mut c = attach(&b);
    let mut con = connect("k", true, 10);
    con.will = Some(will("will/k", b"x", 0, false));
    c.connect(con).await;
    let start = tokio::time::Instant::now();
    // Pings keep it alive.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(9)).await;
        c.ping().await;
        c.expect("PINGRESP").await;
    }
    let silent_from = tokio::time::Instant::now();
    assert_eq!(c.next_within(Duration::from_secs(60)).await, Event::Closed);
    let silent = silent_from.elapsed();
    assert!(start.elapsed() >= Duration::from_secs(27));
    assert_eq!(
        silent,
        Duration::from_secs(15),
        "closed after 1.5 x keepalive of silence"
    );
    watcher
        .expect("PUBLISH qos=0 dup=0 retain=0 topic=will/k len=1")
        .await;
    assert!(b.events().iter().any(|e| matches!(
        &e.event,
        BrokerEvent::ClientDisconnected {
            reason: DisconnectReason::KeepaliveTimeout,
            ..
        }
    )));
}

#[tokio::test(start_paused = true)]
async fn keepalive_zero_never_expires() {
    let b = broker();
    let mut c = attach(&b);
    c.connect(connect("k0", true, 0)).await;
    c.expect_silence(Duration::from_secs(3600)).await;
    c.ping().await;
    c.expect("PINGRESP").await;
}

// ----- persistence ----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn snapshot_survives_a_restart() {
    let b = broker();
    let mut s = online(&b, "s", false).await;
    s.subscribe(1, &[("p/#", 1)]).await;
    s.expect("SUBACK pid=1 codes=1").await;
    s.disconnect().await;
    s.expect_closed().await;
    let mut p = online(&b, "p", true).await;
    p.publish("p/kept", b"queued", 1, 1, false).await;
    p.expect("PUBACK pid=1").await;
    p.publish("p/ret", b"retained", 0, 0, true).await;
    p.disconnect().await;
    p.expect_closed().await;
    let state = b.snapshot();
    let json = serde_json::to_string(&state).unwrap();
    drop(b);

    let b2 = Broker::from_snapshot(serde_json::from_str(&json).unwrap());
    let mut s = attach(&b2);
    assert_eq!(
        s.connect(connect("s", false, 60)).await,
        "CONNACK sp=1 rc=0"
    );
    s.expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=p/kept len=6")
        .await;
    s.puback(1).await;
    // The subscription survived too.
    let mut p = online(&b2, "p", true).await;
    p.publish("p/new", b"n", 0, 0, false).await;
    s.expect("PUBLISH qos=0 dup=0 retain=0 topic=p/new len=1")
        .await;
    let mut s3 = subscriber(&b2, "s3", "p/ret", 0).await;
    s3.expect("PUBLISH qos=0 dup=0 retain=1 topic=p/ret len=8")
        .await;
}

// ----- faults -----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn fault_refuse_for_one_client() {
    let b = broker();
    b.set_fault(
        FaultTarget::Client("dev1".into()),
        Fault::parse(&["refuse", "3"]).unwrap(),
    );
    let mut c = attach(&b);
    assert_eq!(
        c.connect(connect("dev1", true, 60)).await,
        "CONNACK sp=0 rc=3"
    );
    c.expect_closed().await;
    online(&b, "dev2", true).await;
    b.clear_faults();
    online(&b, "dev1", true).await;
}

#[tokio::test(start_paused = true)]
async fn fault_delay_connack() {
    let b = broker();
    b.set_fault(
        FaultTarget::All,
        Fault::parse(&["delay-connack", "2500ms"]).unwrap(),
    );
    let mut c = attach(&b);
    let start = tokio::time::Instant::now();
    c.send(Packet::Connect(connect("d", true, 60))).await;
    c.ping().await; // waits behind the CONNECT
    c.expect("CONNACK sp=0 rc=0").await;
    assert_eq!(start.elapsed(), Duration::from_millis(2500));
    c.expect("PINGRESP").await;
}

#[tokio::test(start_paused = true)]
async fn fault_drop_pubacks_pingresps_subacks() {
    let b = broker();
    let mut c = online(&b, "d", true).await;
    b.set_fault(
        FaultTarget::Client("d".into()),
        Fault::DropPackets(DropPackets {
            kind: DropKind::PubAck,
            count: Some(2),
        }),
    );
    b.set_fault(
        FaultTarget::All,
        Fault::parse(&["drop", "pingresp", "1"]).unwrap(),
    );
    b.set_fault(
        FaultTarget::All,
        Fault::parse(&["drop", "suback", "1"]).unwrap(),
    );
    let mut s = online(&b, "s", true).await;
    s.subscribe(1, &[("x", 1)]).await;
    s.expect_silence(QUIET).await;
    s.subscribe(2, &[("x", 1)]).await;
    s.expect("SUBACK pid=2 codes=1").await;
    for i in 1..=3 {
        c.publish("x", b"m", 1, i, false).await;
    }
    c.expect("PUBACK pid=3").await; // the first two were swallowed
                                    // ... but all three messages were routed.
    for i in 1..=3 {
        s.expect(&format!(
            "PUBLISH pid={i} qos=1 dup=0 retain=0 topic=x len=1"
        ))
        .await;
    }
    c.ping().await;
    c.expect_silence(QUIET).await;
    c.ping().await;
    c.expect("PINGRESP").await;
    assert!(
        b.faults().is_empty(),
        "counted faults retire: {:?}",
        b.faults()
    );
}

#[tokio::test(start_paused = true)]
async fn fault_hang_keeps_the_socket_open_and_resumes() {
    let b = broker();
    let mut c = online(&b, "d", true).await;
    b.set_fault(
        FaultTarget::Client("d".into()),
        Fault::parse(&["hang"]).unwrap(),
    );
    c.ping().await;
    // Long past keepalive: no answer, no close.
    c.expect_silence(Duration::from_secs(300)).await;
    // Others are served.
    let mut other = online(&b, "other", true).await;
    other.ping().await;
    other.expect("PINGRESP").await;
    b.clear_faults();
    c.expect("PINGRESP").await;
    // A new connection of a hung client id gets no CONNACK either.
    b.set_fault(
        FaultTarget::Client("d".into()),
        Fault::parse(&["hang"]).unwrap(),
    );
    let mut again = attach(&b);
    again.send(Packet::Connect(connect("d", true, 60))).await;
    again.expect_silence(QUIET).await;
    b.clear_faults();
    again.expect("CONNACK sp=0 rc=0").await;
    c.expect_closed().await; // taken over by `again`
}

#[tokio::test(start_paused = true)]
async fn fault_close_after_bytes_cuts_mid_packet() {
    let b = broker();
    let mut s = subscriber(&b, "s", "c", 0).await; // 4 + 5 bytes sent so far
    b.set_fault(
        FaultTarget::Client("s".into()),
        Fault::parse(&["close-after", "12"]).unwrap(),
    );
    let mut p = online(&b, "p", true).await;
    p.publish("c", b"payload", 0, 0, false).await;
    // 3 bytes of the 12-byte PUBLISH, then the close.
    match s.next_within(Duration::from_secs(1)).await {
        Event::Closed => {}
        other => panic!("expected a cut connection, got {other:?}"),
    }
    let cut = b
        .events()
        .into_iter()
        .find_map(|e| match e.event {
            BrokerEvent::FaultInjected { action, .. } if action.contains("cut") => Some(action),
            _ => None,
        })
        .expect("cut reported");
    assert_eq!(
        cut,
        "cut PUBLISH qos=0 dup=0 retain=0 topic=c len=7 after 3 of 12 bytes; closed"
    );
}

#[tokio::test(start_paused = true)]
async fn fault_duplicate_delivers_twice() {
    let b = broker();
    let mut s = subscriber(&b, "s", "dup", 1).await;
    b.set_fault(FaultTarget::All, Fault::parse(&["duplicate", "1"]).unwrap());
    let mut p = online(&b, "p", true).await;
    p.publish("dup", b"m", 1, 1, false).await;
    s.expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=dup len=1")
        .await;
    s.expect("PUBLISH pid=1 qos=1 dup=1 retain=0 topic=dup len=1")
        .await;
    p.publish("dup", b"m", 1, 2, false).await;
    s.expect("PUBLISH pid=2 qos=1 dup=0 retain=0 topic=dup len=1")
        .await;
    s.expect_silence(QUIET).await;
}

#[tokio::test(start_paused = true)]
async fn fault_forget_sessions() {
    let b = broker();
    let mut s = online(&b, "s", false).await;
    s.subscribe(1, &[("f", 1)]).await;
    s.expect("SUBACK pid=1 codes=1").await;
    let mut off = online(&b, "off", false).await;
    off.disconnect().await;
    off.expect_closed().await;
    b.set_fault(
        FaultTarget::All,
        Fault::parse(&["forget-sessions"]).unwrap(),
    );
    s.expect_closed().await;
    assert!(b.sessions().is_empty());
    let mut s = attach(&b);
    assert_eq!(
        s.connect(connect("s", false, 60)).await,
        "CONNACK sp=0 rc=0"
    );
    let mut p = online(&b, "p", true).await;
    p.publish("f", b"m", 1, 1, false).await;
    p.expect("PUBACK pid=1").await;
    s.expect_silence(QUIET).await; // the subscription is gone
    assert!(b.faults().is_empty(), "forget-sessions acts once");
}

// ----- observability, isolation, determinism --------------------------------

#[tokio::test(start_paused = true)]
async fn packet_log_events_and_tap() {
    let b = broker();
    let mut tap = b.tap();
    let mut c = online(&b, "obs", true).await;
    c.publish("o", b"1234", 1, 3, false).await;
    c.expect("PUBACK pid=3").await;
    let log = b.packet_log();
    let lines: Vec<String> = log
        .iter()
        .map(|e| format!("{:?} {:?} {}", e.direction, e.client_id, e.summary))
        .collect();
    assert_eq!(
        lines,
        [
            "In Some(\"obs\") CONNECT client_id=obs clean=1 keepalive=60",
            "Out Some(\"obs\") CONNACK sp=0 rc=0",
            "In Some(\"obs\") PUBLISH pid=3 qos=1 dup=0 retain=0 topic=o len=4",
            "Out Some(\"obs\") PUBACK pid=3",
        ]
    );
    let mut from_tap = Vec::new();
    while let Ok(r) = tap.try_recv() {
        from_tap.push(r);
    }
    let packets: Vec<_> = from_tap
        .iter()
        .filter_map(|r| match r {
            LogRecord::Packet(p) => Some(p.clone()),
            LogRecord::Event(_) => None,
        })
        .collect();
    assert_eq!(packets, log);
    assert!(from_tap.iter().any(|r| matches!(
        r,
        LogRecord::Event(e) if e.event == BrokerEvent::ClientConnected {
            client_id: "obs".into(), clean_session: true, session_present: false
        }
    )));
    assert!(log
        .iter()
        .all(|e| e.direction == Direction::In || e.direction == Direction::Out));
}

#[tokio::test(start_paused = true)]
async fn garbage_from_one_client_does_not_disturb_another() {
    let b = broker();
    let mut good = subscriber(&b, "good", "g", 1).await;
    let garbage: [&[u8]; 5] = [
        &[0xff; 64],
        &[0x10, 0x00],
        &[0x30, 0x80, 0x80, 0x80, 0x80, 0x80],
        b"GET / HTTP/1.1\r\n\r\n",
        &[
            0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x01, 0, 0, 0, 0,
        ],
    ];
    for g in garbage {
        let mut bad = attach(&b);
        bad.send_raw(g).await;
        bad.expect_closed().await;
    }
    let mut p = online(&b, "p", true).await;
    p.publish("g", b"ok", 1, 1, false).await;
    p.expect("PUBACK pid=1").await;
    good.expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=g len=2")
        .await;
}

async fn scripted_run() -> Vec<String> {
    let b = broker();
    let mut s = subscriber(&b, "s", "#", 2).await;
    let mut p = online(&b, "", true).await;
    for i in 1..=5u16 {
        p.publish(&format!("t/{i}"), &[i as u8], (i % 2) as u8, i, i == 2)
            .await;
        tokio::time::sleep(Duration::from_millis(7)).await;
    }
    p.close().await;
    for _ in 0..5 {
        s.recv().await;
    }
    b.packet_log()
        .into_iter()
        .map(|e| {
            format!(
                "{:?} {:?} {} {:?} {}",
                e.at, e.direction, e.conn, e.client_id, e.summary
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn same_inputs_same_log() {
    let a = scripted_run().await;
    let b = scripted_run().await;
    assert!(a.len() > 10);
    assert_eq!(a, b);
}

#[tokio::test(start_paused = true)]
async fn takeover_ends_an_old_connection_whose_peer_stopped_reading() {
    let b = broker();
    // A tiny pipe the old client never drains.
    let (client, server) = tokio::io::duplex(64);
    let bb = b.clone();
    let old_task = tokio::spawn(async move { bb.serve_connection(server).await });
    let mut old = Client::new(client);
    assert_eq!(
        old.connect(connect("stuck", false, 0)).await,
        "CONNACK sp=0 rc=0"
    );
    old.subscribe(1, &[("flood", 0)]).await;
    old.expect("SUBACK pid=1 codes=0").await;
    let mut p = online(&b, "p", true).await;
    for _ in 0..20 {
        p.publish("flood", &[0u8; 100], 0, 0, false).await;
    }
    p.ping().await;
    p.expect("PINGRESP").await;
    assert!(!old_task.is_finished(), "blocked writing to the old peer");
    let mut new = attach(&b);
    assert_eq!(
        new.connect(connect("stuck", false, 0)).await,
        "CONNACK sp=1 rc=0"
    );
    let end = tokio::time::timeout(Duration::from_secs(5), old_task)
        .await
        .expect("the old connection's task ends")
        .expect("no panic");
    assert_eq!(end, chaos_broker::ConnectionEnd::ClosedByBroker);
    drop(old);
}

/// QoS 2 faults (issue 11, P5): a dropped PUBREL to the receiver, a
/// PUBCOMP to the sender held 15 s with everything behind it (TCP order).
#[tokio::test(start_paused = true)]
async fn fault_qos2_drop_pubrel_and_delay_pubcomp() {
    let b = broker();
    let mut s = subscriber(&b, "s", "q", 2).await;
    let mut p = online(&b, "p", true).await;
    b.set_fault(
        FaultTarget::Client("p".into()),
        Fault::parse(&["delay", "pubcomp", "15s", "1"]).unwrap(),
    );
    b.set_fault(
        FaultTarget::Client("s".into()),
        Fault::parse(&["drop", "pubrel", "1"]).unwrap(),
    );
    p.publish("q", b"m", 2, 1, false).await;
    p.expect("PUBREC pid=1").await;
    let released = tokio::time::Instant::now();
    p.pubrel(1).await;
    // Routed at PUBREL, once.
    s.expect("PUBLISH pid=1 qos=2 dup=0 retain=0 topic=q len=1")
        .await;
    s.pubrec(1).await;
    s.expect_silence(QUIET).await; // its PUBREL was dropped
    p.ping().await; // queued behind the held PUBCOMP
    match p.next_within(Duration::from_secs(20)).await {
        Event::Packet(g) => assert_eq!(g.summary, "PUBCOMP pid=1"),
        other => panic!("expected the delayed PUBCOMP, got {other:?}"),
    }
    assert_eq!(released.elapsed(), Duration::from_secs(15));
    p.expect("PINGRESP").await;
    // The receiver asks again: the spent fault lets the PUBREL through.
    s.pubrec(1).await;
    s.expect("PUBREL pid=1").await;
    s.pubcomp(1).await;
    s.expect_silence(QUIET).await;
    assert!(b.faults().is_empty(), "{:?}", b.faults());
}

/// close-on pubrec: the broker stores the QoS 2 message, sends PUBREC and
/// closes; the client resumes its session with PUBREL and the message is
/// routed exactly once.
#[tokio::test(start_paused = true)]
async fn fault_close_on_pubrec_then_resume_with_pubrel() {
    let b = broker();
    let mut s = subscriber(&b, "s", "q", 2).await;
    let mut p = online(&b, "p", false).await;
    b.set_fault(
        FaultTarget::Client("p".into()),
        Fault::parse(&["close-on", "pubrec", "1"]).unwrap(),
    );
    p.publish("q", b"m", 2, 7, false).await;
    p.expect("PUBREC pid=7").await;
    p.expect_closed().await;
    s.expect_silence(QUIET).await; // not routed before PUBREL
    let mut p = attach(&b);
    let ack = p.connect(connect("p", false, 60)).await;
    assert_eq!(ack, "CONNACK sp=1 rc=0");
    p.pubrel(7).await;
    p.expect("PUBCOMP pid=7").await;
    s.expect("PUBLISH pid=1 qos=2 dup=0 retain=0 topic=q len=1")
        .await;
    s.expect_silence(QUIET).await;
    assert!(b.faults().is_empty(), "{:?}", b.faults());
}
