//! P5 beyond: the bounded offline queue. Publishes the application makes
//! while the link is down wait in the session's outbox (sent in order after
//! the reconnect, as before); with [`OfflineQueue`] configured, what the
//! session holds is bounded by count and by bytes, the overflow policy is
//! explicit ([`Overflow`]), and QoS >= 1 publishes can be persisted so that
//! a reboot does not lose them.
//!
//! Sans-IO, like the rest of the session: the core never touches storage.
//! It says what to store or remove ([`StoreOp`], from
//! [`Session::poll_store`]) and takes the records loaded at start-up back
//! through [`Session::restore`]. A record is an opaque byte string under a
//! sequence number; [`encode_record`] / [`decode_record`] define its bytes,
//! and the small [`crate::storage::QueueStorage`] trait (append, remove,
//! load) is all a shell needs from a file system or a flash sector.

use core::fmt;

use super::store::{self, caps, Buf, Bytes, List, Owned, Seq, Text};

use super::outbox::{OutPublish, OutState};
use super::{Event, RequestError, Session, Token};
use crate::codec::QoS;

/// What to do with a publish that does not fit in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Refuse the new publish: `publish` returns
    /// [`RequestError::QueueFull`] (and [`Event::PublishRejected`] says so).
    #[default]
    Reject,
    /// Drop the oldest publish the broker has not accepted yet to make
    /// room: it fails with [`RequestError::Dropped`], and
    /// [`Event::PublishDropped`] carries it and the running count.
    DropOldest,
}

/// P5 beyond: bounds of what the session holds (every publish from the
/// application's call to its completion: queued during an outage, or in
/// flight) and whether QoS >= 1 publishes are persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineQueue {
    /// Most publishes held at once (>= 1).
    pub max_messages: usize,
    /// Most bytes held at once (topic + payload of each, >= 1).
    pub max_bytes: usize,
    /// What happens to a publish that does not fit.
    pub overflow: Overflow,
    /// Emit [`StoreOp`]s for QoS >= 1 publishes, so a shell can keep them
    /// across a reboot (restored with [`Session::restore`]).
    pub persist: bool,
}

impl Default for OfflineQueue {
    /// 100 messages, 64 KiB, reject new, not persisted.
    fn default() -> Self {
        OfflineQueue {
            max_messages: 100,
            max_bytes: 64 * 1024,
            overflow: Overflow::Reject,
            persist: false,
        }
    }
}

/// What the shell must do to its storage, in order.
#[allow(clippy::large_enum_variant)] // one at a time, from poll_store
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    /// Keep `record` under `seq` (sequence numbers only grow).
    Append { seq: u64, record: Record },
    /// The publish stored under `seq` completed or was dropped: forget it.
    Remove { seq: u64 },
}

/// A stored publish, as [`decode_record`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPublish {
    pub topic: Text,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
}

/// Why a stored record cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Shorter than its header or its lengths say.
    Truncated,
    /// Unknown format version (the first byte).
    Version(u8),
    /// Reserved flag bits set, or qos 3.
    Flags(u8),
    /// The topic is not UTF-8 or not a valid topic name.
    Topic,
    /// Bytes after the payload.
    TrailingBytes(usize),
    /// The publish would not fit in an MQTT packet.
    TooLarge,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated => f.write_str("record is truncated"),
            RecordError::Version(v) => write!(f, "unknown record version {v}"),
            RecordError::Flags(b) => write!(f, "invalid flags byte 0x{b:02x}"),
            RecordError::Topic => f.write_str("topic is not a valid UTF-8 topic name"),
            RecordError::TrailingBytes(n) => write!(f, "{n} bytes after the payload"),
            RecordError::TooLarge => f.write_str("publish too large for MQTT"),
        }
    }
}

impl core::error::Error for RecordError {}

/// Why [`Session::restore`] refused a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreError {
    /// `restore` must come before `connect`.
    AlreadyStarted,
    /// The record could not be read.
    Record(RecordError),
    /// The session's offline queue is not configured with `persist`.
    NotPersisting,
    /// A record with this sequence number was already restored.
    DuplicateSeq(u64),
    /// The queue is full and its policy is `Reject` (the bound is smaller
    /// than when the record was stored); the record is removed.
    QueueFull,
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::AlreadyStarted => {
                f.write_str("restore() must be called before connect()")
            }
            RestoreError::Record(e) => write!(f, "bad record: {e}"),
            RestoreError::NotPersisting => {
                f.write_str("the offline queue is not configured to persist")
            }
            RestoreError::DuplicateSeq(s) => write!(f, "record {s} was already restored"),
            RestoreError::QueueFull => {
                f.write_str("the offline queue is full (reject policy): record dropped")
            }
        }
    }
}

impl core::error::Error for RestoreError {}

/// The bytes of one stored publish ([`encode_record`]).
pub type Record = Buf<{ RECORD_MAX }>;

/// The longest record the allocation-free build stores.
const RECORD_MAX: usize = HEADER + caps::TEXT + 4 + caps::PAYLOAD;

/// Record format version 1.
const VERSION: u8 = 1;
/// Version, flags, topic length.
const HEADER: usize = 1 + 1 + 2;

/// The bytes of a stored publish: version (1), flags (qos in bits 0-1,
/// retain in bit 2), topic length (u16 BE), topic, payload length (u32 BE),
/// payload. [`RecordError::TooLarge`] when the publish could never be
/// sent (or, without `alloc`, does not fit the build's capacities).
pub fn encode_record(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    retain: bool,
) -> Result<Record, RecordError> {
    if topic.len() > u16::MAX as usize || payload.len() > u32::MAX as usize {
        return Err(RecordError::TooLarge);
    }
    let mut out = Record::new();
    let flags = qos as u8 | if retain { 4 } else { 0 };
    [
        &[VERSION, flags][..],
        &(topic.len() as u16).to_be_bytes(),
        topic.as_bytes(),
        &(payload.len() as u32).to_be_bytes(),
        payload,
    ]
    .iter()
    .try_for_each(|part| out.try_extend(part))
    .map_err(|_| RecordError::TooLarge)?;
    Ok(out)
}

/// Reads a record written by [`encode_record`]. Any other input (a torn
/// write, a flipped bit) is an error, never a panic.
pub fn decode_record(bytes: &[u8]) -> Result<StoredPublish, RecordError> {
    if bytes.len() < HEADER {
        return Err(RecordError::Truncated);
    }
    if bytes[0] != VERSION {
        return Err(RecordError::Version(bytes[0]));
    }
    let flags = bytes[1];
    let qos = QoS::from_u8(flags & 3).ok_or(RecordError::Flags(flags))?;
    if flags & !7 != 0 {
        return Err(RecordError::Flags(flags));
    }
    let tlen = u16::from_be_bytes([bytes[2], bytes[3]]) as usize;
    let rest = &bytes[HEADER..];
    if rest.len() < tlen + 4 {
        return Err(RecordError::Truncated);
    }
    let topic = core::str::from_utf8(&rest[..tlen]).map_err(|_| RecordError::Topic)?;
    let plen =
        u32::from_be_bytes([rest[tlen], rest[tlen + 1], rest[tlen + 2], rest[tlen + 3]]) as usize;
    let body = &rest[tlen + 4..];
    if body.len() < plen {
        return Err(RecordError::Truncated);
    }
    if body.len() > plen {
        return Err(RecordError::TrailingBytes(body.len() - plen));
    }
    let retain = flags & 4 != 0;
    match Session::check_publish(topic, body, qos, retain) {
        Ok(()) => {}
        Err(RequestError::InvalidTopic) => return Err(RecordError::Topic),
        Err(_) => return Err(RecordError::TooLarge),
    }
    Ok(StoredPublish {
        topic: store::text(topic).map_err(|_| RecordError::TooLarge)?,
        payload: store::bytes(body).map_err(|_| RecordError::TooLarge)?,
        qos,
        retain,
    })
}

/// A storage operation not yet taken by the shell. An append names the
/// held publish; its record is encoded when the shell takes it, so that
/// pending operations cost no copy of the payload (one whose publish left
/// the books before that is skipped: its remove follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending {
    Append(u64),
    Remove(u64),
}

/// The queue's books inside the session.
#[derive(Debug, Default)]
pub(super) struct QueueBooks {
    /// Storage operations not yet taken by the shell.
    pub ops: List<Pending, { caps::STORE_OPS }>,
    /// The next sequence number for a stored publish.
    pub next_seq: u64,
}

/// Without alloc, the outbox's capacity bounds what the session holds even
/// when no offline queue is configured (new publishes are then refused).
#[cfg(feature = "alloc")]
const IMPLICIT_BOUND: Option<OfflineQueue> = None;
#[cfg(not(feature = "alloc"))]
const IMPLICIT_BOUND: Option<OfflineQueue> = Some(OfflineQueue {
    max_messages: caps::OUTBOX,
    max_bytes: usize::MAX,
    overflow: Overflow::Reject,
    persist: false,
});

fn held_size(p: &OutPublish) -> usize {
    p.topic.len() + p.payload.len()
}

impl Session {
    /// P5 beyond: the next storage operation for the shell (only with
    /// `offline_queue.persist`). Perform them in order; an append must be
    /// durable before the next operation is taken.
    pub fn poll_store(&mut self) -> Option<StoreOp> {
        loop {
            let seq = match self.offline.ops.pop_first()? {
                Pending::Remove(seq) => return Some(StoreOp::Remove { seq }),
                Pending::Append(seq) => seq,
            };
            let held = self.outbox.publishes.iter().find(|p| p.seq == Some(seq));
            // Held publishes fit a record (their topic and payload were
            // checked on the way in).
            if let Some(Ok(record)) =
                held.map(|p| encode_record(&p.topic, &p.payload, p.qos, p.retain))
            {
                return Some(StoreOp::Append { seq, record });
            }
        }
    }

    /// Bytes (topic + payload) of the publishes held now.
    pub fn pending_bytes(&self) -> usize {
        self.outbox.publishes.iter().map(held_size).sum()
    }

    /// P5 beyond: puts back a publish stored under `seq` by an earlier run
    /// (a reboot). Call it for each loaded record, before `connect`; the
    /// publishes are sent, in `seq` order, after the first connection, as
    /// new messages (at-least-once: one that reached the broker before the
    /// reboot may arrive twice). [`Event::PublishRestored`] names each.
    /// The queue's bound applies: a record that does not fit is handled by
    /// the overflow policy (and removed from storage).
    pub fn restore(&mut self, seq: u64, record: &[u8]) -> Result<Token, RestoreError> {
        if self.started() {
            return Err(RestoreError::AlreadyStarted);
        }
        if !self.config.offline_queue.is_some_and(|q| q.persist) {
            return Err(RestoreError::NotPersisting);
        }
        if self.outbox.publishes.iter().any(|p| p.seq == Some(seq)) {
            return Err(RestoreError::DuplicateSeq(seq));
        }
        let p = decode_record(record).map_err(RestoreError::Record)?;
        self.offline.next_seq = self.offline.next_seq.max(seq.saturating_add(1));
        if self.queue_admit(&p.topic, &p.payload).is_err() {
            // Refused by the bound (it shrank since the record was
            // stored): the event is out, and storage forgets it.
            self.store_op(Pending::Remove(seq));
            return Err(RestoreError::QueueFull);
        }
        let token = self.token();
        let at = self
            .outbox
            .publishes
            .iter()
            .position(|q| q.seq.is_none_or(|s| s > seq))
            .unwrap_or(self.outbox.publishes.len());
        self.events.push(Event::PublishRestored {
            token,
            seq,
            topic: p.topic.clone(),
            payload: p.payload.clone(),
        });
        let restored = self.outbox.publishes.try_insert_at(
            at,
            OutPublish {
                token,
                topic: p.topic,
                payload: p.payload,
                qos: p.qos,
                retain: p.retain,
                // The record keeps topic, payload, QoS and retain: MQTT 5
                // publish properties are not persisted (driver/README.md).
                properties: None,
                state: OutState::Queued,
                seq: Some(seq),
            },
        );
        if restored.is_err() {
            // queue_admit made room; kept for the type's sake.
            self.store_op(Pending::Remove(seq));
            return Err(RestoreError::QueueFull);
        }
        Ok(token)
    }

    /// P5 beyond: makes room for a new publish of `topic` + `payload`, or
    /// refuses it, per the configured bound and policy. Without an offline
    /// queue everything fits (unbounded, as `mqtt_as`).
    pub(super) fn queue_admit(&mut self, topic: &str, payload: &[u8]) -> Result<(), RequestError> {
        let Some(q) = self.config.offline_queue.or(IMPLICIT_BOUND) else {
            return Ok(());
        };
        let q = OfflineQueue {
            max_messages: q.max_messages.min(store::limit(caps::OUTBOX)),
            ..q
        };
        let size = topic.len() + payload.len();
        let fits = |s: &Session| {
            s.outbox.publishes.len() < q.max_messages && s.pending_bytes() + size <= q.max_bytes
        };
        if size > q.max_bytes {
            return self.queue_reject(topic, payload);
        }
        while !fits(self) {
            if q.overflow == Overflow::Reject {
                return self.queue_reject(topic, payload);
            }
            // The oldest publish the broker has not accepted yet: a QoS 2
            // publish past its PUBREC is the broker's already; only its
            // release is outstanding.
            let victim = self
                .outbox
                .publishes
                .iter()
                .position(|p| !matches!(p.state, OutState::AwaitComp { .. }));
            let Some(i) = victim else {
                return self.queue_reject(topic, payload);
            };
            let Some(p) = self.outbox.publishes.take_at(i) else {
                return self.queue_reject(topic, payload);
            };
            self.stats.queue_dropped += 1;
            if let Some(seq) = p.seq {
                self.store_op(Pending::Remove(seq));
            }
            self.events.push(Event::PublishFailed {
                token: p.token,
                error: RequestError::Dropped,
            });
            self.events.push(Event::PublishDropped {
                token: p.token,
                topic: p.topic,
                payload: p.payload,
                total: self.stats.queue_dropped,
            });
        }
        Ok(())
    }

    fn queue_reject(&mut self, topic: &str, payload: &[u8]) -> Result<(), RequestError> {
        self.stats.queue_rejected += 1;
        if let (Ok(topic), Ok(payload)) = (store::text(topic), store::bytes(payload)) {
            self.events.push(Event::PublishRejected {
                topic,
                payload,
                total: self.stats.queue_rejected,
            });
        }
        Err(RequestError::QueueFull)
    }

    /// P5 beyond: the publish just pushed at the back of the outbox was
    /// accepted: store it (QoS >= 1 with `persist`).
    pub(super) fn queue_accepted(&mut self) {
        let Some(q) = self.config.offline_queue else {
            return;
        };
        let seq = self.offline.next_seq;
        let Some(p) = self.outbox.publishes.last_item() else {
            return;
        };
        if q.persist && p.qos != QoS::AtMostOnce {
            p.seq = Some(seq);
            self.offline.next_seq += 1;
            self.store_op(Pending::Append(seq));
        }
    }

    /// P5 beyond: after `flush`, tells the application (and the trace)
    /// that the publish `token` is waiting in the queue, if it is.
    pub(super) fn queue_note_held(&mut self, token: Token) {
        if self.config.offline_queue.is_none() {
            return;
        }
        let held = self.outbox.publishes.len();
        let bytes = self.pending_bytes();
        if let Some(p) = self
            .outbox
            .publishes
            .iter()
            .find(|p| p.token == token && p.state == OutState::Queued)
        {
            self.events.push(Event::PublishQueued {
                token,
                held,
                held_bytes: bytes,
                topic: p.topic.clone(),
                payload: p.payload.clone(),
            });
        }
    }

    /// P5 beyond: a publish left the books (completed): forget its record.
    pub(super) fn queue_forget(&mut self, p: &OutPublish) {
        if let Some(seq) = p.seq {
            self.store_op(Pending::Remove(seq));
        }
    }

    /// A shell's storage operation failed: reported as
    /// [`Event::StorageFailed`] (the publish itself goes on; it is only
    /// no longer safe across a reboot).
    pub fn handle_storage_error(&mut self, reason: &str) {
        self.events.push(Event::StorageFailed {
            reason: store::text_lossy(reason),
        });
    }

    /// Queues a storage operation for the shell. Without alloc, one that
    /// finds the list full (the shell has not taken them) is reported as a
    /// storage failure: that publish is then not safe across a reboot.
    pub(super) fn store_op(&mut self, op: Pending) {
        if self.offline.ops.try_push(op).is_err() {
            self.handle_storage_error("storage operations were not taken by the shell in time");
        }
    }
}
