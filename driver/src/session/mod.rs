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
//! deadline while backing off) cannot be represented.

mod config;
mod event;
mod outbox;
mod queue;
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
pub use event::{Action, ConnectError, DownReason, Event, Message, RequestError, Stats, Token};
pub use queue::{
    decode_record, encode_record, OfflineQueue, Overflow, RecordError, RestoreError, StoreOp,
    StoredPublish,
};
pub use time::Instant;
pub use v5::{
    AckReason, MessageProperties, Protocol, PublishProperties, ReasonCode, RetainHandling,
    ServerLimits, SubscribeOptions, V5Config, WillProperties,
};

use crate::codec::{
    self, ConnAck, Connect, ConnectReturnCode, Decoded, Packet, Pid, PubAck, PubComp, PubRec,
    PubRel, Publish, QoS, QosPid, SubAckCode, Subscribe, SubscribeTopic, Unsubscribe, Will,
};
use event::EventQueue;
use outbox::{Op, OpKind, OutPublish, OutState, Outbox};
use rng::Rng;
use rtt::Rtt;
use state::{Abandoned, Conn, Initial, Link, Live, Phase, K4};
use store::{
    caps, text, text_fmt, text_lossy, Boxed, IdSet, List, Map, Owned, Seq, SortedMap, SortedSet,
    Text, TxBuf,
};
use v5::{Step, Wire};

/// Which ack answered an outgoing publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckKind {
    /// PUBACK (QoS 1).
    Puback,
    /// PUBCOMP (QoS 2, after PUBREL).
    Pubcomp,
    /// MQTT 5: a PUBREC with a failure code (QoS 2, before PUBREL).
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    RefusedPubrec,
}

/// The answer to a subscribe or unsubscribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpAck {
    /// A 3.1.1 SUBACK's code (`None`: the SUBACK listed none).
    Subscribe311(Option<SubAckCode>),
    /// An MQTT 5 SUBACK: the granted QoS or the failure reason.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    Subscribe(Result<QoS, AckReason>),
    /// UNSUBACK: success (with a reason worth reporting, MQTT 5) or the
    /// failure reason (MQTT 5).
    Unsubscribe(Result<Option<AckReason>, AckReason>),
}

/// How the broker's ack of a publish ended it (MQTT 5 adds the reasons).
type AckOutcome = Result<Option<AckReason>, AckReason>;

/// How recent received data must be for `broker_up` to answer at once (O2).
const BROKER_UP_FRESH: Duration = Duration::from_secs(1);

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

    // ----- queries -------------------------------------------------------

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

    // ----- outputs -------------------------------------------------------

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

    /// When the ping timer fires: a reply deadline when a ping is out,
    /// otherwise when the connection has been idle for the ping interval.
    fn ping_deadline(&self, live: &Live) -> Option<Instant> {
        match live.ping_sent {
            Some(sent) => Some(sent + self.rtt.timeout()),
            None => Some(live.last_rx.min(live.last_tx) + self.ping_after()?),
        }
    }

    /// D1: idle time before a ping. Fixed mode: the ping interval. Adaptive:
    /// one reply timeout earlier (never before half the interval), so that
    /// a silent outage is declared about one ping interval after the
    /// broker last spoke (issue 11: keepalive 60 s, detected within 15 s).
    fn ping_after(&self) -> Option<Duration> {
        let pi = self.config.ping_interval_for(self.keepalive_in_force())?;
        if !self.rtt.is_adaptive() {
            return Some(pi);
        }
        Some(pi.saturating_sub(self.rtt.timeout()).max(pi / 2))
    }

    /// P3: when an in-flight publish is due for a resend, if it is.
    fn resend_due(&self, p: &OutPublish) -> Option<Instant> {
        let resends = match p.state {
            OutState::Queued => 0,
            OutState::AwaitAck { resends, .. } | OutState::AwaitComp { resends, .. } => resends,
        };
        Some(p.sent_at()? + self.rtt.resend_after(resends))
    }

    // ----- application calls --------------------------------------------

    fn token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    /// K1: starts the first connection. The outcome arrives as
    /// [`Event::ConnectResult`]; a failure does not retry by itself.
    /// `quick` skips the link integrity period (K2).
    pub fn connect(&mut self, now: Instant, quick: bool) -> Result<(), ConnectError> {
        match self.phase {
            Phase::NotStarted | Phase::Failed { .. } => {}
            Phase::Initial(_) | Phase::Running => return Err(ConnectError::AlreadyConnecting),
            Phase::Ended => return Err(ConnectError::Aborted),
        }
        // K4 is for 3.1.1 only: an MQTT 5 clean start does not end the
        // new session at disconnect, so no second connect is needed.
        let k4 = if self.config.clean_init && !self.config.clean && !self.wire.is_v5() {
            K4::Pending
        } else {
            K4::Done
        };
        self.phase = Phase::Initial(Initial {
            quick,
            accepted_before: self.phase.accepted_before(),
            k4,
        });
        self.attempt = 0;
        self.need_link_or_open(now, true, self.conn.link());
        Ok(())
    }

    /// P1-P4: queues a publish. It is sent at once when connected, after
    /// the outage otherwise; completion is [`Event::PublishDone`].
    /// The checks [`Session::publish`] makes on its arguments, without a
    /// session: a shell can refuse a bad publish before queueing it.
    pub fn check_publish(
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<(), RequestError> {
        if !codec::valid_topic_name(topic) {
            return Err(RequestError::InvalidTopic);
        }
        let probe = Publish {
            dup: false,
            qospid: QosPid::from_qos(qos, Pid::MIN),
            retain,
            topic,
            payload,
        };
        match Packet::Publish(probe).encoded_len() {
            Ok(n) if n <= codec::MAX_REMAINING_LENGTH => Ok(()),
            _ => Err(RequestError::TooLarge),
        }
    }

    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Token, RequestError> {
        self.check_open()?;
        Self::check_publish(topic, payload, qos, retain)?;
        self.queue_publish(now, topic, payload, qos, retain, None)
    }

    /// V1, V2: a publish with MQTT 5 properties (user properties, content
    /// type, response topic, correlation data, message expiry, payload
    /// format). Otherwise as [`Session::publish`]; on a 3.1.1 session any
    /// property is [`RequestError::NeedsMqtt5`]. While connected, a
    /// publish the server's limits forbid (Maximum Packet Size, Maximum
    /// QoS, Retain Available) is refused here; one queued during an outage
    /// completes with that error when the next CONNACK forbids it.
    pub fn publish_with(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: PublishProperties,
    ) -> Result<Token, RequestError> {
        self.check_open()?;
        if !self.wire.is_v5() {
            if !properties.is_empty() {
                return Err(RequestError::NeedsMqtt5("publish properties"));
            }
            return self.publish(now, topic, payload, qos, retain);
        }
        #[cfg(feature = "alloc")]
        {
            v5::check_publish5(topic, payload, qos, retain, &properties)?;
            let properties = (!properties.is_empty()).then(|| Boxed::new(properties));
            self.queue_publish(now, topic, payload, qos, retain, properties)
        }
        #[cfg(not(feature = "alloc"))]
        unreachable!("without alloc the session speaks only MQTT 3.1.1")
    }

    fn queue_publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: Option<Boxed<PublishProperties>>,
    ) -> Result<Token, RequestError> {
        let p = OutPublish {
            token: Token(0),
            topic: text(topic).map_err(|_| RequestError::OverCapacity("topic"))?,
            payload: store::bytes(payload).map_err(|_| RequestError::OverCapacity("payload"))?,
            qos,
            retain,
            properties,
            state: OutState::Queued,
            seq: None,
        };
        if self.is_connected() {
            self.v5_check_sendable(&p)?;
        }
        self.queue_admit(topic, payload)?;
        let token = self.token();
        if self
            .outbox
            .publishes
            .try_push(OutPublish { token, ..p })
            .is_err()
        {
            // queue_admit keeps the outbox within its capacity.
            return Err(RequestError::QueueFull);
        }
        self.queue_accepted();
        self.flush(now);
        self.queue_note_held(token);
        Ok(token)
    }

    /// S1: subscribes; completion is [`Event::SubscribeDone`] after SUBACK.
    pub fn subscribe(
        &mut self,
        now: Instant,
        filter: &str,
        qos: QoS,
    ) -> Result<Token, RequestError> {
        self.subscribe_with(now, filter, qos, SubscribeOptions::default())
    }

    /// V2: subscribes with MQTT 5 options (no local, retain as published,
    /// retain handling, subscription identifier, user properties). The
    /// options are kept for D5 restore. On a 3.1.1 session anything but
    /// the defaults is [`RequestError::NeedsMqtt5`]. A failure reason in
    /// the SUBACK completes it with [`RequestError::Rejected`].
    pub fn subscribe_with(
        &mut self,
        now: Instant,
        filter: &str,
        qos: QoS,
        options: SubscribeOptions,
    ) -> Result<Token, RequestError> {
        self.check_open()?;
        if !codec::valid_topic_filter(filter) {
            return Err(RequestError::InvalidTopic);
        }
        if !self.wire.is_v5() && !options.is_default() {
            return Err(RequestError::NeedsMqtt5("subscription options"));
        }
        #[cfg(feature = "alloc")]
        let options = {
            v5::check_subscribe5(filter, &options)?;
            if options.subscription_identifier.is_some()
                && self
                    .server_limits()
                    .is_some_and(|l| !l.subscription_identifiers_available)
            {
                return Err(RequestError::NotSupportedByServer(
                    "subscription identifiers",
                ));
            }
            (!options.is_default()).then(|| Boxed::new(options))
        };
        #[cfg(not(feature = "alloc"))]
        let options = {
            // Only the defaults get here (3.1.1).
            let _ = options;
            None
        };
        let filter = text(filter).map_err(|_| RequestError::OverCapacity("topic filter"))?;
        if self.restore_table_full(&filter) {
            return Err(RequestError::OverCapacity("subscriptions to restore"));
        }
        let kind = OpKind::Subscribe {
            filter,
            qos,
            options,
        };
        self.request_op(now, kind)
    }

    /// Without alloc and with `restore_subscriptions`: whether a new
    /// subscription to `filter` could not be remembered for D5 restore
    /// (the granted ones and those requested take every place). Never with
    /// alloc, nor without restore (the table is then not needed).
    fn restore_table_full(&self, filter: &Text) -> bool {
        if !self.config.restore_subscriptions || self.subscriptions.contains_key(filter) {
            return false;
        }
        let requested = self
            .outbox
            .ops
            .iter()
            .filter(|o| matches!(&o.kind, OpKind::Subscribe { filter: f, .. } if f != filter && !self.subscriptions.contains_key(f)))
            .count();
        self.subscriptions.len() + requested >= store::limit(caps::SUBSCRIPTIONS)
    }

    /// Queues a subscribe or unsubscribe for the application.
    fn request_op(&mut self, now: Instant, kind: OpKind) -> Result<Token, RequestError> {
        let token = self.token();
        let op = Op {
            token: Some(token),
            kind,
            sent: None,
        };
        if self.outbox.ops.try_push(op).is_err() {
            return Err(RequestError::OverCapacity("subscribe/unsubscribe requests"));
        }
        self.flush(now);
        Ok(token)
    }

    /// S1: unsubscribes; completion is [`Event::UnsubscribeDone`] after
    /// UNSUBACK, also for a topic that was never subscribed.
    pub fn unsubscribe(&mut self, now: Instant, filter: &str) -> Result<Token, RequestError> {
        self.check_open()?;
        if !codec::valid_topic_filter(filter) {
            return Err(RequestError::InvalidTopic);
        }
        let kind = OpKind::Unsubscribe {
            filter: text(filter).map_err(|_| RequestError::OverCapacity("topic filter"))?,
        };
        self.request_op(now, kind)
    }

    /// O2: asks whether the broker answers. Unless data arrived in the last
    /// second, pings and waits up to `response_time`; the answer is
    /// [`Event::BrokerUp`].
    pub fn broker_up(&mut self, now: Instant) -> Token {
        let token = self.token();
        let deadline = now + self.rtt.timeout();
        match &mut self.conn {
            Conn::Up(live) if now.saturating_since(live.last_rx) < BROKER_UP_FRESH => {
                self.events.push(Event::BrokerUp { token, up: true });
            }
            Conn::Up(live) => {
                if live.ping_sent.is_none() {
                    live.ping_sent = Some(now);
                    live.last_tx = now;
                    self.tx.encode(&Packet::PingReq);
                    self.events.push(Event::PingSent);
                }
                if self.broker_up.try_push((token, deadline)).is_err() {
                    // Only without alloc, past BROKER_UP queries at once.
                    self.events.push(Event::BrokerUp { token, up: false });
                }
            }
            _ => self.events.push(Event::BrokerUp { token, up: false }),
        }
        token
    }

    /// O3: sends DISCONNECT (so the broker does not publish the will),
    /// closes, and stops reconnecting.
    pub fn disconnect(&mut self, _now: Instant) {
        if let Conn::Up(_) = self.conn {
            self.tx.encode(&Packet::Disconnect);
        }
        self.end(false);
    }

    /// O4: closes the socket and the link at once; stops reconnecting.
    pub fn close(&mut self, _now: Instant) {
        self.tx.clear();
        self.end(true);
    }

    fn end(&mut self, take_link_down: bool) {
        if let Phase::Initial(_) = self.phase {
            self.events
                .push(Event::ConnectResult(Err(ConnectError::Aborted)));
        }
        if !matches!(self.conn, Conn::Idle { .. } | Conn::Closed { .. }) {
            self.act(Action::CloseTransport);
        }
        if self.phase != Phase::Ended {
            let was_connected = matches!(self.conn, Conn::Up(_));
            self.events.push(Event::Closed {
                graceful: !take_link_down,
                was_connected,
            });
        }
        if take_link_down {
            self.act(Action::TakeLinkDown);
        }
        self.conn = Conn::Closed {
            link: self.conn.link(),
        };
        self.phase = Phase::Ended;
        for p in core::mem::take(&mut self.outbox.publishes) {
            self.events.push(Event::PublishFailed {
                token: p.token,
                error: RequestError::Closed,
            });
        }
        for o in core::mem::take(&mut self.outbox.ops) {
            if let Some(token) = o.token {
                self.events.push(match o.kind {
                    OpKind::Subscribe { .. } => Event::SubscribeDone {
                        token,
                        result: Err(RequestError::Closed),
                    },
                    OpKind::Unsubscribe { .. } => Event::UnsubscribeDone {
                        token,
                        result: Err(RequestError::Closed),
                    },
                });
            }
        }
        for (token, _) in core::mem::take(&mut self.broker_up) {
            self.events.push(Event::BrokerUp { token, up: false });
        }
    }

    fn check_open(&self) -> Result<(), RequestError> {
        match self.phase {
            Phase::Running => Ok(()),
            Phase::Ended => Err(RequestError::Closed),
            Phase::NotStarted | Phase::Failed { .. } | Phase::Initial(_) => {
                Err(RequestError::NotConnected)
            }
        }
    }

    // ----- reports from the shell ---------------------------------------

    /// D2: the link went up or down (report every change, and the initial
    /// state before `connect`). Duplicate reports are harmless.
    pub fn handle_link(&mut self, now: Instant, up: bool) {
        let link = Link::from_up(up);
        let changed = link != self.conn.link();
        self.conn.set_link(link);
        if changed {
            self.events.push(Event::Link { up });
        }
        if up {
            if let Conn::AwaitLink { .. } = self.conn {
                self.settle_or_open(now);
            }
            return;
        }
        match self.conn {
            Conn::Up(_) => self.lost(now, DownReason::LinkDown),
            Conn::LinkSettling { .. } => {
                self.attempt_failed_link(now, ConnectError::LinkUnstable, false, Link::Down)
            }
            Conn::Opening { .. } | Conn::AwaitConnAck { .. } => self.attempt_failed_link(
                now,
                ConnectError::Transport(text_lossy("link down")),
                false,
                Link::Down,
            ),
            _ => {}
        }
    }

    /// The link is up for a connection attempt: K2's integrity period
    /// (unless quick, or none configured), else open at once.
    fn settle_or_open(&mut self, now: Instant) {
        let quick = matches!(self.phase, Phase::Initial(Initial { quick: true, .. }));
        if quick || self.config.link_integrity.is_zero() {
            self.open(now);
        } else {
            self.conn = Conn::LinkSettling {
                until: now + self.config.link_integrity,
                abandoned: self.conn.abandoned(),
            };
        }
    }

    /// The transport asked for by [`Action::OpenTransport`] is connected.
    pub fn handle_transport_connected(&mut self, now: Instant) {
        if !matches!(self.conn, Conn::Opening { .. }) {
            return;
        }
        let clean = if self.phase.accepted_before() {
            self.config.clean
        } else {
            self.config.clean_init
        };
        let will = self.config.will.as_ref().map(|w| Will {
            topic: &w.topic,
            message: &w.message,
            qos: w.qos,
            retain: w.retain,
        });
        let connect = Connect {
            client_id: &self.client_id,
            keep_alive: self.config.keepalive.as_secs() as u16,
            clean_session: clean,
            will,
            username: self.config.user.as_deref(),
            password: self.config.password.as_deref(),
        };
        self.rx.clear();
        match self.wire {
            #[cfg(feature = "alloc")]
            Wire::V5(_) => {
                self.v5_reset_link();
                self.v5_send_connect(clean);
            }
            Wire::V311 => self.tx.encode(&Packet::Connect(connect)),
        }
        self.conn = Conn::AwaitConnAck {
            deadline: now + self.config.response_time,
            abandoned: self.conn.abandoned(),
        };
        self.check_tx(now);
    }

    /// Opening the transport failed.
    pub fn handle_transport_failed(&mut self, now: Instant, reason: &str) {
        if matches!(self.conn, Conn::Opening { .. }) {
            self.attempt_failed(now, ConnectError::Transport(text_lossy(reason)), false);
        }
    }

    /// Opening the transport failed in a way a quick retry cannot fix (a
    /// TLS certificate was rejected): like a CONNACK refusal, the next
    /// attempt waits at least `backoff.refused` (no retry storm).
    pub fn handle_transport_rejected(&mut self, now: Instant, reason: &str) {
        if matches!(self.conn, Conn::Opening { .. }) {
            self.attempt_failed(now, ConnectError::Transport(text_lossy(reason)), true);
        }
    }

    /// B2: the broker closed the connection (read returned 0 or reset).
    pub fn handle_transport_closed(&mut self, now: Instant) {
        match self.conn {
            Conn::Up(_) => self.lost(now, DownReason::ClosedByBroker),
            Conn::AwaitConnAck { .. } => self.attempt_failed(
                now,
                ConnectError::Transport(text_lossy("closed by broker before CONNACK")),
                false,
            ),
            _ => {}
        }
    }

    /// C3: a read or write failed or took longer than `response_time`.
    pub fn handle_transport_error(&mut self, now: Instant, reason: &str) {
        match self.conn {
            Conn::Up(_) => self.lost(now, DownReason::Transport(text_lossy(reason))),
            Conn::Opening { .. } | Conn::AwaitConnAck { .. } => {
                self.attempt_failed(now, ConnectError::Transport(text_lossy(reason)), false)
            }
            _ => {}
        }
    }

    /// Bytes read from the transport.
    pub fn handle_bytes(&mut self, now: Instant, mut bytes: &[u8]) {
        let live = |s: &Self| matches!(s.conn, Conn::Up(_) | Conn::AwaitConnAck { .. });
        while live(self) && !bytes.is_empty() {
            // With alloc everything fits at once; without, the receive
            // buffer takes what fits and the rest follows once the packets
            // in it are handled.
            let room = if cfg!(feature = "alloc") {
                bytes.len()
            } else {
                caps::RX.saturating_sub(self.rx.len())
            };
            let (chunk, rest) = bytes.split_at(room.min(bytes.len()));
            if chunk.is_empty() {
                // Only without alloc: a packet larger than the buffer
                // (decode stops such a packet at its header; this is the
                // backstop).
                self.protocol_error(
                    now,
                    text_fmt(format_args!(
                        "packet larger than this build's {}-byte receive buffer",
                        caps::RX
                    )),
                );
                break;
            }
            bytes = rest;
            if self.rx.try_extend(chunk).is_err() {
                break;
            }
            self.handle_rx(now);
        }
        self.flush(now);
    }

    /// Handles every whole packet in the receive buffer.
    fn handle_rx(&mut self, now: Instant) {
        let live = |s: &Self| matches!(s.conn, Conn::Up(_) | Conn::AwaitConnAck { .. });
        let mut consumed = 0;
        let rx = core::mem::take(&mut self.rx);
        while live(self) {
            let step = match self.wire {
                #[cfg(feature = "alloc")]
                Wire::V5(_) => self.v5_step(now, &rx[consumed..]),
                Wire::V311 => self.v311_step(now, &rx[consumed..]),
            };
            match step {
                Step::Incomplete => break,
                Step::Consumed(len) => consumed += len,
                Step::Failed => {
                    consumed = rx.len();
                    break;
                }
            }
        }
        if live(self) {
            self.rx = rx;
            self.rx.consume(consumed);
        }
    }

    /// The largest incoming packet accepted: `max_packet_size`, and
    /// without alloc no more than the receive buffer holds.
    fn max_incoming(&self) -> usize {
        if cfg!(feature = "alloc") {
            self.config.max_packet_size
        } else {
            self.config.max_packet_size.min(caps::RX)
        }
    }

    /// Processes every deadline that has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.conn {
            Conn::Idle { .. } | Conn::Closed { .. } => {}
            Conn::AwaitLink {
                deadline,
                retry_at,
                abandoned,
            } => {
                if deadline.is_some_and(|d| now >= d) {
                    self.attempt_failed(now, ConnectError::LinkTimeout, false);
                } else if now >= retry_at {
                    self.act(Action::BringLinkUp);
                    let retry_at = now + self.config.backoff.max;
                    self.conn = Conn::AwaitLink {
                        deadline,
                        retry_at,
                        abandoned,
                    };
                }
            }
            Conn::LinkSettling { until, .. } => {
                if now >= until {
                    self.open(now);
                }
            }
            Conn::Opening { deadline, .. } => {
                if now >= deadline {
                    self.attempt_failed(
                        now,
                        ConnectError::Transport(text_lossy("connect timed out")),
                        false,
                    );
                }
            }
            Conn::AwaitConnAck { deadline, .. } => {
                if now >= deadline {
                    self.attempt_failed(now, ConnectError::Timeout, false);
                }
            }
            Conn::Backoff { until, link, .. } => {
                if now >= until {
                    self.need_link_or_open(now, false, link);
                }
            }
            Conn::Up(_) => self.timeout_up(now),
        }
        self.check_tx(now);
    }

    fn timeout_up(&mut self, now: Instant) {
        let rt = self.rtt.timeout();
        // O2: unanswered broker_up queries.
        let mut i = 0;
        while i < self.broker_up.len() {
            if now < self.broker_up[i].1 {
                i += 1;
            } else if let Some((token, _)) = self.broker_up.take_at(i) {
                self.events.push(Event::BrokerUp { token, up: false });
            }
        }
        // D1/D3: ping when idle; down when a ping stays unanswered.
        let ping_after = self.ping_after();
        let Conn::Up(live) = &mut self.conn else {
            return;
        };
        match live.ping_sent {
            Some(sent) if now >= sent + rt => {
                self.lost(now, DownReason::PingTimeout);
                return;
            }
            Some(_) => {}
            None => {
                if let Some(pi) = ping_after {
                    if now >= live.last_rx.min(live.last_tx) + pi {
                        live.ping_sent = Some(now);
                        live.last_tx = now;
                        self.tx.encode(&Packet::PingReq);
                        self.events.push(Event::PingSent);
                    }
                }
            }
        }
        // S1: subscribe/unsubscribe acks.
        if self
            .outbox
            .ops
            .iter()
            .any(|o| o.sent.is_some_and(|(_, s)| now >= s + rt))
        {
            self.lost(now, DownReason::AckTimeout);
            return;
        }
        // P3: resend unacknowledged publishes, up to max_repubs.
        let mut resend: List<usize, { caps::OUTBOX }> = List::new();
        for (i, p) in self.outbox.publishes.iter().enumerate() {
            if self.resend_due(p).is_some_and(|t| now >= t) {
                let resends = match p.state {
                    OutState::AwaitAck { resends, .. } | OutState::AwaitComp { resends, .. } => {
                        resends
                    }
                    OutState::Queued => 0,
                };
                if resends >= self.config.max_repubs {
                    self.lost(now, DownReason::MaxRepubs);
                    return;
                }
                let _ = resend.try_push(i);
            }
        }
        for i in resend {
            self.resend(now, i);
        }
    }

    // ----- internals -----------------------------------------------------

    /// Without `alloc`: a packet did not fit in the transmit buffer. The
    /// connection ends (nothing half-sent), and the usual reconnect and
    /// resends recover.
    fn check_tx(&mut self, now: Instant) {
        if !self.tx.overflowed {
            return;
        }
        self.tx.clear();
        let why = text_lossy("transmit buffer full");
        match self.conn {
            Conn::Up(_) => self.lost(now, DownReason::Transport(why)),
            Conn::AwaitConnAck { .. } => {
                self.attempt_failed(now, ConnectError::Transport(why), false)
            }
            _ => {}
        }
    }

    /// Goes to the link wait if the `link` is down, else opens the
    /// transport.
    fn need_link_or_open(&mut self, now: Instant, first: bool, link: Link) {
        match link {
            Link::Up if !first => self.open(now),
            // K2: first connect with the link already up still checks its
            // integrity (unless quick).
            Link::Up => self.settle_or_open(now),
            Link::Down => {
                let deadline = match self.phase {
                    Phase::Initial(_) => Some(now + self.config.link_timeout),
                    _ => None,
                };
                self.conn = Conn::AwaitLink {
                    deadline,
                    retry_at: now + self.config.backoff.max,
                    abandoned: self.conn.abandoned(),
                };
                self.act(Action::BringLinkUp);
            }
        }
    }

    fn open(&mut self, now: Instant) {
        self.attempt += 1;
        self.events.push(Event::Connecting {
            attempt: self.attempt,
        });
        self.act(Action::OpenTransport);
        self.conn = Conn::Opening {
            deadline: now + self.config.response_time,
            abandoned: self.conn.abandoned(),
        };
    }

    /// A connection attempt failed (transport, CONNACK refusal, timeout).
    fn attempt_failed(&mut self, now: Instant, error: ConnectError, refused: bool) {
        self.attempt_failed_link(now, error, refused, self.conn.link());
    }

    /// [`Session::attempt_failed`], with the link as it now is (down when
    /// its loss ended the attempt).
    fn attempt_failed_link(&mut self, now: Instant, error: ConnectError, refused: bool, link: Link) {
        let mut abandoned = self.conn.abandoned();
        if matches!(self.conn, Conn::AwaitConnAck { .. })
            && matches!(error, ConnectError::Timeout)
            && !refused
        {
            // D5: a CONNECT went out, the connection stayed open and no
            // CONNACK came: we gave up on it. The broker may still act on it
            // later (a hung broker resuming, a segment held in a queue) and
            // create an empty session for our client id that the next
            // CONNACK then reports as present. (A connection the peer closed
            // carries no CONNECT into the future.)
            abandoned = Abandoned::Yes;
        }
        if !matches!(
            self.conn,
            Conn::AwaitLink { .. } | Conn::LinkSettling { .. }
        ) {
            self.act(Action::CloseTransport);
        }
        self.tx.clear();
        self.rx.clear();
        self.stats.failed_attempts += 1;
        if let Phase::Initial(initial) = self.phase {
            // K1: the first connect reports its failure and does not retry.
            self.phase = Phase::Failed {
                accepted_before: initial.accepted_before,
            };
            self.conn = Conn::Idle { link, abandoned };
            self.events.push(Event::ConnectResult(Err(error)));
            return;
        }
        let delay = self.backoff_delay(refused);
        self.events.push(Event::AttemptFailed {
            reason: text_fmt(format_args!("{error}")),
            retry_in_ms: delay.as_millis() as u64,
        });
        self.conn = Conn::Backoff {
            until: now + delay,
            link,
            abandoned,
        };
    }

    /// D4 beyond: exponential backoff with seeded jitter, bounded.
    fn backoff_delay(&mut self, refused: bool) -> Duration {
        self.backoff_for(self.attempt, refused)
    }

    /// The backoff after the `n`th failure in a row (n >= 1).
    fn backoff_for(&mut self, n: u32, refused: bool) -> Duration {
        let b = self.config.backoff;
        let exp = n.saturating_sub(1).min(20);
        let base = b.initial.saturating_mul(1u32 << exp).min(b.max);
        let cut = base.mul_f64(b.jitter * self.rng.next_f64());
        let delay = base.saturating_sub(cut);
        if refused {
            delay.max(b.refused)
        } else {
            delay
        }
    }

    /// D4: an established connection is lost. Notify, then reconnect: at
    /// once if the link is up (B3: no WiFi cycle), else wait for the link.
    fn lost(&mut self, now: Instant, reason: DownReason) {
        // D4 beyond: a connection the broker ends within response_time of
        // accepting it (a client id taken over back and forth by two
        // devices, a broker that kicks us right after CONNACK) is a flap:
        // reconnecting at once would loop as fast as the network allows, so
        // repeated flaps back off as failed attempts do.
        let short = matches!(self.conn, Conn::Up(l) if now < l.up_at + self.config.response_time);
        self.flaps = if short {
            self.flaps.saturating_add(1)
        } else {
            0
        };
        let link_down = matches!(reason, DownReason::LinkDown);
        self.act(Action::CloseTransport);
        self.tx.clear();
        self.rx.clear();
        self.stats.outages += 1;
        self.events.push(Event::Down { reason });
        for (token, _) in core::mem::take(&mut self.broker_up) {
            self.events.push(Event::BrokerUp { token, up: false });
        }
        for o in self.outbox.ops.iter_mut() {
            o.sent = None;
        }
        self.attempt = 0;
        // A live connection had the link up: it is down now only when its
        // loss is what ended the connection.
        let link = if link_down { Link::Down } else { Link::Up };
        if self.flaps > 1 && link == Link::Up {
            // The first flap reconnects at once (B3); from the second on,
            // the backoff grows with each one.
            let delay = self.backoff_for(self.flaps - 1, false);
            self.conn = Conn::Backoff {
                until: now + delay,
                link,
                abandoned: Abandoned::No,
            };
        } else {
            self.need_link_or_open(now, false, link);
        }
    }

    fn protocol_error(&mut self, now: Instant, what: Text) {
        match self.conn {
            Conn::Up(_) => self.lost(now, DownReason::Protocol(what)),
            _ => self.attempt_failed(now, ConnectError::Protocol(what), false),
        }
    }

    /// Decodes and handles one MQTT 3.1.1 packet from the front of `buf`.
    fn v311_step(&mut self, now: Instant, buf: &[u8]) -> Step {
        match codec::decode(buf, self.max_incoming()) {
            Ok(Decoded::Incomplete { .. }) => Step::Incomplete,
            Ok(Decoded::Packet { packet, len }) => {
                self.handle_packet(now, packet);
                Step::Consumed(len)
            }
            Err(e) => {
                self.protocol_error(now, text_fmt(format_args!("{e}")));
                Step::Failed
            }
        }
    }

    /// A packet arrived on a live connection: timers, and the outstanding
    /// ping (any packet shows the broker alive). False when not `Up`.
    fn note_rx(&mut self, now: Instant, is_pingresp: bool) -> bool {
        let Conn::Up(live) = &mut self.conn else {
            return false;
        };
        live.last_rx = now;
        let ping_sent = live.ping_sent.take();
        match (is_pingresp, ping_sent) {
            // C3 beyond: a round-trip sample, unless an earlier PINGREQ's
            // answer is still due (this could be it).
            (true, Some(sent)) if self.pings_unmatched == 0 => {
                self.rtt.sample(now.saturating_since(sent));
            }
            (true, _) => self.pings_unmatched = self.pings_unmatched.saturating_sub(1),
            (false, Some(_)) => self.pings_unmatched += 1,
            (false, None) => {}
        }
        true
    }

    fn on_pingresp(&mut self) {
        self.events.push(Event::PingResp);
        for (token, _) in core::mem::take(&mut self.broker_up) {
            self.events.push(Event::BrokerUp { token, up: true });
        }
    }

    /// P5: PUBREL for an incoming QoS 2 message: released, PUBCOMP.
    fn on_pubrel(&mut self, pid: Pid) {
        self.incoming_qos2.remove(&pid);
        self.tx.encode(&Packet::PubComp(PubComp(pid)));
    }

    fn handle_packet(&mut self, now: Instant, packet: Packet<'_>) {
        if let Conn::AwaitConnAck { .. } = self.conn {
            match packet {
                Packet::ConnAck(ack) => self.handle_connack(now, ack),
                other => self.protocol_error(
                    now,
                    text_fmt(format_args!(
                        "{} before CONNACK",
                        other.packet_type().name()
                    )),
                ),
            }
            return;
        }
        if !self.note_rx(now, matches!(packet, Packet::PingResp)) {
            return;
        }
        match packet {
            Packet::PingResp => self.on_pingresp(),
            Packet::Publish(p) => {
                self.receive(now, p.qospid, p.dup, p.retain, p.topic, p.payload, None)
            }
            Packet::PubAck(PubAck(pid)) => self.handle_ack(now, pid, AckKind::Puback, Ok(None)),
            Packet::PubRec(PubRec(pid)) => self.handle_pubrec(now, pid),
            Packet::PubComp(PubComp(pid)) => self.handle_ack(now, pid, AckKind::Pubcomp, Ok(None)),
            Packet::PubRel(PubRel(pid)) => self.on_pubrel(pid),
            Packet::SubAck(ack) => {
                let code = ack.codes.iter().next();
                self.handle_op_ack(ack.pid, OpAck::Subscribe311(code));
            }
            Packet::UnsubAck(codec::UnsubAck(pid)) => {
                self.handle_op_ack(pid, OpAck::Unsubscribe(Ok(None)))
            }
            other => {
                self.protocol_error(
                    now,
                    text_fmt(format_args!(
                        "unexpected {} from broker",
                        other.packet_type().name()
                    )),
                );
            }
        }
    }

    fn handle_connack(&mut self, now: Instant, ack: ConnAck) {
        if ack.code != ConnectReturnCode::Accepted {
            self.attempt_failed(now, ConnectError::Refused(ack.code), true);
            return;
        }
        // D5: read before the state becomes Up.
        let abandoned = self.conn.abandoned() == Abandoned::Yes;
        if let Phase::Initial(initial) = self.phase {
            if initial.k4 == K4::Pending {
                // K4: the clean connect discarded the old session; now
                // disconnect and connect unclean so outages keep it.
                self.phase = Phase::Initial(Initial {
                    accepted_before: true,
                    k4: K4::Done,
                    ..initial
                });
                self.tx.encode(&Packet::Disconnect);
                self.act(Action::CloseTransport);
                self.open(now);
                return;
            }
            self.phase = Phase::Running;
        }
        let first = self.stats.connections == 0;
        self.attempt = 0;
        self.stats.connections += 1;
        self.pings_unmatched = 0;
        self.conn = Conn::Up(Live {
            last_rx: now,
            last_tx: now,
            ping_sent: None,
            up_at: now,
        });
        if !ack.session_present {
            self.incoming_qos2.clear();
        }
        // D5: after an abandoned CONNECT, "session present" may name a
        // session that CONNECT created empty, without our subscriptions:
        // the application is told the session is not known to be kept, so
        // it (or restore_subscriptions) subscribes again. In-flight
        // messages still follow the broker's word (resent with their ids:
        // a broker without them takes them as new).
        let session_kept = ack.session_present && !abandoned;
        if ack.session_present && abandoned {
            self.events.push(Event::SessionUncertain);
        }
        // Up first: resends on a resumed session belong to this connection.
        self.events.push(Event::Up {
            session_present: session_kept,
        });
        self.resume_outbox(now, ack.session_present);
        if first {
            // After Up, so that when connect() returns the client is up.
            self.events.push(Event::ConnectResult(Ok(())));
        }
        if self.config.restore_subscriptions && !session_kept {
            // D5 beyond: put the granted subscriptions back.
            let mut restore: List<Op, { caps::SUBSCRIPTIONS }> = List::new();
            for (filter, (qos, options)) in self.subscriptions.iter() {
                let pending = self
                    .outbox
                    .ops
                    .iter()
                    .any(|o| o.kind_filter() == Some(filter.as_str()));
                if !pending {
                    let _ = restore.try_push(Op {
                        token: None,
                        kind: OpKind::Subscribe {
                            filter: filter.clone(),
                            qos: *qos,
                            options: options.clone(),
                        },
                        sent: None,
                    });
                }
            }
            // First, in table order: the ops list has room for the whole
            // table on top of the application's requests.
            for (i, op) in restore.into_iter().enumerate() {
                let _ = self.outbox.ops.try_insert_at(i, op);
            }
        }
        self.flush(now);
    }

    /// After CONNACK: with the session kept, resend what was in flight with
    /// the same ids: PUBLISH with DUP, or for QoS 2 past its PUBREC, PUBREL
    /// (never the PUBLISH again, P5); with a new session, publish it again
    /// as new messages with new ids (B6: never lost).
    ///
    /// A QoS 2 publish whose PUBREC came but whose PUBCOMP did not is
    /// republished too when the session is gone: a broker that routes QoS 2
    /// at PUBREL (mosquitto, the chaos broker) never routed it, so dropping
    /// it would lose it; a broker that routes at PUBLISH already did, and
    /// then the republished copy is a duplicate. MQTT gives the client no
    /// way to tell the two apart once the session is lost; we choose no
    /// loss, as for QoS 1.
    fn resume_outbox(&mut self, now: Instant, session_present: bool) {
        for i in 0..self.outbox.publishes.len() {
            let state = self.outbox.publishes[i].state;
            match (state, session_present) {
                (OutState::Queued, _) => {}
                (OutState::AwaitAck { .. } | OutState::AwaitComp { .. }, true) => {
                    self.resend(now, i)
                }
                (OutState::AwaitAck { .. } | OutState::AwaitComp { .. }, false) => {
                    self.outbox.publishes[i].state = OutState::Queued
                }
            }
        }
    }

    fn resend(&mut self, now: Instant, i: usize) {
        let Some(p) = self.outbox.publishes.get_mut(i) else {
            return;
        };
        self.stats.resends += 1;
        match p.state {
            OutState::AwaitAck { pid, resends, .. } => {
                p.state = OutState::AwaitAck {
                    pid,
                    sent_at: now,
                    resends: resends.saturating_add(1),
                };
                let qospid = QosPid::from_qos(p.qos, pid);
                match self.wire {
                    #[cfg(feature = "alloc")]
                    Wire::V5(_) => self.v5_send_publish(i, qospid, true),
                    Wire::V311 => {
                        let packet = Publish {
                            dup: true,
                            qospid,
                            retain: p.retain,
                            topic: &p.topic,
                            payload: &p.payload,
                        };
                        self.tx.encode(&Packet::Publish(packet));
                    }
                }
                let p = &self.outbox.publishes[i];
                self.events.push(Event::Retransmit {
                    token: p.token,
                    pid,
                });
                self.events.push(Event::PublishSent {
                    token: p.token,
                    pid: Some(pid),
                    qos: p.qos,
                    dup: true,
                    topic: p.topic.clone(),
                    payload: p.payload.clone(),
                });
            }
            OutState::AwaitComp { pid, resends, .. } => {
                p.state = OutState::AwaitComp {
                    pid,
                    sent_at: now,
                    resends: resends.saturating_add(1),
                };
                self.tx.encode(&Packet::PubRel(PubRel(pid)));
                self.events.push(Event::PubRelSent {
                    token: p.token,
                    pid,
                    resend: true,
                });
            }
            OutState::Queued => {}
        }
        if let Conn::Up(live) = &mut self.conn {
            live.last_tx = now;
        }
    }

    /// S2-S4, P5: an incoming message (its topic resolved, for MQTT 5,
    /// from an alias): acknowledged, then delivered unless a duplicate.
    #[allow(clippy::too_many_arguments)]
    fn receive(
        &mut self,
        now: Instant,
        qospid: QosPid,
        dup: bool,
        retain: bool,
        topic: &str,
        payload: &[u8],
        properties: Option<Boxed<MessageProperties>>,
    ) {
        let (Ok(topic), Ok(payload)) = (text(topic), store::bytes(payload)) else {
            // Only without alloc: not acknowledged, so not lost; the
            // broker sends it again on the next connection.
            self.protocol_error(
                now,
                text_fmt(format_args!(
                    "PUBLISH over capacity: topic {} B, payload {} B",
                    topic.len(),
                    payload.len()
                )),
            );
            return;
        };
        let deliver = match qospid {
            QosPid::AtMostOnce => true,
            QosPid::AtLeastOnce(pid) => {
                self.tx.encode(&Packet::PubAck(PubAck(pid)));
                true
            }
            QosPid::ExactlyOnce(pid) => {
                // P5: delivered on first receipt; the id is remembered until
                // PUBREL, so the broker's resends are acknowledged again but
                // not delivered again (across reconnects with the session).
                let Ok(new) = self.incoming_qos2.try_add(pid) else {
                    self.protocol_error(
                        now,
                        text_lossy("over capacity: QoS 2 messages awaiting PUBREL"),
                    );
                    return;
                };
                self.tx.encode(&Packet::PubRec(PubRec(pid)));
                if !new {
                    self.events.push(Event::DuplicateIgnored { pid });
                }
                new
            }
        };
        if !deliver {
            return;
        }
        let msg = Message {
            topic,
            payload,
            qos: qospid.qos(),
            retained: retain,
            dup,
            properties,
        };
        if self.config.queue_len == 0 {
            self.events.push(Event::Message(msg));
            return;
        }
        let discarded = self.queue.len() >= self.config.queue_len;
        if discarded {
            if let Some(message) = self.queue.pop_first() {
                self.stats.discards += 1;
                self.events.push(Event::Discarded {
                    message,
                    total: self.stats.discards,
                });
            }
        }
        // queue_len <= the queue's capacity (Config::validate): room.
        let _ = self.queue.try_push(msg);
        self.events.push(Event::MessageQueued { discarded });
    }

    /// The ack that ends an outgoing publish: PUBACK, PUBCOMP, or (MQTT 5)
    /// a PUBREC with a failure code. `outcome` carries MQTT 5's reason:
    /// success (reported with [`Event::AckReason`] when it says more than
    /// plain success) or a failure that completes the publish with
    /// [`RequestError::Rejected`] (never retried: the broker decided).
    fn handle_ack(&mut self, now: Instant, pid: Pid, kind: AckKind, outcome: AckOutcome) {
        let found = self.outbox.find(pid).filter(|&i| {
            let p = &self.outbox.publishes[i];
            match (kind, p.state) {
                (AckKind::Puback, OutState::AwaitAck { .. }) => p.qos == QoS::AtLeastOnce,
                (AckKind::Pubcomp, OutState::AwaitComp { .. }) => true,
                (AckKind::RefusedPubrec, OutState::AwaitAck { .. }) => p.qos == QoS::ExactlyOnce,
                _ => false,
            }
        });
        match found.and_then(|i| self.outbox.publishes.take_at(i)) {
            Some(p) => {
                self.queue_forget(&p);
                // C3 beyond: Karn's rule: only a publish sent once gives a
                // round-trip sample (a resent one's ack is ambiguous). For
                // QoS 2 the sample is PUBREL -> PUBCOMP.
                if let OutState::AwaitAck {
                    sent_at,
                    resends: 0,
                    ..
                }
                | OutState::AwaitComp {
                    sent_at,
                    resends: 0,
                    ..
                } = p.state
                {
                    self.rtt.sample(now.saturating_since(sent_at));
                }
                self.events.push(Event::Acked { pid });
                match outcome {
                    Ok(reason) => {
                        if let Some(reason) = reason {
                            self.events.push(Event::AckReason {
                                token: Some(p.token),
                                pid,
                                reason,
                            });
                        }
                        self.events.push(Event::PublishDone { token: p.token });
                    }
                    Err(r) => self.events.push(Event::PublishFailed {
                        token: p.token,
                        error: RequestError::Rejected {
                            reason: r.code,
                            reason_string: r.reason_string,
                        },
                    }),
                }
            }
            None => {
                // B1: an ack for an id not in flight (e.g. the original and
                // its DUP resend both acknowledged) is ignored.
                self.stats.stray_acks += 1;
                self.events.push(Event::StrayAck { pid });
            }
        }
    }

    /// P5: PUBREC for an outgoing QoS 2 publish. The first one moves it to
    /// awaiting PUBCOMP; a repeated one (the broker resent it, or a delayed
    /// copy) is answered with PUBREL again and counts as a resend (Karn: the
    /// PUBCOMP that follows is no round-trip sample). A PUBREC for an id not
    /// in flight is counted as stray and answered with PUBREL as well, as
    /// mosquitto does, so a broker still holding that id can release it.
    fn handle_pubrec(&mut self, now: Instant, pid: Pid) {
        let found = self
            .outbox
            .find(pid)
            .filter(|&i| self.outbox.publishes[i].qos == QoS::ExactlyOnce);
        let Some(i) = found else {
            self.stats.stray_acks += 1;
            self.events.push(Event::StrayAck { pid });
            self.tx.encode(&Packet::PubRel(PubRel(pid)));
            return;
        };
        let p = &mut self.outbox.publishes[i];
        let resend = match p.state {
            OutState::AwaitComp { resends, .. } => {
                p.state = OutState::AwaitComp {
                    pid,
                    sent_at: now,
                    resends: resends.saturating_add(1),
                };
                self.stats.resends += 1;
                true
            }
            _ => {
                p.state = OutState::AwaitComp {
                    pid,
                    sent_at: now,
                    resends: 0,
                };
                false
            }
        };
        self.tx.encode(&Packet::PubRel(PubRel(pid)));
        self.events.push(Event::PubRelSent {
            token: p.token,
            pid,
            resend,
        });
    }

    fn handle_op_ack(&mut self, pid: Pid, ack: OpAck) {
        let Some(i) = self.outbox.find_op(pid) else {
            self.stats.stray_acks += 1;
            self.events.push(Event::StrayAck { pid });
            return;
        };
        let Some(op) = self.outbox.ops.take_at(i) else {
            return;
        };
        let rejected = |r: AckReason| RequestError::Rejected {
            reason: r.code,
            reason_string: r.reason_string,
        };
        match op.kind {
            OpKind::Subscribe {
                filter, options, ..
            } => {
                let granted = match ack {
                    OpAck::Subscribe311(Some(SubAckCode::Granted(q))) => Ok(q),
                    OpAck::Subscribe(Ok(q)) => Ok(q),
                    OpAck::Subscribe(Err(r)) => Err(rejected(r)),
                    _ => Err(RequestError::SubscriptionRefused),
                };
                let result = match granted {
                    Ok(q) => {
                        self.events.push(Event::Subscribed {
                            topic: filter.clone(),
                            qos: q,
                        });
                        // A full table (only without alloc) still grants
                        // the subscription; it is then not restored (D5).
                        let _ = self.subscriptions.try_put(filter, (q, options));
                        Ok(q)
                    }
                    Err(e) => Err(e),
                };
                if let Some(token) = op.token {
                    self.events.push(Event::SubscribeDone { token, result });
                }
            }
            OpKind::Unsubscribe { filter } => {
                let result = match ack {
                    OpAck::Unsubscribe(Ok(reason)) => {
                        if let Some(reason) = reason {
                            self.events.push(Event::AckReason {
                                token: op.token,
                                pid,
                                reason,
                            });
                        }
                        self.subscriptions.remove(&filter);
                        Ok(())
                    }
                    OpAck::Unsubscribe(Err(r)) => Err(rejected(r)),
                    _ => Ok(()),
                };
                if let Some(token) = op.token {
                    self.events.push(Event::UnsubscribeDone { token, result });
                }
            }
        }
    }

    /// Sends what can be sent now: operations, then publishes in order, up
    /// to the in-flight window.
    fn flush(&mut self, now: Instant) {
        if !matches!(self.conn, Conn::Up(_)) {
            return;
        }
        let mut sent_any = false;
        for i in 0..self.outbox.ops.len() {
            if self.outbox.ops[i].sent.is_some() {
                continue;
            }
            let pid = self.outbox.alloc_pid();
            let op = &mut self.outbox.ops[i];
            op.sent = Some((pid, now));
            let kind = op.kind.clone();
            match &kind {
                OpKind::Subscribe {
                    filter,
                    qos,
                    options,
                } => {
                    match self.wire {
                        #[cfg(feature = "alloc")]
                        Wire::V5(_) => {
                            self.v5_send_subscribe(pid, filter, *qos, options.as_deref())
                        }
                        Wire::V311 => {
                            let _ = options;
                            let topics = [SubscribeTopic { filter, qos: *qos }];
                            self.tx.encode(&Packet::Subscribe(Subscribe {
                                pid,
                                topics: codec::List::new(&topics),
                            }));
                        }
                    }
                    self.events.push(Event::SubscribeSent {
                        topic: filter.clone(),
                        qos: *qos,
                    });
                }
                #[cfg(feature = "alloc")]
                OpKind::Unsubscribe { filter } if self.wire.is_v5() => {
                    self.v5_send_unsubscribe(pid, filter);
                }
                OpKind::Unsubscribe { filter } => {
                    let topics = [filter.as_str()];
                    self.tx.encode(&Packet::Unsubscribe(Unsubscribe {
                        pid,
                        topics: codec::List::new(&topics),
                    }));
                }
            }
            sent_any = true;
        }
        let mut completed: List<usize, { caps::OUTBOX }> = List::new();
        let mut inflight = self.outbox.inflight();
        // P4; MQTT 5: never more than the server's Receive Maximum.
        let window = self.inflight_window();
        for i in 0..self.outbox.publishes.len() {
            if self.outbox.publishes[i].state != OutState::Queued {
                continue;
            }
            let qos = self.outbox.publishes[i].qos;
            if qos != QoS::AtMostOnce && inflight >= window {
                continue;
            }
            let pid = if qos == QoS::AtMostOnce {
                Pid::MIN
            } else {
                self.outbox.alloc_pid()
            };
            let qospid = QosPid::from_qos(qos, pid);
            match self.wire {
                #[cfg(feature = "alloc")]
                Wire::V5(_) => self.v5_send_publish(i, qospid, false),
                Wire::V311 => {
                    let p = &self.outbox.publishes[i];
                    let packet = Publish {
                        dup: false,
                        qospid,
                        retain: p.retain,
                        topic: &p.topic,
                        payload: &p.payload,
                    };
                    self.tx.encode(&Packet::Publish(packet));
                }
            }
            let p = &mut self.outbox.publishes[i];
            self.events.push(Event::PublishSent {
                token: p.token,
                pid: qospid.pid(),
                qos,
                dup: false,
                topic: p.topic.clone(),
                payload: p.payload.clone(),
            });
            if qos == QoS::AtMostOnce {
                // P2: QoS 0 is done once sent.
                let _ = completed.try_push(i);
            } else {
                p.state = OutState::AwaitAck {
                    pid,
                    sent_at: now,
                    resends: 0,
                };
                inflight += 1;
            }
            sent_any = true;
        }
        for &i in completed.iter().rev() {
            if let Some(p) = self.outbox.publishes.take_at(i) {
                self.events.push(Event::PublishDone { token: p.token });
            }
        }
        if sent_any {
            if let Conn::Up(live) = &mut self.conn {
                live.last_tx = now;
            }
        }
        self.check_tx(now);
    }
}

impl Op {
    fn kind_filter(&self) -> Option<&str> {
        match &self.kind {
            OpKind::Subscribe { filter, .. } | OpKind::Unsubscribe { filter } => Some(filter),
        }
    }
}
