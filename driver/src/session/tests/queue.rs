//! P5 beyond: the bounded offline queue. Publishes made during an outage
//! are held up to a bound (count and bytes), overflow follows the
//! configured policy (reject new / drop oldest, counted and reported), the
//! queue goes out in order after the reconnect, and with `persist` the
//! session emits storage operations and restores what a reboot left.

use super::*;
use crate::storage::{restore_into, MemoryStorage, QueueStorage};

fn queue(max_messages: usize, max_bytes: usize, overflow: Overflow, persist: bool) -> Config {
    Config {
        offline_queue: Some(OfflineQueue {
            max_messages,
            max_bytes,
            overflow,
            persist,
        }),
        ..Config::default()
    }
}

/// Payloads the broker saw, in order.
fn seen_payloads(pair: &Pair) -> Vec<Vec<u8>> {
    pair.seen_publishes()
        .into_iter()
        .map(|(_, s)| match s {
            Seen::Publish { payload, .. } => payload,
            _ => unreachable!(),
        })
        .collect()
}

fn try_publish(pair: &mut Pair, payload: &[u8], qos: QoS) -> Result<Token, RequestError> {
    let r = pair.session.publish(pair.now, "t", payload, qos, false);
    pair.pump();
    r
}

fn payloads(range: core::ops::RangeInclusive<u32>) -> Vec<Vec<u8>> {
    range.map(|i| i.to_string().into_bytes()).collect()
}

fn drain_events(session: &mut Session) -> Vec<Event> {
    core::iter::from_fn(|| session.poll_event()).collect()
}

fn store_ops(session: &mut Session) -> Vec<StoreOp> {
    core::iter::from_fn(|| session.poll_store()).collect()
}

/// Without `offline_queue` (the default) nothing changes: the outbox is
/// unbounded, no queue event is emitted, nothing is stored.
#[cfg(feature = "alloc")]
#[test]
fn default_is_unbounded_and_silent() {
    let mut pair = Pair::connected(Config::default());
    pair.wifi_down();
    for i in 0..1000u32 {
        try_publish(&mut pair, &i.to_be_bytes(), QoS::AtLeastOnce).unwrap();
    }
    assert_eq!(pair.session.pending_publishes(), 1000);
    assert!(!pair.has_event(|e| matches!(
        e,
        Event::PublishQueued { .. } | Event::PublishDropped { .. } | Event::PublishRejected { .. }
    )));
    assert_eq!(pair.session.poll_store(), None);
    pair.wifi_up();
    pair.run_for(secs(60));
    assert_eq!(pair.seen_publishes().len(), 1000);
}

/// Reject new: past the bound, `publish` fails with QueueFull, each
/// refusal is reported and counted, and the accepted ones go out in order.
#[test]
fn reject_new_refuses_beyond_the_count_bound() {
    let mut pair = Pair::connected(queue(3, 1000, Overflow::Reject, false));
    pair.wifi_down();
    for p in payloads(1..=3) {
        try_publish(&mut pair, &p, QoS::AtLeastOnce).unwrap();
    }
    assert_eq!(
        try_publish(&mut pair, b"4", QoS::AtLeastOnce),
        Err(RequestError::QueueFull)
    );
    assert_eq!(
        try_publish(&mut pair, b"5", QoS::AtMostOnce),
        Err(RequestError::QueueFull)
    );
    let rejected: Vec<(Vec<u8>, u64)> = pair
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::PublishRejected { payload, total, .. } => Some((payload.to_vec(), *total)),
            _ => None,
        })
        .collect();
    assert_eq!(rejected, vec![(b"4".to_vec(), 1), (b"5".to_vec(), 2)]);
    assert_eq!(pair.session.stats().queue_rejected, 2);
    let held: Vec<usize> = pair
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::PublishQueued { held, .. } => Some(*held),
            _ => None,
        })
        .collect();
    assert_eq!(held, vec![1, 2, 3]);
    pair.wifi_up();
    pair.run_for(secs(10));
    assert_eq!(seen_payloads(&pair), payloads(1..=3));
    // Room again once they completed.
    try_publish(&mut pair, b"6", QoS::AtLeastOnce).unwrap();
    assert_eq!(pair.session.pending_publishes(), 0);
}

/// Drop oldest: the oldest held publishes make room, each fails with
/// Dropped and is reported with the running count; the newest `max` go
/// out in order after the outage.
#[test]
fn drop_oldest_keeps_the_newest_in_order() {
    let mut pair = Pair::connected(queue(3, 1000, Overflow::DropOldest, false));
    pair.wifi_down();
    let tokens: Vec<Token> = payloads(1..=7)
        .iter()
        .map(|p| try_publish(&mut pair, p, QoS::AtLeastOnce).unwrap())
        .collect();
    assert_eq!(pair.session.pending_publishes(), 3);
    let dropped: Vec<(Token, Vec<u8>, u64)> = pair
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::PublishDropped {
                token,
                payload,
                total,
                ..
            } => Some((*token, payload.to_vec(), *total)),
            _ => None,
        })
        .collect();
    assert_eq!(
        dropped,
        (0..4)
            .map(|i| (tokens[i], payloads(1..=4)[i].clone(), i as u64 + 1))
            .collect::<Vec<_>>()
    );
    for t in &tokens[..4] {
        assert!(pair.has_event(|e| *e
            == Event::PublishFailed {
                token: *t,
                error: RequestError::Dropped
            }));
    }
    assert_eq!(pair.session.stats().queue_dropped, 4);
    pair.wifi_up();
    pair.run_for(secs(10));
    assert_eq!(seen_payloads(&pair), payloads(5..=7));
    for t in &tokens[4..] {
        assert!(pair.done(*t));
    }
}

/// Without alloc and without `offline_queue`, the outbox's capacity is
/// the bound: new publishes are refused (never an old one lost), the held
/// ones all go out in order after the outage, and nothing is stored.
#[cfg(not(feature = "alloc"))]
#[test]
fn default_without_alloc_is_bounded_by_the_outbox_capacity() {
    let mut pair = Pair::connected(Config::default());
    pair.wifi_down();
    let n = store::caps::OUTBOX as u32;
    for i in 0..n {
        try_publish(&mut pair, &i.to_be_bytes(), QoS::AtLeastOnce).unwrap();
    }
    assert_eq!(
        try_publish(&mut pair, b"one too many", QoS::AtLeastOnce),
        Err(RequestError::QueueFull)
    );
    assert_eq!(pair.session.stats().queue_rejected, 1);
    assert_eq!(pair.session.poll_store(), None);
    pair.wifi_up();
    pair.run_for(secs(60));
    let seen: Vec<Vec<u8>> = seen_payloads(&pair);
    let sent: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().to_vec()).collect();
    assert_eq!(seen, sent);
}

/// The byte bound counts topic + payload of every publish held; a publish
/// larger than the whole bound is refused even under drop-oldest (dropping
/// everything would not make room), and nothing is dropped for it.
#[test]
fn byte_bound_and_oversized_publish() {
    // "t" + 4 bytes = 5 bytes each: two fit in 10.
    let mut pair = Pair::connected(queue(10, 10, Overflow::Reject, false));
    pair.wifi_down();
    try_publish(&mut pair, b"aaaa", QoS::AtLeastOnce).unwrap();
    try_publish(&mut pair, b"bbbb", QoS::AtLeastOnce).unwrap();
    assert_eq!(pair.session.pending_bytes(), 10);
    assert_eq!(
        try_publish(&mut pair, b"c", QoS::AtLeastOnce),
        Err(RequestError::QueueFull)
    );

    let mut pair = Pair::connected(queue(10, 10, Overflow::DropOldest, false));
    pair.wifi_down();
    try_publish(&mut pair, b"aaaa", QoS::AtLeastOnce).unwrap();
    try_publish(&mut pair, b"bbbb", QoS::AtLeastOnce).unwrap();
    assert_eq!(
        try_publish(&mut pair, b"0123456789", QoS::AtLeastOnce),
        Err(RequestError::QueueFull)
    );
    assert_eq!(pair.session.pending_publishes(), 2);
    // A small one drops exactly as many as needed (one).
    try_publish(&mut pair, b"cc", QoS::AtLeastOnce).unwrap();
    assert_eq!(pair.session.stats().queue_dropped, 1);
    pair.wifi_up();
    pair.run_for(secs(10));
    assert_eq!(seen_payloads(&pair), vec![b"bbbb".to_vec(), b"cc".to_vec()]);
}

/// The bound covers publishes in flight too (what the session holds), and
/// drop-oldest never drops a QoS 2 publish past its PUBREC: the broker has
/// it, only the release is outstanding.
#[test]
fn drop_oldest_spares_qos2_awaiting_pubcomp() {
    let mut pair = Pair::connected(queue(2, 1000, Overflow::DropOldest, false));
    pair.broker.drop_pubcomps = 10;
    let q2 = try_publish(&mut pair, b"q2", QoS::ExactlyOnce).unwrap();
    assert_eq!(pair.count_seen(|s| matches!(s, Seen::PubRel(_))), 1);
    pair.wifi_down();
    try_publish(&mut pair, b"a", QoS::AtLeastOnce).unwrap();
    try_publish(&mut pair, b"b", QoS::AtLeastOnce).unwrap();
    let dropped: Vec<Vec<u8>> = pair
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::PublishDropped { payload, .. } => Some(payload.to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, vec![b"a".to_vec()]);
    assert!(!pair.has_event(|e| matches!(e, Event::PublishFailed { token, .. } if *token == q2)));
    // Only QoS 2 publishes past PUBREC held: nothing can be dropped, the
    // new one is refused.
    let mut pair = Pair::connected(queue(1, 1000, Overflow::DropOldest, false));
    pair.broker.drop_pubcomps = 10;
    try_publish(&mut pair, b"q2", QoS::ExactlyOnce).unwrap();
    assert_eq!(
        try_publish(&mut pair, b"x", QoS::AtLeastOnce),
        Err(RequestError::QueueFull)
    );
}

/// On a live connection with room in the in-flight window a publish is
/// sent at once: no PublishQueued event.
#[test]
fn no_queued_event_when_sent_at_once() {
    let mut pair = Pair::connected(queue(10, 1000, Overflow::Reject, false));
    let t = try_publish(&mut pair, b"x", QoS::AtLeastOnce).unwrap();
    assert!(pair.done(t));
    assert!(!pair.has_event(|e| matches!(e, Event::PublishQueued { .. })));
}

/// persist: each QoS >= 1 publish is appended under a growing sequence
/// number (QoS 0 is not: it may be lost, P2) and removed when acknowledged
/// or dropped.
#[test]
fn persist_appends_and_removes() {
    let mut pair = Pair::connected(queue(2, 1000, Overflow::DropOldest, true));
    pair.wifi_down();
    try_publish(&mut pair, b"1", QoS::AtLeastOnce).unwrap();
    try_publish(&mut pair, b"q0", QoS::AtMostOnce).unwrap();
    try_publish(&mut pair, b"2", QoS::ExactlyOnce).unwrap();
    assert_eq!(
        store_ops(&mut pair.session),
        vec![
            // "1" was dropped to make room for "2" (the QoS 0 one is newer)
            // before the shell took its append: the record is never
            // written, and its remove is harmless.
            StoreOp::Remove { seq: 0 },
            StoreOp::Append {
                seq: 1,
                record: encode_record("t", b"2", QoS::ExactlyOnce, false).unwrap()
            },
        ]
    );
    pair.wifi_up();
    pair.run_for(secs(10));
    assert_eq!(
        store_ops(&mut pair.session),
        vec![StoreOp::Remove { seq: 1 }]
    );
    assert_eq!(seen_payloads(&pair), vec![b"q0".to_vec(), b"2".to_vec()]);
}

/// A reboot during the outage: the first session's storage operations go
/// to a MemoryStorage; a new session restores from it before connecting
/// and sends every queued QoS 1 publish, in order, as new messages; the
/// storage is empty once they are acknowledged. New publishes continue the
/// sequence numbers after the restored ones.
#[test]
fn reboot_restores_queued_qos1_in_order() {
    let config = queue(3, 1000, Overflow::DropOldest, true);
    let mut flash = MemoryStorage::new();
    let mut pair = Pair::connected(config.clone());
    pair.wifi_down();
    for p in payloads(1..=5) {
        try_publish(&mut pair, &p, QoS::AtLeastOnce).unwrap();
        for op in store_ops(&mut pair.session) {
            flash.apply(&op).unwrap();
        }
    }
    assert_eq!(flash.seqs(), vec![2, 3, 4]);
    drop(pair); // power lost

    let mut pair = Pair::new(config);
    let (restored, problems) = restore_into(&mut flash, &mut pair.session);
    assert_eq!((restored, problems.len()), (3, 0));
    let seqs: Vec<u64> = drain_events(&mut pair.session)
        .into_iter()
        .filter_map(|e| match e {
            Event::PublishRestored { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, vec![2, 3, 4]);
    pair.connect(true);
    let t = try_publish(&mut pair, b"6", QoS::AtLeastOnce).unwrap();
    pair.run_for(secs(1));
    assert!(pair.done(t));
    for op in store_ops(&mut pair.session) {
        flash.apply(&op).unwrap();
    }
    assert_eq!(
        seen_payloads(&pair),
        vec![b"3".to_vec(), b"4".to_vec(), b"5".to_vec(), b"6".to_vec()]
    );
    // New ids, no DUP: published again as new messages.
    assert!(pair
        .seen_publishes()
        .iter()
        .all(|(_, s)| matches!(s, Seen::Publish { dup: false, .. })));
    assert!(flash.is_empty(), "{:?}", flash.seqs());
}

/// `restore`'s refusals: after connect, without persist, a damaged record,
/// a sequence number twice.
#[test]
fn restore_refusals() {
    let good = encode_record("t", b"x", QoS::AtLeastOnce, false).unwrap();
    let mut s = Session::new(Config::default()).unwrap();
    assert_eq!(s.restore(1, &good), Err(RestoreError::NotPersisting));
    let mut s = Session::new(queue(5, 100, Overflow::Reject, true)).unwrap();
    assert_eq!(
        s.restore(1, &good[..good.len() - 1]),
        Err(RestoreError::Record(RecordError::Truncated))
    );
    assert!(s.restore(1, &good).is_ok());
    assert_eq!(s.restore(1, &good), Err(RestoreError::DuplicateSeq(1)));
    s.connect(Instant::ZERO, true).unwrap();
    assert_eq!(s.restore(2, &good), Err(RestoreError::AlreadyStarted));
    // A bound smaller than what was stored: the rest are refused and
    // removed from storage.
    let mut s = Session::new(queue(1, 100, Overflow::Reject, true)).unwrap();
    assert!(s.restore(1, &good).is_ok());
    assert_eq!(s.restore(2, &good), Err(RestoreError::QueueFull));
    assert_eq!(store_ops(&mut s), vec![StoreOp::Remove { seq: 2 }]);
}

/// A damaged record among good ones: the good ones are restored, the bad
/// one is reported (StorageFailed) and removed from storage.
#[test]
fn restore_into_keeps_the_good_records() {
    let mut flash = MemoryStorage::new();
    flash
        .append(
            1,
            &encode_record("t", b"1", QoS::AtLeastOnce, false).unwrap(),
        )
        .unwrap();
    flash.append(2, b"\x01\x09garbage").unwrap();
    flash
        .append(
            3,
            &encode_record("t", b"3", QoS::AtLeastOnce, true).unwrap(),
        )
        .unwrap();
    let mut s = Session::new(queue(5, 100, Overflow::Reject, true)).unwrap();
    let (restored, problems) = restore_into(&mut flash, &mut s);
    assert_eq!(restored, 2);
    assert_eq!(
        problems.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        vec!["offline queue record 2: bad record: invalid flags byte 0x09"]
    );
    assert!(drain_events(&mut s).iter().any(|e| matches!(
        e,
        Event::StorageFailed { reason } if reason.contains("record 2")
    )));
    assert_eq!(flash.seqs(), vec![1, 3]);
    assert_eq!(s.pending_publishes(), 2);
}

#[test]
fn config_validation() {
    for (m, b) in [(0, 10), (10, 0)] {
        assert_eq!(
            queue(m, b, Overflow::Reject, false).validate(),
            Err(ConfigError::InvalidOfflineQueue)
        );
    }
    assert!(queue(1, 1, Overflow::DropOldest, true).validate().is_ok());
}

mod record {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_errors() {
        let r = encode_record("a/b", b"payload", QoS::ExactlyOnce, true).unwrap();
        assert_eq!(
            decode_record(&r),
            Ok(StoredPublish {
                topic: t("a/b"),
                payload: b(b"payload"),
                qos: QoS::ExactlyOnce,
                retain: true,
            })
        );
        assert_eq!(decode_record(&[]), Err(RecordError::Truncated));
        let mut v = r.clone();
        v[0] = 2;
        assert_eq!(decode_record(&v), Err(RecordError::Version(2)));
        let mut v = r.to_vec();
        v[1] = 3;
        assert_eq!(decode_record(&v), Err(RecordError::Flags(3)));
        let mut v = r.to_vec();
        v.push(0);
        assert_eq!(decode_record(&v), Err(RecordError::TrailingBytes(1)));
        let w = encode_record("a/#", b"", QoS::AtLeastOnce, false).unwrap();
        assert_eq!(decode_record(&w), Err(RecordError::Topic));
    }

    proptest! {
        /// Stored records are outside input (flash survives firmware
        /// updates and power cuts): any bytes decode or fail, never panic.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = decode_record(&bytes);
        }

        #[test]
        fn valid_records_round_trip(
            topic in "[a-z/]{1,20}",
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            qos in 0u8..3,
            retain in any::<bool>(),
        ) {
            let qos = QoS::from_u8(qos).unwrap();
            let r = encode_record(&topic, &payload, qos, retain).unwrap();
            prop_assert_eq!(
                decode_record(&r),
                Ok(StoredPublish { topic: t(&topic), payload: b(&payload), qos, retain })
            );
        }
    }
}
