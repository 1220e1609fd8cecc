//! D1-D5 and B2-B4: staying connected, detecting outages, reconnecting.

use super::*;

/// D1: a ping goes out when nothing was received for the ping interval.
#[test]
fn d1_ping_when_idle() {
    let mut pair = Pair::connected(Config::default());
    pair.run_for(ms(14_998));
    assert_eq!(pair.count_seen(|s| *s == Seen::PingReq), 0);
    pair.run_for(ms(2));
    assert_eq!(pair.count_seen(|s| *s == Seen::PingReq), 1);
    // Traffic in both directions postpones the ping.
    let mut busy = Pair::connected(Config::default());
    for _ in 0..10 {
        busy.run_for(secs(10));
        busy.publish("t", b"x", QoS::AtLeastOnce);
    }
    assert_eq!(busy.count_seen(|s| *s == Seen::PingReq), 0);
}

/// D1: data received alone does not keep the broker's keepalive happy, so
/// a ping still goes out when the client has sent nothing.
#[test]
fn d1_ping_when_only_receiving() {
    let mut pair = Pair::connected(Config::default());
    for _ in 0..4 {
        pair.run_for(secs(5));
        pair.broker_sends(BrokerModel::publish_bytes(
            "in",
            b"x",
            QosPid::AtMostOnce,
            false,
            false,
        ));
    }
    assert_eq!(pair.count_seen(|s| *s == Seen::PingReq), 1);
}

/// D2: WiFi loss is detected at once from the link state.
#[test]
fn d2_wifi_loss_detected_immediately() {
    let mut pair = Pair::connected(Config::default());
    pair.run_for(secs(3));
    pair.wifi_down();
    assert_eq!(
        pair.event_time(|e| *e
            == Event::Down {
                reason: DownReason::LinkDown
            }),
        Some(at_ms(3_001))
    );
    assert!(!pair.session.is_connected());
}

/// D3 (beyond): a silent broker is declared down response_time after an
/// unanswered ping. B4: within ping_interval + response_time (25 s).
#[test]
fn d3_b4_silent_outage_detected_within_25s() {
    let mut pair = Pair::connected(Config::default());
    pair.run_for(secs(1));
    pair.blackhole = true;
    pair.run_for(secs(40));
    let down = pair
        .event_time(|e| {
            *e == Event::Down {
                reason: DownReason::PingTimeout,
            }
        })
        .expect("down");
    assert_eq!(down, at_ms(25_000), "ping at 15 s + response_time 10 s");
}

/// B4: detection also within 25 s while publishing (mqtt_as took 50 s).
#[test]
fn b4_silent_outage_detected_while_publishing() {
    let mut pair = Pair::connected(Config::default());
    pair.blackhole = true;
    let start = pair.now;
    for _ in 0..30 {
        pair.publish_held("t", b"x", QoS::AtLeastOnce);
        pair.run_for(secs(1));
    }
    let down = pair
        .event_time(|e| matches!(e, Event::Down { .. }))
        .expect("down");
    assert!(down.saturating_since(start) <= secs(25), "{down:?}");
}

/// D4: on an outage the socket is closed, a down notification is given,
/// and reconnect attempts back off exponentially with seeded jitter,
/// bounded by the maximum.
#[test]
fn d4_backoff_with_seeded_jitter() {
    let delays = |seed: u64| {
        let mut pair = Pair::connected(Config {
            seed,
            ..Config::default()
        });
        pair.broker_crash();
        pair.run_for(secs(60));
        assert!(pair
            .actions
            .iter()
            .any(|(_, a)| *a == Action::CloseTransport));
        pair.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::AttemptFailed { retry_in_ms, .. } => Some(*retry_in_ms),
                _ => None,
            })
            .collect::<Vec<u64>>()
    };
    let a = delays(1);
    assert_eq!(a, delays(1), "same seed, same delays");
    assert_ne!(a, delays(2), "another seed, other jitter");
    let b = Backoff::default();
    for (i, d) in a.iter().enumerate() {
        let base = (b.initial.as_millis() as u64 * (1 << i.min(20))).min(b.max.as_millis() as u64);
        assert!(
            *d <= base && *d as f64 >= base as f64 * (1.0 - b.jitter) - 1.0,
            "attempt {i}: {d} vs {base}"
        );
    }
    assert!(a.len() >= 10, "keeps trying: {a:?}");
    assert!(a.iter().rev().take(3).all(|d| *d <= 5_000));
}

/// D4: after a WiFi outage the link is brought back up, checked for
/// integrity, then the broker is reconnected.
#[test]
fn d4_wifi_outage_reconnects_after_integrity() {
    let mut pair = Pair::connected(Config::default());
    pair.wifi_down();
    pair.run_for(secs(30));
    assert!(pair.actions.iter().any(|(_, a)| *a == Action::BringLinkUp));
    let back = pair.now;
    pair.wifi_up();
    pair.run_for(secs(10));
    let up = pair
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Up { .. }))
        .nth(1)
        .map(|(t, _)| *t)
        .unwrap();
    assert_eq!(
        up.saturating_since(back),
        secs(5),
        "integrity period, then at once"
    );
}

/// D5: an up notification on every (re)connection.
#[test]
fn d5_up_on_every_connection() {
    let mut pair = Pair::connected(Config::default());
    for _ in 0..3 {
        pair.broker_crash();
        pair.broker_reachable = true;
        pair.run_for(secs(10));
    }
    assert_eq!(pair.count_events(|e| matches!(e, Event::Up { .. })), 4);
}

/// D5 (beyond): with restore_subscriptions, granted subscriptions are put
/// back after a reconnect that lost the session; without it they are not.
#[test]
fn d5_restore_subscriptions() {
    for restore in [true, false] {
        let mut pair = Pair::connected(Config {
            restore_subscriptions: restore,
            ..Config::default()
        });
        pair.session
            .subscribe(pair.now, "cmd/#", QoS::AtLeastOnce)
            .unwrap();
        pair.run_for(ms(1));
        pair.broker_crash();
        pair.broker_reachable = true;
        pair.run_for(secs(5));
        let subs =
            pair.count_seen(|s| matches!(s, Seen::Subscribe { filter, .. } if filter == "cmd/#"));
        assert_eq!(subs, if restore { 2 } else { 1 });
    }
}

/// D5: a CONNECT given up on (no CONNACK within response_time) may still
/// be acted on by the broker, which then holds an empty session for our id
/// (the model: a silent broker that processes the unclean CONNECT). The
/// next CONNACK says "session present"; the driver reports it as not kept
/// (`SessionUncertain`, then `Up { session_present: false }`) and, with
/// restore_subscriptions, subscribes again. Without an abandoned CONNECT a
/// kept session is reported as kept and nothing is resubscribed.
#[test]
fn d5_session_present_after_an_abandoned_connect_is_not_trusted() {
    for abandon in [true, false] {
        let mut pair = Pair::connected(Config {
            clean_init: false,
            clean: false,
            restore_subscriptions: true,
            ..Config::default()
        });
        pair.session
            .subscribe(pair.now, "cmd/#", QoS::AtLeastOnce)
            .unwrap();
        pair.run_for(ms(1));
        pair.broker_crash();
        pair.broker_reachable = true;
        pair.broker.silent = abandon;
        pair.run_for(secs(12));
        pair.broker.silent = false;
        pair.run_for(secs(30));
        let ups: Vec<bool> = pair
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Up { session_present } => Some(*session_present),
                _ => None,
            })
            .collect();
        assert_eq!(ups.len(), 2, "{abandon}: {ups:?}");
        assert_eq!(ups[1], !abandon, "abandoned CONNECT: {abandon}");
        assert_eq!(pair.has_event(|e| *e == Event::SessionUncertain), abandon);
        let subs =
            pair.count_seen(|s| matches!(s, Seen::Subscribe { filter, .. } if filter == "cmd/#"));
        assert_eq!(subs, if abandon { 2 } else { 1 }, "{abandon}");
    }
}

/// D4 beyond: a broker that closes the connection right after every
/// CONNACK (two devices taking one client id over from each other) is not
/// hammered: the first flap reconnects at once (B3), the next ones back off
/// as failed attempts do, up to backoff.max. A connection that lived longer
/// than response_time resets the count.
#[test]
fn d4_connections_dropped_right_after_connack_back_off() {
    let mut pair = Pair::connected(Config {
        backoff: Backoff {
            jitter: 0.0,
            ..Backoff::default()
        },
        ..Config::default()
    });
    let ups = |p: &Pair| p.count_events(|e| matches!(e, Event::Up { .. }));
    let mut gaps = Vec::new();
    for _ in 0..6 {
        let n = ups(&pair);
        // The broker closes the connection 5 ms after accepting it.
        pair.run_for(ms(5));
        let closed = pair.now;
        pair.transport_open = false;
        pair.session.handle_transport_closed(pair.now);
        pair.pump();
        while ups(&pair) == n {
            pair.run_for(ms(10));
            assert!(pair.now < closed + secs(60), "never came back");
        }
        gaps.push(pair.now.saturating_since(closed));
    }
    let b = Backoff::default();
    assert!(
        gaps[0] < ms(50),
        "the first flap reconnects at once: {gaps:?}"
    );
    assert!(
        gaps[1] >= b.initial && gaps[1] < b.initial + ms(50),
        "{gaps:?}"
    );
    assert!(gaps[2] >= b.initial * 2, "{gaps:?}");
    assert!(gaps[5] >= b.max, "grows to backoff.max: {gaps:?}");
    assert!(gaps[5] < b.max + ms(50), "{gaps:?}");
    // A connection that lives past response_time: the next loss is an
    // ordinary one, reconnected at once.
    pair.run_for(secs(11));
    let n = ups(&pair);
    let closed = pair.now;
    pair.transport_open = false;
    pair.session.handle_transport_closed(pair.now);
    pair.pump();
    while ups(&pair) == n {
        pair.run_for(ms(10));
    }
    assert!(pair.now.saturating_since(closed) < ms(50));
}

/// B2: a broker that closes the socket is detected at once.
#[test]
fn b2_broker_close_detected_at_once() {
    let mut pair = Pair::connected(Config::default());
    pair.run_for(secs(2));
    pair.broker_crash();
    assert_eq!(
        pair.event_time(|e| *e
            == Event::Down {
                reason: DownReason::ClosedByBroker
            }),
        Some(at_ms(2_001))
    );
}

/// B3: a broker outage with WiFi up does not cycle WiFi and does not wait
/// for the integrity period: recovery follows the broker's return closely.
#[test]
fn b3_broker_outage_does_not_cycle_wifi() {
    let mut pair = Pair::connected(Config::default());
    pair.broker_crash();
    pair.run_for(secs(15));
    let back = pair.now;
    pair.broker_reachable = true;
    pair.run_for(secs(10));
    assert!(!pair
        .actions
        .iter()
        .any(|(_, a)| matches!(a, Action::BringLinkUp | Action::TakeLinkDown)));
    let up = pair
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Up { .. }))
        .nth(1)
        .map(|(t, _)| *t)
        .unwrap();
    assert!(
        up.saturating_since(back) <= Backoff::default().max,
        "recovered {:?} after",
        up.saturating_since(back)
    );
}
