//! O1-O5: state queries, broker_up, disconnect, close, diagnostics.

use super::*;

/// O1: is_connected follows the connection; a WiFi loss schedules a
/// reconnection (the link is asked to come back).
#[test]
fn o1_is_connected_and_reconnect_scheduled() {
    let mut pair = Pair::connected(Config::default());
    assert!(pair.session.is_connected());
    pair.wifi_down();
    assert!(!pair.session.is_connected());
    assert!(pair.actions.iter().any(|(_, a)| *a == Action::BringLinkUp));
    assert!(
        pair.session.poll_timeout().is_some(),
        "a retry is scheduled"
    );
}

/// O2: broker_up answers at once when data arrived in the last second;
/// otherwise it pings and answers when the PINGRESP comes, or false after
/// response_time.
#[test]
fn o2_broker_up() {
    let mut pair = Pair::connected(Config::default());
    let t = pair.session.broker_up(pair.now);
    pair.pump();
    assert!(pair.has_event(|e| *e == Event::BrokerUp { token: t, up: true }));
    assert_eq!(
        pair.count_seen(|s| *s == Seen::PingReq),
        0,
        "fresh data: no ping"
    );

    pair.run_for(secs(5));
    pair.latency = ms(200);
    let t = pair.session.broker_up(pair.now);
    pair.run_for(ms(100));
    assert_eq!(pair.count_seen(|s| *s == Seen::PingReq), 1);
    assert!(!pair.has_event(|e| matches!(e, Event::BrokerUp { token, .. } if *token == t)));
    pair.run_for(ms(200));
    assert!(pair.has_event(|e| *e == Event::BrokerUp { token: t, up: true }));

    pair.run_for(secs(5));
    pair.blackhole = true;
    let t = pair.session.broker_up(pair.now);
    pair.run_for(ms(9_999));
    assert!(!pair.has_event(|e| matches!(e, Event::BrokerUp { token, .. } if *token == t)));
    pair.run_for(ms(2));
    assert!(pair.has_event(|e| *e
        == Event::BrokerUp {
            token: t,
            up: false
        }));
}

/// O3: disconnect sends DISCONNECT, closes, and stops reconnecting;
/// pending requests fail with Closed.
#[test]
fn o3_disconnect() {
    let mut pair = Pair::connected(Config::default());
    pair.broker.drop_pubacks = 1;
    let t = pair.publish("t", b"x", QoS::AtLeastOnce);
    pair.session.disconnect(pair.now);
    pair.pump();
    assert_eq!(
        pair.broker.seen.last().map(|(_, s)| s.clone()),
        Some(Seen::Disconnect)
    );
    assert!(pair
        .actions
        .iter()
        .any(|(_, a)| *a == Action::CloseTransport));
    assert!(pair.has_event(|e| *e
        == Event::PublishFailed {
            token: t,
            error: RequestError::Closed
        }));
    pair.run_for(secs(120));
    assert_eq!(pair.seen_connects().len(), 1, "no reconnect");
    assert_eq!(pair.session.poll_timeout(), None);
    assert_eq!(
        pair.session
            .publish(pair.now, "t", b"", QoS::AtMostOnce, false),
        Err(RequestError::Closed)
    );
}

/// O4: close shuts the socket and the link at once, without DISCONNECT.
#[test]
fn o4_close() {
    let mut pair = Pair::connected(Config::default());
    pair.session.close(pair.now);
    pair.pump();
    assert!(!pair.broker.seen.iter().any(|(_, s)| *s == Seen::Disconnect));
    let acts: Vec<Action> = pair.actions.iter().map(|(_, a)| a.clone()).collect();
    assert!(
        acts.ends_with(&[Action::CloseTransport, Action::TakeLinkDown]),
        "{acts:?}"
    );
    pair.run_for(secs(60));
    assert_eq!(pair.seen_connects().len(), 1);
}

/// O5: a count of all resends since start, and other counters.
#[test]
fn o5_diagnostics_counters() {
    let mut pair = Pair::connected(Config::default());
    pair.broker.drop_pubacks = 3;
    pair.publish("t", b"a", QoS::AtLeastOnce);
    pair.run_for(secs(35));
    assert_eq!(pair.session.stats().resends, 3);
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::Retransmit { .. })),
        3
    );
    pair.broker_crash();
    pair.broker_reachable = true;
    pair.run_for(secs(3));
    let s = pair.session.stats();
    assert_eq!(s.connections, 2);
    assert_eq!(s.outages, 1);
}
