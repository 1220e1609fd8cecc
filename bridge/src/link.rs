//! The reliable link over the framed byte stream, shared by both ends.
//!
//! - Handshake: the host sends `Hello {version, nonce, session}` until the
//!   gateway answers with a `Hello` that names the host's nonce and session.
//!   A gateway announces itself with a `Hello` when it boots, and answers
//!   any frame from a host it has no session with by `Reset`: either way
//!   the host starts a new handshake, so a gateway reboot is noticed at
//!   the next frame.
//! - Every frame carries `ack` (the next sequence number expected) and
//!   `win` (how many more data frames the sender can take): flow control,
//!   so a receiver that cannot keep up holds the sender back instead of
//!   losing a message.
//! - Data frames are numbered; the sender keeps up to [`WINDOW`] of them
//!   until acknowledged and goes back to the oldest after `rto` (or at
//!   once on a `Nak`, sent by a receiver that saw a gap).
//! - Idle links exchange `Ping`/`Ack` every `ping`; nothing heard for
//!   `timeout` takes the link down.

use heapless::{Deque, Vec};

use crate::caps::{MAX_BODY, MAX_ENCODED, WINDOW};
use crate::frame::{self, Decoder, Header, Kind};
use crate::wire::{Hello, Role, VERSION};
use crate::Instant;

/// Timing of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// Resend unacknowledged data frames after this long (ms). Also the
    /// host's interval between `Hello`s while the gateway does not answer.
    pub rto_ms: u32,
    /// Send a `Ping` after this long without sending anything (ms).
    pub ping_ms: u32,
    /// The link is down after this long without a good frame (ms).
    pub timeout_ms: u32,
}

impl Default for LinkConfig {
    /// 300 ms / 1 s / 3.5 s: at 115,200 baud a largest frame takes ~57 ms,
    /// a full window ~230 ms.
    fn default() -> Self {
        LinkConfig {
            rto_ms: 300,
            ping_ms: 1000,
            timeout_ms: 3500,
        }
    }
}

/// Counters of the link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub frames_in: u64,
    pub frames_out: u64,
    /// Stretches of bytes that were not a good frame.
    pub bad_frames: u64,
    pub bytes_dropped: u64,
    /// Data frames sent again.
    pub retransmits: u64,
    /// Handshakes completed.
    pub handshakes: u64,
}

/// What the owner of a link (host or gateway core) does with it.
pub(crate) trait LinkUser {
    /// How many more data messages it can take now.
    fn room(&self) -> usize;
    /// An in-order data message.
    fn deliver(&mut self, now: Instant, body: &[u8]);
    /// The next new message to send, written into `out`.
    fn next_message(&mut self, out: &mut [u8]) -> Option<usize>;
    /// A handshake completed with a peer whose boot nonce is `peer`.
    fn link_up(&mut self, now: Instant, peer: u32);
    /// The link went down; `unacked` messages were never acknowledged.
    fn link_down(&mut self, now: Instant);
    /// A message sent in the session that ended and never acknowledged.
    fn requeue(&mut self, body: &[u8]);
    /// The peer speaks another protocol version.
    fn version_mismatch(&mut self, version: u8);
}

pub(crate) struct Link {
    role: Role,
    cfg: LinkConfig,
    nonce: u32,
    /// Host: its handshake number. Gateway: the host's, once up.
    session: u16,
    /// The peer's boot nonce while up.
    peer: Option<u32>,
    dec: Decoder,
    window: Deque<(u8, Vec<u8, MAX_BODY>), WINDOW>,
    /// `window[..sent]` went out since the last go-back.
    sent: usize,
    next_seq: u8,
    peer_win: u8,
    rto_at: Option<Instant>,
    expect: u8,
    ack_due: bool,
    nak_due: bool,
    nak_sent: bool,
    ping_due: bool,
    hello_due: bool,
    hello_at: Option<Instant>,
    reset_due: bool,
    reset_at: Option<Instant>,
    last_rx: Instant,
    last_tx: Instant,
    tx: [u8; MAX_ENCODED],
    tx_pos: usize,
    tx_len: usize,
    stats: LinkStats,
}

impl Link {
    pub fn new(role: Role, cfg: LinkConfig, nonce: u32) -> Link {
        let host = role == Role::Host;
        Link {
            role,
            cfg,
            nonce,
            session: host as u16,
            peer: None,
            dec: Decoder::new(),
            window: Deque::new(),
            sent: 0,
            next_seq: 0,
            peer_win: 0,
            rto_at: None,
            expect: 0,
            ack_due: false,
            nak_due: false,
            nak_sent: false,
            ping_due: false,
            // Host: the first hello at once; gateway: the boot announcement.
            hello_due: true,
            hello_at: if host {
                Some(Instant::ZERO.plus_ms(cfg.rto_ms))
            } else {
                None
            },
            reset_due: false,
            reset_at: None,
            last_rx: Instant::ZERO,
            last_tx: Instant::ZERO,
            tx: [0; MAX_ENCODED],
            tx_pos: 0,
            tx_len: 0,
            stats: LinkStats::default(),
        }
    }

    pub fn is_up(&self) -> bool {
        self.peer.is_some()
    }

    pub fn stats(&self) -> LinkStats {
        let d = self.dec.stats();
        LinkStats {
            bad_frames: d.bad,
            bytes_dropped: d.bytes_dropped,
            ..self.stats
        }
    }

    /// The receiver's room grew: tell the peer (window update).
    pub fn room_changed(&mut self) {
        if self.is_up() {
            self.ack_due = true;
        }
    }

    fn win(&self, user: &impl LinkUser) -> u8 {
        user.room().min(255) as u8
    }

    pub fn handle_input(&mut self, now: Instant, bytes: &[u8], user: &mut impl LinkUser) {
        for &b in bytes {
            let Some(res) = self.dec.push(b) else {
                continue;
            };
            let frame = match res {
                Ok(f) => f,
                Err(_) => continue,
            };
            let header = frame.header;
            let mut body = [0u8; MAX_BODY];
            let n = frame.body.len().min(MAX_BODY);
            body[..n].copy_from_slice(&frame.body[..n]);
            self.stats.frames_in += 1;
            on_frame(self, now, header, &body[..n], user);
        }
    }

    fn go_down(&mut self, now: Instant, user: &mut impl LinkUser) {
        if self.peer.take().is_none() {
            return;
        }
        self.clear(user);
        user.link_down(now);
        if self.role == Role::Host {
            self.start_handshake(now);
        }
    }

    /// Forgets the session's sequence state; unacked messages go back to
    /// the user.
    fn clear(&mut self, user: &mut impl LinkUser) {
        // Newest first, so that a user putting each back at the front of
        // its queue restores the original order.
        while let Some((_, body)) = self.window.pop_back() {
            user.requeue(&body);
        }
        self.sent = 0;
        self.next_seq = 0;
        self.expect = 0;
        self.peer_win = 0;
        self.rto_at = None;
        self.ack_due = false;
        self.nak_due = false;
        self.nak_sent = false;
        self.ping_due = false;
        self.tx_len = 0;
        self.tx_pos = 0;
    }

    fn start_handshake(&mut self, now: Instant) {
        self.session = self.session.wrapping_add(1);
        self.hello_due = true;
        self.hello_at = Some(now);
    }

    pub fn handle_timeout(&mut self, now: Instant, user: &mut impl LinkUser) {
        if self.is_up() {
            if now >= self.last_rx.plus_ms(self.cfg.timeout_ms) {
                self.go_down(now, user);
                return;
            }
            if self.rto_at.is_some_and(|t| now >= t) {
                self.stats.retransmits += self.sent as u64;
                self.sent = 0;
                self.rto_at = Some(now.plus_ms(self.cfg.rto_ms));
            }
            if now >= self.last_tx.plus_ms(self.cfg.ping_ms) {
                self.ping_due = true;
            }
        } else if self.role == Role::Host && self.hello_at.is_some_and(|t| now >= t) {
            self.hello_due = true;
            self.hello_at = Some(now.plus_ms(self.cfg.rto_ms));
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut min = |x: Instant| t = Some(t.map_or(x, |y| y.min(x)));
        if self.is_up() {
            min(self.last_rx.plus_ms(self.cfg.timeout_ms));
            if let Some(r) = self.rto_at {
                min(r);
            }
            if !self.ping_due {
                min(self.last_tx.plus_ms(self.cfg.ping_ms));
            }
        } else if self.role == Role::Host {
            if let Some(h) = self.hello_at {
                min(h);
            }
        }
        t
    }

    pub fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
        user: &mut impl LinkUser,
    ) -> usize {
        let mut n = 0;
        while n < out.len() {
            if self.tx_pos < self.tx_len {
                let k = (self.tx_len - self.tx_pos).min(out.len() - n);
                out[n..n + k].copy_from_slice(&self.tx[self.tx_pos..self.tx_pos + k]);
                self.tx_pos += k;
                n += k;
                continue;
            }
            match self.next_frame(now, user) {
                Some(len) => {
                    self.tx_len = len;
                    self.tx_pos = 0;
                    self.stats.frames_out += 1;
                    self.last_tx = now;
                }
                None => break,
            }
        }
        n
    }

    fn header(&self, kind: Kind, seq: u8, user: &impl LinkUser) -> Header {
        Header {
            kind,
            seq,
            ack: self.expect,
            win: if self.is_up() { self.win(user) } else { 0 },
        }
    }

    /// Encodes the next frame to send into `self.tx`.
    fn next_frame(&mut self, now: Instant, user: &mut impl LinkUser) -> Option<usize> {
        if self.hello_due {
            self.hello_due = false;
            let (peer, session) = match self.role {
                Role::Host => (0, self.session),
                Role::Gateway => (self.peer.unwrap_or(0), self.session),
            };
            let hello = Hello {
                version: VERSION,
                role: self.role,
                nonce: self.nonce,
                peer,
                session,
            };
            let h = self.header(Kind::Hello, 0, user);
            return self.encode(&h, &hello.encode());
        }
        if self.reset_due {
            self.reset_due = false;
            let h = self.header(Kind::Reset, 0, user);
            return self.encode(&h, &[]);
        }
        if !self.is_up() {
            return None;
        }
        if self.sent < self.window.len() {
            let (seq, body) = self.window.iter().nth(self.sent)?.clone();
            self.sent += 1;
            if self.rto_at.is_none() {
                self.rto_at = Some(now.plus_ms(self.cfg.rto_ms));
            }
            return self.data(seq, &body, user);
        }
        if self.window.len() < WINDOW.min(self.peer_win as usize) {
            let mut body = [0u8; MAX_BODY];
            if let Some(len) = user.next_message(&mut body) {
                let seq = self.next_seq;
                self.next_seq = seq.wrapping_add(1);
                let stored = Vec::from_slice(&body[..len]).ok()?;
                let _ = self.window.push_back((seq, stored));
                self.sent = self.window.len();
                if self.rto_at.is_none() {
                    self.rto_at = Some(now.plus_ms(self.cfg.rto_ms));
                }
                return self.data(seq, &body[..len], user);
            }
        }
        if self.nak_due {
            self.nak_due = false;
            let h = self.header(Kind::Nak, 0, user);
            return self.encode(&h, &[]);
        }
        if self.ack_due {
            let h = self.header(Kind::Ack, 0, user);
            return self.encode(&h, &[]);
        }
        if self.ping_due {
            self.ping_due = false;
            let h = self.header(Kind::Ping, 0, user);
            return self.encode(&h, &[]);
        }
        None
    }

    fn data(&mut self, seq: u8, body: &[u8], user: &impl LinkUser) -> Option<usize> {
        let h = self.header(Kind::Data, seq, user);
        self.encode(&h, body)
    }

    fn encode(&mut self, h: &Header, body: &[u8]) -> Option<usize> {
        if h.kind != Kind::Hello && h.kind != Kind::Reset {
            // Every frame carries the ack: no separate one is due.
            self.ack_due = false;
        }
        frame::encode(h, body, &mut self.tx).ok()
    }
}

/// One good frame from the peer.
fn on_frame(link: &mut Link, now: Instant, h: Header, body: &[u8], user: &mut impl LinkUser) {
    if h.kind == Kind::Hello {
        return on_hello(link, now, h.win, body, user);
    }
    if h.kind == Kind::Reset {
        if link.role == Role::Host {
            if link.is_up() {
                link.go_down(now, user);
            } else {
                link.hello_due = true;
            }
        }
        return;
    }
    if !link.is_up() {
        // A frame of a session we do not have (the gateway rebooted, or a
        // host still talking to the gateway's earlier life): ask for a new
        // handshake, at most once per rto.
        if link.role == Role::Gateway && link.reset_at.is_none_or(|t| now >= t) {
            link.reset_due = true;
            link.reset_at = Some(now.plus_ms(link.cfg.rto_ms));
        }
        return;
    }
    link.last_rx = now;
    // The cumulative ack.
    let base = link.window.front().map_or(link.next_seq, |(s, _)| *s);
    let n = h.ack.wrapping_sub(base) as usize;
    if n > 0 && n <= link.window.len() {
        for _ in 0..n {
            link.window.pop_front();
        }
        link.sent = link.sent.saturating_sub(n);
        link.rto_at = if link.window.is_empty() {
            None
        } else {
            Some(now.plus_ms(link.cfg.rto_ms))
        };
    }
    link.peer_win = h.win;
    match h.kind {
        Kind::Data => {
            let d = h.seq.wrapping_sub(link.expect);
            if d == 0 {
                if user.room() > 0 {
                    link.expect = link.expect.wrapping_add(1);
                    link.nak_sent = false;
                    user.deliver(now, body);
                }
            } else if d < 128 && !link.nak_sent {
                link.nak_due = true;
                link.nak_sent = true;
            }
            link.ack_due = true;
        }
        Kind::Ping => link.ack_due = true,
        Kind::Nak => {
            link.stats.retransmits += link.sent as u64;
            link.sent = 0;
        }
        _ => {}
    }
}

fn on_hello(link: &mut Link, now: Instant, win: u8, body: &[u8], user: &mut impl LinkUser) {
    let Ok(hello) = Hello::decode(body) else {
        return;
    };
    if hello.role == link.role {
        return; // our own echo, or a misconfigured peer
    }
    if hello.version != VERSION {
        user.version_mismatch(hello.version);
        if link.role == Role::Gateway {
            // Answer with our version so the host can report it.
            link.hello_due = true;
        }
        return;
    }
    match link.role {
        Role::Host => {
            let ours = hello.peer == link.nonce && hello.session == link.session;
            if ours {
                if !link.is_up() {
                    link.clear(user);
                    link.peer = Some(hello.nonce);
                    link.peer_win = win;
                    link.hello_at = None;
                    link.last_rx = now;
                    link.ack_due = true;
                    link.stats.handshakes += 1;
                    user.link_up(now, hello.nonce);
                }
            } else if link.peer.is_some_and(|p| p != hello.nonce) || hello.peer != link.nonce {
                // A gateway that booted, or answers an earlier handshake
                // of ours: start again.
                if link.is_up() {
                    link.go_down(now, user);
                } else {
                    link.hello_due = true;
                }
            }
        }
        Role::Gateway => {
            let same = link.peer == Some(hello.nonce) && link.session == hello.session;
            if !same {
                if link.peer.take().is_some() {
                    link.clear(user);
                    user.link_down(now);
                }
                link.clear(user);
                link.session = hello.session;
                link.peer = Some(hello.nonce);
                link.stats.handshakes += 1;
                link.last_rx = now;
                user.link_up(now, hello.nonce);
            }
            link.last_rx = now;
            link.hello_due = true;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A user that queues messages to send and records what arrives.
    #[derive(Default)]
    pub struct Echo {
        pub room: usize,
        pub outq: heapless::Deque<u8, 64>,
        pub got: heapless::Vec<u8, 256>,
        pub ups: u32,
        pub downs: u32,
        pub requeued: u32,
    }

    impl LinkUser for Echo {
        fn room(&self) -> usize {
            self.room
        }
        fn deliver(&mut self, _now: Instant, body: &[u8]) {
            self.room = self.room.saturating_sub(1);
            let _ = self.got.push(body[0]);
        }
        fn next_message(&mut self, out: &mut [u8]) -> Option<usize> {
            out[0] = self.outq.pop_front()?;
            Some(1)
        }
        fn link_up(&mut self, _now: Instant, _peer: u32) {
            self.ups += 1;
        }
        fn link_down(&mut self, _now: Instant) {
            self.downs += 1;
        }
        fn requeue(&mut self, body: &[u8]) {
            self.requeued += 1;
            let _ = self.outq.push_front(body[0]);
        }
        fn version_mismatch(&mut self, _version: u8) {}
    }

    fn pump(a: &mut Link, ua: &mut Echo, b: &mut Link, ub: &mut Echo, now: Instant) {
        let mut buf = [0u8; 4096];
        for _ in 0..8 {
            let n = a.poll_transmit(now, &mut buf, ua);
            b.handle_input(now, &buf[..n], ub);
            let m = b.poll_transmit(now, &mut buf, ub);
            a.handle_input(now, &buf[..m], ua);
        }
    }

    #[test]
    fn handshake_then_in_order_delivery_within_the_window() {
        let mut h = Link::new(Role::Host, LinkConfig::default(), 11);
        let mut g = Link::new(Role::Gateway, LinkConfig::default(), 22);
        let mut uh = Echo {
            room: 8,
            ..Echo::default()
        };
        let mut ug = Echo {
            room: 2,
            ..Echo::default()
        };
        for i in 0..6 {
            uh.outq.push_back(i).unwrap();
        }
        h.handle_timeout(Instant::ZERO, &mut uh);
        pump(&mut h, &mut uh, &mut g, &mut ug, Instant::ZERO);
        assert!(h.is_up() && g.is_up());
        assert_eq!((uh.ups, ug.ups), (1, 1));
        // The gateway's room of 2 held the host back: 2 delivered, the
        // rest still queued, nothing lost.
        assert_eq!(&ug.got[..], &[0, 1]);
        ug.room = 8;
        g.room_changed();
        pump(&mut h, &mut uh, &mut g, &mut ug, Instant::from_millis(1));
        assert_eq!(&ug.got[..], &[0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_lost_frame_is_resent_after_rto() {
        let cfg = LinkConfig::default();
        let mut h = Link::new(Role::Host, cfg, 1);
        let mut g = Link::new(Role::Gateway, cfg, 2);
        let mut uh = Echo {
            room: 8,
            ..Echo::default()
        };
        let mut ug = Echo {
            room: 8,
            ..Echo::default()
        };
        pump(&mut h, &mut uh, &mut g, &mut ug, Instant::ZERO);
        uh.outq.push_back(42).unwrap();
        let mut buf = [0u8; 4096];
        let n = h.poll_transmit(Instant::ZERO, &mut buf, &mut uh);
        assert!(n > 0); // lost on the wire
        assert!(ug.got.is_empty());
        let t = h.poll_timeout().unwrap();
        assert_eq!(t, Instant::from_millis(cfg.rto_ms as u64));
        h.handle_timeout(t, &mut uh);
        pump(&mut h, &mut uh, &mut g, &mut ug, t);
        assert_eq!(&ug.got[..], &[42]);
        assert_eq!(h.stats().retransmits, 1);
    }

    #[test]
    fn silence_takes_the_link_down_and_the_host_says_hello_again() {
        let cfg = LinkConfig::default();
        let mut h = Link::new(Role::Host, cfg, 1);
        let mut g = Link::new(Role::Gateway, cfg, 2);
        let mut uh = Echo::default();
        let mut ug = Echo::default();
        pump(&mut h, &mut uh, &mut g, &mut ug, Instant::ZERO);
        assert!(h.is_up());
        let t = Instant::from_millis(cfg.timeout_ms as u64);
        h.handle_timeout(t, &mut uh);
        assert!(!h.is_up());
        assert_eq!(uh.downs, 1);
        let mut buf = [0u8; 256];
        let n = h.poll_transmit(t, &mut buf, &mut uh);
        assert!(n > 0, "a new hello");
        g.handle_input(t, &buf[..n], &mut ug);
        pump(&mut h, &mut uh, &mut g, &mut ug, t);
        assert!(h.is_up());
        assert_eq!(uh.ups, 2);
    }

    #[test]
    fn a_rebooted_gateway_answers_reset_and_the_host_reconnects() {
        let cfg = LinkConfig::default();
        let mut h = Link::new(Role::Host, cfg, 1);
        let mut g = Link::new(Role::Gateway, cfg, 2);
        let mut uh = Echo {
            room: 8,
            ..Echo::default()
        };
        let mut ug = Echo {
            room: 8,
            ..Echo::default()
        };
        pump(&mut h, &mut uh, &mut g, &mut ug, Instant::ZERO);
        // Reboot: a new gateway whose announcement is lost.
        let mut g = Link::new(Role::Gateway, cfg, 3);
        g.hello_due = false;
        let mut ug = Echo {
            room: 8,
            ..Echo::default()
        };
        uh.outq.push_back(7).unwrap();
        pump(&mut h, &mut uh, &mut g, &mut ug, Instant::from_millis(5));
        assert_eq!(uh.downs, 1);
        assert_eq!(uh.ups, 2);
        assert_eq!(&ug.got[..], &[7]);
    }
}
