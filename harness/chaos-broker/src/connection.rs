//! The per-connection state the core keeps: where the connection is in its
//! life (awaiting CONNECT, CONNECT held by a delay fault, connected,
//! closing), its unread input, the frames waiting to be sent, and the
//! counters faults need. The protocol logic that drives it lives in
//! [`crate::core`].

use std::collections::VecDeque;
use std::time::Duration;

use crate::log::DisconnectReason;
use crate::state::Message;
use crate::v5::V5Conn;

/// Where a connection is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Nothing accepted yet; the first packet must be CONNECT. A CONNECT a
    /// fault holds stays in the input buffer and is read again later; how
    /// far it got says what is already done for it.
    AwaitConnect(ConnectRead),
    /// A delay-connack fault holds the CONNECT (still in the input buffer,
    /// already logged) until this time.
    DelayingConnect {
        until: Duration,
    },
    Connected(Connected),
    /// No more input is read; output is flushed, then the shell closes.
    Closing,
}

/// How far the CONNECT at the head of the input has got while awaiting
/// CONNECT. Each step implies the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectRead {
    /// No CONNECT has been read yet.
    NotYet,
    /// It has been read and logged (it is logged once, when first read);
    /// a hang fault holds it.
    Logged,
    /// Logged, and the delay-connack fault has been served for it: it is
    /// not delayed again.
    DelayServed,
}

/// What a connected client told the broker in its CONNECT, and its
/// keepalive clock.
#[derive(Debug)]
pub(crate) struct Connected {
    pub client_id: String,
    /// Seconds; 0 disables the keepalive check.
    pub keep_alive: u16,
    pub will: Option<Message>,
    pub clock: Clock,
}

/// The keepalive clock of a connected client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    /// Running since the last packet was read at `last_in`.
    Running { last_in: Duration },
    /// A hang fault held the connection at the last fault change: nothing
    /// is read, keepalive is not judged. On release the clock restarts then
    /// (as a process resumed after SIGCONT reads before it judges).
    Paused,
}

impl Connected {
    /// A packet was read at `now` (a paused clock stays paused).
    pub(crate) fn heard(&mut self, now: Duration) {
        if let Clock::Running { last_in } = &mut self.clock {
            *last_in = now;
        }
    }

    /// A fault change found the connection `hung` or not at `now`.
    pub(crate) fn hang_changed(&mut self, hung: bool, now: Duration) {
        self.clock = match (self.clock, hung) {
            (_, true) => Clock::Paused,
            (Clock::Paused, false) => Clock::Running { last_in: now },
            (running, false) => running,
        };
    }

    /// When the client has been silent too long (1.5 x the keepalive):
    /// `None` with keepalive 0 or a paused clock.
    pub(crate) fn keepalive_deadline(&self) -> Option<Duration> {
        match self.clock {
            Clock::Running { last_in } if self.keep_alive > 0 => {
                Some(last_in + Duration::from_millis(self.keep_alive as u64 * 1500))
            }
            _ => None,
        }
    }
}

/// One frame waiting to be sent, with its packet-log summary.
#[derive(Debug)]
pub(crate) struct OutFrame {
    pub bytes: Vec<u8>,
    pub summary: String,
    /// A delay fault holds it (and everything queued behind it) until then.
    pub not_before: Option<Duration>,
    /// When it was queued, if it is held (by a delay fault, or behind a
    /// held frame): the packet log records it when it leaves, with both
    /// times. `None`: logged when queued (it leaves at once).
    pub held_since: Option<Duration>,
}

/// One connection's state.
#[derive(Debug)]
pub(crate) struct Connection {
    pub phase: Phase,
    /// Received bytes not yet consumed as packets.
    pub inbuf: Vec<u8>,
    pub outq: VecDeque<OutFrame>,
    /// Bytes handed to the transport so far (for close-after-bytes).
    pub sent_bytes: u64,
    /// Known once the CONNECT has been read, even while it is held.
    pub client_id: Option<String>,
    pub close_reason: Option<DisconnectReason>,
    /// `Some` once a CONNECT with protocol level 5 has been read: the
    /// connection speaks MQTT 5 from then on.
    pub v5: Option<V5Conn>,
    /// Appended to the packet-log summary of the next incoming packet
    /// (MQTT 5 details the 3.1.1 form cannot show, e.g. a topic alias).
    pub in_note: Option<String>,
    /// The CONNECT was MQTT 3.1 (`MQIsdp`, level 3): served as 3.1.1, with
    /// the CONNACK's session-present bit (reserved in 3.1) left 0.
    pub mqtt31: bool,
}

impl Connection {
    pub(crate) fn new() -> Self {
        Connection {
            phase: Phase::AwaitConnect(ConnectRead::NotYet),
            inbuf: Vec::new(),
            outq: VecDeque::new(),
            sent_bytes: 0,
            client_id: None,
            close_reason: None,
            v5: None,
            in_note: None,
            mqtt31: false,
        }
    }

    pub(crate) fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing)
    }

    /// When the frame at the head of the output queue may leave, if a
    /// delay fault holds it.
    pub(crate) fn held_until(&self) -> Option<Duration> {
        self.outq.front().and_then(|f| f.not_before)
    }
}
