//! The broker as a sans-IO state machine: every connection's bytes and the
//! current time go in; bytes to send, close requests, deadlines, packet-log
//! entries and events come out. No socket, no clock, no thread: the async
//! shell in [`crate::broker`] only moves bytes and time, and the same inputs
//! always give the same outputs.
//!
//! Behaviour follows mosquitto 2.0 for MQTT 3.1.1: persistent sessions keep
//! subscriptions and QoS 1/2 messages (packet ids given when a message is
//! queued, an in-flight window of 20, a queue of 1000, then drops counted);
//! in-flight messages are resent with DUP on resume; incoming QoS 2 messages
//! are routed at PUBREL; wills are published when a connection ends without
//! DISCONNECT (including protocol errors other than a second CONNECT, and
//! keepalive expiry at 1.5 x the keepalive); on takeover the old connection is closed and its will is
//! published only if either session is clean.
//!
//! A connection whose CONNECT has protocol level 5 speaks MQTT 5 through
//! the translation in [`crate::v5`]; the logic here is the same for both.
//!
//! One file per concern, each an `impl Core` block:
//!
//! - [`input`]: bytes to packets, and each packet to its concern;
//! - [`connect`]: CONNECT accepted or refused, takeover, session present,
//!   closing a connection;
//! - [`route`]: incoming PUBLISH and the QoS 2 handshake, SUBSCRIBE,
//!   UNSUBSCRIBE, retained messages, fan-out;
//! - [`deliver`]: one message to one session: packet ids, the in-flight
//!   window, the queue, acknowledgements, resend on resume;
//! - [`faults`]: where the faults of [`crate::fault`] act;
//! - [`mqtt5`]: the MQTT 5 layer over the same logic;
//! - [`output`]: encoding, queuing and logging what goes out.
//!
//! This file holds the state and the API the async shell drives.

mod connect;
mod deliver;
mod faults;
mod input;
mod mqtt5;
mod output;
mod route;
#[cfg(test)]
pub(crate) mod testkit;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use crate::config::BrokerConfig;
use crate::connection::{ConnectRead, Connection, Phase};
use crate::fault::FaultTable;
use crate::log::{Direction, DisconnectReason, EventEntry, LogRecord, PacketLogEntry};
use crate::rng::SplitMix64;
use crate::state::{BrokerState, Message, MessageProps, SessionState};

/// A connection, numbered from 1 in the order connections were opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// Counters for the control channel and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub connections_opened: u64,
    pub connections_open: usize,
    pub clients_connected: usize,
    pub sessions: usize,
    pub retained: usize,
    pub publishes_received: u64,
    pub publishes_sent: u64,
    pub messages_dropped: u64,
    pub wills_published: u64,
    pub faults_injected: u64,
}

/// A session and who, if anyone, is attached to it.
#[derive(Debug)]
struct Session {
    state: SessionState,
    online: Option<ConnId>,
    clean: bool,
    /// An MQTT 5 session's Session Expiry Interval in seconds (`None`:
    /// never expires, as 3.1.1 persistent sessions and 0xFFFFFFFF).
    expiry: Option<u32>,
    /// When a detached session with an expiry ends, on the broker's clock.
    expires_at: Option<Duration>,
}

/// The broker. See the module documentation.
pub struct Core {
    config: BrokerConfig,
    sessions: BTreeMap<String, Session>,
    retained: BTreeMap<String, Message>,
    conns: BTreeMap<ConnId, Connection>,
    faults: FaultTable,
    next_conn: u64,
    rng: SplitMix64,
    packet_log: VecDeque<PacketLogEntry>,
    events: VecDeque<EventEntry>,
    records: Vec<LogRecord>,
    dirty: BTreeSet<ConnId>,
    stats: Stats,
    /// The time of the current input (packets queued now are logged at it).
    now: Duration,
    /// The MQTT 5 properties of the PUBLISH being sent (set around
    /// [`Core::send_publish`]'s sends, encoded by an MQTT 5 connection).
    publish_props: Option<Box<MessageProps>>,
}

impl Core {
    /// A broker with no sessions. The configuration must be valid
    /// ([`BrokerConfig::validate`]).
    pub fn new(config: BrokerConfig) -> Self {
        let rng = SplitMix64::new(config.seed);
        Core {
            config,
            sessions: BTreeMap::new(),
            retained: BTreeMap::new(),
            conns: BTreeMap::new(),
            faults: FaultTable::default(),
            next_conn: 1,
            rng,
            packet_log: VecDeque::new(),
            events: VecDeque::new(),
            records: Vec::new(),
            dirty: BTreeSet::new(),
            stats: Stats::default(),
            now: Duration::ZERO,
            publish_props: None,
        }
    }

    /// A broker restarted from a snapshot: every session offline.
    pub fn from_state(config: BrokerConfig, state: BrokerState) -> Self {
        let mut core = Core::new(config);
        // Messages in flight when the snapshot was taken are resent on resume.
        for (id, s) in state.sessions {
            core.sessions.insert(
                id,
                Session {
                    state: s,
                    online: None,
                    clean: false,
                    // Expiry timers do not survive a restart: kept sessions
                    // live until taken up or cleaned.
                    expiry: None,
                    expires_at: None,
                },
            );
        }
        core.retained = state.retained;
        core
    }

    /// The state a restart with persistence keeps.
    pub fn snapshot(&self) -> BrokerState {
        BrokerState {
            sessions: self
                .sessions
                .iter()
                .filter(|(_, s)| !s.clean)
                .map(|(id, s)| (id.clone(), s.state.clone()))
                .collect(),
            retained: self.retained.clone(),
        }
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Registers a new connection.
    pub fn open(&mut self, now: Duration) -> ConnId {
        self.now = now;
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(id, Connection::new());
        self.stats.connections_opened += 1;
        id
    }

    /// Bytes received on a connection.
    pub fn handle_input(&mut self, id: ConnId, data: &[u8], now: Duration) {
        self.now = now;
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        conn.inbuf.extend_from_slice(data);
        self.process(id, now);
    }

    /// The transport of a connection ended (EOF, error, or the shell closed
    /// it after [`Core::should_close`]). Publishes the will if the client
    /// had not disconnected. Forgets the connection.
    pub fn handle_closed(&mut self, id: ConnId, now: Duration) {
        self.now = now;
        if let Some(conn) = self.conns.get(&id) {
            if !conn.is_closing() {
                self.close(id, DisconnectReason::ConnectionLost, true, now);
            }
        }
        self.conns.remove(&id);
        self.dirty.remove(&id);
    }

    /// Serves every deadline that has passed: held CONNECTs, keepalives.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.now = now;
        self.expire_sessions(now);
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            if conn.held_until().is_some_and(|t| t <= now) {
                self.dirty.insert(id);
            }
            match &conn.phase {
                Phase::DelayingConnect { until } if *until <= now => {
                    conn.phase = Phase::AwaitConnect(ConnectRead::DelayServed);
                    self.dirty.insert(id);
                    self.process(id, now);
                }
                Phase::Connected(c) => {
                    let hung = self.faults.is_hung(Some(&c.client_id));
                    if !hung && c.keepalive_deadline().is_some_and(|d| d <= now) {
                        self.close(id, DisconnectReason::KeepaliveTimeout, true, now);
                    }
                }
                _ => {}
            }
        }
    }

    /// The next time [`Core::handle_timeout`] must run for this connection.
    pub fn poll_timeout(&self, id: ConnId) -> Option<Duration> {
        let conn = self.conns.get(&id)?;
        let phase = match &conn.phase {
            Phase::DelayingConnect { until } => Some(*until),
            Phase::Connected(c) if !self.faults.is_hung(Some(&c.client_id)) => {
                c.keepalive_deadline()
            }
            _ => None,
        };
        match (phase, conn.held_until()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the shell should read more input for this connection (not
    /// while hung, closing, or holding a full buffer).
    pub fn wants_read(&self, id: ConnId) -> bool {
        let Some(conn) = self.conns.get(&id) else {
            return false;
        };
        !conn.is_closing()
            && !self.is_hung(conn)
            && conn.inbuf.len() < self.config.max_packet_size.saturating_add(65_536)
    }

    /// Whether a hang fault holds this connection now.
    pub fn is_connection_hung(&self, id: ConnId) -> bool {
        self.conns.get(&id).is_some_and(|c| self.is_hung(c))
    }

    /// Bytes to send on the connection now, if any. Applies hang (nothing)
    /// and close-after-bytes (cut, then close).
    pub fn poll_transmit(&mut self, id: ConnId, now: Duration) -> Option<Vec<u8>> {
        self.now = now;
        let conn = self.conns.get(&id)?;
        if conn.outq.is_empty() || (self.is_hung(conn) && !conn.is_closing()) {
            return None;
        }
        let limit = self.faults.close_after(conn.client_id.as_deref());
        let conn = self.conns.get_mut(&id)?;
        let client_id = conn.client_id.clone();
        let mut out = Vec::new();
        let mut cut = None;
        // Held frames leaving now: logged with both times, below.
        let mut left = Vec::new();
        while conn
            .outq
            .front()
            .is_some_and(|f| f.not_before.is_none_or(|t| t <= now))
        {
            let Some(frame) = conn.outq.pop_front() else {
                break;
            };
            if let Some(queued) = frame.held_since {
                left.push((queued, frame.summary.clone()));
            }
            let allowed = limit.map(|l| l.saturating_sub(conn.sent_bytes));
            match allowed {
                Some(a) if (frame.bytes.len() as u64) > a => {
                    let a = a as usize;
                    out.extend_from_slice(&frame.bytes[..a]);
                    conn.sent_bytes += a as u64;
                    cut = Some(format!(
                        "cut {} after {a} of {} bytes; closed",
                        frame.summary,
                        frame.bytes.len()
                    ));
                    conn.outq.clear();
                    break;
                }
                _ => {
                    conn.sent_bytes += frame.bytes.len() as u64;
                    out.extend_from_slice(&frame.bytes);
                }
            }
        }
        for (queued, summary) in left {
            self.log_packet(
                now,
                Direction::Out,
                id.0,
                client_id.clone(),
                summary,
                Some(queued),
            );
        }
        if let Some(action) = cut {
            let limit = limit.unwrap_or_default();
            self.fault_injected(id, action, now);
            self.close(
                id,
                DisconnectReason::Fault(format!("close-after {limit}")),
                true,
                now,
            );
        }
        if out.is_empty() {
            None
        } else {
            Some(out)
        }
    }

    /// Whether the shell should close the transport now (closing and all
    /// output handed over).
    pub fn should_close(&self, id: ConnId) -> bool {
        self.conns
            .get(&id)
            .is_none_or(|c| c.is_closing() && c.outq.is_empty())
    }

    /// Connections whose state changed since the last call (their tasks
    /// should wake: output, close, fault change).
    pub fn take_dirty(&mut self) -> BTreeSet<ConnId> {
        std::mem::take(&mut self.dirty)
    }

    /// Packet-log entries and events since the last call, in order.
    pub fn take_records(&mut self) -> Vec<LogRecord> {
        std::mem::take(&mut self.records)
    }

    /// The kept packet log (the last `log_capacity` entries).
    pub fn packet_log(&self) -> Vec<PacketLogEntry> {
        self.packet_log.iter().cloned().collect()
    }

    /// The kept events (the last `log_capacity` entries).
    pub fn events(&self) -> Vec<EventEntry> {
        self.events.iter().cloned().collect()
    }

    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.connections_open = self.conns.len();
        s.clients_connected = self
            .conns
            .values()
            .filter(|c| matches!(c.phase, Phase::Connected(_)))
            .count();
        s.sessions = self.sessions.len();
        s.retained = self.retained.len();
        s
    }

    /// The client ids with a session, and whether each is online.
    pub fn sessions(&self) -> Vec<(String, bool)> {
        self.sessions
            .iter()
            .map(|(id, s)| (id.clone(), s.online.is_some()))
            .collect()
    }
}
