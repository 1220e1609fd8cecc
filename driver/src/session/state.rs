//! The connection's life as explicit states: what the session is waiting
//! for, and the deadline that goes with it. Each state carries only the data
//! that is meaningful in it (a ping can only be outstanding while `Up`; the
//! link can only be down in the states that wait for it or for nothing;
//! K4's pending reconnect exists only during the first connect).

use super::Instant;

/// Where the application's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `connect()` not called yet.
    NotStarted,
    /// The first connect is under way; failures go to the caller (K1).
    Initial(Initial),
    /// The first connect failed; `connect()` may be called again.
    Failed {
        /// A CONNACK accepted us before the failure (K4's clean connect).
        accepted_before: bool,
    },
    /// Connected once; outages are handled inside the driver (K3).
    Running,
    /// `disconnect()` or `close()` was called.
    Ended,
}

/// The first connect, from `connect()` to the CONNACK that starts
/// [`Phase::Running`] (or to the failure that ends it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Initial {
    /// K2: skip the link integrity period.
    pub quick: bool,
    /// A CONNACK has accepted us before (C5: `clean_init` applies until
    /// then, `clean` after).
    pub accepted_before: bool,
    /// K4: whether the next CONNACK is the clean one at power-up, still to
    /// be followed by a disconnect and an unclean connect.
    pub k4: K4,
}

/// K4 (3.1.1 with `clean_init` and not `clean`): the clean connect at
/// power-up, then a disconnect and an unclean connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum K4 {
    /// Not needed (or done): the next CONNACK ends the first connect.
    Done,
    /// The next CONNACK answers the clean connect: reconnect unclean.
    Pending,
}

impl Phase {
    /// Whether a CONNACK has accepted us at least once (C5: `clean_init`
    /// applies before, `clean` after).
    pub fn accepted_before(&self) -> bool {
        match *self {
            Phase::NotStarted => false,
            Phase::Initial(i) => i.accepted_before,
            Phase::Failed { accepted_before } => accepted_before,
            Phase::Running | Phase::Ended => true,
        }
    }
}

/// The link (WiFi, cellular) as last reported by the shell, kept in the
/// connection states where it can be either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    Down,
    Up,
}

impl Link {
    pub fn from_up(up: bool) -> Self {
        if up {
            Link::Up
        } else {
            Link::Down
        }
    }
}

/// D5: whether a CONNECT was sent and given up on (no CONNACK in time, the
/// connection still open) since the last CONNACK. The broker may still act
/// on it, so the next "session present" is not to be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abandoned {
    No,
    Yes,
}

/// The state of the connection to the broker. Every state between two
/// connections carries [`Abandoned`]; the states in which the link may be
/// up or down carry [`Link`] (waiting for the link means it is down; from
/// settling to up it is up, a link-down report leaves those states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conn {
    /// Nothing to do (before connect, or after a failed first connect).
    Idle { link: Link, abandoned: Abandoned },
    /// Waiting for the link to come up; `BringLinkUp` is repeated at
    /// `retry_at`; the first connect gives up at `deadline`.
    AwaitLink {
        deadline: Option<Instant>,
        retry_at: Instant,
        abandoned: Abandoned,
    },
    /// K2: the link is up and must stay up until `until`.
    LinkSettling {
        until: Instant,
        abandoned: Abandoned,
    },
    /// The shell is opening the transport.
    Opening {
        deadline: Instant,
        abandoned: Abandoned,
    },
    /// CONNECT sent; CONNACK due by `deadline`.
    AwaitConnAck {
        deadline: Instant,
        abandoned: Abandoned,
    },
    /// Connected.
    Up(Live),
    /// Waiting before the next reconnect attempt.
    Backoff {
        until: Instant,
        link: Link,
        abandoned: Abandoned,
    },
    /// Ended by `disconnect()` or `close()`.
    Closed { link: Link },
}

impl Conn {
    /// The link as last reported, as this state implies or records it.
    pub fn link(&self) -> Link {
        match *self {
            Conn::AwaitLink { .. } => Link::Down,
            Conn::LinkSettling { .. }
            | Conn::Opening { .. }
            | Conn::AwaitConnAck { .. }
            | Conn::Up(_) => Link::Up,
            Conn::Idle { link, .. } | Conn::Backoff { link, .. } | Conn::Closed { link } => link,
        }
    }

    /// D5 of this state: `No` when connected or closed.
    pub fn abandoned(&self) -> Abandoned {
        match *self {
            Conn::Idle { abandoned, .. }
            | Conn::AwaitLink { abandoned, .. }
            | Conn::LinkSettling { abandoned, .. }
            | Conn::Opening { abandoned, .. }
            | Conn::AwaitConnAck { abandoned, .. }
            | Conn::Backoff { abandoned, .. } => abandoned,
            Conn::Up(_) | Conn::Closed { .. } => Abandoned::No,
        }
    }

    /// Records a link report in the states that keep it (the others imply
    /// it, or leave on the report).
    pub fn set_link(&mut self, to: Link) {
        if let Conn::Idle { link, .. } | Conn::Backoff { link, .. } | Conn::Closed { link } = self {
            *link = to;
        }
    }
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
