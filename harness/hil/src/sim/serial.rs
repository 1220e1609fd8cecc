//! The serial line of a `[bridge]` scenario: the UART between the bridge
//! host (the MCU) and its gateway, modelled as two byte streams outside
//! turmoil's network (a UART is not IP), in simulated time.
//!
//! - Pacing: a byte takes 10 bit times at the line's baud rate (8N1); what
//!   a side writes leaves one byte after the other and arrives after the
//!   line's extra `latency` (`[bridge] latency`). Each side's transmit
//!   buffer holds [`TX_BUFFER`] bytes not yet on the wire: a writer that
//!   outruns the line is told how much room is left ([`SerialLine::room`]),
//!   as a UART driver's `write` would block.
//! - Faults (`serial_cut`, `serial_noise`, `serial_drop`): while the cable
//!   is out, bytes in flight and bytes written vanish both ways; with noise
//!   each byte has one bit flipped with the set probability, with drop it
//!   is lost. Every draw comes from the run's seed, in the order bytes are
//!   written, so one seed always damages the same bytes.
//! - A side that is not running (the gateway booting after
//!   `gateway_reboot`) loses what reaches it: [`SerialLine::reset_rx`].
//!
//! Nothing here reads a clock: callers pass simulated time.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::fuzz::rng::Rng;
use crate::scenario::bridge::Bridge;

/// Bytes a side may have written and not yet sent on the wire.
pub const TX_BUFFER: usize = 1024;

/// One end of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The bridge host (the MCU).
    Host,
    /// The gateway (the radio module).
    Gateway,
}

impl End {
    /// The direction index of what this end writes.
    fn tx(self) -> usize {
        match self {
            End::Host => 0,
            End::Gateway => 1,
        }
    }

    /// The direction index of what this end reads.
    fn rx(self) -> usize {
        1 - self.tx()
    }
}

/// What the line did so far (for tests and the report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Bytes written by either side.
    pub written: u64,
    /// Bytes delivered to a reader.
    pub delivered: u64,
    /// Bytes with a bit flipped by noise.
    pub flipped: u64,
    /// Bytes lost by `serial_drop`.
    pub dropped: u64,
    /// Bytes lost to a pulled cable or a side that was not running.
    pub cut: u64,
}

#[derive(Default)]
struct Direction {
    /// (arrival time in µs, byte), in arrival order.
    wire: VecDeque<(u64, u8)>,
    /// When the transmitter is free again (µs).
    free_at: u64,
}

struct Line {
    byte_us: u64,
    latency_us: u64,
    dirs: [Direction; 2],
    cut: bool,
    noise: f64,
    drop: f64,
    rng: Rng,
    stats: LineStats,
}

/// The line, shared by both ends and the fault executor. Cheap to clone.
#[derive(Clone)]
pub struct SerialLine(Arc<Mutex<Line>>);

/// A uniform draw in [0, 1).
fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl SerialLine {
    /// A line set up as `[bridge]` says, its draws from `seed`.
    pub fn new(bridge: &Bridge, seed: u64) -> SerialLine {
        SerialLine(Arc::new(Mutex::new(Line {
            byte_us: bridge.byte_us(),
            latency_us: bridge.latency.as_millis() * 1000,
            dirs: Default::default(),
            cut: false,
            noise: 0.0,
            drop: 0.0,
            rng: Rng::new(seed ^ 0x5e71_a100_0000_0020),
            stats: LineStats::default(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Line> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Microseconds one byte takes on the wire.
    pub fn byte_us(&self) -> u64 {
        self.lock().byte_us
    }

    /// How many bytes `end` can write at `now_us` without overrunning its
    /// transmit buffer.
    pub fn room(&self, end: End, now_us: u64) -> usize {
        let l = self.lock();
        let pending = l.dirs[end.tx()].free_at.saturating_sub(now_us) / l.byte_us;
        TX_BUFFER.saturating_sub(pending as usize)
    }

    /// `end` writes `bytes` at `now_us` (callers keep within
    /// [`SerialLine::room`]; more is accepted, the line just falls behind).
    pub fn write(&self, end: End, now_us: u64, bytes: &[u8]) {
        let mut guard = self.lock();
        let l = &mut *guard;
        let (byte_us, latency_us) = (l.byte_us, l.latency_us);
        for &b in bytes {
            l.stats.written += 1;
            let dir = &mut l.dirs[end.tx()];
            let start = dir.free_at.max(now_us);
            dir.free_at = start + byte_us;
            let arrives = dir.free_at + latency_us;
            if l.cut {
                l.stats.cut += 1;
                continue;
            }
            if l.drop > 0.0 && unit(&mut l.rng) < l.drop {
                l.stats.dropped += 1;
                continue;
            }
            let mut b = b;
            if l.noise > 0.0 && unit(&mut l.rng) < l.noise {
                b ^= 1 << l.rng.range(0, 7);
                l.stats.flipped += 1;
            }
            l.dirs[end.tx()].wire.push_back((arrives, b));
        }
    }

    /// What has reached `end` by `now_us`, appended to `out`.
    pub fn read(&self, end: End, now_us: u64, out: &mut Vec<u8>) {
        self.read_at_most(end, now_us, out, usize::MAX)
    }

    /// As [`SerialLine::read`], at most `max` bytes.
    pub fn read_at_most(&self, end: End, now_us: u64, out: &mut Vec<u8>, max: usize) {
        let mut guard = self.lock();
        let l = &mut *guard;
        let dir = &mut l.dirs[end.rx()];
        let before = out.len();
        while let Some(&(t, b)) = dir.wire.front() {
            if t > now_us || out.len() - before >= max {
                break;
            }
            dir.wire.pop_front();
            out.push(b);
        }
        l.stats.delivered += (out.len() - before) as u64;
    }

    /// When the next byte reaches `end` (µs), if one is on its way.
    pub fn next_arrival(&self, end: End) -> Option<u64> {
        self.lock().dirs[end.rx()].wire.front().map(|&(t, _)| t)
    }

    /// `end` is not running (booting): what is on its way to it is lost,
    /// and what it had not sent yet is gone with its buffer.
    pub fn reset_rx(&self, end: End) {
        let mut l = self.lock();
        let lost = (l.dirs[end.rx()].wire.len() + l.dirs[end.tx()].wire.len()) as u64;
        l.dirs[end.rx()].wire.clear();
        l.dirs[end.tx()].wire.clear();
        l.stats.cut += lost;
    }

    /// `serial_cut` (true) / its end: bytes in flight are lost at the cut.
    pub fn set_cut(&self, cut: bool) {
        let mut l = self.lock();
        l.cut = cut;
        if cut {
            let lost = (l.dirs[0].wire.len() + l.dirs[1].wire.len()) as u64;
            l.dirs[0].wire.clear();
            l.dirs[1].wire.clear();
            l.stats.cut += lost;
        }
    }

    /// `serial_noise`: the per-byte bit-flip probability (0: none).
    pub fn set_noise(&self, rate: f64) {
        self.lock().noise = rate;
    }

    /// `serial_drop`: the per-byte loss probability (0: none).
    pub fn set_drop(&self, rate: f64) {
        self.lock().drop = rate;
    }

    /// What the line did so far.
    pub fn stats(&self) -> LineStats {
        self.lock().stats
    }
}

/// Simulated time in µs (0 outside a simulation).
pub fn now_us() -> u64 {
    turmoil::sim_elapsed()
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Longest a waiting reader or writer sleeps before looking again.
const IO_POLL_US: u64 = 5_000;

/// One end of the line as a tokio byte stream (what a UART driver gives an
/// async program), for shells that take `AsyncRead + AsyncWrite`: reads
/// wait for the next byte's arrival, writes for room in the transmit
/// buffer, both on simulated-time timers (nothing wakes across hosts).
pub struct SerialIo {
    line: SerialLine,
    end: End,
    /// The reader's and the writer's timers.
    sleeps: [Option<Pin<Box<Sleep>>>; 2],
}

impl SerialIo {
    pub fn new(line: SerialLine, end: End) -> SerialIo {
        SerialIo {
            line,
            end,
            sleeps: [None, None],
        }
    }

    /// Waits `us` of simulated time on timer `which` (0: read, 1:
    /// write); `Ready` when that has passed.
    fn wait(&mut self, cx: &mut Context<'_>, which: usize, us: u64) -> Poll<()> {
        let slot = &mut self.sleeps[which];
        let sleep =
            slot.get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_micros(us))));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                *slot = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for SerialIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let now = now_us();
            let mut got = Vec::new();
            this.line
                .read_at_most(this.end, now, &mut got, buf.remaining());
            if !got.is_empty() {
                this.sleeps[0] = None;
                buf.put_slice(&got);
                return Poll::Ready(Ok(()));
            }
            let wait = this
                .line
                .next_arrival(this.end)
                .map_or(IO_POLL_US, |t| t.saturating_sub(now).clamp(1, IO_POLL_US));
            if this.wait(cx, 0, wait).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl AsyncWrite for SerialIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            let now = now_us();
            let room = this.line.room(this.end, now);
            if room > 0 {
                this.sleeps[1] = None;
                let n = room.min(buf.len());
                this.line.write(this.end, now, &buf[..n]);
                return Poll::Ready(Ok(n));
            }
            let wait = this.line.byte_us();
            if this.wait(cx, 1, wait).is_pending() {
                return Poll::Pending;
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(baud: u32) -> SerialLine {
        SerialLine::new(
            &Bridge {
                baud,
                ..Bridge::default()
            },
            7,
        )
    }

    #[test]
    fn bytes_arrive_paced_by_the_baud_rate() {
        // 100_000 baud: 100 µs a byte.
        let l = line(100_000);
        l.write(End::Host, 0, &[1, 2, 3]);
        let mut out = Vec::new();
        l.read(End::Gateway, 99, &mut out);
        assert!(out.is_empty());
        l.read(End::Gateway, 200, &mut out);
        assert_eq!(out, [1, 2]);
        l.read(End::Gateway, 300, &mut out);
        assert_eq!(out, [1, 2, 3]);
        // The other way is empty.
        let mut back = Vec::new();
        l.read(End::Host, 10_000, &mut back);
        assert!(back.is_empty());
    }

    #[test]
    fn the_transmit_buffer_fills_when_the_writer_outruns_the_line() {
        let l = line(100_000);
        assert_eq!(l.room(End::Host, 0), TX_BUFFER);
        l.write(End::Host, 0, &[0; 100]);
        assert_eq!(l.room(End::Host, 0), TX_BUFFER - 100);
        // 5 ms later 50 bytes have left.
        assert_eq!(l.room(End::Host, 5_000), TX_BUFFER - 50);
        assert_eq!(l.room(End::Gateway, 0), TX_BUFFER);
    }

    #[test]
    fn a_cut_loses_bytes_in_flight_and_written() {
        let l = line(100_000);
        l.write(End::Host, 0, &[1, 2, 3]);
        l.set_cut(true);
        l.write(End::Gateway, 0, &[4]);
        l.set_cut(false);
        l.write(End::Host, 1_000, &[5]);
        let mut out = Vec::new();
        l.read(End::Gateway, 10_000, &mut out);
        assert_eq!(out, [5]);
        assert_eq!(l.stats().cut, 4);
    }

    #[test]
    fn noise_and_drop_follow_the_rate_and_the_seed() {
        let run = |seed| {
            let l = SerialLine::new(&Bridge::default(), seed);
            l.set_noise(0.01);
            l.set_drop(0.01);
            let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
            l.write(End::Host, 0, &data);
            let mut out = Vec::new();
            l.read(End::Gateway, u64::MAX, &mut out);
            (l.stats(), out)
        };
        let (a, out_a) = run(1);
        assert!((800..1_200).contains(&a.flipped), "{a:?}");
        assert!((800..1_200).contains(&a.dropped), "{a:?}");
        assert_eq!(out_a.len() as u64, 100_000 - a.dropped);
        assert_eq!(run(1).1, out_a, "one seed, one line");
        assert_ne!(run(2).1, out_a, "another seed, other bytes");
    }
}
