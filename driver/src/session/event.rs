//! What the session tells its shell: application events (connect results,
//! up/down notifications, completed publishes, messages), and diagnostic
//! events that the simulator turns into trace lines. None carries a secret.

use core::fmt;

use super::store::{caps, Boxed, Bytes, List, Seq, Text};

use super::v5::{AckReason, MessageProperties, ReasonCode, ServerLimits};
use crate::codec::{ConnectReturnCode, Pid, QoS};

/// Identifies one application request (publish, subscribe, unsubscribe,
/// broker_up) so its completion can be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub u64);

/// A message received from the broker (S2-S4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: Text,
    pub payload: Bytes,
    pub qos: QoS,
    /// S4: the broker sent it as a retained message.
    pub retained: bool,
    /// The broker marked it as a possible duplicate.
    pub dup: bool,
    /// V1: the MQTT 5 properties (user properties, subscription
    /// identifiers, content type, ...); `None` with MQTT 3.1.1.
    pub properties: Option<Boxed<MessageProperties>>,
}

/// Why the first connect failed (K1). Refusals 1-5 are distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The link (WiFi) did not come up within `link_timeout`.
    LinkTimeout,
    /// K2: the link went down during the integrity period.
    LinkUnstable,
    /// The transport could not connect (refused, unreachable, timed out).
    Transport(Text),
    /// No CONNACK within `response_time`.
    Timeout,
    /// The broker answered with a refusal code (1-5).
    Refused(ConnectReturnCode),
    /// MQTT 5: the broker refused with this CONNACK reason code.
    RefusedV5 {
        reason: ReasonCode,
        reason_string: Option<Text>,
    },
    /// The broker sent something that is not valid MQTT.
    Protocol(Text),
    /// `connect()` was called again while a connect is under way or done.
    AlreadyConnecting,
    /// `disconnect()` or `close()` was called during the attempt.
    Aborted,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::LinkTimeout => f.write_str("the link did not come up in time"),
            ConnectError::LinkUnstable => {
                f.write_str("the link went down during the integrity check")
            }
            ConnectError::Transport(e) => write!(f, "transport: {e}"),
            ConnectError::Timeout => f.write_str("no CONNACK within response_time"),
            ConnectError::Refused(c) => write!(f, "broker refused the connection: {c}"),
            ConnectError::RefusedV5 {
                reason,
                reason_string,
            } => {
                write!(
                    f,
                    "broker refused the connection: {} ({:#04x})",
                    reason.name(),
                    *reason as u8
                )?;
                if let Some(s) = reason_string {
                    write!(f, ": {s}")?;
                }
                Ok(())
            }
            ConnectError::Protocol(e) => write!(f, "protocol error: {e}"),
            ConnectError::AlreadyConnecting => f.write_str("connect() was already called"),
            ConnectError::Aborted => f.write_str("aborted by disconnect() or close()"),
        }
    }
}

impl core::error::Error for ConnectError {}

/// Why a request failed. Outages never fail a request; only the end of the
/// session does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// `connect()` has not succeeded yet.
    NotConnected,
    /// `disconnect()` or `close()` ended the session.
    Closed,
    /// The topic or filter is not valid.
    InvalidTopic,
    /// The broker refused the subscription (SUBACK 0x80).
    SubscriptionRefused,
    /// The packet would exceed the protocol's limits.
    TooLarge,
    /// MQTT 5: the publish is larger than the server's Maximum Packet Size
    /// (from its CONNACK); it was not sent.
    TooLargeForServer { size: usize, max: u32 },
    /// MQTT 5: the server's CONNACK said it does not support this.
    NotSupportedByServer(&'static str),
    /// MQTT 5: the server answered with this failure reason code (PUBACK,
    /// PUBREC, SUBACK, UNSUBACK); the request is complete, not retried.
    Rejected {
        reason: ReasonCode,
        reason_string: Option<Text>,
    },
    /// An MQTT 5 option was used on an MQTT 3.1.1 session.
    NeedsMqtt5(&'static str),
    /// MQTT 5 properties that cannot be sent (a wildcard response topic,
    /// a NUL in a string, a subscription identifier out of range, no local
    /// on a shared subscription).
    InvalidProperties,
    /// P5 beyond: the offline queue is full and its policy is `Reject`.
    QueueFull,
    /// P5 beyond: dropped from a full offline queue (`DropOldest`) to make
    /// room for a newer publish.
    Dropped,
    /// Without `alloc`: more than this build holds (a topic or payload
    /// longer than its capacity, or too many requests outstanding; see
    /// `session::store::caps`).
    OverCapacity(&'static str),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestError::NotConnected => "not connected: connect() has not succeeded",
            RequestError::Closed => "the client was disconnected or closed",
            RequestError::InvalidTopic => "invalid topic or topic filter",
            RequestError::SubscriptionRefused => "the broker refused the subscription",
            RequestError::TooLarge => "packet too large",
            RequestError::TooLargeForServer { size, max } => {
                return write!(
                    f,
                    "packet of {size} bytes exceeds the server's Maximum Packet Size of {max}"
                )
            }
            RequestError::NotSupportedByServer(what) => {
                return write!(f, "the server does not support {what}")
            }
            RequestError::Rejected {
                reason,
                reason_string,
            } => {
                write!(
                    f,
                    "the broker rejected it: {} ({:#04x})",
                    reason.name(),
                    *reason as u8
                )?;
                if let Some(s) = reason_string {
                    write!(f, ": {s}")?;
                }
                return Ok(());
            }
            RequestError::NeedsMqtt5(what) => {
                return write!(f, "{what} needs MQTT 5 (Config::protocol)")
            }
            RequestError::InvalidProperties => "invalid MQTT 5 properties or options",
            RequestError::OverCapacity(what) => {
                return write!(
                    f,
                    "{what}: over this build's capacity (no allocator: see session::store::caps)"
                )
            }
            RequestError::QueueFull => "the offline queue is full (overflow policy: reject new)",
            RequestError::Dropped => {
                "dropped from the full offline queue (overflow policy: drop oldest)"
            }
        })
    }
}

impl core::error::Error for RequestError {}

/// Why a connection ended (D2-D4, B2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// D2: the link reported down.
    LinkDown,
    /// D3: a ping went unanswered for `response_time`.
    PingTimeout,
    /// P3: a publish went unacknowledged after `max_repubs` resends.
    MaxRepubs,
    /// S1: a SUBACK or UNSUBACK did not come within `response_time`.
    AckTimeout,
    /// B2: the broker closed the connection (FIN or RST).
    ClosedByBroker,
    /// A read or write failed or took longer than `response_time`.
    Transport(Text),
    /// The broker sent bytes that are not valid MQTT.
    Protocol(Text),
    /// MQTT 5: the server sent DISCONNECT with this reason code (e.g.
    /// 0x8B server shutting down).
    ServerDisconnect {
        reason: ReasonCode,
        reason_string: Option<Text>,
    },
    /// MQTT 5: the server broke the protocol and we ended the connection
    /// with DISCONNECT and this reason code (0x82 protocol error, 0x93
    /// receive maximum exceeded, 0x94 topic alias invalid, ...); `detail`
    /// says what it did.
    ClientDisconnect { reason: ReasonCode, detail: Text },
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::LinkDown => f.write_str("link down"),
            DownReason::PingTimeout => f.write_str("ping timeout"),
            DownReason::MaxRepubs => f.write_str("publish unacknowledged after max_repubs"),
            DownReason::AckTimeout => f.write_str("SUBACK/UNSUBACK timeout"),
            DownReason::ClosedByBroker => f.write_str("closed by broker"),
            DownReason::Transport(e) => write!(f, "transport: {e}"),
            DownReason::Protocol(e) => write!(f, "protocol: {e}"),
            DownReason::ClientDisconnect { reason, detail } => write!(
                f,
                "protocol: {detail}; sent DISCONNECT {} ({:#04x})",
                reason.name(),
                *reason as u8
            ),
            DownReason::ServerDisconnect {
                reason,
                reason_string,
            } => {
                write!(
                    f,
                    "server disconnected: {} ({:#04x})",
                    reason.name(),
                    *reason as u8
                )?;
                if let Some(s) = reason_string {
                    write!(f, ": {s}")?;
                }
                Ok(())
            }
        }
    }
}

/// What the session asks its shell to do with the outside world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open the transport to the broker; report with
    /// `handle_transport_connected` or `handle_transport_failed`.
    OpenTransport,
    /// Close the transport now; bytes still queued are dropped.
    CloseTransport,
    /// Bring the link (WiFi) up; report with `handle_link`.
    BringLinkUp,
    /// Take the link down (O4 `close()`).
    TakeLinkDown,
}

/// Events from the session, for the application and for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// K1: the outcome of `connect()`.
    ConnectResult(Result<(), ConnectError>),
    /// D5: a connection to the broker is up (after every (re)connect).
    /// `session_present` is true only when the broker kept our session and
    /// no CONNECT was abandoned since the last connection (see
    /// [`Event::SessionUncertain`]); false means: subscribe again.
    Up { session_present: bool },
    /// D5: the broker said "session present", but a CONNECT was given up on
    /// since the last connection and may have created that session empty;
    /// the following `Up` says `session_present: false`.
    SessionUncertain,
    /// D4: the connection went down; the driver reconnects by itself.
    Down { reason: DownReason },
    /// P1-P3, P5: a publish completed (QoS 0: sent; QoS 1: PUBACK
    /// received; QoS 2: PUBCOMP received).
    PublishDone { token: Token },
    /// A publish will never complete (the session ended).
    PublishFailed { token: Token, error: RequestError },
    /// S1: SUBACK received; the granted QoS or an error.
    SubscribeDone {
        token: Token,
        result: Result<QoS, RequestError>,
    },
    /// S1: UNSUBACK received (or the session ended: `result` is an error).
    UnsubscribeDone {
        token: Token,
        result: Result<(), RequestError>,
    },
    /// O2: the answer to `broker_up`.
    BrokerUp { token: Token, up: bool },
    /// C7/S3: a message for the callback interface (`queue_len == 0`).
    /// With the event interface, messages go to the bounded queue instead
    /// and this event is not emitted.
    Message(Message),
    /// S3: a message was queued (event interface); `discarded` is true when
    /// the queue was full and the oldest message was dropped to make room.
    MessageQueued { discarded: bool },

    // Diagnostics (O5): what the simulator and debug logging show.
    /// The link was seen going up or down.
    Link { up: bool },
    /// A connection attempt starts (1 = first after an outage).
    Connecting { attempt: u32 },
    /// A reconnect attempt failed; the next one is after `retry_in_ms`.
    AttemptFailed { reason: Text, retry_in_ms: u64 },
    /// A PUBLISH went out.
    PublishSent {
        token: Token,
        pid: Option<Pid>,
        qos: QoS,
        dup: bool,
        topic: Text,
        payload: Bytes,
    },
    /// P3: a PUBLISH was resent with DUP (a PUBREL resend is
    /// [`Event::PubRelSent`] with `resend = true`).
    Retransmit { token: Token, pid: Pid },
    /// A PUBACK/PUBCOMP arrived for a publish in flight.
    Acked { pid: Pid },
    /// P5: a PUBREL went out for this QoS 2 publish: the first one in
    /// answer to its PUBREC (`resend = false`), or again (`resend = true`)
    /// after `response_time` without PUBCOMP, on a resumed session, or in
    /// answer to a repeated PUBREC. A publish that got here was accepted
    /// by the broker; only the release is outstanding.
    PubRelSent {
        token: Token,
        pid: Pid,
        resend: bool,
    },
    /// P5: an incoming QoS 2 PUBLISH with DUP reused a packet id still
    /// awaiting its PUBREL (the broker's resend): answered with PUBREC
    /// again and not delivered a second time. Without DUP it is a
    /// [`Event::BrokerViolation`].
    DuplicateIgnored { pid: Pid },
    /// B1: an ack arrived for a packet id not in flight; it was ignored.
    StrayAck { pid: Pid },
    /// P5 beyond: the broker broke the protocol in a way the session survives;
    /// what it sent is given so that the application can log or count it.
    /// Counted in [`Stats::broker_violations`]. Never dropped (not a
    /// diagnostic): it may stand for a lost message.
    BrokerViolation {
        violation: BrokerViolation,
        /// The offending PUBLISH's topic and payload.
        topic: Text,
        payload: Bytes,
    },
    /// D1: a PINGREQ went out.
    PingSent,
    /// A PINGRESP arrived.
    PingResp,
    /// A SUBSCRIBE went out.
    SubscribeSent { topic: Text, qos: QoS },
    /// A SUBACK granted this subscription (the application's own, or a
    /// restored one, D5 beyond).
    Subscribed { topic: Text, qos: QoS },
    /// O3/O4: `disconnect()` (graceful) or `close()` ended the session;
    /// `was_connected` tells whether a broker connection was up then.
    Closed { graceful: bool, was_connected: bool },
    /// S3: the queue was full; this, its oldest message, was dropped.
    Discarded { message: Message, total: u64 },

    // MQTT 5 (V1, V2).
    /// The server assigned this client id (we sent an empty one); it is
    /// kept and sent on every reconnect.
    ClientIdAssigned { client_id: Text },
    /// The server's limits for the connection that just came up (sent
    /// before [`Event::Up`]).
    ServerLimits(ServerLimits),
    /// The server named another server (Server Reference, with reason
    /// 0x9C use another server or 0x9D server moved, in CONNACK or
    /// DISCONNECT). Noted only: the driver keeps using `Config::server`.
    ServerRedirect { reason: ReasonCode, reference: Text },
    /// An ack with a reason code other than plain success, or with a
    /// reason string, for a request that still succeeded (e.g. PUBACK
    /// 0x10 no matching subscribers, UNSUBACK 0x11 no subscription
    /// existed). Sent just before the request's completion event.
    AckReason {
        token: Option<Token>,
        pid: Pid,
        reason: AckReason,
    },
    /// P5 beyond (offline queue configured): a publish is waiting in the
    /// queue (not connected, or the in-flight window is full); `held` and
    /// `held_bytes` count every publish held now, this one included.
    PublishQueued {
        token: Token,
        held: usize,
        held_bytes: usize,
        topic: Text,
        payload: Bytes,
    },
    /// P5 beyond: the full queue dropped this, its oldest publish not yet
    /// accepted by the broker (`DropOldest`); `total` counts drops since
    /// start. Its token also gets [`Event::PublishFailed`].
    PublishDropped {
        token: Token,
        topic: Text,
        payload: Bytes,
        total: u64,
    },
    /// P5 beyond: the full queue refused this new publish (`Reject`);
    /// `publish` returned [`RequestError::QueueFull`]. `total` counts
    /// refusals since start.
    PublishRejected {
        topic: Text,
        payload: Bytes,
        total: u64,
    },
    /// P5 beyond: a publish stored by an earlier run was restored under
    /// `seq` ([`Session::restore`](super::Session::restore)); it is sent
    /// after the first connection as a new message.
    PublishRestored {
        token: Token,
        seq: u64,
        topic: Text,
        payload: Bytes,
    },
    /// P5 beyond: the shell could not store or remove a queued publish, or
    /// load the stored ones (reported through
    /// [`Session::handle_storage_error`](super::Session::handle_storage_error)).
    StorageFailed { reason: Text },
}

/// P5 beyond: how the broker broke the protocol ([`Event::BrokerViolation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerViolation {
    /// A new PUBLISH (DUP = 0) at QoS 2 carried packet id `pid` while the
    /// message last received with that id still awaits its PUBREL. A
    /// broker must not reuse an id before PUBCOMP, and must set DUP on a
    /// resend. The session answers PUBREC (as for any PUBLISH with an id
    /// awaiting PUBREL) and does not deliver it: if it was a resend without
    /// DUP, delivering it would duplicate the first; if it was a new message
    /// on a reused id, the broker lost it (the session cannot tell, and
    /// exactly-once forbids the duplicate).
    Qos2IdReused { pid: Pid },
}

impl fmt::Display for BrokerViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerViolation::Qos2IdReused { pid } => write!(
                f,
                "new QoS 2 PUBLISH (DUP = 0) reused packet id {pid}, still awaiting PUBREL; acknowledged, not delivered"
            ),
        }
    }
}

/// O5: counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// All resends (DUP publishes) since start.
    pub resends: u64,
    /// Successful connections, the first included.
    pub connections: u64,
    /// Outages (down events).
    pub outages: u64,
    /// Incoming messages dropped from a full queue (S3).
    pub discards: u64,
    /// Connection attempts that failed.
    pub failed_attempts: u64,
    /// Acks for unknown packet ids that were ignored (B1).
    pub stray_acks: u64,
    /// P5 beyond: protocol violations by the broker that the session survived
    /// ([`Event::BrokerViolation`]).
    pub broker_violations: u64,
    /// P5 beyond: publishes dropped from the full offline queue
    /// (`DropOldest`).
    pub queue_dropped: u64,
    /// P5 beyond: publishes refused by the full offline queue (`Reject`).
    pub queue_rejected: u64,
    /// Diagnostic events dropped because the event queue was full (only
    /// without `alloc`, where it has a fixed capacity).
    pub events_dropped: u64,
}

impl Event {
    /// Whether this event only informs (traces, debug logs): without
    /// `alloc`, a full event queue drops these first, so that no request
    /// completion or state change is ever lost.
    pub fn is_diagnostic(&self) -> bool {
        matches!(
            self,
            Event::Link { .. }
                | Event::Connecting { .. }
                | Event::AttemptFailed { .. }
                | Event::PublishSent { .. }
                | Event::Retransmit { .. }
                | Event::Acked { .. }
                | Event::PubRelSent { .. }
                | Event::DuplicateIgnored { .. }
                | Event::StrayAck { .. }
                | Event::PingSent
                | Event::PingResp
                | Event::SubscribeSent { .. }
                | Event::Subscribed { .. }
                | Event::PublishQueued { .. }
                | Event::PublishRestored { .. }
                | Event::PublishDropped { .. }
                | Event::PublishRejected { .. }
                | Event::MessageQueued { .. }
        )
    }
}

/// The events not yet polled. With `alloc` it grows as needed; without,
/// it holds [`caps::EVENTS`](super::store::caps::EVENTS), enough for every
/// request to complete in one call, and when it is full a diagnostic
/// event gives way ([`Event::is_diagnostic`]) and is counted.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    items: List<Event, { caps::EVENTS }>,
    dropped: u64,
}

impl EventQueue {
    pub fn push(&mut self, e: Event) {
        let Err(e) = self.items.try_push(e) else {
            return;
        };
        self.dropped += 1;
        if e.is_diagnostic() {
            return;
        }
        let victim = self
            .items
            .iter()
            .position(Event::is_diagnostic)
            .unwrap_or(0);
        self.items.take_at(victim);
        let _ = self.items.try_push(e);
    }

    pub fn pop(&mut self) -> Option<Event> {
        self.items.pop_first()
    }

    /// Events dropped for want of room (always 0 with `alloc`).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
