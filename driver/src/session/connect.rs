//! Connect and reconnect: the connection's life from `connect()` to
//! `disconnect()`/`close()` (K1-K4, D2, D4, D5, C3's deadlines before
//! CONNACK). Link and transport reports move the [`Conn`] state; a failed
//! attempt backs off (seeded jitter, longer after a refusal), a lost
//! connection reconnects at once or waits for the link, and the CONNACK
//! starts a live connection (resends, D5's subscription restore).

use core::time::Duration;

/// The wait after our own DISCONNECT before the next CONNECT when no round
/// trip has been measured yet (see `Session::disconnect_linger`).
pub const DISCONNECT_LINGER: Duration = Duration::from_millis(500);

use super::outbox::{Op, OpKind};
use super::state::{Abandoned, Conn, Initial, Link, Live, Phase, K4};
use super::store::{caps, text_fmt, text_lossy, List, Seq, Text};
use super::v5::Wire;
use super::{Action, ConnectError, DownReason, Event, Instant, RequestError, Session};
use crate::codec::{ConnAck, Connect, ConnectReturnCode, Packet, Will};

impl Session {
    /// Whether `connect()` was ever called (the offline queue's records
    /// can only be restored before).
    pub(super) fn started(&self) -> bool {
        !matches!(self.phase, Phase::NotStarted)
    }

    /// Whether a CONNECT went out on this transport and its CONNACK is
    /// still due (only a CONNACK may come now).
    pub(super) fn awaiting_connack(&self) -> bool {
        matches!(self.conn, Conn::AwaitConnAck { .. })
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

    pub(super) fn end(&mut self, take_link_down: bool) {
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

    pub(super) fn check_open(&self) -> Result<(), RequestError> {
        match self.phase {
            Phase::Running => Ok(()),
            Phase::Ended => Err(RequestError::Closed),
            Phase::NotStarted | Phase::Failed { .. } | Phase::Initial(_) => {
                Err(RequestError::NotConnected)
            }
        }
    }

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
    pub(super) fn settle_or_open(&mut self, now: Instant) {
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

    /// Without `alloc`: a packet did not fit in the transmit buffer. The
    /// connection ends (nothing half-sent), and the usual reconnect and
    /// resends recover.
    pub(super) fn check_tx(&mut self, now: Instant) {
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
    pub(super) fn need_link_or_open(&mut self, now: Instant, first: bool, link: Link) {
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

    pub(super) fn open(&mut self, now: Instant) {
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
    pub(super) fn attempt_failed(&mut self, now: Instant, error: ConnectError, refused: bool) {
        self.attempt_failed_link(now, error, refused, self.conn.link());
    }

    /// [`Session::attempt_failed`], with the link as it now is (down when
    /// its loss ended the attempt).
    pub(super) fn attempt_failed_link(
        &mut self,
        now: Instant,
        error: ConnectError,
        refused: bool,
        link: Link,
    ) {
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
    pub(super) fn backoff_delay(&mut self, refused: bool) -> Duration {
        self.backoff_for(self.attempt, refused)
    }

    /// The backoff after the `n`th failure in a row (n >= 1).
    pub(super) fn backoff_for(&mut self, n: u32, refused: bool) -> Duration {
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
    pub(super) fn lost(&mut self, now: Instant, reason: DownReason) {
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
        let own_disconnect = matches!(reason, DownReason::ClientDisconnect { .. });
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
        } else if own_disconnect && link == Link::Up {
            // We ended it with a DISCONNECT of our own (MQTT 5: the server
            // broke the protocol): let that DISCONNECT reach the broker
            // before our next CONNECT does. Packets on two connections can
            // overtake each other; a CONNECT that arrives first makes the
            // broker take the session over, and the DISCONNECT and its
            // reason code are never seen.
            self.conn = Conn::Backoff {
                until: now + self.disconnect_linger(),
                link,
                abandoned: Abandoned::No,
            };
        } else {
            self.need_link_or_open(now, false, link);
        }
    }

    /// How long the next connection waits after our own DISCONNECT: one
    /// retransmission timeout of the measured round trip (srtt + 4 rttvar),
    /// [`DISCONNECT_LINGER`] before any measurement, never more than
    /// `response_time`.
    pub(super) fn disconnect_linger(&self) -> Duration {
        self.rtt
            .srtt()
            .map_or(DISCONNECT_LINGER, |s| {
                s.saturating_add(self.rtt.rttvar().saturating_mul(4))
            })
            .min(self.config.response_time)
    }

    pub(super) fn protocol_error(&mut self, now: Instant, what: Text) {
        match self.conn {
            Conn::Up(_) => self.lost(now, DownReason::Protocol(what)),
            _ => self.attempt_failed(now, ConnectError::Protocol(what), false),
        }
    }

    pub(super) fn handle_connack(&mut self, now: Instant, ack: ConnAck) {
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

    /// The deadlines of the states before and between connections: the
    /// link wait (K1's link timeout), K2's settling, opening the
    /// transport, the CONNACK (C3), the backoff.
    pub(super) fn timeout_connecting(&mut self, now: Instant) {
        match self.conn {
            Conn::Idle { .. } | Conn::Closed { .. } | Conn::Up(_) => {}
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
        }
    }
}

impl Op {
    /// The topic filter the request is about.
    fn kind_filter(&self) -> Option<&str> {
        match &self.kind {
            OpKind::Subscribe { filter, .. } | OpKind::Unsubscribe { filter } => Some(filter),
        }
    }
}
