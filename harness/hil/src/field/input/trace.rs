//! Reads our own traces (`trace.jsonl` from any backend) and board agent
//! logs: JSON Lines in the trace vocabulary ([`crate::trace::Record`]),
//! either bare or after the agent's `@hil ` prefix amid other console
//! output.
//!
//! The device's events become observations of the DUT (client id taken
//! from the broker's `client_connected` records, else `dut`); the broker's
//! records of other clients, `will_published` and the fault executor's
//! `fault` records are kept too. Lines that are not JSON (console noise)
//! and JSON records with events we do not know are counted as unknown. A
//! line that claims to be a record (starts with `{`, or carries the
//! prefix) but is not JSON is an error naming it, except a cut-off last
//! line (a killed run).

use super::{InputError, ReadResult};
use crate::field::evidence::{Dir, EndHow, Event, InputSummary, Loc, Obs, PacketKind, Source};
use crate::trace::{Actor, Event as T, Record};

/// The prefix board agents put before each JSON line.
pub const AGENT_PREFIX: &str = "@hil ";

/// The JSON part of a line, if it has one.
fn json_part(line: &str) -> Option<&str> {
    if let Some(i) = line.find(AGENT_PREFIX) {
        return Some(line[i + AGENT_PREFIX.len()..].trim());
    }
    let l = line.trim();
    l.starts_with('{').then_some(l)
}

fn end_how(reason: &str) -> EndHow {
    let r = reason.to_ascii_lowercase();
    if r.contains("closed by broker") || r.contains("eof") {
        EndHow::FinFromBroker
    } else if r.contains("reset") {
        EndHow::Reset
    } else if r.contains("timeout") {
        EndHow::ClientTimeout
    } else if r.contains("disconnect()") {
        EndHow::ClientDisconnect
    } else if r.contains("link down") {
        EndHow::FinFromClient
    } else {
        EndHow::Unknown
    }
}

fn broker_end(reason: &str) -> EndHow {
    match reason {
        "KeepaliveTimeout" => EndHow::KeepaliveTimeout,
        "ClientDisconnect" => EndHow::ClientDisconnect,
        "ConnectionLost" => EndHow::SocketError,
        "Takeover" | "SessionTakenOver" => EndHow::Takeover,
        _ => EndHow::Unknown,
    }
}

fn packet(dir: Dir, kind: PacketKind, pid: Option<u16>) -> Obs {
    Obs::Packet {
        dir,
        kind,
        pid,
        qos: 0,
        dup: false,
        topic: None,
    }
}

/// Reads a trace or agent log.
pub fn read(name: &str, bytes: &[u8]) -> ReadResult {
    let text = String::from_utf8_lossy(bytes);
    let ends_with_newline = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut records: Vec<(usize, Record)> = Vec::new();
    let mut unknown = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some(json) = json_part(line) else {
            unknown += 1;
            continue;
        };
        match serde_json::from_str::<serde_json::Value>(json) {
            Ok(v) => match serde_json::from_value::<Record>(v) {
                Ok(r) => records.push((i + 1, r)),
                Err(_) => unknown += 1,
            },
            Err(e) => {
                if i + 1 == lines.len() && !ends_with_newline {
                    unknown += 1; // cut off by a killed run
                } else {
                    return Err(InputError::new(
                        name,
                        Some(Loc::Line(i + 1)),
                        format!("a trace line that is not JSON ({e}); expected one trace record per line, e.g. {{\"t_ms\":0,\"actor\":\"dut\",\"event\":\"wifi_up\"}}"),
                    ));
                }
            }
        }
    }
    if records.is_empty() {
        let first = lines.iter().position(|l| !l.trim().is_empty());
        return Err(InputError::new(
            name,
            first.map(|i| Loc::Line(i + 1)),
            "no trace record in this file: expected JSON Lines of the trace vocabulary (harness/hil/src/trace/mod.rs), bare or after `@hil `",
        ));
    }
    let dut = records
        .iter()
        .find_map(|(_, r)| match &r.event {
            T::ClientConnected { client_id, .. } if !client_id.starts_with("observer") => {
                Some(client_id.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| "dut".to_string());
    let mut events = Vec::new();
    let mut conn = 0u32;
    let mut other_conn = 0u32;
    for (line, r) in &records {
        let src = Source {
            file: name.to_string(),
            loc: Loc::Line(*line),
        };
        let mut push = |client: Option<String>, conn: Option<u32>, obs: Obs| {
            events.push(Event {
                t_ms: r.t_ms,
                client,
                conn,
                obs,
                src: src.clone(),
            })
        };
        let d = Some(dut.clone());
        match (&r.actor, &r.event) {
            (Actor::Dut, T::WifiUp) => push(d, None, Obs::Link { up: true }),
            (Actor::Dut, T::WifiDown) => push(d, None, Obs::Link { up: false }),
            (Actor::Dut, T::Connecting { .. }) => {
                conn += 1;
                push(d, Some(conn), Obs::Open)
            }
            (
                Actor::Dut,
                T::Connected {
                    session_present,
                    keepalive_s,
                },
            ) => {
                push(
                    d.clone(),
                    Some(conn),
                    Obs::ConnectSettings {
                        keepalive_s: Some(*keepalive_s),
                        clean: None,
                        will_topic: None,
                    },
                );
                push(
                    d,
                    Some(conn),
                    Obs::Connack {
                        code: 0,
                        session_present: *session_present,
                    },
                )
            }
            (Actor::Dut, T::ConnectFailed { .. }) => push(d, Some(conn), Obs::Refused),
            (Actor::Dut, T::ConnectionLost { reason }) => push(
                d,
                Some(conn),
                Obs::End {
                    how: end_how(reason),
                },
            ),
            (
                Actor::Dut,
                T::PublishSent {
                    pid,
                    qos,
                    dup,
                    topic,
                    ..
                },
            ) => push(
                d,
                Some(conn),
                Obs::Packet {
                    dir: Dir::ToBroker,
                    kind: PacketKind::Publish,
                    pid: *pid,
                    qos: *qos,
                    dup: *dup,
                    topic: Some(topic.clone()),
                },
            ),
            (Actor::Dut, T::Puback { pid }) => push(
                d,
                Some(conn),
                packet(Dir::ToClient, PacketKind::Puback, Some(*pid)),
            ),
            (Actor::Dut, T::PingSent) => push(
                d,
                Some(conn),
                packet(Dir::ToBroker, PacketKind::Pingreq, None),
            ),
            (Actor::Dut, T::Pingresp) => push(
                d,
                Some(conn),
                packet(Dir::ToClient, PacketKind::Pingresp, None),
            ),
            (Actor::Dut, T::Subscribed { topic, qos }) => push(
                d,
                Some(conn),
                Obs::Subscribed {
                    topic: topic.clone(),
                    qos: *qos,
                },
            ),
            (
                Actor::Broker,
                T::ClientConnected {
                    client_id,
                    clean,
                    session_present,
                },
            ) if *client_id != dut => {
                other_conn += 1;
                let c = Some(client_id.clone());
                push(c.clone(), Some(other_conn), Obs::Open);
                push(
                    c.clone(),
                    Some(other_conn),
                    Obs::ConnectSettings {
                        keepalive_s: None,
                        clean: Some(*clean),
                        will_topic: None,
                    },
                );
                push(
                    c,
                    Some(other_conn),
                    Obs::Connack {
                        code: 0,
                        session_present: *session_present,
                    },
                );
            }
            (Actor::Broker, T::ClientDisconnected { client_id, reason }) if *client_id != dut => {
                push(
                    Some(client_id.clone()),
                    None,
                    Obs::End {
                        how: broker_end(reason),
                    },
                );
            }
            (Actor::Broker, T::WillPublished { .. }) => push(d, None, Obs::WillPublished),
            (Actor::Faults, T::Fault { kind, detail }) => push(
                None,
                None,
                Obs::RecordedFault {
                    kind: kind.clone(),
                    detail: detail.clone(),
                },
            ),
            _ => {}
        }
    }
    let summary = InputSummary {
        file: name.to_string(),
        format: "trace",
        units: lines.len(),
        unknown,
        observations: events.len(),
    };
    Ok((summary, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bare_and_prefixed_lines_and_counts_noise() {
        let text = "boot: ets Jun  8 2016\n\
            @hil {\"t_ms\":0,\"actor\":\"dut\",\"event\":\"connecting\",\"attempt\":1}\n\
            {\"t_ms\":20,\"actor\":\"dut\",\"event\":\"connected\",\"session_present\":false,\"keepalive_s\":60}\n\
            {\"t_ms\":30,\"actor\":\"dut\",\"event\":\"some_new_event\"}\n";
        let (s, ev) = read("board.log", text.as_bytes()).unwrap();
        assert_eq!(s.unknown, 2, "the console line and the unknown event");
        assert_eq!(ev[0].obs, Obs::Open);
        assert_eq!(ev[0].src.loc, Loc::Line(2));
        assert!(matches!(
            ev[2].obs,
            Obs::Connack {
                session_present: false,
                ..
            }
        ));
    }

    #[test]
    fn a_broken_record_line_is_an_error_with_its_line() {
        let text = "{\"t_ms\":0,\"actor\":\"dut\",\"event\":\"up\"}\n@hil {\"t_ms\":\n{\"t_ms\":1,\"actor\":\"dut\",\"event\":\"up\"}\n";
        let e = read("x.jsonl", text.as_bytes()).unwrap_err();
        assert_eq!(e.loc, Some(Loc::Line(2)));
        assert!(
            e.to_string()
                .starts_with("x.jsonl:2: a trace line that is not JSON"),
            "{e}"
        );
    }

    #[test]
    fn a_cut_off_last_line_is_counted() {
        let text = "{\"t_ms\":0,\"actor\":\"dut\",\"event\":\"up\"}\n{\"t_ms\":1,\"ac";
        let (s, _) = read("x.jsonl", text.as_bytes()).unwrap();
        assert_eq!(s.unknown, 1);
    }
}
