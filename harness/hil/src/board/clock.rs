//! Board time to host time. Every agent line is stamped with the board's
//! monotonic milliseconds; the harness pings the board (`ping {id}` ->
//! `pong {id, ms}`) and takes, from the round trip with the smallest delay,
//! `offset = midpoint(sent, received) - board ms`. A reboot restarts the
//! board's clock: [`BoardClock::reset`] forgets the offset.

use std::time::{Duration, Instant};

/// The mapping, relative to a fixed host instant.
#[derive(Debug, Clone)]
pub struct BoardClock {
    base: Instant,
    /// host ms since `base` minus board ms.
    offset_ms: Option<f64>,
    best_rtt: Duration,
}

impl BoardClock {
    pub fn new(base: Instant) -> Self {
        BoardClock {
            base,
            offset_ms: None,
            best_rtt: Duration::MAX,
        }
    }

    /// The board restarted: its clock did too.
    pub fn reset(&mut self) {
        self.offset_ms = None;
        self.best_rtt = Duration::MAX;
    }

    /// A ping sent at `sent` was answered at board time `board_ms` and
    /// received at `received`.
    pub fn pong(&mut self, sent: Instant, received: Instant, board_ms: u64) {
        let rtt = received.saturating_duration_since(sent);
        if rtt > self.best_rtt {
            return;
        }
        self.best_rtt = rtt;
        let mid = sent.saturating_duration_since(self.base) + rtt / 2;
        self.offset_ms = Some(mid.as_secs_f64() * 1000.0 - board_ms as f64);
    }

    /// A first estimate from a line received at `received` (no ping yet):
    /// used until a pong arrives; it errs late by the line's transit time.
    pub fn seen(&mut self, received: Instant, board_ms: u64) {
        if self.offset_ms.is_none() {
            let at = received.saturating_duration_since(self.base);
            self.offset_ms = Some(at.as_secs_f64() * 1000.0 - board_ms as f64);
        }
    }

    /// The host instant of board time `board_ms`, once known.
    pub fn host(&self, board_ms: u64) -> Option<Instant> {
        let off = self.offset_ms?;
        let ms = board_ms as f64 + off;
        Some(if ms <= 0.0 {
            self.base
        } else {
            self.base + Duration::from_secs_f64(ms / 1000.0)
        })
    }

    /// The smallest round trip seen since the last reset.
    pub fn best_rtt(&self) -> Option<Duration> {
        (self.best_rtt != Duration::MAX).then_some(self.best_rtt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tightest_round_trip_wins() {
        let base = Instant::now();
        let at = |ms: u64| base + Duration::from_millis(ms);
        let mut c = BoardClock::new(base);
        assert!(c.host(5).is_none());
        // Board booted 1000 ms after base: board 0 = host 1000.
        c.pong(at(2000), at(2100), 1050); // rtt 100: mid 2050 -> offset 1000
        assert_eq!(c.host(0), Some(at(1000)));
        c.pong(at(3000), at(3500), 2100); // rtt 500: ignored
        assert_eq!(c.host(0), Some(at(1000)));
        c.pong(at(4000), at(4010), 3004); // rtt 10: mid 4005 -> offset 1001
        assert_eq!(c.host(0), Some(at(1001)));
        c.reset();
        assert!(c.host(0).is_none());
        c.seen(at(9000), 10);
        assert_eq!(c.host(10), Some(at(9000)));
    }
}
