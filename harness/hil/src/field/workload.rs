//! What the device did, read from the evidence: its settings from CONNECT
//! (client id, keepalive, clean session, will topic) and its traffic (the
//! topics it published to, with QoS and median interval; its
//! subscriptions; messages sent to it), which `hil import` writes as
//! `[dut]` and `[workload]`.
//!
//! When several files show the same device, the one with most of its
//! events is used (a log and a capture of one incident would otherwise
//! count every publish twice).

use std::collections::BTreeMap;

use super::evidence::{Dir, Event, Evidence, Obs, PacketKind, Source};

/// One periodic stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub topic: String,
    pub qos: u8,
    /// Median time between two messages, ms (rounded to 100 ms, >= 100).
    pub interval_ms: u64,
    /// How many were seen.
    pub seen: usize,
    /// The first one.
    pub src: Source,
}

/// The device's settings and traffic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub keepalive_s: Option<(u16, Source)>,
    pub clean_init: Option<bool>,
    pub clean: Option<bool>,
    pub will_topic: Option<(String, Source)>,
    pub publishes: Vec<Stream>,
    pub subscriptions: Vec<(String, u8, Source)>,
    /// Messages the broker sent to the device (an observer's stream).
    pub incoming: Vec<Stream>,
    /// The ping cadence: median time between PINGREQs on one connection
    /// (ms, rounded to 1 s), with the first PINGREQ, from 3 pings on.
    pub ping_interval: Option<(u64, Source)>,
    /// TCP segments seen twice: (to the broker, to the device).
    pub retransmissions: (usize, usize),
}

fn streams<'a>(events: impl Iterator<Item = (&'a Event, &'a str, u8)>) -> Vec<Stream> {
    let mut by: BTreeMap<&str, Vec<(&Event, u8)>> = BTreeMap::new();
    for (e, topic, qos) in events {
        by.entry(topic).or_default().push((e, qos));
    }
    let mut out: Vec<Stream> = by
        .into_iter()
        .map(|(topic, v)| {
            let mut gaps: Vec<u64> = v
                .windows(2)
                .map(|w| w[1].0.t_ms - w[0].0.t_ms)
                .filter(|g| *g > 0)
                .collect();
            gaps.sort_unstable();
            let median = gaps.get(gaps.len() / 2).copied().unwrap_or(1_000);
            Stream {
                topic: topic.to_string(),
                qos: v.iter().map(|x| x.1).max().unwrap_or(0),
                interval_ms: ((median + 50) / 100 * 100).max(100),
                seen: v.len(),
                src: v[0].0.src.clone(),
            }
        })
        .collect();
    out.sort_by_key(|s| s.src.clone());
    out
}

/// Reads the device's settings and traffic.
pub fn observe(ev: &Evidence, dut: &str) -> Observed {
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    for e in ev.of(dut) {
        *per_file.entry(e.src.file.as_str()).or_default() += 1;
    }
    let file = per_file
        .iter()
        .max_by_key(|(f, n)| (**n, std::cmp::Reverse(**f)))
        .map(|(f, _)| *f);
    let mine: Vec<&Event> = ev
        .of(dut)
        .filter(|e| Some(e.src.file.as_str()) == file)
        .collect();
    let mut o = Observed::default();
    let mut connects = 0;
    for e in &mine {
        if let Obs::ConnectSettings {
            keepalive_s,
            clean,
            will_topic,
        } = &e.obs
        {
            if let Some(k) = keepalive_s {
                o.keepalive_s.get_or_insert((*k, e.src.clone()));
            }
            if let Some(c) = clean {
                connects += 1;
                if connects == 1 {
                    o.clean_init = Some(*c);
                } else {
                    o.clean.get_or_insert(*c);
                }
            }
            if let Some(w) = will_topic {
                o.will_topic.get_or_insert((w.clone(), e.src.clone()));
            }
        }
        if let Obs::Subscribed { topic, qos } = &e.obs {
            if !o.subscriptions.iter().any(|s| s.0 == *topic) {
                o.subscriptions.push((topic.clone(), *qos, e.src.clone()));
            }
        }
    }
    // Ping cadence, per connection.
    let mut gaps: Vec<u64> = Vec::new();
    let mut first_ping: Option<Source> = None;
    let mut last: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for e in &mine {
        match &e.obs {
            Obs::Packet {
                dir: Dir::ToBroker,
                kind: PacketKind::Pingreq,
                ..
            } => {
                first_ping.get_or_insert(e.src.clone());
                let key = (e.src.file.clone(), e.conn.unwrap_or(0));
                if let Some(prev) = last.insert(key, e.t_ms) {
                    gaps.push(e.t_ms - prev);
                }
            }
            Obs::Retransmission { dir: Dir::ToBroker } => o.retransmissions.0 += 1,
            Obs::Retransmission { dir: Dir::ToClient } => o.retransmissions.1 += 1,
            _ => {}
        }
    }
    if gaps.len() >= 2 {
        gaps.sort_unstable();
        let median = gaps[gaps.len() / 2];
        o.ping_interval = first_ping.map(|s| (((median + 500) / 1000 * 1000).max(1000), s));
    }
    o.publishes = streams(mine.iter().filter_map(|e| match &e.obs {
        Obs::Packet {
            dir: Dir::ToBroker,
            kind: PacketKind::Publish,
            dup: false,
            topic: Some(t),
            qos,
            ..
        } => Some((*e, t.as_str(), *qos)),
        _ => None,
    }));
    o.incoming = streams(mine.iter().filter_map(|e| match &e.obs {
        Obs::Packet {
            dir: Dir::ToClient,
            kind: PacketKind::Publish,
            dup: false,
            topic: Some(t),
            qos,
            ..
        } => Some((*e, t.as_str(), *qos)),
        _ => None,
    }));
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::evidence::{InputSummary, Loc};

    fn ev(t_ms: u64, obs: Obs) -> Event {
        Event {
            t_ms,
            client: Some("d".into()),
            conn: Some(1),
            obs,
            src: Source {
                file: "c.pcap".into(),
                loc: Loc::Packet(t_ms as usize),
            },
        }
    }

    #[test]
    fn reads_publish_streams_ping_cadence_and_retransmissions() {
        let publish = |t| {
            ev(
                t,
                Obs::Packet {
                    dir: Dir::ToBroker,
                    kind: PacketKind::Publish,
                    pid: Some(1),
                    qos: 1,
                    dup: false,
                    topic: Some("a/b".into()),
                },
            )
        };
        let ping = |t| {
            ev(
                t,
                Obs::Packet {
                    dir: Dir::ToBroker,
                    kind: PacketKind::Pingreq,
                    pid: None,
                    qos: 0,
                    dup: false,
                    topic: None,
                },
            )
        };
        let events = vec![
            ev(
                0,
                Obs::ConnectSettings {
                    keepalive_s: Some(60),
                    clean: Some(true),
                    will_topic: None,
                },
            ),
            publish(1_000),
            publish(3_010),
            publish(4_990),
            ping(10_000),
            ping(40_100),
            ping(69_900),
            ev(70_000, Obs::Retransmission { dir: Dir::ToBroker }),
        ];
        let mut e = Evidence::default();
        e.add(
            InputSummary {
                file: "c.pcap".into(),
                format: "pcap",
                units: 8,
                unknown: 0,
                observations: 8,
            },
            events,
        );
        let o = observe(&e, "d");
        assert_eq!(o.publishes.len(), 1);
        assert_eq!(
            (
                o.publishes[0].qos,
                o.publishes[0].interval_ms,
                o.publishes[0].seen
            ),
            (1, 2_000, 3)
        );
        assert_eq!(o.ping_interval.as_ref().map(|p| p.0), Some(30_000));
        assert_eq!(o.retransmissions, (1, 0));
        assert_eq!(o.keepalive_s.map(|k| k.0), Some(60));
    }
}
