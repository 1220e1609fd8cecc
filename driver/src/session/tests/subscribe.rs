//! S1-S4: subscribing and receiving.

use super::*;

fn sub_result(pair: &Pair, token: Token) -> Option<Result<QoS, RequestError>> {
    pair.events.iter().find_map(|(_, e)| match e {
        Event::SubscribeDone { token: t, result } if *t == token => Some(result.clone()),
        _ => None,
    })
}

/// S1: subscribe completes on SUBACK; refused subscriptions are errors.
#[test]
fn s1_subscribe_waits_for_suback() {
    let mut pair = Pair::connected(Config::default());
    pair.latency = ms(100);
    let t = pair
        .session
        .subscribe(pair.now, "a/+", QoS::AtLeastOnce)
        .unwrap();
    pair.run_for(ms(99));
    assert_eq!(sub_result(&pair, t), None);
    pair.run_for(ms(2));
    assert_eq!(sub_result(&pair, t), Some(Ok(QoS::AtLeastOnce)));
    pair.broker.refuse_subs = true;
    let t = pair
        .session
        .subscribe(pair.now, "b", QoS::AtLeastOnce)
        .unwrap();
    pair.run_for(secs(1));
    assert_eq!(
        sub_result(&pair, t),
        Some(Err(RequestError::SubscriptionRefused))
    );
}

/// S1: during an outage a subscribe waits and is sent after reconnecting;
/// a SUBACK that never comes takes the link down and the subscribe is
/// retried on the next connection.
#[test]
fn s1_subscribe_survives_outage_and_ack_timeout() {
    let mut pair = Pair::connected(Config::default());
    pair.broker_crash();
    let t = pair
        .session
        .subscribe(pair.now, "a", QoS::AtMostOnce)
        .unwrap();
    pair.run_for(secs(3));
    assert_eq!(sub_result(&pair, t), None);
    pair.broker_reachable = true;
    pair.run_for(secs(5));
    assert_eq!(sub_result(&pair, t), Some(Ok(QoS::AtMostOnce)));

    pair.broker.ignore_subs = 1;
    let t = pair
        .session
        .subscribe(pair.now, "b", QoS::AtMostOnce)
        .unwrap();
    pair.run_for(ms(10_001));
    assert!(pair.has_event(|e| *e
        == Event::Down {
            reason: DownReason::AckTimeout
        }));
    pair.run_for(secs(5));
    assert_eq!(sub_result(&pair, t), Some(Ok(QoS::AtMostOnce)));
}

/// S1: unsubscribing from an unknown topic completes normally.
#[test]
fn s1_unsubscribe_unknown_completes() {
    let mut pair = Pair::connected(Config::default());
    let t = pair
        .session
        .unsubscribe(pair.now, "never/subscribed")
        .unwrap();
    pair.pump();
    assert!(pair.has_event(|e| *e
        == Event::UnsubscribeDone {
            token: t,
            result: Ok(())
        }));
}

/// S2: incoming QoS 1 messages are acknowledged with PUBACK.
#[test]
fn s2_incoming_qos1_acked() {
    let mut pair = Pair::connected(Config::default());
    let pid = Pid::new(77).unwrap();
    pair.broker_sends(BrokerModel::publish_bytes(
        "in",
        b"m",
        QosPid::AtLeastOnce(pid),
        false,
        false,
    ));
    assert_eq!(pair.count_seen(|s| *s == Seen::PubAck(77)), 1);
    assert!(pair.has_event(|e| matches!(e, Event::Message(m) if m.qos == QoS::AtLeastOnce)));
}

/// Incoming QoS 2: PUBREC, delivered once even if resent, PUBCOMP on PUBREL.
#[test]
fn incoming_qos2_exactly_once() {
    let mut pair = Pair::connected(Config::default());
    let pid = Pid::new(5).unwrap();
    pair.broker_sends(BrokerModel::publish_bytes(
        "in",
        b"m",
        QosPid::ExactlyOnce(pid),
        false,
        false,
    ));
    pair.broker_sends(BrokerModel::publish_bytes(
        "in",
        b"m",
        QosPid::ExactlyOnce(pid),
        false,
        true,
    ));
    assert_eq!(pair.count_events(|e| matches!(e, Event::Message(_))), 1);
    assert_eq!(pair.count_seen(|s| *s == Seen::PubRec(5)), 2);
    let mut rel = Vec::new();
    Packet::PubRel(codec::PubRel(pid))
        .encode_to_vec(&mut rel)
        .unwrap();
    pair.broker_sends(rel);
    assert_eq!(pair.count_seen(|s| *s == Seen::PubComp(5)), 1);
}

/// S3: the event interface's queue is bounded; on overflow the oldest
/// message is dropped and the discards counter grows.
#[test]
fn s3_bounded_queue_drops_oldest() {
    let mut pair = Pair::connected(Config {
        queue_len: 3,
        ..Config::default()
    });
    for i in 0..5u8 {
        pair.broker_sends(BrokerModel::publish_bytes(
            "in",
            &[i],
            QosPid::AtMostOnce,
            false,
            false,
        ));
    }
    assert_eq!(pair.session.stats().discards, 2);
    let got: Vec<u8> = core::iter::from_fn(|| pair.session.pop_message())
        .map(|m| m.payload[0])
        .collect();
    assert_eq!(got, [2, 3, 4]);
    assert_eq!(
        pair.count_events(|e| *e == Event::MessageQueued { discarded: true }),
        2
    );
}

/// S4: messages carry the retained flag.
#[test]
fn s4_retained_flag() {
    let mut pair = Pair::connected(Config::default());
    pair.broker_sends(BrokerModel::publish_bytes(
        "in",
        b"r",
        QosPid::AtMostOnce,
        true,
        false,
    ));
    pair.broker_sends(BrokerModel::publish_bytes(
        "in",
        b"n",
        QosPid::AtMostOnce,
        false,
        false,
    ));
    let flags: Vec<bool> = pair
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Message(m) => Some(m.retained),
            _ => None,
        })
        .collect();
    assert_eq!(flags, [true, false]);
}
