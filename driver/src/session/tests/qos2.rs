//! P5: QoS 2 exactly once, in both directions, on a live connection and
//! across reconnects with a kept session (PUBREC/PUBREL/PUBCOMP state
//! resumed) or a new one (republished, as B6 for QoS 1).

use super::publish::publish_pids as publishes;
use super::*;

fn kept() -> Config {
    Config {
        clean_init: false,
        clean: false,
        ..Config::default()
    }
}

fn pubrels(pair: &Pair) -> usize {
    pair.count_seen(|s| matches!(s, Seen::PubRel(_)))
}

fn pubrel_events(pair: &Pair) -> Vec<bool> {
    pair.events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::PubRelSent { resend, .. } => Some(*resend),
            _ => None,
        })
        .collect()
}

fn messages(pair: &Pair) -> usize {
    pair.count_events(|e| matches!(e, Event::Message(_)))
}

fn pid(n: u16) -> Pid {
    Pid::new(n).unwrap()
}

fn incoming(pair: &mut Pair, n: u16, dup: bool) {
    pair.broker_sends(BrokerModel::publish_bytes(
        "in",
        b"m",
        QosPid::ExactlyOnce(pid(n)),
        false,
        dup,
    ));
}

fn crash_and_reconnect(pair: &mut Pair) {
    pair.broker_crash();
    pair.broker_reachable = true;
    pair.run_for(secs(5));
    assert!(pair.session.is_connected(), "{:?}", pair.events);
}

/// A lost PUBREC: the PUBLISH is resent with the same id and DUP after
/// response_time, then released once.
#[test]
fn p5_lost_pubrec_resends_publish_dup() {
    let mut pair = Pair::connected(Config::default());
    pair.broker.drop_pubrecs = 1;
    let t = pair.publish("t", b"x", QoS::ExactlyOnce);
    pair.run_for(secs(9));
    assert!(!pair.done(t));
    pair.run_for(secs(2));
    assert!(pair.done(t));
    let p = publishes(&pair);
    assert_eq!(p.len(), 2);
    assert_eq!(p[1], (p[0].0, true));
    assert_eq!(pubrels(&pair), 1);
    assert_eq!(pubrel_events(&pair), vec![false]);
}

/// A lost PUBCOMP: PUBREL is resent after response_time (never the
/// PUBLISH), the publish completes once.
#[test]
fn p5_lost_pubcomp_resends_pubrel_not_publish() {
    let mut pair = Pair::connected(Config::default());
    pair.broker.drop_pubcomps = 1;
    let t = pair.publish("t", b"x", QoS::ExactlyOnce);
    pair.run_for(secs(9));
    assert!(!pair.done(t));
    assert_eq!(pubrels(&pair), 1);
    pair.run_for(secs(2));
    assert!(pair.done(t));
    assert_eq!(publishes(&pair).len(), 1, "the PUBLISH is never resent");
    assert_eq!(pubrels(&pair), 2);
    assert_eq!(pubrel_events(&pair), vec![false, true]);
    assert_eq!(pair.session.stats().resends, 1);
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::PublishDone { .. })),
        1
    );
    assert!(!pair.has_event(|e| matches!(e, Event::Retransmit { .. })));
}

/// PUBREL unanswered max_repubs times: down (C4), then on the kept
/// session PUBREL again, not the PUBLISH.
#[test]
fn p5_pubrel_max_repubs_then_resumed_on_kept_session() {
    let mut pair = Pair::connected(kept());
    let max = pair.session.config().max_repubs;
    pair.broker.drop_pubcomps = u32::from(max) + 1;
    let t = pair.publish("t", b"x", QoS::ExactlyOnce);
    pair.run_for(secs(10 * (u64::from(max) + 2)));
    assert!(pair.has_event(|e| *e
        == Event::Down {
            reason: DownReason::MaxRepubs
        }));
    assert!(pair.done(t), "{:?}", pair.events);
    assert_eq!(publishes(&pair).len(), 1);
    assert_eq!(pubrels(&pair), usize::from(max) + 2);
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::PublishDone { .. })),
        1
    );
}

/// Kept session, link cut after PUBREC: PUBREL resumes it, the PUBLISH is
/// not sent again.
#[test]
fn p5_kept_session_resumes_with_pubrel() {
    let mut pair = Pair::connected(kept());
    pair.broker.drop_pubcomps = 1;
    let t = pair.publish("t", b"x", QoS::ExactlyOnce);
    assert!(!pair.done(t));
    crash_and_reconnect(&mut pair);
    assert!(pair.done(t));
    assert_eq!(publishes(&pair).len(), 1);
    assert_eq!(pubrels(&pair), 2);
    assert_eq!(pubrel_events(&pair), vec![false, true]);
}

/// Kept session, cut before PUBREC: the PUBLISH is resent with its id and
/// DUP (the broker stored it once and answers PUBREC again).
#[test]
fn p5_kept_session_resends_publish_before_pubrec() {
    let mut pair = Pair::connected(kept());
    pair.broker.drop_pubrecs = 1;
    let t = pair.publish("t", b"x", QoS::ExactlyOnce);
    crash_and_reconnect(&mut pair);
    assert!(pair.done(t));
    let p = publishes(&pair);
    assert_eq!(p.len(), 2);
    assert_eq!(p[1], (p[0].0, true));
    assert_eq!(pubrels(&pair), 1);
}

/// New session after PUBREC (B6 for QoS 2): republished with a new id,
/// without DUP; completes once. (A broker that routed at PUBLISH would
/// deliver it twice: documented, and the exactly_once oracle knows.)
#[test]
fn p5_new_session_republishes_after_pubrec() {
    let mut pair = Pair::connected(Config::default());
    pair.broker.drop_pubcomps = 1;
    let t = pair.publish("t", b"x", QoS::ExactlyOnce);
    crash_and_reconnect(&mut pair);
    assert!(pair.done(t));
    let p = publishes(&pair);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(!p[1].1, "a new message, not a DUP");
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::PublishDone { .. })),
        1
    );
    assert_eq!(pubrels(&pair), 2);
}

/// The broker resends PUBREC for an id already awaiting PUBCOMP: PUBREL
/// again, completed once.
#[test]
fn p5_repeated_pubrec_gets_pubrel_again() {
    let mut pair = Pair::connected(Config::default());
    pair.broker.drop_pubcomps = 1;
    let t = pair.publish("t", b"x", QoS::ExactlyOnce);
    let p = publishes(&pair)[0].0.unwrap();
    pair.broker_sends(BrokerModel::packet_bytes(Packet::PubRec(codec::PubRec(
        pid(p),
    ))));
    assert_eq!(pubrels(&pair), 2);
    assert_eq!(pubrel_events(&pair), vec![false, true]);
    assert!(pair.done(t));
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::PublishDone { .. })),
        1
    );
}

/// A PUBREC for an id not in flight is ignored as stray (B1) but answered
/// with PUBREL (the broker may still hold the id); the link stays up.
#[test]
fn p5_stray_pubrec_answered_with_pubrel() {
    let mut pair = Pair::connected(Config::default());
    pair.broker_sends(BrokerModel::packet_bytes(Packet::PubRec(codec::PubRec(
        pid(9),
    ))));
    assert_eq!(pair.count_seen(|s| *s == Seen::PubRel(9)), 1);
    // The PUBREC, then the PUBCOMP the model answers our PUBREL with.
    assert_eq!(pair.session.stats().stray_acks, 2);
    assert!(pair.session.is_connected());
    assert!(pubrel_events(&pair).is_empty());
}

/// A stray PUBCOMP (the answer to a PUBREL resent too early) is ignored.
#[test]
fn p5_late_pubcomp_is_stray() {
    let mut pair = Pair::connected(Config::default());
    let t = pair.publish("t", b"x", QoS::ExactlyOnce);
    assert!(pair.done(t));
    let p = publishes(&pair)[0].0.unwrap();
    pair.broker_sends(BrokerModel::packet_bytes(Packet::PubComp(codec::PubComp(
        pid(p),
    ))));
    assert_eq!(pair.session.stats().stray_acks, 1);
    assert!(pair.session.is_connected());
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::PublishDone { .. })),
        1
    );
}

/// Incoming: a DUP resend of an id awaiting PUBREL gets PUBREC again and
/// is not delivered again; PUBREL gets PUBCOMP and forgets the id, so the
/// next message with that id is delivered.
#[test]
fn p5_incoming_dup_not_delivered_until_released() {
    let mut pair = Pair::connected(Config::default());
    incoming(&mut pair, 5, false);
    incoming(&mut pair, 5, true);
    assert_eq!(messages(&pair), 1);
    assert_eq!(pair.count_seen(|s| *s == Seen::PubRec(5)), 2);
    assert!(pair.has_event(|e| *e == Event::DuplicateIgnored { pid: pid(5) }));
    pair.broker_sends(BrokerModel::packet_bytes(Packet::PubRel(codec::PubRel(
        pid(5),
    ))));
    assert_eq!(pair.count_seen(|s| *s == Seen::PubComp(5)), 1);
    incoming(&mut pair, 5, false);
    assert_eq!(messages(&pair), 2, "a released id is a new message");
}

/// Incoming: a new PUBLISH (DUP = 0) on an id still awaiting PUBREL is the
/// broker's protocol violation (it reused the id, or resent without DUP):
/// answered with PUBREC as the rule for the receiver says, not delivered a
/// second time, and flagged with what it carried; the connection stays up.
#[test]
fn p5_incoming_new_publish_on_pending_id_is_a_broker_violation() {
    let mut pair = Pair::connected(Config::default());
    incoming(&mut pair, 5, false);
    pair.broker_sends(BrokerModel::publish_bytes(
        "other",
        b"second",
        QosPid::ExactlyOnce(pid(5)),
        false,
        false,
    ));
    assert_eq!(messages(&pair), 1, "not delivered");
    assert_eq!(pair.count_seen(|s| *s == Seen::PubRec(5)), 2);
    assert!(pair.session.is_connected());
    let flagged: Vec<_> = pair
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::BrokerViolation {
                violation,
                topic,
                payload,
            } => Some((*violation, topic.to_string(), payload.to_vec())),
            _ => None,
        })
        .collect();
    assert_eq!(
        flagged,
        vec![(
            BrokerViolation::Qos2IdReused { pid: pid(5) },
            "other".to_string(),
            b"second".to_vec()
        )]
    );
    assert!(!pair.has_event(|e| matches!(e, Event::DuplicateIgnored { .. })));
    assert_eq!(pair.session.stats().broker_violations, 1);
    // The PUBREL still releases the id: the next message on it is new.
    pair.broker_sends(BrokerModel::packet_bytes(Packet::PubRel(codec::PubRel(
        pid(5),
    ))));
    incoming(&mut pair, 5, false);
    assert_eq!(messages(&pair), 2);
}

/// Incoming: PUBREL for an unknown id is answered with PUBCOMP.
#[test]
fn p5_incoming_unknown_pubrel_gets_pubcomp() {
    let mut pair = Pair::connected(Config::default());
    pair.broker_sends(BrokerModel::packet_bytes(Packet::PubRel(codec::PubRel(
        pid(42),
    ))));
    assert_eq!(pair.count_seen(|s| *s == Seen::PubComp(42)), 1);
    assert!(pair.session.is_connected());
}

/// Incoming: the ids awaiting PUBREL survive a reconnect with the session
/// kept: the broker's DUP resend after it is not delivered again.
#[test]
fn p5_incoming_ids_survive_kept_session() {
    let mut pair = Pair::connected(kept());
    incoming(&mut pair, 5, false);
    crash_and_reconnect(&mut pair);
    assert!(pair.has_event(|e| *e
        == Event::Up {
            session_present: true
        }));
    incoming(&mut pair, 5, true);
    assert_eq!(messages(&pair), 1);
    assert_eq!(pair.count_seen(|s| *s == Seen::PubRec(5)), 2);
    pair.broker_sends(BrokerModel::packet_bytes(Packet::PubRel(codec::PubRel(
        pid(5),
    ))));
    assert_eq!(pair.count_seen(|s| *s == Seen::PubComp(5)), 1);
}

/// Incoming: a new session (session_present = 0) clears the ids: the
/// broker's id 5 is a new message then.
#[test]
fn p5_incoming_ids_cleared_on_new_session() {
    let mut pair = Pair::connected(Config::default());
    incoming(&mut pair, 5, false);
    crash_and_reconnect(&mut pair);
    incoming(&mut pair, 5, false);
    assert_eq!(messages(&pair), 2);
}
