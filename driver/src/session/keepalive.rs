//! Keepalive (C2, D1, D3) and O2's `broker_up`: when to ping, when an
//! unanswered ping means the connection is down, and which PINGRESPs are
//! round-trip samples for the adaptive reply timeout (C3 beyond).

use core::time::Duration;

use super::state::{Conn, Live};
use super::store::Seq;
use super::{DownReason, Event, Instant, Session, Token};
use crate::codec::Packet;

/// How recent received data must be for `broker_up` to answer at once (O2).
const BROKER_UP_FRESH: Duration = Duration::from_secs(1);

impl Session {
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

    /// When the ping timer fires: a reply deadline when a ping is out,
    /// otherwise when the connection has been idle for the ping interval.
    pub(super) fn ping_deadline(&self, live: &Live) -> Option<Instant> {
        match live.ping_sent {
            Some(sent) => Some(sent + self.rtt.timeout()),
            None => Some(live.last_rx.min(live.last_tx) + self.ping_after()?),
        }
    }

    /// D1: idle time before a ping. Fixed mode: the ping interval. Adaptive:
    /// one reply timeout earlier (never before half the interval), so that
    /// a silent outage is declared about one ping interval after the
    /// broker last spoke (issue 11: keepalive 60 s, detected within 15 s).
    pub(super) fn ping_after(&self) -> Option<Duration> {
        let pi = self.config.ping_interval_for(self.keepalive_in_force())?;
        if !self.rtt.is_adaptive() {
            return Some(pi);
        }
        Some(pi.saturating_sub(self.rtt.timeout()).max(pi / 2))
    }

    /// A packet arrived on a live connection: timers, and the outstanding
    /// ping (any packet shows the broker alive). False when not `Up`.
    pub(super) fn note_rx(&mut self, now: Instant, is_pingresp: bool) -> bool {
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

    pub(super) fn on_pingresp(&mut self) {
        self.events.push(Event::PingResp);
        for (token, _) in core::mem::take(&mut self.broker_up) {
            self.events.push(Event::BrokerUp { token, up: true });
        }
    }

    /// O2's unanswered queries, then D1/D3: ping when idle; down when a
    /// ping stays unanswered. False when the connection was lost.
    pub(super) fn timeout_keepalive(&mut self, now: Instant) -> bool {
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
            return false;
        };
        match live.ping_sent {
            Some(sent) if now >= sent + rt => {
                self.lost(now, DownReason::PingTimeout);
                return false;
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
        true
    }
}
