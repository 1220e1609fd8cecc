//! Outgoing publishes and subscription requests, from the application's call
//! to their acknowledgement, across any number of reconnects (P1-P4, S1,
//! B5, B6). Nothing here touches time or I/O: the session decides when to
//! send and resend; this module keeps the books.

use super::store::{caps, Boxed, Bytes, List, Text};

use super::v5::{PublishProperties, SubscribeOptions};
use super::{Instant, Token};
use crate::codec::{Pid, QoS};

/// Where one outgoing publish stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutState {
    /// Waiting for a connection or for room in the in-flight window.
    Queued,
    /// QoS 1 sent, waiting for PUBACK; QoS 2 sent, waiting for PUBREC.
    AwaitAck {
        pid: Pid,
        sent_at: Instant,
        resends: u8,
    },
    /// QoS 2: PUBREL sent, waiting for PUBCOMP.
    AwaitComp {
        pid: Pid,
        sent_at: Instant,
        resends: u8,
    },
}

/// One publish the application asked for.
#[derive(Debug, Clone)]
pub(crate) struct OutPublish {
    pub token: Token,
    pub topic: Text,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// MQTT 5 properties (`None`: none, and always with 3.1.1).
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub properties: Option<Boxed<PublishProperties>>,
    pub state: OutState,
    /// P5 beyond: the sequence number it is stored under (persisted
    /// offline queue), if it is.
    pub seq: Option<u64>,
}

impl OutPublish {
    pub fn pid(&self) -> Option<Pid> {
        match self.state {
            OutState::Queued => None,
            OutState::AwaitAck { pid, .. } | OutState::AwaitComp { pid, .. } => Some(pid),
        }
    }

    /// When a reply is due, if one is awaited.
    pub fn sent_at(&self) -> Option<Instant> {
        match self.state {
            OutState::Queued => None,
            OutState::AwaitAck { sent_at, .. } | OutState::AwaitComp { sent_at, .. } => {
                Some(sent_at)
            }
        }
    }
}

/// A subscribe or unsubscribe request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpKind {
    Subscribe {
        filter: Text,
        qos: QoS,
        /// MQTT 5 options (`None`: the defaults, and always with 3.1.1).
        options: Option<Boxed<SubscribeOptions>>,
    },
    Unsubscribe {
        filter: Text,
    },
}

/// One subscribe/unsubscribe, with the application's token (`None` for the
/// driver's own resubscriptions, D5 beyond).
#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub token: Option<Token>,
    pub kind: OpKind,
    /// `Some` once sent on the current connection.
    pub sent: Option<(Pid, Instant)>,
}

/// The books: publishes in submission order, operations, and packet ids.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub publishes: List<OutPublish, { caps::OUTBOX }>,
    pub ops: List<Op, { caps::OPS + caps::SUBSCRIPTIONS }>,
    next_pid: u16,
}

impl Outbox {
    /// Whether `pid` is used by a publish in flight or an operation sent.
    fn pid_in_use(&self, pid: Pid) -> bool {
        self.publishes.iter().any(|p| p.pid() == Some(pid))
            || self.ops.iter().any(|o| o.sent.map(|(p, _)| p) == Some(pid))
    }

    /// The next free packet id, skipping ids in use (at most 65535 can be in
    /// use, and the in-flight window is smaller, so one is always free).
    /// Ids are handed out in turn, so the first candidate is almost always
    /// free: no set of used ids is built.
    pub fn alloc_pid(&mut self) -> Pid {
        loop {
            self.next_pid = self.next_pid.wrapping_add(1);
            if let Some(pid) = Pid::new(self.next_pid) {
                if !self.pid_in_use(pid) {
                    return pid;
                }
            }
        }
    }

    /// How many publishes are in flight (awaiting an ack).
    pub fn inflight(&self) -> usize {
        self.publishes
            .iter()
            .filter(|p| p.state != OutState::Queued)
            .count()
    }

    /// Index of the in-flight publish with `pid`.
    pub fn find(&self, pid: Pid) -> Option<usize> {
        self.publishes.iter().position(|p| p.pid() == Some(pid))
    }

    /// Index of the sent operation with `pid`.
    pub fn find_op(&self, pid: Pid) -> Option<usize> {
        self.ops
            .iter()
            .position(|o| o.sent.map(|(p, _)| p) == Some(pid))
    }
}
