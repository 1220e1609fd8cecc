//! Inference rules: each file holds one rule that reads the evidence and
//! proposes faults, every one with the evidence it rests on (file and
//! line / packet) and the rule's name, which `hil import` writes as a
//! comment above the timeline entry. Adding a rule = one file, its `mod`
//! line and one line in [`RULES`].
//!
//! Rules see the DUT's connections ([`Conn`]) and its outages
//! ([`Outage`]: from the end of one working connection to the next one
//! the broker accepted) already worked out; they run in [`RULES`] order,
//! and a rule leaves alone an outage an earlier rule explained
//! ([`Ctx::claimed`]).
//!
//! Rules propose the scenario's own faults ([`Fault`],
//! `scenario::fault`): what a kind is and how it is written back comes
//! from its file there, not from here.

mod blackhole;
mod broker_restart;
mod latency;
mod link_down;
mod lost_ack;
pub mod recorded;

use std::collections::BTreeMap;

use super::evidence::{Dir, EndHow, Event, Evidence, Obs, PacketKind, Source};
use crate::duration::Dur;
pub use crate::scenario::fault::Fault;

/// The length of an inferred outage of `ms`: rounded to 100 ms, at least
/// 100 ms.
pub fn outage_length(ms: u64) -> Dur {
    Dur::from_millis(((ms + 50) / 100 * 100).max(100))
}

/// One inferred fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Inferred {
    /// When it starts (evidence time, ms).
    pub at_ms: u64,
    /// The fault, as the scenario holds it (times in it are lengths, not
    /// evidence times).
    pub fault: Fault,
    /// `Some(words)` when one of our traces recorded the fault (rule
    /// `recorded`): it is written back as those `key=value` words were
    /// recorded, and not weighed against the outages other rules infer.
    pub recorded: Option<String>,
    /// The rule that fired.
    pub rule: &'static str,
    /// The lines / packets it rests on (first the decisive one).
    pub evidence: Vec<Source>,
    /// Why, in a sentence.
    pub why: String,
}

/// One connection of the DUT.
#[derive(Debug, Clone)]
pub struct Conn<'a> {
    pub events: Vec<&'a Event>,
    pub open: &'a Event,
    /// CONNACK with code 0 (or, in logs without packets, the accepted
    /// CONNECT).
    pub accepted: Option<&'a Event>,
    pub end: Option<(&'a Event, EndHow)>,
}

impl<'a> Conn<'a> {
    /// The last packet of direction `dir` at or before `t`.
    pub fn last(&self, dir: Dir) -> Option<&'a Event> {
        self.events
            .iter()
            .rev()
            .find(|e| matches!(&e.obs, Obs::Packet { dir: d, .. } if *d == dir))
            .copied()
    }
    /// Packets of the connection.
    pub fn packets(
        &self,
    ) -> impl Iterator<Item = (&'a Event, Dir, PacketKind, Option<u16>, bool)> + '_ {
        self.events.iter().filter_map(|e| match &e.obs {
            Obs::Packet {
                dir,
                kind,
                pid,
                dup,
                ..
            } => Some((*e, *dir, *kind, *pid, *dup)),
            _ => None,
        })
    }
    /// Requests to the broker at the end of the connection that got no
    /// response before it ended: PINGREQ without PINGRESP after it,
    /// qos>0 PUBLISH without its PUBACK.
    pub fn unanswered(&self) -> Vec<&'a Event> {
        let mut open: Vec<(&'a Event, PacketKind, Option<u16>)> = Vec::new();
        for (e, dir, kind, pid, _) in self.packets() {
            match (dir, kind) {
                (Dir::ToBroker, PacketKind::Pingreq) => open.push((e, kind, None)),
                (Dir::ToBroker, PacketKind::Publish) if pid.is_some() => open.push((e, kind, pid)),
                (Dir::ToBroker, PacketKind::Subscribe) => open.push((e, kind, pid)),
                (Dir::ToClient, PacketKind::Pingresp) => {
                    open.retain(|o| o.1 != PacketKind::Pingreq)
                }
                (Dir::ToClient, PacketKind::Puback | PacketKind::Pubrec) => {
                    open.retain(|o| !(o.1 == PacketKind::Publish && o.2 == pid))
                }
                (Dir::ToClient, PacketKind::Suback) => {
                    open.retain(|o| !(o.1 == PacketKind::Subscribe && o.2 == pid))
                }
                _ => {}
            }
        }
        open.into_iter().map(|o| o.0).collect()
    }
}

/// The time between one working connection of the DUT and the next.
#[derive(Debug, Clone)]
pub struct Outage<'a> {
    /// The connection that ended.
    pub before: Conn<'a>,
    /// How it ended (Unknown when the evidence does not say).
    pub how: EndHow,
    /// When it ended (the end record, else its last packet).
    pub end_ms: u64,
    pub end_src: Source,
    /// The next accepted connection: its first record (SYN or CONNECT).
    pub next: Option<Conn<'a>>,
    /// Connection attempts in between that were not accepted.
    pub failed_attempts: Vec<&'a Event>,
}

impl<'a> Outage<'a> {
    /// When the DUT's next working connection opened (evidence time).
    pub fn up_ms(&self) -> Option<u64> {
        self.next.as_ref().map(|c| c.open.t_ms)
    }
}

/// What rules see.
pub struct Ctx<'a> {
    pub ev: &'a Evidence,
    pub dut: &'a str,
    pub conns: Vec<Conn<'a>>,
    pub outages: Vec<Outage<'a>>,
    /// Files whose times have whole-second resolution (mosquitto logs).
    pub coarse_files: Vec<String>,
    /// Outages (index) explained by an earlier rule.
    pub claimed: Vec<usize>,
}

/// A rule: a name and a function.
pub struct Rule {
    pub name: &'static str,
    pub infer: fn(&mut Ctx<'_>) -> Vec<Inferred>,
}

/// Every rule, in the order they run.
pub const RULES: &[Rule] = &[
    Rule {
        name: recorded::NAME,
        infer: recorded::infer,
    },
    Rule {
        name: broker_restart::NAME,
        infer: broker_restart::infer,
    },
    Rule {
        name: blackhole::NAME,
        infer: blackhole::infer,
    },
    Rule {
        name: link_down::NAME,
        infer: link_down::infer,
    },
    Rule {
        name: lost_ack::NAME,
        infer: lost_ack::infer,
    },
    Rule {
        name: latency::NAME,
        infer: latency::infer,
    },
];

/// The DUT's connections, in time order. Connections are grouped by
/// (file, connection number).
pub fn connections<'a>(ev: &'a Evidence, dut: &'a str) -> Vec<Conn<'a>> {
    let mut by: BTreeMap<(String, u32), Vec<&'a Event>> = BTreeMap::new();
    for e in ev.of(dut) {
        if let Some(c) = e.conn {
            by.entry((e.src.file.clone(), c)).or_default().push(e);
        }
    }
    // Files that log CONNACKs at all (else an accepted CONNECT counts).
    let with_connack: std::collections::BTreeSet<&str> = ev
        .events
        .iter()
        .filter(|e| matches!(e.obs, Obs::Connack { .. }))
        .map(|e| e.src.file.as_str())
        .collect();
    let mut conns: Vec<Conn<'a>> = by
        .into_values()
        .map(|events| {
            let open = events[0];
            let accepted = events
                .iter()
                .find(|e| match &e.obs {
                    Obs::Connack { code, .. } => *code == 0,
                    Obs::Packet {
                        kind: PacketKind::Connect,
                        ..
                    } => !with_connack.contains(&e.src.file.as_str()),
                    _ => false,
                })
                .copied();
            let end = events.iter().find_map(|e| match &e.obs {
                Obs::End { how } => Some((*e, *how)),
                _ => None,
            });
            Conn {
                events,
                open,
                accepted,
                end,
            }
        })
        .collect();
    conns.sort_by_key(|c| (c.open.t_ms, c.open.src.clone()));
    conns
}

/// Outages between accepted connections. When several files show the same
/// incident (a log and a capture), the connections of the file with the
/// most packets are used.
pub fn outages<'a>(conns: &[Conn<'a>]) -> Vec<Outage<'a>> {
    // Pick one file's view: the one with most events of the DUT.
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    for c in conns {
        *per_file.entry(c.open.src.file.as_str()).or_default() += c.events.len();
    }
    let Some((file, _)) = per_file
        .iter()
        .max_by_key(|(f, n)| (**n, std::cmp::Reverse(**f)))
    else {
        return Vec::new();
    };
    let mine: Vec<&Conn<'a>> = conns.iter().filter(|c| c.open.src.file == *file).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < mine.len() {
        let c = mine[i];
        if c.accepted.is_none() {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut failed = Vec::new();
        while j < mine.len() && mine[j].accepted.is_none() {
            failed.push(mine[j].open);
            j += 1;
        }
        let (end_ms, end_src, how) = match c.end {
            Some((e, how)) => (e.t_ms, e.src.clone(), how),
            None => {
                let last = *c.events.last().expect("a connection has events");
                (last.t_ms, last.src.clone(), EndHow::Unknown)
            }
        };
        let next = mine.get(j).map(|c| (*c).clone());
        if c.end.is_some() || next.is_some() {
            out.push(Outage {
                before: c.clone(),
                how,
                end_ms,
                end_src,
                next,
                failed_attempts: failed,
            });
        }
        i = j;
    }
    out
}

/// Runs every rule. The error: a fault one of our traces recorded that
/// does not read as a scenario fault (say, a kind from another version).
pub fn infer<'a>(ev: &'a Evidence, dut: &'a str) -> Result<Vec<Inferred>, String> {
    let conns = connections(ev, dut);
    let outages = outages(&conns);
    let coarse_files = ev
        .inputs
        .iter()
        .filter(|i| i.format == "mosquitto log")
        .map(|i| i.file.clone())
        .collect();
    let mut ctx = Ctx {
        ev,
        dut,
        conns,
        outages,
        coarse_files,
        claimed: Vec::new(),
    };
    let mut all = Vec::new();
    if let Some(e) = recorded::unreadable(ev) {
        return Err(e);
    }
    for r in RULES {
        let found = (r.infer)(&mut ctx);
        let recorded = r.name == recorded::NAME && !found.is_empty();
        all.extend(found);
        if recorded {
            // A trace that recorded its faults needs no guessing.
            break;
        }
    }
    all.sort_by_key(|i| i.at_ms);
    Ok(merge_views(all, &ctx.coarse_files))
}

/// One incident seen in several files (a log and a capture) gives one
/// fault: same kind, within 2 s, from different files. The finer file's
/// time is kept; the evidence of both is listed.
fn merge_views(all: Vec<Inferred>, coarse: &[String]) -> Vec<Inferred> {
    let mut out: Vec<Inferred> = Vec::new();
    for i in all {
        let file = i.evidence.first().map(|s| s.file.clone());
        if let Some(prev) = out
            .iter_mut()
            .rev()
            .take_while(|p| i.at_ms.saturating_sub(p.at_ms) <= 2_000)
            .find(|p| {
                p.fault.kind() == i.fault.kind()
                    && p.evidence.first().map(|s| &s.file) != file.as_ref()
            })
        {
            let prev_coarse = prev
                .evidence
                .first()
                .is_some_and(|s| coarse.contains(&s.file));
            let mut evidence = i.evidence.clone();
            if prev_coarse {
                let old = std::mem::replace(prev, i);
                prev.evidence.extend(old.evidence);
            } else {
                prev.evidence.append(&mut evidence);
            }
            continue;
        }
        out.push(i);
    }
    out
}

/// Picks the device under test among the clients: the one that published
/// most to the broker (ties: most connections, then first seen).
pub fn guess_dut(ev: &Evidence) -> Option<String> {
    let clients = ev.clients();
    let score = |c: &str| {
        let mut publishes = 0usize;
        let mut opens = 0usize;
        for e in ev.of(c) {
            match &e.obs {
                Obs::Packet {
                    dir: Dir::ToBroker,
                    kind: PacketKind::Publish,
                    ..
                } => publishes += 1,
                Obs::Open => opens += 1,
                _ => {}
            }
        }
        (publishes, opens)
    };
    let mut best: Option<(String, (usize, usize))> = None;
    for c in clients {
        let s = score(&c);
        if best.as_ref().is_none_or(|(_, b)| s > *b) {
            best = Some((c, s));
        }
    }
    best.map(|b| b.0)
}
