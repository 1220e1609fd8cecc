//! The allocation-free build (no `alloc` feature): what happens at each
//! capacity of `store::caps`. Requests that do not fit are refused, never
//! truncated; incoming packets that do not fit end the connection without
//! an acknowledgement (so the broker sends them again, nothing is lost);
//! a full event queue gives up diagnostics before any completion. The rest
//! of the session's behaviours run in both builds (the other test modules).

use super::*;
use crate::session::store::caps;
use alloc::format;

fn long(n: usize) -> String {
    "t".repeat(n)
}

#[test]
fn requests_over_capacity_are_refused_not_truncated() {
    let mut pair = Pair::connected(Config::default());
    let now = pair.now;
    let topic = long(caps::TEXT + 1);
    assert_eq!(
        pair.session
            .publish(now, &topic, b"x", QoS::AtLeastOnce, false),
        Err(RequestError::OverCapacity("topic"))
    );
    let payload = vec![0u8; caps::PAYLOAD + 1];
    assert_eq!(
        pair.session
            .publish(now, "t", &payload, QoS::AtLeastOnce, false),
        Err(RequestError::OverCapacity("payload"))
    );
    assert_eq!(
        pair.session.subscribe(now, &topic, QoS::AtLeastOnce),
        Err(RequestError::OverCapacity("topic filter"))
    );
    assert_eq!(
        pair.session.unsubscribe(now, &topic),
        Err(RequestError::OverCapacity("topic filter"))
    );
    // At the capacity exactly: accepted and sent whole.
    let fits = long(caps::TEXT);
    let full = vec![7u8; caps::PAYLOAD];
    let t = pair.publish(&fits, &full, QoS::AtLeastOnce);
    pair.run_for(secs(1));
    assert!(pair.done(t));
    assert!(pair.seen_publishes().iter().any(|(_, s)| matches!(
        s,
        Seen::Publish { topic, payload, .. } if *topic == fits && *payload == full
    )));
}

#[test]
fn too_many_requests_outstanding_are_refused() {
    let mut pair = Pair::connected(Config::default());
    pair.blackhole = true;
    let now = pair.now;
    for i in 0..caps::OPS {
        pair.session
            .subscribe(now, &format!("f/{i}"), QoS::AtMostOnce)
            .unwrap();
    }
    // The ops list also keeps room for restoring the subscriptions.
    let extra = caps::SUBSCRIPTIONS;
    for i in 0..extra {
        pair.session
            .subscribe(now, &format!("g/{i}"), QoS::AtMostOnce)
            .unwrap();
    }
    assert_eq!(
        pair.session.subscribe(now, "one/more", QoS::AtMostOnce),
        Err(RequestError::OverCapacity("subscribe/unsubscribe requests"))
    );
}

#[test]
fn configuration_over_capacity_is_a_clear_error() {
    let e = Session::new(Config {
        queue_len: caps::QUEUE + 1,
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(
        e,
        ConfigError::OverCapacity {
            what: "queue_len",
            asked: caps::QUEUE + 1,
            max: caps::QUEUE
        }
    );
    assert!(e.to_string().contains("capacity"), "{e}");
    let e = Session::new(Config {
        offline_queue: Some(OfflineQueue {
            max_messages: caps::OUTBOX + 1,
            ..OfflineQueue::default()
        }),
        ..Config::default()
    })
    .unwrap_err();
    assert!(matches!(
        e,
        ConfigError::OverCapacity {
            what: "offline_queue.max_messages",
            ..
        }
    ));
    assert!(Session::new(Config {
        queue_len: caps::QUEUE,
        ..Config::default()
    })
    .is_ok());
}

/// A PUBLISH whose topic is longer than the text capacity: the connection
/// ends with a protocol reason, and it is not acknowledged.
#[test]
fn an_incoming_publish_over_capacity_ends_the_connection_unacknowledged() {
    let mut pair = Pair::connected(Config::default());
    let pid = Pid::new(9).unwrap();
    let topic = long(caps::TEXT + 1);
    pair.broker_sends(BrokerModel::publish_bytes(
        &topic,
        b"x",
        QosPid::AtLeastOnce(pid),
        false,
        false,
    ));
    assert!(pair.has_event(|e| matches!(
        e,
        Event::Down { reason: DownReason::Protocol(r) } if r.contains("capacity")
    )));
    assert_eq!(pair.count_seen(|s| *s == Seen::PubAck(9)), 0);
    assert!(!pair.has_event(|e| matches!(e, Event::Message(_))));
    // The driver reconnects as after any outage.
    pair.run_for(secs(5));
    assert!(pair.session.is_connected());
}

/// A packet longer than the receive buffer is stopped at its header.
#[test]
fn a_packet_longer_than_the_receive_buffer_ends_the_connection() {
    let mut pair = Pair::connected(Config::default());
    let payload = vec![1u8; caps::RX];
    pair.broker_sends(BrokerModel::publish_bytes(
        "t",
        &payload,
        QosPid::AtMostOnce,
        false,
        false,
    ));
    assert!(pair.has_event(|e| matches!(
        e,
        Event::Down {
            reason: DownReason::Protocol(_)
        }
    )));
    assert!(!pair.has_event(|e| matches!(e, Event::Message(_))));
}

/// One read bigger than the receive buffer, of many small packets: the
/// buffer takes what fits, and every message is delivered in order.
#[test]
fn a_read_larger_than_the_receive_buffer_is_taken_in_turns() {
    let mut pair = Pair::connected(Config::default());
    let mut bytes = Vec::new();
    // Each is a completion-less event (callback interface): fewer than
    // the event queue holds.
    let n = (caps::EVENTS - 2).min(30) as u8;
    for i in 0..n {
        bytes.extend(BrokerModel::publish_bytes(
            &format!("t/{i:02}"),
            &[i; 10],
            QosPid::AtMostOnce,
            false,
            false,
        ));
    }
    assert!(bytes.len() > caps::RX, "{} bytes", bytes.len());
    pair.broker_sends(bytes);
    let got: Vec<u8> = pair
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Message(m) => Some(m.payload[0]),
            _ => None,
        })
        .collect();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    assert!(pair.session.is_connected());
}

/// More incoming QoS 2 messages awaiting PUBREL than the build holds: the
/// one that does not fit is neither acknowledged nor delivered, and the
/// connection ends (exactly-once is never broken by forgetting an id).
#[test]
fn incoming_qos2_beyond_capacity_ends_the_connection() {
    let mut pair = Pair::connected(Config::default());
    let qos2 = |i: u16| {
        BrokerModel::publish_bytes(
            "q",
            &i.to_be_bytes(),
            QosPid::ExactlyOnce(Pid::new(i).unwrap()),
            false,
            false,
        )
    };
    let mut bytes = Vec::new();
    for i in 1..=caps::QOS2_IN as u16 {
        bytes.extend(qos2(i));
    }
    pair.broker_sends(bytes);
    assert_eq!(
        pair.count_seen(|s| matches!(s, Seen::PubRec(_))),
        caps::QOS2_IN
    );
    let last = caps::QOS2_IN as u16 + 1;
    pair.broker_sends(qos2(last));
    assert_eq!(pair.count_seen(|s| *s == Seen::PubRec(last)), 0);
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::Message(_))),
        caps::QOS2_IN
    );
    assert!(pair.has_event(|e| matches!(
        e,
        Event::Down { reason: DownReason::Protocol(r) } if r.contains("QoS 2")
    )));
}

/// The event queue is full when the shell does not poll: diagnostics give
/// way, and every completion is still delivered.
#[test]
fn a_full_event_queue_gives_up_diagnostics_first() {
    let mut pair = Pair::connected(Config::default());
    let s = &mut pair.session;
    let now = pair.now;
    let mut tokens = Vec::new();
    for i in 0..caps::OUTBOX {
        tokens.push(
            s.publish(now, "t", &[i as u8], QoS::AtLeastOnce, false)
                .unwrap(),
        );
        s.clear_transmit();
    }
    for i in 0..caps::OPS {
        tokens.push(
            s.subscribe(now, &format!("f/{i}"), QoS::AtMostOnce)
                .unwrap(),
        );
        s.clear_transmit();
    }
    let diagnostics = caps::OUTBOX + caps::OPS;
    s.close(now);
    let applied = caps::OUTBOX + caps::OPS + 1;
    let events: Vec<Event> = core::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(events.len(), caps::EVENTS);
    let completed: BTreeSet<Token> = events
        .iter()
        .filter_map(|e| match e {
            Event::PublishFailed { token, .. } => Some(*token),
            Event::SubscribeDone { token, .. } => Some(*token),
            _ => None,
        })
        .collect();
    assert_eq!(completed, tokens.iter().copied().collect());
    assert!(events.iter().any(|e| matches!(e, Event::Closed { .. })));
    assert_eq!(
        s.stats().events_dropped as usize,
        diagnostics + applied - caps::EVENTS
    );
}

/// With `restore_subscriptions`, every granted subscription must be
/// remembered for D5: one more than the table holds is refused up front
/// (never granted and then silently not restored).
#[test]
fn subscriptions_beyond_the_restore_table_are_refused() {
    let mut pair = Pair::connected(Config {
        restore_subscriptions: true,
        ..Config::default()
    });
    for i in 0..caps::SUBSCRIPTIONS {
        let t = pair
            .session
            .subscribe(pair.now, &format!("s/{i}"), QoS::AtLeastOnce)
            .unwrap();
        pair.run_for(ms(10));
        assert!(pair.has_event(
            |e| matches!(e, Event::SubscribeDone { token, result: Ok(_) } if *token == t)
        ));
    }
    let now = pair.now;
    assert_eq!(
        pair.session.subscribe(now, "one/more", QoS::AtLeastOnce),
        Err(RequestError::OverCapacity("subscriptions to restore"))
    );
    // Subscribing again to a remembered filter is fine.
    assert!(pair.session.subscribe(now, "s/0", QoS::AtMostOnce).is_ok());
    // All are put back after a reconnect that lost the session.
    pair.run_for(ms(10));
    let before = pair.count_seen(|s| matches!(s, Seen::Subscribe { .. }));
    pair.broker_crash();
    pair.broker_reachable = true;
    pair.run_for(secs(30));
    assert!(pair.session.is_connected());
    let restored = pair.count_seen(|s| matches!(s, Seen::Subscribe { .. })) - before;
    assert_eq!(restored, caps::SUBSCRIPTIONS);
}
