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
    /// Nothing accepted yet; the first packet must be CONNECT.
    AwaitConnect,
    /// A delay-connack fault holds the CONNECT (still in the input buffer)
    /// until this time.
    DelayingConnect {
        until: Duration,
    },
    Connected(Connected),
    /// No more input is read; output is flushed, then the shell closes.
    Closing,
}

/// What a connected client told the broker in its CONNECT.
#[derive(Debug)]
pub(crate) struct Connected {
    pub client_id: String,
    /// Seconds; 0 disables the keepalive check.
    pub keep_alive: u16,
    pub will: Option<Message>,
}

/// One frame waiting to be sent, with its packet-log summary.
#[derive(Debug)]
pub(crate) struct OutFrame {
    pub bytes: Vec<u8>,
    pub summary: String,
    /// A delay fault holds it (and everything queued behind it) until then.
    pub not_before: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct Connection {
    pub phase: Phase,
    /// Received bytes not yet consumed as packets.
    pub inbuf: Vec<u8>,
    pub outq: VecDeque<OutFrame>,
    /// Bytes handed to the transport so far (for close-after-bytes).
    pub sent_bytes: u64,
    /// When the last packet was read (keepalive).
    pub last_in: Duration,
    /// Known once the CONNECT has been read, even while it is held.
    pub client_id: Option<String>,
    /// The CONNECT has been logged (it is logged once, when first read).
    pub connect_logged: bool,
    /// The delay fault has been served for this CONNECT.
    pub delay_done: bool,
    /// Whether a hang fault held the connection at the last fault change.
    pub was_hung: bool,
    pub close_reason: Option<DisconnectReason>,
    /// `Some` once a CONNECT with protocol level 5 has been read: the
    /// connection speaks MQTT 5 from then on.
    pub v5: Option<V5Conn>,
    /// Appended to the packet-log summary of the next incoming packet
    /// (MQTT 5 details the 3.1.1 form cannot show, e.g. a topic alias).
    pub in_note: Option<String>,
}

impl Connection {
    pub(crate) fn new(now: Duration) -> Self {
        Connection {
            phase: Phase::AwaitConnect,
            inbuf: Vec::new(),
            outq: VecDeque::new(),
            sent_bytes: 0,
            last_in: now,
            client_id: None,
            connect_logged: false,
            delay_done: false,
            was_hung: false,
            close_reason: None,
            v5: None,
            in_note: None,
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
