//! Reads mosquitto's log, at the default log levels and with
//! `log_type all` (the packet lines). Every line must start with a
//! timestamp: Unix seconds (`1700000000: `, mosquitto's default) or
//! `log_timestamp_format %Y-%m-%dT%H:%M:%S` (`2026-01-31T12:00:00: `,
//! read as UTC). Lines understood:
//!
//! | line | observation |
//! |---|---|
//! | `mosquitto version V starting` / `terminating` | broker start / stop |
//! | `New client connected from A as ID (p2, c1, k60).` | CONNECT (clean, keepalive) |
//! | `Will message specified ...` then a tab line with the topic | the will's topic |
//! | `Sending CONNACK to ID (sp, rc)` | CONNACK |
//! | `Client ID has exceeded timeout, disconnecting.` | end: keepalive timeout |
//! | `Socket error on client ID, disconnecting.` | end: socket error |
//! | `Client ID closed its connection.` | end: FIN from the client |
//! | `Client ID disconnected.` after `Received DISCONNECT` | end: DISCONNECT |
//! | `Client ID already connected, closing old connection.` | end: takeover |
//! | `Received PUBLISH from ID (d0, q1, r0, m5, 'topic', ...)` | PUBLISH to the broker |
//! | `Sending PUBLISH to ID (...)` | PUBLISH to a client |
//! | `Sending PUBACK to ID (m5, rc0)` / `Received PUBACK from ID (Mid: 5, RC:0)` | PUBACK |
//! | `Received PINGREQ from ID` / `Sending PINGRESP to ID` | pings |
//! | `Received SUBSCRIBE from ID` then tab lines `topic (QoS 1)` | subscriptions |
//!
//! Known lines without a use here (config, listen sockets, SUBACK...) are
//! skipped; other lines are counted as unknown. A will publication is not
//! logged by mosquitto: it is inferred when a client that had a will ends
//! without DISCONNECT and the broker sends a PUBLISH on the will topic
//! within a second.
//!
//! Times have one-second resolution: rules that use them say so.

use std::collections::BTreeMap;

use super::{InputError, ReadResult};
use crate::field::evidence::{Dir, EndHow, Event, InputSummary, Loc, Obs, PacketKind, Source};

/// The timestamp of a log line, in ms since the Unix epoch, and the rest
/// of the line.
pub fn timestamp(line: &str) -> Option<(u64, &str)> {
    let (head, rest) = line.split_once(": ")?;
    if !head.is_empty() && head.len() <= 12 && head.bytes().all(|b| b.is_ascii_digit()) {
        return Some((head.parse::<u64>().ok()?.checked_mul(1000)?, rest));
    }
    iso_seconds(head).map(|s| (s * 1000, rest))
}

/// `YYYY-MM-DDTHH:MM:SS` (or with a space) as Unix seconds, UTC.
fn iso_seconds(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 19 || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 || y < 1970
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// `(d0, q1, r0, m5, 'topic', ...` -> (dup, qos, pid, topic).
fn publish_fields(s: &str) -> Option<(bool, u8, Option<u16>, String)> {
    let inner = s.strip_prefix('(')?;
    let mut parts = inner.splitn(5, ", ");
    let d = parts.next()?.strip_prefix('d')?;
    let q = parts.next()?.strip_prefix('q')?;
    let _r = parts.next()?.strip_prefix('r')?;
    let m = parts.next()?.strip_prefix('m')?;
    let rest = parts.next()?;
    let topic = rest.strip_prefix('\'')?;
    let end = topic.rfind("', ")?;
    let qos: u8 = q.parse().ok()?;
    let pid: u16 = m.parse().ok()?;
    Some((
        d == "1",
        qos,
        (qos > 0).then_some(pid),
        topic[..end].to_string(),
    ))
}

/// `name (rest` -> (name, rest) where the id is the word before ` (`.
fn id_then(s: &str) -> (&str, &str) {
    match s.find(" (") {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s.trim_end_matches('.'), ""),
    }
}

const SKIP: &[&str] = &[
    "Config loaded from",
    "Opening ipv4 listen socket",
    "Opening ipv6 listen socket",
    "Opening websockets listen socket",
    "New connection from",
    "No will message specified",
    "Sending SUBACK to",
    "Sending UNSUBACK to",
    "Received UNSUBSCRIBE from",
    "Warning: Mosquitto should not be run as root",
    "Saving in-memory database",
    "Loading persistence",
    "Restored",
    "Error: ",
    "Noticed",
];

/// Reads a mosquitto log.
pub fn read(name: &str, bytes: &[u8]) -> ReadResult {
    let text = String::from_utf8_lossy(bytes);
    let mut events: Vec<Event> = Vec::new();
    let mut unknown = 0;
    let mut stamped = 0;
    let mut first_unstamped: Option<usize> = None;
    let mut units = 0;
    // Per client: its current connection number and will topic.
    let mut conn_of: BTreeMap<String, u32> = BTreeMap::new();
    let mut will_of: BTreeMap<String, String> = BTreeMap::new();
    let mut next_conn = 0u32;
    // What a tab-indented continuation line belongs to.
    enum Cont {
        None,
        Will(String),
        Subscribe(String),
    }
    let mut cont = Cont::None;
    let mut last_disconnect: Option<String> = None;
    // Clients that ended without DISCONNECT while having a will: (client, t).
    let mut will_pending: Vec<(String, u64)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        units += 1;
        let Some((t_ms, msg)) = timestamp(raw) else {
            first_unstamped.get_or_insert(n);
            unknown += 1;
            continue;
        };
        stamped += 1;
        let src = Source {
            file: name.to_string(),
            loc: Loc::Line(n),
        };
        let push = |events: &mut Vec<Event>, client: Option<&str>, conn: Option<u32>, obs: Obs| {
            events.push(Event {
                t_ms,
                client: client.map(str::to_string),
                conn,
                obs,
                src: src.clone(),
            })
        };
        if let Some(c) = msg.strip_prefix('\t') {
            match &cont {
                Cont::Will(client) => {
                    will_of.insert(client.clone(), c.to_string());
                    let conn = conn_of.get(client).copied();
                    push(
                        &mut events,
                        Some(client),
                        conn,
                        Obs::ConnectSettings {
                            keepalive_s: None,
                            clean: None,
                            will_topic: Some(c.to_string()),
                        },
                    );
                }
                Cont::Subscribe(client) => {
                    let (topic, qos) = match c.rsplit_once(" (QoS ") {
                        Some((t, q)) => (t, q.trim_end_matches(')').parse().unwrap_or(0)),
                        None => (c, 0),
                    };
                    let conn = conn_of.get(client).copied();
                    push(
                        &mut events,
                        Some(client),
                        conn,
                        Obs::Subscribed {
                            topic: topic.to_string(),
                            qos,
                        },
                    );
                }
                Cont::None => unknown += 1,
            }
            continue;
        }
        let prev_cont = std::mem::replace(&mut cont, Cont::None);
        let prev_disconnect = last_disconnect.take();
        if msg.starts_with("mosquitto version ") {
            if msg.ends_with(" starting") {
                push(&mut events, None, None, Obs::BrokerStart);
            } else if msg.ends_with(" terminating") {
                push(&mut events, None, None, Obs::BrokerStop);
            }
            // `running` needs nothing.
        } else if let Some(rest) = msg.strip_prefix("New client connected from ") {
            // `127.0.0.1:4242 as ID (p2, c1, k60).` or `(p2, c1, k60, u'user').`
            let Some((_, after)) = rest.split_once(" as ") else {
                unknown += 1;
                continue;
            };
            let (id, params) = id_then(after);
            next_conn += 1;
            conn_of.insert(id.to_string(), next_conn);
            will_of.remove(id);
            let mut clean = None;
            let mut keepalive = None;
            for p in params
                .trim_matches(|c| c == '(' || c == ')' || c == '.')
                .split(", ")
            {
                if let Some(c) = p.strip_prefix('c') {
                    clean = c.parse::<u8>().ok().map(|c| c == 1);
                } else if let Some(k) = p.strip_prefix('k') {
                    keepalive = k.parse().ok();
                }
            }
            let c = Some(next_conn);
            push(&mut events, Some(id), c, Obs::Open);
            push(
                &mut events,
                Some(id),
                c,
                Obs::Packet {
                    dir: Dir::ToBroker,
                    kind: PacketKind::Connect,
                    pid: None,
                    qos: 0,
                    dup: false,
                    topic: None,
                },
            );
            push(
                &mut events,
                Some(id),
                c,
                Obs::ConnectSettings {
                    keepalive_s: keepalive,
                    clean,
                    will_topic: None,
                },
            );
        } else if msg.starts_with("Will message specified") {
            match prev_cont_client(&events) {
                Some(id) => cont = Cont::Will(id),
                None => unknown += 1,
            }
        } else if let Some(rest) = msg.strip_prefix("Sending CONNACK to ") {
            let (id, p) = id_then(rest);
            let nums: Vec<u8> = p
                .trim_matches(|c| c == '(' || c == ')')
                .split(", ")
                .filter_map(|x| x.parse().ok())
                .collect();
            let (sp, code) = match nums[..] {
                [sp, code] => (sp == 1, code),
                _ => (false, 0),
            };
            let conn = conn_of.get(id).copied();
            push(
                &mut events,
                Some(id),
                conn,
                Obs::Connack {
                    code,
                    session_present: sp,
                },
            );
        } else if let Some(rest) = msg.strip_prefix("Client ") {
            let ends = [
                (
                    " has exceeded timeout, disconnecting.",
                    EndHow::KeepaliveTimeout,
                ),
                (" closed its connection.", EndHow::FinFromClient),
                (
                    " already connected, closing old connection.",
                    EndHow::Takeover,
                ),
                (" disconnected.", EndHow::ClientDisconnect),
                (" disconnected, not authorised.", EndHow::FinFromBroker),
            ];
            let mut matched = false;
            for (suffix, how) in ends {
                if let Some(id) = rest.strip_suffix(suffix) {
                    matched = true;
                    let how = if how == EndHow::ClientDisconnect
                        && prev_disconnect.as_deref() != Some(id)
                    {
                        // "disconnected." without a DISCONNECT before it.
                        EndHow::Unknown
                    } else {
                        how
                    };
                    let conn = conn_of.get(id).copied();
                    push(&mut events, Some(id), conn, Obs::End { how });
                    if how != EndHow::ClientDisconnect && will_of.contains_key(id) {
                        will_pending.push((id.to_string(), t_ms));
                    }
                    break;
                }
            }
            if !matched {
                unknown += 1;
            }
        } else if let Some(rest) = msg.strip_prefix("Socket error on client ") {
            let id = rest.trim_end_matches(", disconnecting.");
            let conn = conn_of.get(id).copied();
            push(
                &mut events,
                Some(id),
                conn,
                Obs::End {
                    how: EndHow::SocketError,
                },
            );
            if will_of.contains_key(id) {
                will_pending.push((id.to_string(), t_ms));
            }
        } else if let Some(rest) = msg.strip_prefix("Received PUBLISH from ") {
            let (id, p) = id_then(rest);
            match publish_fields(p) {
                Some((dup, qos, pid, topic)) => {
                    let conn = conn_of.get(id).copied();
                    push(
                        &mut events,
                        Some(id),
                        conn,
                        Obs::Packet {
                            dir: Dir::ToBroker,
                            kind: PacketKind::Publish,
                            pid,
                            qos,
                            dup,
                            topic: Some(topic),
                        },
                    );
                }
                None => unknown += 1,
            }
        } else if let Some(rest) = msg.strip_prefix("Sending PUBLISH to ") {
            let (id, p) = id_then(rest);
            match publish_fields(p) {
                Some((dup, qos, pid, topic)) => {
                    // A will: the publisher's will topic, just after it ended.
                    if let Some(k) = will_pending
                        .iter()
                        .position(|(c, t)| will_of.get(c) == Some(&topic) && t_ms <= t + 1000)
                    {
                        let (c, _) = will_pending.remove(k);
                        let conn = conn_of.get(&c).copied();
                        push(&mut events, Some(&c), conn, Obs::WillPublished);
                    }
                    let conn = conn_of.get(id).copied();
                    push(
                        &mut events,
                        Some(id),
                        conn,
                        Obs::Packet {
                            dir: Dir::ToClient,
                            kind: PacketKind::Publish,
                            pid,
                            qos,
                            dup,
                            topic: Some(topic),
                        },
                    );
                }
                None => unknown += 1,
            }
        } else if let Some(rest) = msg.strip_prefix("Sending PUBACK to ") {
            let (id, p) = id_then(rest);
            let pid = p
                .trim_start_matches("(m")
                .split(',')
                .next()
                .and_then(|m| m.parse().ok());
            let conn = conn_of.get(id).copied();
            push(
                &mut events,
                Some(id),
                conn,
                Obs::Packet {
                    dir: Dir::ToClient,
                    kind: PacketKind::Puback,
                    pid,
                    qos: 0,
                    dup: false,
                    topic: None,
                },
            );
        } else if let Some(rest) = msg.strip_prefix("Received PUBACK from ") {
            let (id, p) = id_then(rest);
            let pid = p
                .trim_start_matches("(Mid: ")
                .split(',')
                .next()
                .and_then(|m| m.parse().ok());
            let conn = conn_of.get(id).copied();
            push(
                &mut events,
                Some(id),
                conn,
                Obs::Packet {
                    dir: Dir::ToBroker,
                    kind: PacketKind::Puback,
                    pid,
                    qos: 0,
                    dup: false,
                    topic: None,
                },
            );
        } else if let Some(id) = msg.strip_prefix("Received PINGREQ from ") {
            let conn = conn_of.get(id).copied();
            push(
                &mut events,
                Some(id),
                conn,
                Obs::Packet {
                    dir: Dir::ToBroker,
                    kind: PacketKind::Pingreq,
                    pid: None,
                    qos: 0,
                    dup: false,
                    topic: None,
                },
            );
        } else if let Some(id) = msg.strip_prefix("Sending PINGRESP to ") {
            let conn = conn_of.get(id).copied();
            push(
                &mut events,
                Some(id),
                conn,
                Obs::Packet {
                    dir: Dir::ToClient,
                    kind: PacketKind::Pingresp,
                    pid: None,
                    qos: 0,
                    dup: false,
                    topic: None,
                },
            );
        } else if let Some(id) = msg.strip_prefix("Received SUBSCRIBE from ") {
            cont = Cont::Subscribe(id.to_string());
            let conn = conn_of.get(id).copied();
            push(
                &mut events,
                Some(id),
                conn,
                Obs::Packet {
                    dir: Dir::ToBroker,
                    kind: PacketKind::Subscribe,
                    pid: None,
                    qos: 0,
                    dup: false,
                    topic: None,
                },
            );
        } else if let Some(id) = msg.strip_prefix("Received DISCONNECT from ") {
            last_disconnect = Some(id.to_string());
            let conn = conn_of.get(id).copied();
            push(
                &mut events,
                Some(id),
                conn,
                Obs::Packet {
                    dir: Dir::ToBroker,
                    kind: PacketKind::Disconnect,
                    pid: None,
                    qos: 0,
                    dup: false,
                    topic: None,
                },
            );
        } else if SKIP.iter().any(|p| msg.starts_with(p))
            || matches!(prev_cont, Cont::Subscribe(_)) && msg.split(' ').count() == 3
        {
            // Known, nothing to observe (`ID 1 topic` follows a SUBSCRIBE).
            if let Cont::Subscribe(id) = prev_cont {
                if !SKIP.iter().any(|p| msg.starts_with(p)) {
                    cont = Cont::Subscribe(id);
                }
            }
        } else {
            unknown += 1;
        }
    }
    if stamped == 0 {
        return Err(InputError::new(
            name,
            first_unstamped.map(Loc::Line),
            "not a mosquitto log line: expected a timestamp first (`1700000000: ...`, mosquitto's default, or `2026-01-31T12:00:00: ...`)",
        ));
    }
    let summary = InputSummary {
        file: name.to_string(),
        format: "mosquitto log",
        units,
        unknown,
        observations: events.len(),
    };
    Ok((summary, events))
}

/// The client of the last CONNECT read (a `Will message specified` line
/// follows it).
fn prev_cont_client(events: &[Event]) -> Option<String> {
    events
        .iter()
        .rev()
        .find(|e| matches!(e.obs, Obs::ConnectSettings { .. }))
        .and_then(|e| e.client.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "1795618752: mosquitto version 2.0.11 starting\n\
1795618752: New client connected from 127.0.0.1:49654 as subx (p2, c1, k5).\n\
1795618752: Will message specified (3 bytes) (r0, q1).\n\
1795618752: \tw/x\n\
1795618752: Sending CONNACK to subx (0, 0)\n\
1795618752: Received SUBSCRIBE from subx\n\
1795618752: \ta/# (QoS 1)\n\
1795618752: subx 1 a/#\n\
1795618752: Sending SUBACK to subx\n\
1795618753: Received PUBLISH from pubx (d1, q1, r0, m7, 'a/b', ... (5 bytes))\n\
1795618753: Sending PUBACK to pubx (m7, rc0)\n\
1795618760: Client subx has exceeded timeout, disconnecting.\n\
1795618760: Sending PUBLISH to watcher (d0, q1, r0, m2, 'w/x', ... (3 bytes))\n\
1795618761: something mosquitto 3 might say\n";

    #[test]
    fn reads_connects_packets_ends_and_wills() {
        let (s, ev) = read("mosq.log", LOG.as_bytes()).unwrap();
        assert_eq!(s.unknown, 1, "{ev:#?}");
        assert!(ev.iter().any(|e| e.obs
            == Obs::ConnectSettings {
                keepalive_s: Some(5),
                clean: Some(true),
                will_topic: None
            }));
        assert!(ev.iter().any(|e| e.obs
            == Obs::Subscribed {
                topic: "a/#".into(),
                qos: 1
            }));
        let p = ev
            .iter()
            .find(|e| {
                matches!(
                    e.obs,
                    Obs::Packet {
                        kind: PacketKind::Publish,
                        ..
                    }
                )
            })
            .unwrap();
        assert_eq!(
            p.obs,
            Obs::Packet {
                dir: Dir::ToBroker,
                kind: PacketKind::Publish,
                pid: Some(7),
                qos: 1,
                dup: true,
                topic: Some("a/b".into())
            }
        );
        assert_eq!(p.src.loc, Loc::Line(10));
        assert_eq!(p.t_ms, 1_795_618_753_000);
        let end = ev
            .iter()
            .find(|e| matches!(e.obs, Obs::End { .. }))
            .unwrap();
        assert_eq!(
            end.obs,
            Obs::End {
                how: EndHow::KeepaliveTimeout
            }
        );
        let will = ev.iter().find(|e| e.obs == Obs::WillPublished).unwrap();
        assert_eq!(will.client.as_deref(), Some("subx"));
    }

    #[test]
    fn iso_timestamps_are_utc() {
        assert_eq!(
            timestamp("2026-11-25T15:00:00: x").unwrap().0,
            1_795_618_800_000
        );
        assert_eq!(timestamp("1970-01-01T00:00:01: x").unwrap().0, 1000);
        assert!(timestamp("2026-13-25T15:00:00: x").is_none());
    }

    #[test]
    fn a_log_without_timestamps_is_an_error_naming_its_first_line() {
        let e = read("m.log", b"\nhello\nworld\n").unwrap_err();
        assert_eq!(e.loc, Some(Loc::Line(2)));
        assert!(
            e.to_string().contains("m.log:2: not a mosquitto log line"),
            "{e}"
        );
    }
}
