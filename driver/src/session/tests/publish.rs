//! P1-P4, B1, B5, B6: publishing through outages without loss.

use super::*;

/// (pid, dup) of every PUBLISH the broker saw.
pub(super) fn publish_pids(pair: &Pair) -> Vec<(Option<u16>, bool)> {
    pair.seen_publishes()
        .into_iter()
        .map(|(_, s)| match s {
            Seen::Publish { pid, dup, .. } => (pid, dup),
            _ => unreachable!(),
        })
        .collect()
}

/// P1: with the link up a publish is sent at once; during an outage it
/// waits (nothing sent) and completes after the outage.
#[test]
fn p1_publish_pauses_for_outage() {
    let mut pair = Pair::connected(Config::default());
    let t = pair.publish("t", b"1", QoS::AtLeastOnce);
    assert!(pair.done(t), "completed at once over a zero-latency link");
    pair.wifi_down();
    let t2 = pair.publish("t", b"2", QoS::AtLeastOnce);
    pair.run_for(secs(60));
    assert!(!pair.done(t2));
    assert_eq!(pair.seen_publishes().len(), 1);
    pair.wifi_up();
    pair.run_for(secs(6));
    assert!(pair.done(t2));
    assert_eq!(pair.seen_publishes().len(), 2);
}

/// P2: QoS 0 completes once sent and is never resent.
#[test]
fn p2_qos0_sent_once() {
    let mut pair = Pair::connected(Config::default());
    pair.broker.drop_pubacks = 10;
    let t = pair.publish("t", b"x", QoS::AtMostOnce);
    assert!(pair.done(t));
    pair.run_for(secs(60));
    assert_eq!(pair.seen_publishes().len(), 1);
    assert_eq!(publish_pids(&pair), [(None, false)]);
}

/// P3: no PUBACK: resent after response_time with the same packet id and
/// DUP, up to max_repubs; then the link is declared down, and after the
/// reconnect the message goes again as a new message with a new id. The
/// call completes only when a PUBACK arrives.
#[test]
fn p3_resend_dup_then_reconnect_and_republish() {
    let mut pair = Pair::connected(Config::default());
    pair.broker.drop_pubacks = 5;
    let t = pair.publish("t", b"x", QoS::AtLeastOnce);
    pair.run_for(secs(49));
    let seen = publish_pids(&pair);
    assert_eq!(seen.len(), 5);
    let pid = seen[0].0.unwrap();
    assert_eq!(seen[0], (Some(pid), false));
    assert!(
        seen[1..].iter().all(|s| *s == (Some(pid), true)),
        "{seen:?}"
    );
    assert!(!pair.done(t));
    pair.run_for(secs(2));
    assert!(pair.has_event(|e| *e
        == Event::Down {
            reason: DownReason::MaxRepubs
        }));
    let after = publish_pids(&pair);
    assert_eq!(after.len(), 6);
    assert_ne!(
        after[5].0,
        Some(pid),
        "new packet id after a clean reconnect"
    );
    assert!(!after[5].1, "a new message: no DUP");
    assert!(pair.done(t));
    assert_eq!(
        pair.count_events(|e| *e == Event::PublishDone { token: t }),
        1
    );
}

/// P4: several QoS 1 publishes are in flight at once, each awaiting its
/// own PUBACK.
#[test]
fn p4_concurrent_inflight() {
    let mut pair = Pair::connected(Config::default());
    pair.latency = ms(150);
    let tokens: Vec<Token> = (0..5)
        .map(|i| pair.publish("t", &[i], QoS::AtLeastOnce))
        .collect();
    assert_eq!(
        pair.seen_publishes().len(),
        5,
        "all five sent before any ack"
    );
    let pids: BTreeSet<_> = publish_pids(&pair).into_iter().map(|(p, _)| p).collect();
    assert_eq!(pids.len(), 5, "distinct packet ids");
    pair.run_for(ms(149));
    assert!(tokens.iter().all(|t| !pair.done(*t)));
    pair.run_for(ms(2));
    assert!(tokens.iter().all(|t| pair.done(*t)));
}

/// P4: the in-flight window bounds how many wait for acks; the rest follow.
#[test]
fn p4_inflight_window() {
    let mut pair = Pair::connected(Config {
        max_inflight: 2,
        ..Config::default()
    });
    pair.latency = ms(100);
    let tokens: Vec<Token> = (0..5)
        .map(|i| pair.publish("t", &[i], QoS::AtLeastOnce))
        .collect();
    assert_eq!(pair.seen_publishes().len(), 2);
    pair.run_for(secs(1));
    assert!(tokens.iter().all(|t| pair.done(*t)));
    assert_eq!(pair.seen_publishes().len(), 5);
}

/// B1: a PUBACK for a packet id that already completed is ignored; the
/// connection stays up.
#[test]
fn b1_stray_puback_ignored() {
    let mut pair = Pair::connected(Config::default());
    let t = pair.publish("t", b"x", QoS::AtLeastOnce);
    assert!(pair.done(t));
    let pid = publish_pids(&pair)[0].0.unwrap();
    let mut dup_ack = Vec::new();
    Packet::PubAck(codec::PubAck(Pid::new(pid).unwrap()))
        .encode_to_vec(&mut dup_ack)
        .unwrap();
    pair.broker_sends(dup_ack);
    assert!(pair.has_event(|e| matches!(e, Event::StrayAck { .. })));
    assert!(pair.session.is_connected());
    assert!(!pair.has_event(|e| matches!(e, Event::Down { .. })));
    assert_eq!(pair.session.stats().stray_acks, 1);
}

/// B5: one lost PUBACK costs one resend after response_time and never
/// stalls publishing: later publishes complete meanwhile.
#[test]
fn b5_lost_puback_costs_one_resend() {
    let mut pair = Pair::connected(Config::default());
    pair.broker.drop_pubacks = 1;
    let lost = pair.publish("t", b"0", QoS::AtLeastOnce);
    let mut later = Vec::new();
    for i in 1..5u8 {
        pair.run_for(secs(1));
        later.push(pair.publish("t", &[i], QoS::AtLeastOnce));
    }
    assert!(later.iter().all(|t| pair.done(*t)), "not stalled");
    assert!(!pair.done(lost));
    pair.run_for(secs(6));
    assert!(pair.done(lost));
    assert_eq!(pair.session.stats().resends, 1);
    assert!(!pair.has_event(|e| matches!(e, Event::Down { .. })));
}

/// B6: QoS 1 publishes in flight when a clean-session reconnect happens
/// are republished with new ids, never dropped.
#[test]
fn b6_no_loss_across_clean_reconnect() {
    let mut pair = Pair::connected(Config::default());
    pair.latency = ms(500);
    let tokens: Vec<Token> = (0..3)
        .map(|i| pair.publish("t", &[i], QoS::AtLeastOnce))
        .collect();
    pair.broker_crash();
    pair.broker_reachable = true;
    pair.run_for(secs(5));
    assert!(tokens.iter().all(|t| pair.done(*t)), "{:?}", pair.events);
    let republished: Vec<_> = publish_pids(&pair).into_iter().skip(3).collect();
    assert_eq!(republished.len(), 3);
    assert!(republished.iter().all(|(_, dup)| !dup));
}

/// With a kept session, in-flight publishes are resent with the same id
/// and DUP (MQTT 3.1.1 4.4).
#[test]
fn resume_with_session_resends_same_pid_dup() {
    let mut pair = Pair::connected(Config {
        clean_init: false,
        clean: false,
        ..Config::default()
    });
    pair.latency = ms(500);
    let t = pair.publish("t", b"x", QoS::AtLeastOnce);
    let pid = publish_pids(&pair)[0].0;
    pair.broker_crash();
    pair.broker_reachable = true;
    pair.run_for(secs(5));
    assert!(pair.done(t));
    assert_eq!(publish_pids(&pair)[1], (pid, true));
}

/// QoS 2 outgoing: PUBLISH, PUBREC, PUBREL, PUBCOMP; done once.
#[test]
fn qos2_outgoing_flow() {
    let mut pair = Pair::connected(Config::default());
    let t = pair.publish("t", b"x", QoS::ExactlyOnce);
    assert!(pair.done(t));
    assert_eq!(pair.count_seen(|s| matches!(s, Seen::PubRel(_))), 1);
}

/// Bad requests are refused with a clear error.
#[test]
fn publish_rejects_bad_topic() {
    let mut pair = Pair::connected(Config::default());
    assert_eq!(
        pair.session
            .publish(pair.now, "a/+", b"", QoS::AtMostOnce, false),
        Err(RequestError::InvalidTopic)
    );
    assert_eq!(
        pair.session
            .publish(pair.now, "", b"", QoS::AtMostOnce, false),
        Err(RequestError::InvalidTopic)
    );
}
