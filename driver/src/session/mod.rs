//! The sans-IO session: all of the driver's resilience logic, with no
//! runtime, no socket and no clock (the quinn-proto pattern).
//!
//! Inputs: the application's calls (`connect`, `publish`, `subscribe`, ...),
//! bytes from the broker (`handle_bytes`), transport and link reports
//! (`handle_transport_*`, `handle_link`) and time (`handle_timeout(now)`).
//! Outputs: bytes to send (`poll_transmit`), actions on the transport and
//! link (`poll_action`), events (`poll_event`) and the next deadline
//! (`poll_timeout`). A shell (the tokio client, the embedded client, a
//! test) pumps them; this module decides everything else.
//!
//! The connection's life is an explicit state ([`state::Conn`]) so that
//! illegal combinations (a ping outstanding while not connected, a CONNACK
//! deadline while backing off, a live connection without a link) cannot be
//! represented.
//!
//! This file holds the [`Session`] type, its queries and outputs, and the
//! timer dispatch; each concern has its own file:
//!
//! - `connect.rs`: connect, reconnect, backoff, close (`connect`,
//!   `disconnect`, `close`, `handle_link`, `handle_transport_*`);
//! - `keepalive.rs`: pings, the ping timeout, `broker_up`;
//! - `requests.rs`: the application's requests and their options
//!   (`publish`, `publish_with`, `subscribe`, `subscribe_with`,
//!   `unsubscribe`);
//! - `inflight.rs`: sending the outbox, acks, resends;
//! - `incoming.rs`: messages from the broker and the incoming queue;
//! - `input.rs`: the receive buffer and 3.1.1 packet dispatch
//!   (`handle_bytes`);
//! - `queue.rs`: the bounded, persistable offline queue (`poll_store`,
//!   `restore`); `v5/` (or `v311_only.rs` without `alloc`): the protocol.

mod config;
mod connect;
mod event;
mod incoming;
mod inflight;
mod input;
mod keepalive;
mod outbox;
mod queue;
mod requests;
mod rng;
mod rtt;
mod state;
pub mod store;
mod time;
#[cfg(feature = "alloc")]
mod v5;
#[cfg(not(feature = "alloc"))]
#[path = "v311_only.rs"]
mod v5;

#[cfg(test)]
mod tests;

use core::time::Duration;

pub use config::{Backoff, Config, ConfigError, ResponseMode, WifiCredentials, WillConfig};
pub use event::{
    Action, BrokerViolation, ConnectError, DownReason, Event, Message, RequestError, Stats, Token,
};
pub use queue::{
    decode_record, encode_record, OfflineQueue, Overflow, RecordError, RestoreError, StoreOp,
    StoredPublish,
};
pub use time::Instant;
pub use v5::{
    AckReason, MessageProperties, Protocol, PublishProperties, ReasonCode, RetainHandling,
    ServerLimits, SubscribeOptions, V5Config, WillProperties,
};

use crate::codec::{Pid, QoS};
use event::EventQueue;
#[cfg(feature = "alloc")]
use inflight::{AckKind, OpAck};
use outbox::Outbox;
use rng::Rng;
use rtt::Rtt;
use state::{Abandoned, Conn, Link, Phase};
use store::{caps, text_fmt, Boxed, List, Seq, SortedMap, SortedSet, Text, TxBuf};
use v5::Wire;

/// The MQTT session state machine. See the module docs.
pub struct Session {
    config: Config,
    client_id: Text,
    rng: Rng,
    /// C3: the reply timeout, fixed or estimated from round trips.
    rtt: Rtt,
    /// PINGREQs whose outstanding state other traffic cleared: their
    /// PINGRESPs are still due and must not be taken as samples.
    pings_unmatched: u32,
    phase: Phase,
    /// The connection's state, with the link as last reported by the shell
    /// and D5's abandoned CONNECT.
    conn: Conn,
    /// Reconnect attempts since the last successful connection.
    attempt: u32,
    /// D4 beyond: connections lost within response_time of their CONNACK,
    /// in a row.
    flaps: u32,
    outbox: Outbox,
    /// The protocol: 3.1.1, or MQTT 5 with its per-connection state.
    wire: Wire,
    /// Subscriptions granted, with their MQTT 5 options, for D5 restore.
    subscriptions: SortedMap<Text, (QoS, Option<Boxed<SubscribeOptions>>), { caps::SUBSCRIPTIONS }>,
    /// Incoming QoS 2 packet ids received but not yet released.
    incoming_qos2: SortedSet<Pid, { caps::QOS2_IN }>,
    /// S3: the bounded incoming queue (event interface).
    queue: List<Message, { caps::QUEUE }>,
    /// P5 beyond: the offline queue's storage operations and counters.
    offline: queue::QueueBooks,
    /// O2: outstanding broker_up queries and their deadlines.
    broker_up: List<(Token, Instant), { caps::BROKER_UP }>,
    next_token: u64,
    rx: store::Buf<{ caps::RX }>,
    tx: TxBuf,
    actions: List<Action, { caps::ACTIONS }>,
    events: EventQueue,
    stats: Stats,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("client_id", &self.client_id)
            .field("phase", &self.phase)
            .field("conn", &self.conn)
            .field("link_up", &(self.conn.link() == Link::Up))
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A new session; nothing happens until [`Session::connect`].
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = Rng::new(config.seed);
        let wire = Wire::new(&config.protocol, config.client_id.is_empty());
        let client_id = if config.client_id.is_empty() && wire.is_v5() {
            // V2: the server assigns one in CONNACK.
            Text::new()
        } else if config.client_id.is_empty() {
            text_fmt(format_args!(
                "rmqtt-{:012x}",
                rng.next_u64() & 0xffff_ffff_ffff
            ))
        } else {
            config.client_id.clone()
        };
        let rtt = Rtt::new(config.response_mode, config.response_time);
        Ok(Session {
            wire,
            flaps: 0,
            config,
            client_id,
            rng,
            rtt,
            pings_unmatched: 0,
            phase: Phase::NotStarted,
            conn: Conn::Idle {
                link: Link::Down,
                abandoned: Abandoned::No,
            },
            attempt: 0,
            outbox: Outbox::default(),
            subscriptions: SortedMap::new(),
            incoming_qos2: SortedSet::new(),
            queue: List::new(),
            offline: queue::QueueBooks::default(),
            broker_up: List::new(),
            next_token: 0,
            rx: store::Buf::new(),
            tx: TxBuf::default(),
            actions: List::new(),
            events: EventQueue::default(),
            stats: Stats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The client id in use (C1: generated from the seed when not given).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// O1: whether a broker connection is up now.
    pub fn is_connected(&self) -> bool {
        matches!(self.conn, Conn::Up(_))
    }

    /// C3 beyond: the reply timeout in force on a live connection
    /// (`response_time`, or the adaptive estimate).
    pub fn response_timeout(&self) -> Duration {
        self.rtt.timeout()
    }

    /// C3 beyond: the smoothed round-trip time and its deviation, once a
    /// PINGRESP or an ack of a publish sent once was measured.
    pub fn rtt_estimate(&self) -> Option<(Duration, Duration)> {
        self.rtt.srtt().map(|s| (s, self.rtt.rttvar()))
    }

    /// O5: counters since start.
    pub fn stats(&self) -> Stats {
        Stats {
            events_dropped: self.events.dropped(),
            ..self.stats
        }
    }

    /// Whether `disconnect()` or `close()` ended the session.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// S3: takes the oldest queued message (event interface).
    pub fn pop_message(&mut self) -> Option<Message> {
        self.queue.pop_first()
    }

    /// Messages waiting in the queue.
    pub fn queued_messages(&self) -> usize {
        self.queue.len()
    }

    /// Publishes not yet completed (queued or in flight).
    pub fn pending_publishes(&self) -> usize {
        self.outbox.publishes.len()
    }

    /// Bytes to write to the transport, all at once.
    #[cfg(feature = "alloc")]
    pub fn poll_transmit(&mut self) -> Option<alloc::vec::Vec<u8>> {
        if self.tx.is_empty() {
            None
        } else {
            Some(self.tx.take())
        }
    }

    /// The bytes to write to the transport, without taking them (no copy:
    /// the allocation-free way). Call [`Session::clear_transmit`] once
    /// they are written.
    pub fn pending_transmit(&self) -> &[u8] {
        self.tx.as_slice()
    }

    /// The bytes from [`Session::pending_transmit`] were written.
    pub fn clear_transmit(&mut self) {
        self.tx.clear();
    }

    fn act(&mut self, action: Action) {
        // ACTIONS is twice what any one call adds (at most a close, an
        // open and a link action), and the shell takes them after each.
        let _ = self.actions.try_push(action);
    }

    /// The next thing to do to the transport or link. The shell writes the
    /// pending transmit first, then performs actions in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_first()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// When [`Session::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let rt = self.rtt.timeout();
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        match &self.conn {
            Conn::Idle { .. } | Conn::Closed { .. } => {}
            Conn::AwaitLink {
                deadline, retry_at, ..
            } => {
                consider(*retry_at);
                if let Some(d) = deadline {
                    consider(*d);
                }
            }
            Conn::LinkSettling { until, .. } => consider(*until),
            Conn::Opening { deadline, .. } | Conn::AwaitConnAck { deadline, .. } => {
                consider(*deadline)
            }
            Conn::Backoff { until, .. } => consider(*until),
            Conn::Up(live) => {
                if let Some(t) = self.ping_deadline(live) {
                    consider(t);
                }
                for p in &self.outbox.publishes {
                    if let Some(t) = self.resend_due(p) {
                        consider(t);
                    }
                }
                for o in &self.outbox.ops {
                    if let Some((_, s)) = o.sent {
                        consider(s + rt);
                    }
                }
                for (_, d) in &self.broker_up {
                    consider(*d);
                }
            }
        }
        next
    }

    fn token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    /// Processes every deadline that has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.conn {
            Conn::Up(_) => self.timeout_up(now),
            _ => self.timeout_connecting(now),
        }
        self.check_tx(now);
    }

    /// The deadlines of a live connection: O2's queries and the keepalive,
    /// then the requests in flight.
    fn timeout_up(&mut self, now: Instant) {
        if self.timeout_keepalive(now) {
            self.timeout_inflight(now);
        }
    }
}
