//! The trace as stable text, for reading and for snapshot tests.
//!
//! [`Transcript::render`] keeps everything, one line per record, with the
//! exact time (deterministic in the simulator):
//!
//! ```text
//!     12.340s dut      connected keepalive_s=60 session_present=false
//! ```
//!
//! Fields follow the event name as `key=value`, sorted by key; strings are
//! written bare unless they are empty or contain spaces, quotes, `=` or
//! control characters, then JSON-quoted.
//!
//! [`Transcript::render_live`] is for backends whose timing is not
//! deterministic (live broker, boards): no times, only the order of state
//! changes, with the high-volume events (publishes, acks, pings, heartbeats,
//! deliveries, packet logs) counted between them on `counts:` lines, fields
//! that vary from run to run (`reason`, `error`, `attempt`, `client_id`)
//! left out, and runs of identical lines folded into one with `(xN)`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::duration::Dur;
use crate::trace::{Actor, Event, Record, Source};

/// Renders traces as text.
pub struct Transcript;

/// Events that `render_live` counts instead of listing.
const COUNTED: &[&str] = &[
    "publish_sent",
    "puback",
    "pubrel_sent",
    "qos2_duplicate",
    "stray_ack",
    "retransmit",
    "ping_sent",
    "pingresp",
    "message",
    "discarded",
    "queued",
    "queue_dropped",
    "queue_rejected",
    "queue_restored",
    "app_publish_start",
    "app_publish_done",
    "heartbeat",
    "broker_packet",
    "delivered",
    "observer_publish",
];

/// Fields that `render_live` leaves out.
const VOLATILE: &[&str] = &["reason", "error", "attempt", "client_id"];

fn value_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => {
            let plain = !s.is_empty()
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=');
            Some(if plain {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            })
        }
        other => Some(other.to_string()),
    }
}

/// `name k=v k=v`, skipping fields in `skip`.
fn event_text(e: &Event, skip: &[&str]) -> String {
    let mut out = e.name().to_string();
    let value = serde_json::to_value(e).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = value {
        let sorted: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
        for (k, v) in sorted {
            if k == "event" || skip.contains(&k.as_str()) {
                continue;
            }
            if let Some(text) = value_text(v) {
                let _ = write!(out, " {k}={text}");
            }
        }
    }
    out
}

/// Events that [`Transcript::render_snapshot`] counts instead of listing:
/// the periodic and the packet-level ones, which dwarf the rest.
const SNAPSHOT_COUNTED: &[&str] = &["heartbeat", "broker_packet"];

impl Transcript {
    /// Every record with its exact time, except heartbeats and the broker's
    /// packet log, which are counted on a last line: the simulator's
    /// transcript as stored in snapshots (exact, and small enough to read
    /// in a diff).
    pub fn render_snapshot(records: &[Record]) -> String {
        let mut out = String::new();
        let mut counts: BTreeMap<(Actor, Source, &'static str), u64> = BTreeMap::new();
        for r in records {
            let name = r.event.name();
            if SNAPSHOT_COUNTED.contains(&name) {
                *counts.entry((r.actor, r.source, name)).or_default() += 1;
                continue;
            }
            let _ = writeln!(
                out,
                "{:>11} {:<8} {}",
                Dur::from_millis(r.t_ms).secs_string(),
                r.who(),
                event_text(&r.event, &[])
            );
        }
        let words: Vec<String> = counts
            .iter()
            .map(|((a, s, n), c)| format!("{}.{n}={c}", s.who(*a)))
            .collect();
        let _ = writeln!(out, "counts: {}", words.join(" "));
        out
    }

    /// Every record with its exact time.
    pub fn render(records: &[Record]) -> String {
        let mut out = String::new();
        for r in records {
            let _ = writeln!(
                out,
                "{:>11} {:<8} {}",
                Dur::from_millis(r.t_ms).secs_string(),
                r.who(),
                event_text(&r.event, &[])
            );
        }
        out
    }

    /// State changes in order and counts of the rest, without times.
    pub fn render_live(records: &[Record]) -> String {
        let mut lines: Vec<(String, u64)> = Vec::new();
        let mut counts: BTreeMap<(Actor, Source, &'static str), u64> = BTreeMap::new();
        fn flush(
            counts: &mut BTreeMap<(Actor, Source, &'static str), u64>,
            lines: &mut Vec<(String, u64)>,
        ) {
            if counts.is_empty() {
                return;
            }
            let words: Vec<String> = counts
                .iter()
                .map(|((a, s, n), c)| format!("{}.{n}={c}", s.who(*a)))
                .collect();
            lines.push((format!("         counts: {}", words.join(" ")), 1));
            counts.clear();
        }
        for r in records {
            let name = r.event.name();
            if COUNTED.contains(&name) {
                *counts.entry((r.actor, r.source, name)).or_default() += 1;
                continue;
            }
            flush(&mut counts, &mut lines);
            let line = format!("{:<8} {}", r.who(), event_text(&r.event, VOLATILE));
            match lines.last_mut() {
                Some((last, n)) if *last == line => *n += 1,
                _ => lines.push((line, 1)),
            }
        }
        flush(&mut counts, &mut lines);
        let mut out = String::new();
        for (line, n) in lines {
            if n > 1 {
                let _ = writeln!(out, "{line} (x{n})");
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Event::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    fn sample() -> Vec<Record> {
        use Actor::*;
        vec![
            Record::new(
                0,
                Harness,
                RunStart {
                    scenario: s("demo"),
                    seed: 7,
                    backend: s("sim"),
                },
            ),
            Record::new(0, App, AppConnectStart),
            Record::new(5, Dut, WifiUp),
            Record::new(5_010, Dut, Connecting { attempt: 1 }),
            Record::new(
                5_030,
                Broker,
                ClientConnected {
                    client_id: s("dut-7"),
                    clean: true,
                    session_present: false,
                },
            ),
            Record::new(
                5_040,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            Record::new(5_040, Dut, Up),
            Record::new(
                5_041,
                App,
                AppConnectDone {
                    ok: true,
                    error: None,
                },
            ),
            Record::new(6_000, App, Heartbeat),
            Record::new(
                6_000,
                App,
                AppPublishStart {
                    msg: s("dut-0:1"),
                    topic: s("dut/t"),
                    qos: 1,
                },
            ),
            Record::new(
                6_001,
                Dut,
                PublishSent {
                    pid: Some(1),
                    qos: 1,
                    dup: false,
                    topic: s("dut/t"),
                    msg: s("dut-0:1"),
                },
            ),
            Record::new(
                6_020,
                Observer,
                Delivered {
                    topic: s("dut/t"),
                    msg: s("dut-0:1"),
                    qos: 1,
                    retain: false,
                    dup: false,
                },
            ),
            Record::new(6_030, Dut, Puback { pid: 1 }),
            Record::new(6_030, App, AppPublishDone { msg: s("dut-0:1") }),
            Record::new(7_000, App, Heartbeat),
            Record::new(
                12_340,
                Faults,
                Fault {
                    kind: s("wifi_down"),
                    detail: s("for=30s"),
                },
            ),
            Record::new(12_340, Dut, WifiDown),
            Record::new(
                12_340,
                Dut,
                ConnectionLost {
                    reason: s("wifi lost"),
                },
            ),
            Record::new(12_340, Dut, Down),
            Record::new(
                42_340,
                Faults,
                FaultEnd {
                    kind: s("wifi_down"),
                },
            ),
            Record::new(42_400, Dut, Connecting { attempt: 1 }),
            Record::new(
                42_500,
                Dut,
                ConnectFailed {
                    reason: s("connection refused (os error 111)"),
                },
            ),
            Record::new(43_500, Dut, Connecting { attempt: 2 }),
            Record::new(
                43_600,
                Dut,
                ConnectFailed {
                    reason: s("timeout"),
                },
            ),
            Record::new(45_000, Dut, Connecting { attempt: 3 }),
            Record::new(
                45_040,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            Record::new(45_040, Dut, Up),
            Record::new(60_000, Harness, RunEnd),
        ]
    }

    #[test]
    fn full_transcript() {
        insta::assert_snapshot!(Transcript::render(&sample()));
    }

    #[test]
    fn live_transcript() {
        insta::assert_snapshot!(Transcript::render_live(&sample()));
    }

    #[test]
    fn odd_strings_are_quoted() {
        let r = Record::new(
            1,
            Actor::Dut,
            ConnectionLost {
                reason: s("reset by peer"),
            },
        );
        assert_eq!(
            Transcript::render(&[r]),
            "     0.001s dut      connection_lost reason=\"reset by peer\"\n"
        );
        let r = Record::new(1, Actor::Dut, ConnectionLost { reason: s("") });
        assert_eq!(
            Transcript::render(&[r]),
            "     0.001s dut      connection_lost reason=\"\"\n"
        );
    }
}
