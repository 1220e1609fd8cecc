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

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use resilient_mqtt::codec::v5 as wire;
use resilient_mqtt::codec::v5::{Property, ReasonCode};
use resilient_mqtt::codec::{
    decode, ConnAck, Connect, ConnectReturnCode, DecodeError, Decoded, List, Packet, Pid, PubAck,
    PubComp, PubRec, PubRel, Publish, QoS, QosPid, SubAck, SubAckCode, SubscribeTopic, UnsubAck,
    Unsubscribe, Will,
};

use crate::config::BrokerConfig;
use crate::connection::{Connected, Connection, OutFrame, Phase};
use crate::fault::{DropKind, Fault, FaultTable, FaultTarget};
use crate::log::{
    summarize, BrokerEvent, Direction, DisconnectReason, EventEntry, LogRecord, PacketLogEntry,
};
use crate::rng::SplitMix64;
use crate::state::{BrokerState, Message, OutPhase, Outgoing, SessionState};
use crate::topic;
use crate::v5::{self, V5Conn};

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

    // ----- connections -------------------------------------------------

    /// Registers a new connection.
    pub fn open(&mut self, now: Duration) -> ConnId {
        self.now = now;
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(id, Connection::new(now));
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
                    conn.phase = Phase::AwaitConnect;
                    conn.delay_done = true;
                    self.dirty.insert(id);
                    self.process(id, now);
                }
                Phase::Connected(c) if c.keep_alive > 0 => {
                    let hung = self.faults.is_hung(Some(&c.client_id));
                    if !hung && keepalive_deadline(conn.last_in, c.keep_alive) <= now {
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
            Phase::Connected(c) if c.keep_alive > 0 && !self.faults.is_hung(Some(&c.client_id)) => {
                Some(keepalive_deadline(conn.last_in, c.keep_alive))
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
        let mut out = Vec::new();
        let mut cut = None;
        while conn
            .outq
            .front()
            .is_some_and(|f| f.not_before.is_none_or(|t| t <= now))
        {
            let Some(frame) = conn.outq.pop_front() else {
                break;
            };
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

    // ----- faults ------------------------------------------------------

    /// Activates a fault (forget-sessions, disconnect and flood act at once).
    pub fn set_fault(&mut self, target: FaultTarget, fault: Fault, now: Duration) {
        self.now = now;
        self.event(
            now,
            BrokerEvent::FaultSet {
                target: target.to_string(),
                fault: fault.to_string(),
            },
        );
        match fault {
            Fault::ForgetSessions(_) => self.forget_sessions(&target, now),
            Fault::Disconnect(d) => self.server_disconnect(&target, d.reason, now),
            Fault::Flood(f) => self.flood(&target, f.count, now),
            other => self.faults.set(target, other),
        }
        self.after_fault_change(now);
    }

    /// Clears all faults, or those of one target.
    pub fn clear_faults(&mut self, target: Option<&FaultTarget>, now: Duration) {
        self.now = now;
        self.faults.clear(target);
        self.event(
            now,
            BrokerEvent::FaultsCleared {
                target: target.map(|t| t.to_string()),
            },
        );
        self.after_fault_change(now);
    }

    /// The active faults.
    pub fn faults(&self) -> Vec<(FaultTarget, Fault)> {
        self.faults.list()
    }

    /// Resumes connections a hang released (their keepalive clock restarts
    /// now, as a process resumed after SIGCONT reads before it judges),
    /// processes what they had buffered, and wakes every task.
    fn after_fault_change(&mut self, now: Duration) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            let Some(conn) = self.conns.get(&id) else {
                continue;
            };
            let hung = self.is_hung(conn);
            let conn = self.conns.get_mut(&id).expect("present");
            if conn.was_hung && !hung {
                conn.last_in = now;
            }
            conn.was_hung = hung;
            self.dirty.insert(id);
            if !hung {
                self.process(id, now);
            }
        }
    }

    fn forget_sessions(&mut self, target: &FaultTarget, now: Duration) {
        let ids: Vec<String> = self
            .sessions
            .keys()
            .filter(|id| target.matches(Some(id)))
            .cloned()
            .collect();
        for id in &ids {
            if let Some(conn_id) = self.sessions.get(id).and_then(|s| s.online) {
                if let Some(conn) = self.conns.get_mut(&conn_id) {
                    conn.outq.clear();
                }
                self.close(
                    conn_id,
                    DisconnectReason::Fault("forget-sessions".into()),
                    false,
                    now,
                );
            }
            self.sessions.remove(id);
        }
        self.event(now, BrokerEvent::SessionsForgotten { count: ids.len() });
    }

    fn is_hung(&self, conn: &Connection) -> bool {
        self.faults.is_hung(conn.client_id.as_deref())
    }

    // ----- input -------------------------------------------------------

    /// Consumes as many buffered packets as the connection's state allows.
    fn process(&mut self, id: ConnId, now: Duration) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let buf = std::mem::take(&mut conn.inbuf);
        let mut pos = 0;
        while let Some(conn) = self.conns.get(&id) {
            let ready = match conn.phase {
                Phase::AwaitConnect | Phase::Connected(_) => true,
                Phase::DelayingConnect { .. } | Phase::Closing => false,
            };
            if !ready || self.is_hung(conn) || pos >= buf.len() {
                break;
            }
            let is_v5 = conn.v5.is_some()
                || (matches!(conn.phase, Phase::AwaitConnect) && v5::is_v5_connect(&buf[pos..]));
            if is_v5 {
                match wire::decode(&buf[pos..], self.config.max_packet_size) {
                    Ok(wire::Decoded::Incomplete { .. }) => break,
                    Ok(wire::Decoded::Packet { packet, len }) => {
                        if !self.handle_packet_v5(id, packet, now) {
                            break;
                        }
                        pos += len;
                    }
                    Err(e) => {
                        self.decode_error_v5(id, e, now);
                        break;
                    }
                }
                continue;
            }
            match decode(&buf[pos..], self.config.max_packet_size) {
                Ok(Decoded::Incomplete { .. }) => break,
                Ok(Decoded::Packet { packet, len }) => {
                    if !self.handle_packet(id, packet, now) {
                        break;
                    }
                    pos += len;
                }
                Err(e) => {
                    self.decode_error(id, e, &buf[pos..], now);
                    break;
                }
            }
        }
        if let Some(conn) = self.conns.get_mut(&id) {
            if conn.is_closing() {
                conn.inbuf = Vec::new();
            } else {
                let mut rest = buf;
                rest.drain(..pos);
                conn.inbuf = rest;
            }
        }
    }

    /// Handles one packet; false when it must stay buffered (CONNECT held
    /// by a hang or delay fault).
    fn handle_packet(&mut self, id: ConnId, packet: Packet<'_>, now: Duration) -> bool {
        let Some(conn) = self.conns.get_mut(&id) else {
            return false;
        };
        match (&conn.phase, packet) {
            (Phase::AwaitConnect, Packet::Connect(c)) => {
                if !conn.connect_logged {
                    conn.connect_logged = true;
                    conn.client_id = Some(c.client_id.to_string());
                    let mut summary = summarize(&Packet::Connect(c));
                    if let Some(v) = &conn.v5 {
                        summary += &format!(
                            " v5 expiry={} receive_max={}",
                            v.session_expiry, v.receive_maximum
                        );
                    }
                    let cid = conn.client_id.clone();
                    self.log_packet(now, Direction::In, id.0, cid, summary);
                }
                let conn = self.conns.get_mut(&id).expect("present");
                conn.last_in = now;
                if self.faults.is_hung(Some(c.client_id)) {
                    return false;
                }
                if !conn.delay_done {
                    if let Some(delay) = self.faults.connack_delay(Some(c.client_id)) {
                        conn.phase = Phase::DelayingConnect {
                            until: now.checked_add(delay).unwrap_or(Duration::MAX),
                        };
                        self.fault_injected(
                            id,
                            format!("CONNACK delayed {}ms", delay.as_millis()),
                            now,
                        );
                        return false;
                    }
                }
                self.handle_connect(id, c, now);
                true
            }
            (Phase::AwaitConnect, other) => {
                let summary = summarize(&other);
                self.log_packet(now, Direction::In, id.0, None, summary);
                let reason = format!(
                    "first packet is {}, not CONNECT",
                    other.packet_type().name()
                );
                self.close(id, DisconnectReason::ProtocolError(reason), false, now);
                true
            }
            (Phase::Connected(c), packet) => {
                let client_id = c.client_id.clone();
                conn.last_in = now;
                let mut summary = summarize(&packet);
                if let Some(note) = conn.in_note.take() {
                    summary += &note;
                }
                self.log_packet(now, Direction::In, id.0, Some(client_id.clone()), summary);
                self.handle_connected(id, &client_id, packet, now);
                true
            }
            (Phase::DelayingConnect { .. } | Phase::Closing, _) => false,
        }
    }

    fn decode_error(&mut self, id: ConnId, e: DecodeError, raw: &[u8], now: Duration) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let client_id = conn.client_id.clone();
        let awaiting = matches!(conn.phase, Phase::AwaitConnect);
        self.log_packet(
            now,
            Direction::In,
            id.0,
            client_id,
            format!("MALFORMED {e}"),
        );
        // A CONNECT for another protocol version is answered with return
        // code 1 before closing, as mosquitto does.
        let wrong_version = matches!(e, DecodeError::UnsupportedProtocolLevel(_))
            || (matches!(e, DecodeError::InvalidProtocolName) && is_mqisdp_connect(raw));
        if awaiting && wrong_version {
            self.send(
                id,
                Packet::ConnAck(ConnAck {
                    session_present: false,
                    code: ConnectReturnCode::UnacceptableProtocolVersion,
                }),
            );
            self.close(id, DisconnectReason::Refused(1), false, now);
            return;
        }
        self.close(
            id,
            DisconnectReason::ProtocolError(e.to_string()),
            true,
            now,
        );
    }

    fn handle_connect(&mut self, id: ConnId, c: Connect<'_>, now: Duration) {
        // MQTT 5: the session expiry says whether the session outlives the
        // connection; clean start only whether a kept one is discarded.
        let v5_expiry = self
            .conns
            .get(&id)
            .and_then(|c| c.v5.as_ref())
            .map(|v| v.session_expiry);
        // Client id: generated for an empty one with a clean session (any
        // session in MQTT 5, as mosquitto does).
        let client_id = if c.client_id.is_empty() {
            if !c.clean_session && v5_expiry.is_none() {
                return self.refuse(id, "", ConnectReturnCode::IdentifierRejected, now);
            }
            let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
            format!(
                "auto-{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xffff,
                b >> 48,
                b & 0xffff_ffff_ffff
            )
        } else {
            c.client_id.to_string()
        };
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.client_id = Some(client_id.clone());
            if let Some(v) = conn.v5.as_mut() {
                if c.client_id.is_empty() {
                    v.assigned_id = Some(client_id.clone());
                }
            }
        }
        if let Some(code) = self.faults.refuse_code(Some(&client_id)) {
            self.fault_injected(id, format!("CONNECT refused with code {}", code as u8), now);
            return self.refuse(id, &client_id, code, now);
        }
        if let Some(users) = &self.config.users {
            let ok = match (c.username, c.password) {
                (Some(u), Some(p)) => users.get(u).is_some_and(|want| want.as_slice() == p),
                _ => false,
            };
            if !ok {
                return self.refuse(id, &client_id, ConnectReturnCode::NotAuthorized, now);
            }
        }

        // Takeover: close the old connection of this client id.
        let old = self
            .sessions
            .get(&client_id)
            .and_then(|s| s.online.map(|o| (o, s.clean)));
        if let Some((old_id, old_clean)) = old {
            if let Some(conn) = self.conns.get_mut(&old_id) {
                conn.outq.clear();
            }
            self.send_disconnect_v5(old_id, ReasonCode::SessionTakenOver, "session taken over");
            self.event(
                now,
                BrokerEvent::SessionTakenOver {
                    client_id: client_id.clone(),
                },
            );
            // mosquitto: the old will goes out if either session is clean.
            let will = old_clean || c.clean_session;
            self.close(old_id, DisconnectReason::TakenOver, will, now);
        }

        let existing_persistent = self.sessions.get(&client_id).is_some_and(|s| !s.clean);
        let session_present = !c.clean_session && existing_persistent;
        let ends_with_connection = v5_expiry.map_or(c.clean_session, |e| e == 0);
        if !session_present {
            self.sessions.insert(
                client_id.clone(),
                Session {
                    state: SessionState::default(),
                    online: None,
                    clean: ends_with_connection,
                },
            );
        }
        let session = self.sessions.get_mut(&client_id).expect("inserted");
        session.online = Some(id);
        session.clean = ends_with_connection;

        let will = c.will.map(|w| Message {
            topic: w.topic.to_string(),
            payload: w.message.to_vec(),
            qos: w.qos,
            retain: w.retain,
        });
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.phase = Phase::Connected(Connected {
                client_id: client_id.clone(),
                keep_alive: c.keep_alive,
                will,
            });
        }
        self.send(
            id,
            Packet::ConnAck(ConnAck {
                session_present,
                code: ConnectReturnCode::Accepted,
            }),
        );
        self.event(
            now,
            BrokerEvent::ClientConnected {
                client_id: client_id.clone(),
                clean_session: c.clean_session,
                session_present,
            },
        );
        if session_present {
            self.resume(id, &client_id, now);
        }
    }

    fn refuse(&mut self, id: ConnId, client_id: &str, code: ConnectReturnCode, now: Duration) {
        self.send(
            id,
            Packet::ConnAck(ConnAck {
                session_present: false,
                code,
            }),
        );
        self.event(
            now,
            BrokerEvent::ConnectRefused {
                client_id: client_id.to_string(),
                code: code as u8,
            },
        );
        self.close(id, DisconnectReason::Refused(code as u8), false, now);
    }

    /// On session resume: resend what was in flight (DUP if it had been
    /// sent, PUBREL for QoS 2 awaiting PUBCOMP), then fill the window.
    fn resume(&mut self, id: ConnId, client_id: &str, now: Duration) {
        // An MQTT 5 client's Receive Maximum may be smaller than what was in
        // flight (e.g. after a flood): what does not fit goes back to the
        // front of the queue, resent (with DUP) as room appears. With 3.1.1
        // the window never holds more than `max_inflight`, so nothing moves.
        let window = self.window(Some(id));
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        while session.state.inflight.len() > window {
            let Some(pos) = session
                .state
                .inflight
                .iter()
                .rposition(|o| o.phase != OutPhase::AwaitComp)
            else {
                break;
            };
            let mut o = session.state.inflight.remove(pos);
            o.phase = OutPhase::Queued;
            session.state.queued.push_front(o);
        }
        let inflight = session.state.inflight.clone();
        for o in &inflight {
            match o.phase {
                OutPhase::AwaitComp => {
                    if let Some(pid) = Pid::new(o.pid) {
                        self.send_with_faults(
                            id,
                            Packet::PubRel(PubRel(pid)),
                            DropKind::PubRel,
                            now,
                        );
                    }
                }
                _ => self.send_publish(id, client_id, o, now),
            }
        }
        if let Some(s) = self.sessions.get_mut(client_id) {
            for o in &mut s.state.inflight {
                if o.phase == OutPhase::Queued {
                    o.phase = OutPhase::AwaitAck;
                }
                o.sent = true;
            }
        }
        self.fill_window(client_id, now);
    }

    fn handle_connected(&mut self, id: ConnId, client_id: &str, packet: Packet<'_>, now: Duration) {
        match packet {
            Packet::Publish(p) => self.handle_publish(id, client_id, p, now),
            Packet::PubAck(PubAck(pid)) => {
                self.complete_outgoing(client_id, pid, QoS::AtLeastOnce, OutPhase::AwaitAck, now)
            }
            Packet::PubRec(PubRec(pid)) => {
                if let Some(s) = self.sessions.get_mut(client_id) {
                    if let Some(o) = s
                        .state
                        .inflight
                        .iter_mut()
                        .find(|o| o.pid == pid.get() && o.message.qos == QoS::ExactlyOnce)
                    {
                        o.phase = OutPhase::AwaitComp;
                    }
                }
                // mosquitto answers PUBREL even for an unknown id.
                self.send_with_faults(id, Packet::PubRel(PubRel(pid)), DropKind::PubRel, now);
            }
            Packet::PubRel(PubRel(pid)) => {
                let msg = self
                    .sessions
                    .get_mut(client_id)
                    .and_then(|s| s.state.awaiting_pubrel.remove(&pid.get()));
                if let Some(msg) = msg {
                    self.route(msg, now);
                }
                self.send_with_faults(id, Packet::PubComp(PubComp(pid)), DropKind::PubComp, now);
            }
            Packet::PubComp(PubComp(pid)) => {
                self.complete_outgoing(client_id, pid, QoS::ExactlyOnce, OutPhase::AwaitComp, now)
            }
            Packet::Subscribe(s) => {
                let mut codes = Vec::new();
                let mut filters = Vec::new();
                if let Some(session) = self.sessions.get_mut(client_id) {
                    for t in s.topics.iter() {
                        session
                            .state
                            .subscriptions
                            .insert(t.filter.to_string(), t.qos);
                        codes.push(SubAckCode::Granted(t.qos));
                        filters.push((t.filter.to_string(), t.qos));
                    }
                }
                self.send_with_faults(
                    id,
                    Packet::SubAck(SubAck {
                        pid: s.pid,
                        codes: List::new(&codes),
                    }),
                    DropKind::SubAck,
                    now,
                );
                // Retained messages, after the SUBACK, with RETAIN set.
                for (filter, qos) in filters {
                    let matching: Vec<Message> = self
                        .retained
                        .values()
                        .filter(|m| topic::matches(&filter, &m.topic))
                        .cloned()
                        .collect();
                    for mut m in matching {
                        m.qos = m.qos.min(qos);
                        m.retain = true;
                        self.deliver(client_id, m, now);
                    }
                }
            }
            Packet::Unsubscribe(u) => {
                if let Some(session) = self.sessions.get_mut(client_id) {
                    for f in u.topics.iter() {
                        session.state.subscriptions.remove(f);
                    }
                }
                self.send_with_faults(
                    id,
                    Packet::UnsubAck(UnsubAck(u.pid)),
                    DropKind::UnsubAck,
                    now,
                );
            }
            Packet::PingReq => self.send_with_faults(id, Packet::PingResp, DropKind::PingResp, now),
            Packet::Disconnect => self.close(id, DisconnectReason::ClientDisconnect, false, now),
            // mosquitto 2.0 closes without publishing the will here (unlike
            // other protocol errors); the differential test pins it.
            Packet::Connect(_) => self.close(
                id,
                DisconnectReason::ProtocolError("second CONNECT".into()),
                false,
                now,
            ),
            other @ (Packet::ConnAck(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_)
            | Packet::PingResp) => {
                let reason = format!("{} sent by a client", other.packet_type().name());
                self.close(id, DisconnectReason::ProtocolError(reason), true, now)
            }
        }
    }

    fn handle_publish(&mut self, id: ConnId, client_id: &str, p: Publish<'_>, now: Duration) {
        self.stats.publishes_received += 1;
        let msg = Message {
            topic: p.topic.to_string(),
            payload: p.payload.to_vec(),
            qos: p.qospid.qos(),
            retain: p.retain,
        };
        match p.qospid {
            QosPid::AtMostOnce => self.route(msg, now),
            QosPid::AtLeastOnce(pid) => {
                self.route(msg, now);
                self.send_with_faults(id, Packet::PubAck(PubAck(pid)), DropKind::PubAck, now);
            }
            QosPid::ExactlyOnce(pid) => {
                if let Some(s) = self.sessions.get_mut(client_id) {
                    // A resend of a message not yet released is stored once.
                    s.state.awaiting_pubrel.entry(pid.get()).or_insert(msg);
                }
                self.send_with_faults(id, Packet::PubRec(PubRec(pid)), DropKind::PubRec, now);
            }
        }
    }

    fn complete_outgoing(
        &mut self,
        client_id: &str,
        pid: Pid,
        qos: QoS,
        phase: OutPhase,
        now: Duration,
    ) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        let before = s.state.inflight.len();
        s.state
            .inflight
            .retain(|o| !(o.pid == pid.get() && o.message.qos == qos && o.phase == phase));
        if s.state.inflight.len() != before {
            self.fill_window(client_id, now);
        }
    }

    // ----- MQTT 5 ------------------------------------------------------

    /// The in-flight window towards a connection: `max_inflight`, and no
    /// more than an MQTT 5 client's Receive Maximum.
    fn window(&self, conn: Option<ConnId>) -> usize {
        let rm = conn
            .and_then(|c| self.conns.get(&c))
            .and_then(|c| c.v5.as_ref())
            .map_or(usize::MAX, |v| v.receive_maximum as usize);
        self.config.max_inflight.min(rm)
    }

    /// Handles one packet of an MQTT 5 connection: the v5-only work, then
    /// the 3.1.1 form through [`Core::handle_packet`]. False when it must
    /// stay buffered.
    fn handle_packet_v5(&mut self, id: ConnId, packet: wire::Packet<'_>, now: Duration) -> bool {
        let Some(conn) = self.conns.get_mut(&id) else {
            return false;
        };
        let client_id = match &conn.phase {
            Phase::Connected(c) => Some(c.client_id.clone()),
            Phase::AwaitConnect => None,
            Phase::DelayingConnect { .. } | Phase::Closing => return false,
        };
        match packet {
            wire::Packet::Connect(c) => {
                if conn.v5.is_none() || client_id.is_none() {
                    conn.v5 = Some(V5Conn::from_connect(&c.properties));
                }
                let v3 = Connect {
                    client_id: c.client_id,
                    keep_alive: c.keep_alive,
                    clean_session: c.clean_start,
                    will: c.will.map(|w| Will {
                        topic: w.topic,
                        message: w.payload,
                        qos: w.qos,
                        retain: w.retain,
                    }),
                    username: c.username,
                    password: c.password,
                };
                self.handle_packet(id, Packet::Connect(v3), now)
            }
            wire::Packet::Publish(p) => {
                if let Some(Property::TopicAlias(a)) =
                    p.properties.get(wire::PropertyId::TopicAlias)
                {
                    let how = if p.topic.is_empty() { "used" } else { "set" };
                    conn.in_note = Some(format!(" alias={a} ({how})"));
                }
                let Some(v) = conn.v5.as_mut() else {
                    return false;
                };
                let topic = match v.resolve_topic(p.topic, &p.properties) {
                    Ok(t) => t,
                    Err((reason, why)) => {
                        self.v5_violation(id, "PUBLISH", reason, &why, now);
                        return true;
                    }
                };
                if let (QosPid::ExactlyOnce(pid), Some(cid)) = (p.qospid, &client_id) {
                    let limit = self.config.max_inflight;
                    let over = self.sessions.get(cid).is_some_and(|s| {
                        !s.state.awaiting_pubrel.contains_key(&pid.get())
                            && s.state.awaiting_pubrel.len() >= limit
                    });
                    if over {
                        let why = format!("more than the Receive Maximum of {limit} QoS 2 publishes awaiting PUBREL");
                        self.v5_violation(
                            id,
                            "PUBLISH",
                            ReasonCode::ReceiveMaximumExceeded,
                            &why,
                            now,
                        );
                        return true;
                    }
                }
                let v3 = Publish {
                    dup: p.dup,
                    qospid: p.qospid,
                    retain: p.retain,
                    topic: &topic,
                    payload: p.payload,
                };
                self.handle_packet(id, Packet::Publish(v3), now)
            }
            wire::Packet::PubAck(a) => self.handle_packet(id, Packet::PubAck(PubAck(a.pid)), now),
            wire::Packet::PubRec(a) => self.handle_packet(id, Packet::PubRec(PubRec(a.pid)), now),
            wire::Packet::PubRel(a) => self.handle_packet(id, Packet::PubRel(PubRel(a.pid)), now),
            wire::Packet::PubComp(a) => {
                self.handle_packet(id, Packet::PubComp(PubComp(a.pid)), now)
            }
            wire::Packet::Subscribe(s) => {
                let topics: Vec<SubscribeTopic<'_>> = s
                    .topics
                    .iter()
                    .map(|t| SubscribeTopic {
                        filter: t.filter,
                        qos: t.options.qos,
                    })
                    .collect();
                let v3 = resilient_mqtt::codec::Subscribe {
                    pid: s.pid,
                    topics: List::new(&topics),
                };
                self.handle_packet(id, Packet::Subscribe(v3), now)
            }
            wire::Packet::Unsubscribe(u) => {
                let codes: Vec<ReasonCode> = u
                    .topics
                    .iter()
                    .map(|f| {
                        let had = client_id
                            .as_ref()
                            .and_then(|cid| self.sessions.get(cid))
                            .is_some_and(|s| s.state.subscriptions.contains_key(f));
                        if had {
                            ReasonCode::Success
                        } else {
                            ReasonCode::NoSubscriptionExisted
                        }
                    })
                    .collect();
                if let Some(v) = self.conns.get_mut(&id).and_then(|c| c.v5.as_mut()) {
                    v.unsub_codes.insert(u.pid.get(), codes);
                }
                let v3 = Unsubscribe {
                    pid: u.pid,
                    topics: u.topics,
                };
                self.handle_packet(id, Packet::Unsubscribe(v3), now)
            }
            wire::Packet::PingReq => self.handle_packet(id, Packet::PingReq, now),
            wire::Packet::Disconnect(d) => {
                let Some(cid) = client_id else {
                    return self.handle_packet(id, Packet::Disconnect, now);
                };
                conn.last_in = now;
                let mut summary = v5::disconnect_summary(d.reason);
                // A client may lower its session expiry to 0 on the way out.
                if let Some(Property::SessionExpiryInterval(e)) =
                    d.properties.get(wire::PropertyId::SessionExpiryInterval)
                {
                    summary += &format!(" expiry={e}");
                    if e == 0 {
                        if let Some(s) = self.sessions.get_mut(&cid) {
                            if s.online == Some(id) {
                                s.clean = true;
                            }
                        }
                    }
                }
                self.log_packet(now, Direction::In, id.0, Some(cid), summary);
                let will = d.reason == ReasonCode::DisconnectWithWillMessage;
                let reason = if d.reason == ReasonCode::Success {
                    DisconnectReason::ClientDisconnect
                } else {
                    DisconnectReason::ClientDisconnectReason(d.reason as u8)
                };
                self.close(id, reason, will, now);
                true
            }
            other @ (wire::Packet::ConnAck(_)
            | wire::Packet::SubAck(_)
            | wire::Packet::UnsubAck(_)
            | wire::Packet::PingResp
            | wire::Packet::Auth(_)) => {
                let name = other.packet_type().name();
                if client_id.is_none() {
                    let reason = format!("first packet is {name}, not CONNECT");
                    self.log_packet(now, Direction::In, id.0, None, name.to_string());
                    self.close(id, DisconnectReason::ProtocolError(reason), false, now);
                } else {
                    let why = format!("{name} sent by a client");
                    self.v5_violation(id, name, ReasonCode::ProtocolError, &why, now);
                }
                true
            }
        }
    }

    /// An MQTT 5 client broke a rule: the packet is logged, DISCONNECT with
    /// the reason goes out, the connection closes (will published).
    fn v5_violation(
        &mut self,
        id: ConnId,
        what: &str,
        reason: ReasonCode,
        why: &str,
        now: Duration,
    ) {
        let client_id = self.conns.get(&id).and_then(|c| c.client_id.clone());
        self.log_packet(
            now,
            Direction::In,
            id.0,
            client_id,
            format!("{what} refused: {why}"),
        );
        self.send_disconnect_v5(id, reason, why);
        self.close(
            id,
            DisconnectReason::ProtocolError(why.to_string()),
            true,
            now,
        );
    }

    fn decode_error_v5(&mut self, id: ConnId, e: wire::DecodeError, now: Duration) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let client_id = conn.client_id.clone();
        let connected = matches!(conn.phase, Phase::Connected(_));
        self.log_packet(
            now,
            Direction::In,
            id.0,
            client_id,
            format!("MALFORMED {e}"),
        );
        if connected {
            self.send_disconnect_v5(id, ReasonCode::MalformedPacket, &e.to_string());
        }
        self.close(
            id,
            DisconnectReason::ProtocolError(e.to_string()),
            true,
            now,
        );
    }

    /// Queues a server DISCONNECT on an MQTT 5 connection (nothing on 3.1.1).
    fn send_disconnect_v5(&mut self, id: ConnId, reason: ReasonCode, text: &str) {
        if self.conns.get(&id).is_some_and(|c| c.v5.is_some()) {
            if let Some((bytes, summary)) = v5::disconnect(reason, text) {
                self.push_frame(id, bytes, summary, None);
            }
        }
    }

    /// The disconnect fault: DISCONNECT with `reason` to each connected
    /// client of the target, then close (will published).
    fn server_disconnect(&mut self, target: &FaultTarget, reason: ReasonCode, now: Duration) {
        for id in self.connected(target) {
            let v5 = self.conns.get(&id).is_some_and(|c| c.v5.is_some());
            let action = if v5 {
                format!("sent {} and closed", v5::disconnect_summary(reason))
            } else {
                "closed (3.1.1 has no server DISCONNECT)".to_string()
            };
            self.fault_injected(id, action, now);
            self.send_disconnect_v5(id, reason, reason.name());
            self.close(
                id,
                DisconnectReason::Fault(format!("disconnect 0x{:02X}", reason as u8)),
                true,
                now,
            );
        }
    }

    /// The flood fault: a burst of QoS 2 publishes to each connected client
    /// of the target, past its Receive Maximum.
    fn flood(&mut self, target: &FaultTarget, count: Option<u32>, now: Duration) {
        for id in self.connected(target) {
            let Some(conn) = self.conns.get(&id) else {
                continue;
            };
            let Phase::Connected(c) = &conn.phase else {
                continue;
            };
            let client_id = c.client_id.clone();
            let rm = conn
                .v5
                .as_ref()
                .map_or(self.config.max_inflight as u32, |v| {
                    v.receive_maximum as u32
                });
            let n = count.unwrap_or(rm.saturating_add(1));
            self.fault_injected(
                id,
                format!("flood of {n} QoS 2 PUBLISH (receive maximum {rm})"),
                now,
            );
            for i in 1..=n {
                let Some(session) = self.sessions.get_mut(&client_id) else {
                    break;
                };
                let Some(pid) = next_pid(&mut session.state) else {
                    break;
                };
                let o = Outgoing {
                    pid,
                    message: Message {
                        topic: "chaos/flood".into(),
                        payload: format!("flood {i}").into_bytes(),
                        qos: QoS::ExactlyOnce,
                        retain: false,
                    },
                    phase: OutPhase::AwaitAck,
                    sent: false,
                };
                let mut sent = o.clone();
                sent.sent = true;
                session.state.inflight.push(sent);
                self.send_publish(id, &client_id, &o, now);
            }
        }
    }

    /// The connections of the target that are connected now.
    fn connected(&self, target: &FaultTarget) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| match &c.phase {
                Phase::Connected(cc) => target.matches(Some(&cc.client_id)),
                _ => false,
            })
            .map(|(id, _)| *id)
            .collect()
    }

    // ----- routing -----------------------------------------------------

    /// Stores or clears the retained copy, then delivers to every matching
    /// session at the lower of the two QoS levels, RETAIN cleared.
    fn route(&mut self, msg: Message, now: Duration) {
        // mosquitto's default ACL refuses client publishes to $SYS.
        if msg.topic.starts_with("$SYS") {
            return;
        }
        if msg.retain {
            if msg.payload.is_empty() {
                self.retained.remove(&msg.topic);
            } else {
                self.retained.insert(msg.topic.clone(), msg.clone());
            }
        }
        let targets: Vec<(String, QoS)> = self
            .sessions
            .iter()
            .filter_map(|(id, s)| {
                s.state
                    .subscriptions
                    .iter()
                    .filter(|(f, _)| topic::matches(f, &msg.topic))
                    .map(|(_, q)| *q)
                    .max()
                    .map(|q| (id.clone(), q))
            })
            .collect();
        for (client_id, sub_qos) in targets {
            let m = Message {
                topic: msg.topic.clone(),
                payload: msg.payload.clone(),
                qos: msg.qos.min(sub_qos),
                retain: false,
            };
            self.deliver(&client_id, m, now);
        }
    }

    /// Delivers one message to one session: sent at once if online and the
    /// window has room, queued (QoS 1/2) otherwise, dropped when full.
    /// QoS 0 messages for offline sessions are discarded, as mosquitto does.
    fn deliver(&mut self, client_id: &str, msg: Message, now: Duration) {
        let max_queued = self.config.max_queued;
        let online = self
            .sessions
            .get(client_id)
            .and_then(|s| s.online)
            .filter(|c| {
                self.conns
                    .get(c)
                    .is_some_and(|c| matches!(c.phase, Phase::Connected(_)))
            });
        let max_inflight = self.window(online);
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        if msg.qos == QoS::AtMostOnce {
            if let Some(conn) = online {
                let o = Outgoing {
                    pid: 0,
                    message: msg,
                    phase: OutPhase::AwaitAck,
                    sent: false,
                };
                self.send_publish(conn, client_id, &o, now);
            }
            return;
        }
        let st = &mut session.state;
        let room_inflight =
            online.is_some() && st.inflight.len() < max_inflight && st.queued.is_empty();
        if !room_inflight && st.queued.len() >= max_queued {
            st.dropped += 1;
            self.stats.messages_dropped += 1;
            let topic = msg.topic;
            self.event(
                now,
                BrokerEvent::MessageDropped {
                    client_id: client_id.to_string(),
                    topic,
                },
            );
            return;
        }
        let Some(pid) = next_pid(st) else {
            st.dropped += 1;
            self.stats.messages_dropped += 1;
            return;
        };
        let mut o = Outgoing {
            pid,
            message: msg,
            phase: OutPhase::Queued,
            sent: false,
        };
        match online {
            Some(conn) if room_inflight => {
                o.phase = OutPhase::AwaitAck;
                let copy = o.clone();
                st.inflight.push(o);
                self.send_publish(conn, client_id, &copy, now);
                if let Some(s) = self.sessions.get_mut(client_id) {
                    if let Some(last) = s.state.inflight.last_mut() {
                        last.sent = true;
                    }
                }
            }
            _ => st.queued.push_back(o),
        }
    }

    /// Moves queued messages into the window while there is room.
    fn fill_window(&mut self, client_id: &str, now: Duration) {
        loop {
            let online = self.sessions.get(client_id).and_then(|s| s.online);
            let max_inflight = self.window(online);
            let Some(session) = self.sessions.get_mut(client_id) else {
                return;
            };
            let Some(conn) = session.online else {
                return;
            };
            if session.state.inflight.len() >= max_inflight {
                return;
            }
            let Some(mut o) = session.state.queued.pop_front() else {
                return;
            };
            o.phase = OutPhase::AwaitAck;
            let copy = o.clone();
            o.sent = true;
            session.state.inflight.push(o);
            self.send_publish(conn, client_id, &copy, now);
        }
    }

    // ----- output ------------------------------------------------------

    fn send_publish(&mut self, conn: ConnId, client_id: &str, o: &Outgoing, now: Duration) {
        let qospid = match Pid::new(o.pid) {
            Some(pid) => QosPid::from_qos(o.message.qos, pid),
            None => QosPid::AtMostOnce,
        };
        let mut p = Publish {
            dup: o.sent && qospid != QosPid::AtMostOnce,
            qospid,
            retain: o.message.retain,
            topic: &o.message.topic,
            payload: &o.message.payload,
        };
        self.send_with_faults(conn, Packet::Publish(p), DropKind::Publish, now);
        self.stats.publishes_sent += 1;
        if self.faults.take_duplicate(Some(client_id)) {
            p.dup = qospid != QosPid::AtMostOnce;
            self.send(conn, Packet::Publish(p));
            self.stats.publishes_sent += 1;
            self.fault_injected(
                conn,
                format!("PUBLISH to {} sent twice", o.message.topic),
                now,
            );
        }
    }

    /// Sends a packet a fault may act on (PUBLISH, an acknowledgement,
    /// PUBREL, PINGRESP): a drop fault swallows it, a delay fault holds it, a
    /// close-on fault closes the connection after it.
    fn send_with_faults(&mut self, id: ConnId, p: Packet<'_>, kind: DropKind, now: Duration) {
        if self.faults.is_empty() {
            return self.send(id, p);
        }
        let client_id = self.conns.get(&id).and_then(|c| c.client_id.clone());
        let client = client_id.as_deref();
        let s = summarize(&p);
        if self.faults.take_drop(kind, client) {
            self.fault_injected(id, format!("dropped {s}"), now);
            return;
        }
        let delay = self.faults.take_delay(kind, client);
        let close = self.faults.take_close_on(kind, client);
        if let Some(d) = delay {
            self.fault_injected(id, format!("delayed {s} by {}ms", d.as_millis()), now);
        }
        self.send_at(id, p, delay.map(|d| now.saturating_add(d)));
        if close {
            self.fault_injected(id, format!("closed after {s}"), now);
            self.close(
                id,
                DisconnectReason::Fault(format!("close-on {}", kind.word())),
                true,
                now,
            );
        }
    }

    /// Queues a packet for the connection.
    fn send(&mut self, id: ConnId, p: Packet<'_>) {
        self.send_at(id, p, None);
    }

    /// Queues a packet that may not leave before `not_before`.
    fn send_at(&mut self, id: ConnId, p: Packet<'_>, not_before: Option<Duration>) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        // Every packet the broker builds is valid: topics come from valid
        // packets, lists are non-empty. A failure here would be a broker bug;
        // the packet is then skipped rather than sent broken.
        let receive_maximum = self.config.max_inflight.min(u16::MAX as usize) as u16;
        let (bytes, summary) = match conn.v5.as_mut() {
            Some(v) => match v5::encode(&p, v, receive_maximum) {
                Some(x) => x,
                None => return,
            },
            None => {
                let mut bytes = Vec::new();
                if p.encode_to_vec(&mut bytes).is_err() {
                    return;
                }
                (bytes, summarize(&p))
            }
        };
        self.push_frame(id, bytes, summary, not_before);
    }

    /// Queues encoded bytes for the connection and logs them.
    fn push_frame(
        &mut self,
        id: ConnId,
        bytes: Vec<u8>,
        summary: String,
        not_before: Option<Duration>,
    ) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        let client_id = conn.client_id.clone();
        conn.outq.push_back(OutFrame {
            bytes,
            summary: summary.clone(),
            not_before,
        });
        self.dirty.insert(id);
        self.log_packet(self.now, Direction::Out, id.0, client_id, summary);
    }

    /// Ends a connection from the broker's side: detaches its session
    /// (removed if clean), publishes its will if asked, and marks it closing
    /// so the shell flushes and closes it.
    fn close(&mut self, id: ConnId, reason: DisconnectReason, publish_will: bool, now: Duration) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        let phase = std::mem::replace(&mut conn.phase, Phase::Closing);
        conn.close_reason = Some(reason.clone());
        conn.inbuf = Vec::new();
        let client_id = conn.client_id.clone();
        self.dirty.insert(id);
        if let Phase::Connected(c) = phase {
            if let Some(s) = self.sessions.get_mut(&c.client_id) {
                if s.online == Some(id) {
                    s.online = None;
                    if s.clean {
                        self.sessions.remove(&c.client_id);
                    }
                }
            }
            if publish_will {
                if let Some(will) = c.will {
                    self.stats.wills_published += 1;
                    self.event(
                        now,
                        BrokerEvent::WillPublished {
                            client_id: c.client_id.clone(),
                            topic: will.topic.clone(),
                        },
                    );
                    self.route(will, now);
                }
            }
        }
        self.event(
            now,
            BrokerEvent::ClientDisconnected {
                conn: id.0,
                client_id,
                reason,
            },
        );
    }

    // ----- records -----------------------------------------------------

    fn log_packet(
        &mut self,
        at: Duration,
        direction: Direction,
        conn: u64,
        client_id: Option<String>,
        summary: String,
    ) {
        let e = PacketLogEntry {
            at,
            direction,
            conn,
            client_id,
            summary,
        };
        if self.packet_log.len() >= self.config.log_capacity {
            self.packet_log.pop_front();
        }
        if self.config.log_capacity > 0 {
            self.packet_log.push_back(e.clone());
        }
        self.records.push(LogRecord::Packet(e));
    }

    fn event(&mut self, at: Duration, event: BrokerEvent) {
        let e = EventEntry { at, event };
        if self.events.len() >= self.config.log_capacity {
            self.events.pop_front();
        }
        if self.config.log_capacity > 0 {
            self.events.push_back(e.clone());
        }
        self.records.push(LogRecord::Event(e));
    }

    fn fault_injected(&mut self, id: ConnId, action: String, now: Duration) {
        self.stats.faults_injected += 1;
        let client_id = self.conns.get(&id).and_then(|c| c.client_id.clone());
        self.event(
            now,
            BrokerEvent::FaultInjected {
                conn: id.0,
                client_id,
                action,
            },
        );
    }
}

/// When a client with this keepalive has been silent too long (1.5 x).
fn keepalive_deadline(last_in: Duration, keep_alive: u16) -> Duration {
    last_in + Duration::from_millis(keep_alive as u64 * 1500)
}

/// The next free packet id of a session (ids in use are skipped).
fn next_pid(st: &mut SessionState) -> Option<u16> {
    let in_use: BTreeSet<u16> = st
        .inflight
        .iter()
        .chain(st.queued.iter())
        .map(|o| o.pid)
        .collect();
    let mut pid = Pid::new(st.last_pid).unwrap_or(Pid::MIN);
    if st.last_pid != 0 {
        pid = pid.next();
    }
    for _ in 0..u16::MAX {
        if !in_use.contains(&pid.get()) {
            st.last_pid = pid.get();
            return Some(pid.get());
        }
        pid = pid.next();
    }
    None
}

/// Whether the bytes start a CONNECT for MQTT 3.1 ("MQIsdp").
fn is_mqisdp_connect(raw: &[u8]) -> bool {
    let Ok(Some(h)) = resilient_mqtt::codec::check(raw, usize::MAX) else {
        return false;
    };
    raw.get(h.header_len..h.header_len + 8) == Some(b"\x00\x06MQIsdp".as_slice())
}
