//! Reads packet captures (pcap and pcapng, via the `pcap-file` crate) of
//! MQTT over TCP, from the device side or the broker side, and rebuilds:
//!
//! - TCP connections: SYN (open), RST to a SYN (refused), RST and FIN
//!   (ends, by side), segments seen twice (retransmissions);
//! - the MQTT packets in each direction (reassembled in sequence order;
//!   a gap in the capture drops the partial packet and resynchronises on
//!   the next segment), with CONNECT's client id, keepalive, clean flag and
//!   will topic, and CONNACK's session-present flag and code.
//!
//! Which side is the broker: the receiver of the first SYN of a
//! connection; without a SYN, the port `--broker-port` names (default
//! 1883 or 8883 when present), else the lower port. Link types: Ethernet
//! (Linux `lo` captures), Linux cooked (v1, v2), BSD loopback, raw IP.
//! Packets that are not TCP over IPv4/IPv6 are counted as unknown.
//!
//! Every observation names its packet number (1-based, as Wireshark
//! shows it). A file whose header is not pcap/pcapng, or whose packet
//! records are corrupt, is an error naming the first bad packet; a last
//! packet cut off (a capture killed mid-write) is counted, not fatal.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::net::IpAddr;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, PcapError};

use super::mqtt::{self, read_packet};
use super::{InputError, ReadResult};
use crate::field::evidence::{Dir, EndHow, Event, InputSummary, Loc, Obs, PacketKind, Source};

/// Ports taken for the broker's when a connection's SYN was not captured.
pub const BROKER_PORTS: [u16; 2] = [1883, 8883];

/// An address and port.
type Endpoint = (IpAddr, u16);

/// One captured frame.
struct Frame {
    n: usize,
    t_ms: u64,
    link: DataLink,
    data: Vec<u8>,
}

/// A decoded TCP segment.
#[derive(Debug)]
struct Seg<'a> {
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    seq: u32,
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
    payload: &'a [u8],
}

fn frames(name: &str, bytes: &[u8]) -> Result<(Vec<Frame>, usize, &'static str), InputError> {
    let mut out = Vec::new();
    let mut cut = 0;
    let bad = |n: usize, e: PcapError| {
        InputError::new(
            name,
            Some(Loc::Packet(n)),
            format!("corrupt packet record: {e}"),
        )
    };
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let mut r = PcapNgReader::new(Cursor::new(bytes))
            .map_err(|e| InputError::new(name, None, format!("not a readable pcapng file: {e}")))?;
        // Per interface: link type and nanoseconds per timestamp unit
        // (as a ratio num/den).
        let mut ifaces: Vec<(DataLink, u128, u128)> = Vec::new();
        let mut n = 0;
        while let Some(block) = r.next_block() {
            let block = match block {
                Ok(b) => b,
                Err(PcapError::IncompleteBuffer) => {
                    cut += 1;
                    break;
                }
                Err(e) => return Err(bad(n + 1, e)),
            };
            match block {
                Block::InterfaceDescription(idb) => {
                    let mut unit = (1_000u128, 1u128); // default: microseconds
                    for o in &idb.options {
                        if let InterfaceDescriptionOption::IfTsResol(v) = o {
                            let v = *v;
                            unit = if v & 0x80 == 0 {
                                let p = (v as u32).min(30);
                                if p <= 9 {
                                    (10u128.pow(9 - p), 1)
                                } else {
                                    (1, 10u128.pow(p - 9))
                                }
                            } else {
                                (1_000_000_000, 1u128 << (v & 0x7f).min(100))
                            };
                        }
                    }
                    ifaces.push((idb.linktype, unit.0, unit.1));
                }
                Block::EnhancedPacket(epb) => {
                    n += 1;
                    let Some(&(link, num, den)) = ifaces.get(epb.interface_id as usize) else {
                        return Err(InputError::new(
                            name,
                            Some(Loc::Packet(n)),
                            format!(
                                "packet on interface {} which no interface block describes",
                                epb.interface_id
                            ),
                        ));
                    };
                    let ns = epb.timestamp.as_nanos().saturating_mul(num) / den.max(1);
                    out.push(Frame {
                        n,
                        t_ms: (ns / 1_000_000) as u64,
                        link,
                        data: epb.data.into_owned(),
                    });
                }
                Block::SimplePacket(spb) => {
                    n += 1;
                    let link = ifaces.first().map(|i| i.0).unwrap_or(DataLink::ETHERNET);
                    let t_ms = out.last().map(|f: &Frame| f.t_ms).unwrap_or(0);
                    out.push(Frame {
                        n,
                        t_ms,
                        link,
                        data: spb.data.into_owned(),
                    });
                }
                _ => {}
            }
        }
        Ok((out, cut, "pcapng"))
    } else {
        let mut r = PcapReader::new(Cursor::new(bytes))
            .map_err(|e| InputError::new(name, None, format!("not a readable pcap file: {e}")))?;
        let link = r.header().datalink;
        let mut n = 0;
        while let Some(p) = r.next_packet() {
            n += 1;
            match p {
                Ok(p) => out.push(Frame {
                    n,
                    t_ms: p.timestamp.as_millis() as u64,
                    link,
                    data: p.data.into_owned(),
                }),
                Err(PcapError::IncompleteBuffer) => {
                    cut += 1;
                    break;
                }
                Err(e) => return Err(bad(n, e)),
            }
        }
        Ok((out, cut, "pcap"))
    }
}

/// The IP packet inside a frame of this link type.
fn ip_of(link: DataLink, d: &[u8]) -> Option<&[u8]> {
    match link {
        DataLink::ETHERNET => {
            let mut off = 12;
            let mut et = u16::from_be_bytes([*d.get(off)?, *d.get(off + 1)?]);
            while et == 0x8100 || et == 0x88a8 {
                off += 4;
                et = u16::from_be_bytes([*d.get(off)?, *d.get(off + 1)?]);
            }
            matches!(et, 0x0800 | 0x86dd).then(|| d.get(off + 2..))?
        }
        DataLink::NULL | DataLink::LOOP => d.get(4..),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => Some(d),
        DataLink::LINUX_SLL => {
            let et = u16::from_be_bytes([*d.get(14)?, *d.get(15)?]);
            matches!(et, 0x0800 | 0x86dd).then(|| d.get(16..))?
        }
        DataLink::LINUX_SLL2 => {
            let et = u16::from_be_bytes([*d.first()?, *d.get(1)?]);
            matches!(et, 0x0800 | 0x86dd).then(|| d.get(20..))?
        }
        _ => None,
    }
}

fn tcp_of(ip: &[u8]) -> Option<Seg<'_>> {
    let v = ip.first()? >> 4;
    let (src, dst, tcp) = match v {
        4 => {
            let ihl = ((ip[0] & 0x0f) as usize) * 4;
            if ip.len() < 20 || ihl < 20 || *ip.get(9)? != 6 {
                return None;
            }
            let frag = u16::from_be_bytes([ip[6], ip[7]]);
            if frag & 0x1fff != 0 || frag & 0x2000 != 0 {
                return None; // fragments: not reassembled
            }
            let total = (u16::from_be_bytes([ip[2], ip[3]]) as usize).min(ip.len());
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (
                IpAddr::from(s),
                IpAddr::from(d),
                ip.get(ihl..total.max(ihl))?,
            )
        }
        6 => {
            if ip.len() < 40 || ip[6] != 6 {
                return None;
            }
            let plen = u16::from_be_bytes([ip[4], ip[5]]) as usize;
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + plen).min(ip.len());
            (IpAddr::from(s), IpAddr::from(d), ip.get(40..end)?)
        }
        _ => return None,
    };
    if tcp.len() < 20 {
        return None;
    }
    let sp = u16::from_be_bytes([tcp[0], tcp[1]]);
    let dp = u16::from_be_bytes([tcp[2], tcp[3]]);
    let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
    let off = ((tcp[12] >> 4) as usize) * 4;
    let flags = tcp[13];
    Some(Seg {
        src: (src, sp),
        dst: (dst, dp),
        seq,
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        fin: flags & 0x01 != 0,
        rst: flags & 0x04 != 0,
        payload: tcp.get(off.max(20)..).unwrap_or(&[]),
    })
}

#[derive(Default)]
struct Half {
    next: Option<u32>,
    buf: Vec<u8>,
}

struct Stream {
    client: (IpAddr, u16),
    conn: u32,
    client_id: Option<String>,
    level: u8,
    answered: bool,
    had_data: bool,
    ended: bool,
    half: [Half; 2],
    /// Indexes into the event list of this stream's events.
    events: Vec<usize>,
}

/// Reads a pcap or pcapng capture; `broker_port` overrides the guess for
/// connections whose SYN was not captured.
pub fn read_with(name: &str, bytes: &[u8], broker_port: Option<u16>) -> ReadResult {
    let (frames, cut, format) = frames(name, bytes)?;
    let mut unknown = cut;
    let mut events: Vec<Event> = Vec::new();
    let mut streams: Vec<Stream> = Vec::new();
    let mut by_key: BTreeMap<(Endpoint, Endpoint), usize> = BTreeMap::new();
    for f in &frames {
        let Some(seg) = ip_of(f.link, &f.data).and_then(tcp_of) else {
            unknown += 1;
            continue;
        };
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let src = Source {
            file: name.to_string(),
            loc: Loc::Packet(f.n),
        };
        let emit = |events: &mut Vec<Event>, s: &mut Stream, obs: Obs| {
            s.events.push(events.len());
            events.push(Event {
                t_ms: f.t_ms,
                client: None,
                conn: Some(s.conn),
                obs,
                src: src.clone(),
            });
        };
        let fresh_syn = seg.syn && !seg.ack;
        let idx = match by_key.get(&key) {
            Some(&i) if !(fresh_syn && (streams[i].ended || streams[i].had_data)) => i,
            _ => {
                let client = if fresh_syn {
                    seg.src
                } else if seg.syn {
                    seg.dst // a SYN-ACK comes from the server
                } else {
                    let is_broker = |p: u16| match broker_port {
                        Some(b) => p == b,
                        None => BROKER_PORTS.contains(&p),
                    };
                    if is_broker(seg.dst.1) {
                        seg.src
                    } else if is_broker(seg.src.1) {
                        seg.dst
                    } else if seg.src.1 > seg.dst.1 {
                        seg.src
                    } else {
                        seg.dst
                    }
                };
                streams.push(Stream {
                    client,
                    conn: streams.len() as u32 + 1,
                    client_id: None,
                    level: 4,
                    answered: false,
                    had_data: false,
                    ended: false,
                    half: [Half::default(), Half::default()],
                    events: Vec::new(),
                });
                by_key.insert(key, streams.len() - 1);
                let s = streams.last_mut().expect("just pushed");
                emit(&mut events, s, Obs::Open);
                streams.len() - 1
            }
        };
        let s = &mut streams[idx];
        let dir = if seg.src == s.client {
            Dir::ToBroker
        } else {
            Dir::ToClient
        };
        let h = if dir == Dir::ToBroker { 0 } else { 1 };
        if seg.syn {
            if dir == Dir::ToClient {
                s.answered = true;
            }
            s.half[h].next = Some(seg.seq.wrapping_add(1));
            continue;
        }
        if seg.rst {
            if !s.ended {
                s.ended = true;
                let obs = if !s.answered && !s.had_data && dir == Dir::ToClient {
                    Obs::Refused
                } else {
                    Obs::End { how: EndHow::Reset }
                };
                emit(&mut events, s, obs);
            }
            continue;
        }
        if !seg.payload.is_empty() {
            let len = seg.payload.len() as u32;
            let mut data = seg.payload;
            if let Some(next) = s.half[h].next {
                let ahead = seg.seq.wrapping_sub(next) as i32;
                if ahead < 0 {
                    let overlap = (-(ahead as i64)) as u32;
                    if overlap >= len {
                        emit(&mut events, s, Obs::Retransmission { dir });
                        data = &[];
                    } else {
                        data = &data[overlap as usize..];
                    }
                } else if ahead > 0 {
                    // Bytes missing from the capture: resynchronise.
                    s.half[h].buf.clear();
                    unknown += 1;
                }
            }
            if !data.is_empty() {
                s.had_data = true;
                s.half[h].next = Some(seg.seq.wrapping_add(len));
                s.half[h].buf.extend_from_slice(data);
                loop {
                    match read_packet(&s.half[h].buf, s.level) {
                        Ok((p, used)) => {
                            s.half[h].buf.drain(..used);
                            push_packet(&mut events, s, dir, p, &src, f.t_ms);
                        }
                        Err(mqtt::Error::Incomplete) => break,
                        Err(mqtt::Error::Invalid(_)) => {
                            s.half[h].buf.clear();
                            unknown += 1;
                            break;
                        }
                    }
                }
            }
        }
        if seg.fin && !s.ended {
            s.ended = true;
            let how = if dir == Dir::ToBroker {
                EndHow::FinFromClient
            } else {
                EndHow::FinFromBroker
            };
            emit(&mut events, s, Obs::End { how });
        }
    }
    for s in &streams {
        if let Some(id) = &s.client_id {
            for &i in &s.events {
                events[i].client = Some(id.clone());
            }
        }
    }
    if frames.is_empty() && cut > 0 {
        return Err(InputError::new(
            name,
            Some(Loc::Packet(1)),
            "the first packet record is cut off",
        ));
    }
    let summary = InputSummary {
        file: name.to_string(),
        format,
        units: frames.len() + cut,
        unknown,
        observations: events.len(),
    };
    Ok((summary, events))
}

fn push_packet(
    events: &mut Vec<Event>,
    s: &mut Stream,
    dir: Dir,
    p: mqtt::Packet,
    src: &Source,
    t_ms: u64,
) {
    let mut emit = |s: &mut Stream, obs: Obs| {
        s.events.push(events.len());
        events.push(Event {
            t_ms,
            client: None,
            conn: Some(s.conn),
            obs,
            src: src.clone(),
        });
    };
    emit(
        s,
        Obs::Packet {
            dir,
            kind: p.kind,
            pid: p.pid,
            qos: p.qos,
            dup: p.dup,
            topic: p.topic.clone(),
        },
    );
    if let Some(c) = p.connect {
        s.level = c.level;
        s.client_id = Some(c.client_id.clone());
        emit(
            s,
            Obs::ConnectSettings {
                keepalive_s: Some(c.keepalive_s),
                clean: Some(c.clean),
                will_topic: c.will_topic,
            },
        );
    }
    if let Some((sp, code)) = p.connack {
        emit(
            s,
            Obs::Connack {
                code,
                session_present: sp,
            },
        );
    }
    if p.kind == PacketKind::Subscribe {
        for (topic, qos) in p.subscriptions {
            emit(s, Obs::Subscribed { topic, qos });
        }
    }
}

/// Reads a capture with the default broker-port guess.
pub fn read(name: &str, bytes: &[u8]) -> ReadResult {
    read_with(name, bytes, None)
}
