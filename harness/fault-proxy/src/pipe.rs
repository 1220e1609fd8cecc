//! The sans-IO core: one direction of one connection. Bytes and the time go
//! in, timed writes and closes come out; no sockets, no clock.
//!
//! Framing is two-phase and streaming: the fixed header is collected (at
//! most 5 bytes) and checked with `resilient_mqtt::codec::check`, which
//! reads only the fixed header; the packet's fate (forward, drop, delay,
//! duplicate, rewrite, close after it) is decided then, and its body
//! streams through under that verdict, so segmentation does not matter
//! and a large PUBLISH is never buffered whole. Bytes that are not MQTT
//! (a reserved type, bad flags, a bad length) switch the pipe to raw mode
//! for the rest of the connection: byte faults still apply, packet faults
//! no longer do. Nothing here panics on any input.
//!
//! Then the byte faults shape what is forwarded: `limit-data`, `latency`,
//! `bandwidth`, `slicer`. Output times never decrease (TCP keeps order).
//! `hold` and `blackhole` are not decided here: they hold what the pipe
//! emits, in order, at the shell's writer ([`crate::rule::RuleSet::holding`]),
//! so no byte is ever lost from the middle of a stream.
//!
//! A packet's verdict is a state, not a set of flags: its [`Fate`] (dropped,
//! or forwarded with a delay, a number of copies and maybe a rewritten
//! CONNACK code) and what follows it ([`Then`]: continue, or close). While
//! its body streams, [`Body`] says where the bytes go (discarded, streamed,
//! or kept whole for a duplicate or a rewrite), so a dropped packet cannot
//! also be duplicated or kept.

use std::collections::BTreeMap;

use resilient_mqtt::codec::{check, PacketType, DEFAULT_MAX_PACKET_SIZE};

use crate::fault::MAX_DUPLICATED;
use crate::fault::{Dir, Fault};
use crate::rng::Rng;
use crate::rule::RuleSet;

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Write `bytes` at proxy time `at` (ms).
    Data { at: u64, bytes: Vec<u8> },
    /// Close this direction's write side (FIN) at `at` (the peer closed).
    Eof { at: u64 },
    /// Close the whole connection at `at`; `reset` = RST instead of FIN;
    /// `cause` goes into the log's close line.
    Close { at: u64, reset: bool, cause: String },
}

/// What the packet faults decided for one packet, taken when its fixed
/// header is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    fate: Fate,
    then: Then,
}

/// What happens to the packet's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    /// Swallowed (a drop rule).
    Dropped,
    /// Forwarded `delay_ms` late, `copies` times, its CONNACK return code
    /// rewritten if `rewrite` says so.
    Forwarded {
        delay_ms: u64,
        copies: Copies,
        rewrite: Option<u8>,
    },
}

/// How many times a forwarded packet is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copies {
    Once,
    /// A duplicate rule: the packet, then the same bytes again.
    Twice,
}

/// What happens once the packet has gone through.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Then {
    Continue,
    /// A close-after rule: the connection closes after this packet (whether
    /// or not it was dropped); `cause` names the rule.
    Close {
        cause: String,
    },
}

/// Where the body of the current packet goes while it streams in.
#[derive(Debug)]
enum Body {
    /// Discarded as it arrives.
    Dropped,
    /// Forwarded as it arrives, `delay_ms` late.
    Streamed { delay_ms: u64 },
    /// Kept whole (header included) to be duplicated or rewritten when it
    /// is complete; packets over [`MAX_DUPLICATED`] are streamed instead.
    Kept {
        frame: Vec<u8>,
        delay_ms: u64,
        copies: Copies,
        rewrite: Option<u8>,
    },
}

#[derive(Debug)]
enum State {
    /// Collecting a fixed header.
    Header(Vec<u8>),
    /// Streaming a body: bytes left, where they go, and what happens after.
    Body { left: usize, body: Body, then: Then },
    /// Not MQTT: bytes pass as they are.
    Raw,
    /// The connection is being closed; input is ignored.
    Closed,
}

/// One direction of one connection.
#[derive(Debug)]
pub struct Pipe {
    pub dir: Dir,
    pub conn: u64,
    state: State,
    rng: Rng,
    last_at: u64,
    link_free_at: u64,
    forwarded: u64,
    /// Packets seen per type (for `close-after`).
    seen: BTreeMap<PacketType, u32>,
}

impl Pipe {
    /// A pipe; `seed` feeds its jitter.
    pub fn new(dir: Dir, conn: u64, seed: u64) -> Pipe {
        let salt = conn.wrapping_mul(0x9e37_79b9) ^ (dir as u64 + 1).wrapping_mul(0x51_7cc1);
        Pipe {
            dir,
            conn,
            state: State::Header(Vec::with_capacity(5)),
            rng: Rng::new(seed ^ salt),
            last_at: 0,
            link_free_at: 0,
            forwarded: 0,
            seen: BTreeMap::new(),
        }
    }

    /// Whether the pipe still follows MQTT framing.
    pub fn framed(&self) -> bool {
        !matches!(self.state, State::Raw)
    }

    /// Feeds bytes read at `now`. `log` receives one line per fault action.
    pub fn input(
        &mut self,
        now: u64,
        mut data: &[u8],
        rules: &mut RuleSet,
        log: &mut dyn FnMut(String),
    ) -> Vec<Out> {
        let mut out = Vec::new();
        while !data.is_empty() {
            match &mut self.state {
                State::Closed => break,
                State::Raw => {
                    let bytes = data.to_vec();
                    data = &[];
                    self.emit(now, 0, bytes, rules, log, &mut out);
                }
                State::Header(h) => {
                    h.push(data[0]);
                    data = &data[1..];
                    match check(h, DEFAULT_MAX_PACKET_SIZE) {
                        Ok(None) => {}
                        Err(e) => {
                            let bytes = std::mem::take(h);
                            log(format!(
                                "conn {} {}: not MQTT ({e}); forwarding raw bytes from now on",
                                self.conn,
                                self.dir.as_str()
                            ));
                            self.state = State::Raw;
                            self.emit(now, 0, bytes, rules, log, &mut out);
                        }
                        Ok(Some(fh)) => {
                            let header = std::mem::take(h);
                            let Verdict { fate, then } =
                                self.decide(fh.packet_type, now, rules, log);
                            let body = match fate {
                                Fate::Dropped => Body::Dropped,
                                Fate::Forwarded {
                                    delay_ms,
                                    copies,
                                    rewrite,
                                } if (copies == Copies::Twice || rewrite.is_some())
                                    && fh.total_len() <= MAX_DUPLICATED =>
                                {
                                    Body::Kept {
                                        frame: header,
                                        delay_ms,
                                        copies,
                                        rewrite,
                                    }
                                }
                                Fate::Forwarded { delay_ms, .. } => {
                                    self.emit(now, delay_ms, header, rules, log, &mut out);
                                    Body::Streamed { delay_ms }
                                }
                            };
                            self.state = State::Body {
                                left: fh.remaining_len,
                                body,
                                then,
                            };
                        }
                    }
                }
                State::Body { left, body, .. } => {
                    let n = (*left).min(data.len());
                    let (chunk, rest) = data.split_at(n);
                    data = rest;
                    *left -= n;
                    match body {
                        Body::Kept { frame, .. } => frame.extend_from_slice(chunk),
                        Body::Streamed { delay_ms } if n > 0 => {
                            let delay_ms = *delay_ms;
                            self.emit(now, delay_ms, chunk.to_vec(), rules, log, &mut out)
                        }
                        Body::Streamed { .. } | Body::Dropped => {}
                    }
                }
            }
            // A body that is complete (possibly empty) ends its packet.
            if let State::Body { left: 0, .. } = self.state {
                let State::Body { body, then, .. } =
                    std::mem::replace(&mut self.state, State::Header(Vec::with_capacity(5)))
                else {
                    unreachable!("matched above")
                };
                self.finish(now, body, then, rules, log, &mut out);
            }
        }
        out
    }

    /// The source side closed (EOF) at `now`.
    pub fn eof(&mut self, now: u64, rules: &RuleSet) -> Out {
        let delay = rules
            .active(self.dir, now)
            .filter_map(|r| match &r.fault {
                Fault::SlowClose(s) => Some(s.delay_ms),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        self.last_at = self.last_at.max(now + delay);
        Out::Eof { at: self.last_at }
    }

    fn decide(
        &mut self,
        t: PacketType,
        now: u64,
        rules: &mut RuleSet,
        log: &mut dyn FnMut(String),
    ) -> Verdict {
        let seen = {
            let n = self.seen.entry(t).or_default();
            *n = n.saturating_add(1);
            *n
        };
        // The rules are folded in order; a later rule may see what an
        // earlier one decided (one drop, one duplicate per packet).
        let mut drop = false;
        let mut delay_ms = 0u64;
        let mut duplicate = false;
        let mut rewrite = None;
        let mut close = None;
        let dir = self.dir;
        for r in rules.rules_mut() {
            if !r.dirs.has(dir) || !r.active(now) {
                continue;
            }
            let id = r.id;
            match &r.fault {
                Fault::Drop(d) if d.packet == t && !drop => {
                    drop = true;
                    if let Some(b) = &mut r.budget {
                        *b -= 1;
                    }
                    log(format!(
                        "conn {} {}: dropped {} (rule #{id})",
                        self.conn,
                        dir.as_str(),
                        t.name()
                    ));
                }
                Fault::Delay(d) if d.packet == t => {
                    delay_ms += d.delay_ms;
                    log(format!(
                        "conn {} {}: delayed {} by {}ms (rule #{id})",
                        self.conn,
                        dir.as_str(),
                        t.name(),
                        d.delay_ms
                    ));
                }
                Fault::Duplicate(d) if d.packet == t && !duplicate => {
                    duplicate = true;
                    if let Some(b) = &mut r.budget {
                        *b -= 1;
                    }
                    log(format!(
                        "conn {} {}: duplicated {} (rule #{id})",
                        self.conn,
                        dir.as_str(),
                        t.name()
                    ));
                }
                Fault::ConnackCode(c) if t == PacketType::ConnAck => {
                    rewrite = Some(c.code);
                    log(format!(
                        "conn {} {}: CONNACK return code rewritten to {} (rule #{id})",
                        self.conn,
                        dir.as_str(),
                        c.code
                    ));
                }
                Fault::CloseAfter(c) if c.packet == t && seen == c.nth => {
                    close = Some(format!("close-after {} {} (rule #{id})", t.name(), c.nth));
                    log(format!(
                        "conn {} {}: closing after {} #{seen} (rule #{id})",
                        self.conn,
                        dir.as_str(),
                        t.name()
                    ));
                }
                _ => {}
            }
        }
        let fate = if drop {
            Fate::Dropped
        } else {
            Fate::Forwarded {
                delay_ms,
                copies: if duplicate {
                    Copies::Twice
                } else {
                    Copies::Once
                },
                rewrite,
            }
        };
        let then = match close {
            Some(cause) => Then::Close { cause },
            None => Then::Continue,
        };
        Verdict { fate, then }
    }

    fn finish(
        &mut self,
        now: u64,
        body: Body,
        then: Then,
        rules: &mut RuleSet,
        log: &mut dyn FnMut(String),
        out: &mut Vec<Out>,
    ) {
        if let Body::Kept {
            mut frame,
            delay_ms,
            copies,
            rewrite,
        } = body
        {
            if let Some(code) = rewrite {
                crate::fault::ConnackCode { code }.apply(&mut frame);
            }
            if copies == Copies::Twice {
                self.emit(now, delay_ms, frame.clone(), rules, log, out);
            }
            self.emit(now, delay_ms, frame, rules, log, out);
        }
        if let Then::Close { cause } = then {
            if !matches!(self.state, State::Closed) {
                self.state = State::Closed;
                out.push(Out::Close {
                    at: self.last_at.max(now),
                    reset: false,
                    cause,
                });
            }
        }
    }

    /// Shapes forwarded bytes with the byte faults and queues them.
    fn emit(
        &mut self,
        now: u64,
        extra_delay: u64,
        mut bytes: Vec<u8>,
        rules: &mut RuleSet,
        log: &mut dyn FnMut(String),
        out: &mut Vec<Out>,
    ) {
        if matches!(self.state, State::Closed) {
            return;
        }
        let mut at = now.saturating_add(extra_delay);
        let mut close = None;
        let mut slicer = None;
        let mut bandwidth = None;
        for r in rules.active(self.dir, now) {
            match &r.fault {
                Fault::Latency(l) => {
                    at = at
                        .saturating_add(l.delay_ms)
                        .saturating_add(self.rng.upto(l.jitter_ms))
                }
                Fault::Bandwidth(b) => bandwidth = Some(b.clone()),
                Fault::Slicer(s) => slicer = Some(s.clone()),
                Fault::LimitData(l) => {
                    let room = l.bytes.saturating_sub(self.forwarded) as usize;
                    if bytes.len() >= room {
                        bytes.truncate(room);
                        close = Some(format!("limit-data {} (rule #{})", l.bytes, r.id));
                        log(format!(
                            "conn {} {}: limit of {} bytes reached (rule #{}); closing",
                            self.conn,
                            self.dir.as_str(),
                            l.bytes,
                            r.id
                        ));
                    }
                }
                _ => {}
            }
        }
        at = at.max(self.last_at);
        self.forwarded += bytes.len() as u64;
        let size = slicer.as_ref().map_or(usize::MAX, |s| s.size);
        let gap = slicer.as_ref().map_or(0, |s| s.delay_ms);
        for (i, piece) in bytes.chunks(size).enumerate() {
            let mut t = if i == 0 { at } else { at.saturating_add(gap) };
            if let Some(b) = &bandwidth {
                let start = t.max(self.link_free_at);
                self.link_free_at = start.saturating_add(b.transmit_ms(piece.len()));
                t = self.link_free_at;
            }
            at = t;
            out.push(Out::Data {
                at,
                bytes: piece.to_vec(),
            });
        }
        self.last_at = at;
        if let Some(cause) = close {
            self.state = State::Closed;
            out.push(Out::Close {
                at,
                reset: false,
                cause,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::RuleSpec;

    fn rules(lines: &[&str]) -> RuleSet {
        let mut set = RuleSet::default();
        for l in lines {
            set.add(RuleSpec::parse(l).unwrap(), 0);
        }
        set
    }

    fn bytes(outs: &[Out]) -> Vec<u8> {
        outs.iter()
            .flat_map(|o| match o {
                Out::Data { bytes, .. } => bytes.clone(),
                _ => vec![],
            })
            .collect()
    }

    const PUBACK: [u8; 4] = [0x40, 0x02, 0x00, 0x07];
    const PINGRESP: [u8; 2] = [0xd0, 0x00];

    #[test]
    fn drops_exactly_the_next_n_packets_of_a_type() {
        let mut set = rules(&["drop puback 1"]);
        let mut p = Pipe::new(Dir::Down, 1, 0);
        let mut lines = Vec::new();
        let input = [&PUBACK[..], &PINGRESP, &PUBACK].concat();
        let out = p.input(5, &input, &mut set, &mut |l| lines.push(l));
        assert_eq!(bytes(&out), [&PINGRESP[..], &PUBACK].concat());
        assert_eq!(
            lines,
            vec!["conn 1 down: dropped PUBACK (rule #1)".to_string()]
        );
    }

    #[test]
    fn rewrites_connack_and_duplicates() {
        let mut set = rules(&["connack-code 5", "duplicate pingresp"]);
        let mut p = Pipe::new(Dir::Down, 1, 0);
        let out = p.input(
            0,
            &[0x20, 0x02, 0x01, 0x00, 0xd0, 0x00],
            &mut set,
            &mut |_| {},
        );
        assert_eq!(
            bytes(&out),
            vec![0x20, 0x02, 0x00, 0x05, 0xd0, 0x00, 0xd0, 0x00]
        );
    }

    #[test]
    fn up_rules_do_not_touch_down_traffic() {
        let mut set = rules(&["up drop puback"]);
        let mut p = Pipe::new(Dir::Down, 1, 0);
        let out = p.input(0, &PUBACK, &mut set, &mut |_| {});
        assert_eq!(bytes(&out), PUBACK.to_vec());
    }

    #[test]
    fn latency_jitter_and_slicer_keep_order() {
        let mut set = rules(&["latency 100ms jitter 50ms", "slicer 3 10ms"]);
        let mut p = Pipe::new(Dir::Up, 1, 42);
        let data: Vec<u8> = [0x30, 0x08, 0, 1, b't', b'a', b'b', b'c', b'd', b'e'].to_vec();
        let out = p.input(1000, &data, &mut set, &mut |_| {});
        let times: Vec<u64> = out
            .iter()
            .filter_map(|o| match o {
                Out::Data { at, .. } => Some(*at),
                _ => None,
            })
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        assert!(times[0] >= 1100 && times[0] <= 1150, "{times:?}");
        assert!(out
            .iter()
            .all(|o| matches!(o, Out::Data { bytes, .. } if bytes.len() <= 3)));
        assert_eq!(bytes(&out), data);
    }

    #[test]
    fn close_after_the_nth_packet_and_limit_data() {
        let mut set = rules(&["close-after pingresp 2"]);
        let mut p = Pipe::new(Dir::Down, 1, 0);
        let out = p.input(
            0,
            &[PINGRESP, PINGRESP, PINGRESP].concat(),
            &mut set,
            &mut |_| {},
        );
        assert_eq!(bytes(&out), [PINGRESP, PINGRESP].concat());
        assert!(matches!(out.last(), Some(Out::Close { reset: false, .. })));

        let mut set = rules(&["limit-data 3"]);
        let mut p = Pipe::new(Dir::Down, 1, 0);
        let out = p.input(0, &[0xff; 10], &mut set, &mut |_| {});
        assert_eq!(bytes(&out), vec![0xff; 3]);
        assert!(matches!(out.last(), Some(Out::Close { .. })));
    }

    #[test]
    fn garbage_switches_to_raw_and_is_forwarded() {
        let mut set = rules(&["drop puback"]);
        let mut p = Pipe::new(Dir::Down, 1, 0);
        let junk = [0x00, 0x01, 0x02, 0x40, 0x02, 0x00, 0x01];
        let out = p.input(0, &junk, &mut set, &mut |_| {});
        assert!(!p.framed());
        assert_eq!(bytes(&out), junk.to_vec());
    }

    #[test]
    fn a_blackhole_drops_nothing_and_bandwidth_spaces_packets() {
        // The blackhole holds at the writer (the shell): the pipe passes
        // every byte on, so nothing can go missing from a stream.
        let mut set = rules(&["blackhole"]);
        let mut p = Pipe::new(Dir::Down, 1, 0);
        let out = p.input(0, &[PUBACK, PUBACK].concat(), &mut set, &mut |_| {});
        assert_eq!(bytes(&out), [PUBACK, PUBACK].concat());

        let mut set = rules(&["bandwidth 1000"]);
        let mut p = Pipe::new(Dir::Down, 1, 0);
        let out = p.input(0, &[PUBACK, PUBACK].concat(), &mut set, &mut |_| {});
        let last = out.iter().rev().find_map(|o| match o {
            Out::Data { at, .. } => Some(*at),
            _ => None,
        });
        assert_eq!(last, Some(8));
    }

    #[test]
    fn a_dropped_packet_is_not_duplicated_but_can_still_close() {
        // Both rules match and use their budget; the drop wins.
        let mut set = rules(&["duplicate puback", "drop puback 1", "close-after puback 1"]);
        let mut p = Pipe::new(Dir::Down, 1, 0);
        let mut lines = Vec::new();
        let out = p.input(0, &[&PUBACK[..], &PINGRESP].concat(), &mut set, &mut |l| {
            lines.push(l)
        });
        assert_eq!(bytes(&out), Vec::<u8>::new());
        assert_eq!(
            out,
            vec![Out::Close {
                at: 0,
                reset: false,
                cause: "close-after PUBACK 1 (rule #3)".into(),
            }]
        );
        assert_eq!(
            lines,
            vec![
                "conn 1 down: duplicated PUBACK (rule #1)".to_string(),
                "conn 1 down: dropped PUBACK (rule #2)".to_string(),
                "conn 1 down: closing after PUBACK #1 (rule #3)".to_string(),
            ]
        );
    }

    #[test]
    fn slow_close_delays_the_eof() {
        let set = rules(&["slow-close 2s"]);
        let mut p = Pipe::new(Dir::Up, 1, 0);
        assert_eq!(p.eof(100, &set), Out::Eof { at: 2100 });
    }
}
