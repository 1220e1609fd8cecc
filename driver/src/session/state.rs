//! The connection's life as explicit states: what the session is waiting
//! for, and the deadline that goes with it. Each state carries only the data
//! that is meaningful in it (a ping can only be outstanding while `Up`).

use super::Instant;

/// Where the application's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `connect()` not called yet.
    NotStarted,
    /// The first connect is under way; failures go to the caller (K1).
    Initial { quick: bool },
    /// The first connect failed; `connect()` may be called again.
    Failed,
    /// Connected once; outages are handled inside the driver (K3).
    Running,
    /// `disconnect()` or `close()` was called.
    Ended,
}

/// The state of the connection to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conn {
    /// Nothing to do (before connect, or after a failed first connect).
    Idle,
    /// Waiting for the link to come up; `BringLinkUp` is repeated at
    /// `retry_at`; the first connect gives up at `deadline`.
    AwaitLink {
        deadline: Option<Instant>,
        retry_at: Instant,
    },
    /// K2: the link is up and must stay up until `until`.
    LinkSettling { until: Instant },
    /// The shell is opening the transport.
    Opening { deadline: Instant },
    /// CONNECT sent; CONNACK due by `deadline`.
    AwaitConnAck { deadline: Instant },
    /// Connected.
    Up(Live),
    /// Waiting before the next reconnect attempt.
    Backoff { until: Instant },
    /// Ended by `disconnect()` or `close()`.
    Closed,
}

/// Timers of a live connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Live {
    pub last_rx: Instant,
    pub last_tx: Instant,
    /// When the outstanding PINGREQ went out.
    pub ping_sent: Option<Instant>,
    /// When the CONNACK came (a connection lost soon after is a flap).
    pub up_at: Instant,
}
