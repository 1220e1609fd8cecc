//! Evidence about the parties other than the DUT, for oracles that must
//! blame the right one: what the broker's packet log says it received
//! and when, which subscriptions the observer held at each moment, and
//! when the broker crashed or restarted (and with what state).
//!
//! Not an oracle: a reading of the trace that `qos1_no_loss` (and any
//! oracle that judges a loss) shares. Client ids starting with
//! `observer` are the harness's observer clients (`observer-sub`,
//! `observer-pub`); every other client in the broker's log is the DUT.

use std::collections::{BTreeMap, BTreeSet};

use super::Trace;
use crate::scenario::types::filter_matches;
use crate::trace::{Actor, Dir, Event};

/// Who lost a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Party {
    /// The device under test: only its losses fail it.
    Dut,
    /// The broker: it accepted the message and then did not deliver it.
    Broker,
    /// The observer: it had no subscription when the broker routed it.
    ObserverGap,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Dut => "the DUT",
            Party::Broker => "the broker",
            Party::ObserverGap => "the observer's subscription gap",
        }
    }
}

/// Whether `client_id` is one of the harness's observer clients.
pub fn is_observer(client_id: &str) -> bool {
    client_id.starts_with("observer")
}

/// The `pid=N` of a packet summary (`PUBLISH pid=3 qos=1 ...`).
pub fn summary_pid(summary: &str) -> Option<u16> {
    summary
        .split_whitespace()
        .find_map(|w| w.strip_prefix("pid="))
        .and_then(|p| p.parse().ok())
}

/// The filters of a `SUBSCRIBE pid=N a/b:1,c/#:2` summary.
fn summary_filters(summary: &str) -> Vec<String> {
    let mut words = summary.split_whitespace();
    if words.next() != Some("SUBSCRIBE") {
        return vec![];
    }
    words
        .filter(|w| !w.starts_with("pid="))
        .flat_map(|w| w.split(','))
        .filter_map(|f| f.rsplit_once(':').map(|(f, _)| f.to_string()))
        .collect()
}

/// A broker crash (or power loss) and what came after it.
#[derive(Debug, Clone, Copy)]
pub struct Crash {
    pub index: usize,
    pub t_ms: u64,
    /// The restart that followed: its index, time and `persist`.
    pub restart: Option<(usize, u64, bool)>,
}

impl Crash {
    /// What became of the broker's state, in words.
    pub fn fate(&self) -> String {
        match self.restart {
            Some((_, t, true)) => format!(
                "restarted at {} from its last autosave (persist = true)",
                super::secs(t)
            ),
            Some((_, t, false)) => format!(
                "restarted at {} without its state (persist = false)",
                super::secs(t)
            ),
            None => "was not restarted".into(),
        }
    }
}

/// What the trace says about the broker and the observer.
pub struct PartyEvidence<'t, 'a> {
    t: &'t Trace<'a>,
    /// Whether the trace has the broker's packet log at all (the chaos
    /// broker has one; mosquitto has none).
    pub has_packet_log: bool,
    /// Broker crashes and power losses, in order.
    pub crashes: Vec<Crash>,
    /// Restarts without persistence: (index, time).
    pub empty_restarts: Vec<(usize, u64)>,
}

impl<'t, 'a> PartyEvidence<'t, 'a> {
    pub fn new(t: &'t Trace<'a>) -> PartyEvidence<'t, 'a> {
        let has_packet_log = t
            .records
            .iter()
            .any(|r| matches!(r.event, Event::BrokerPacket { .. }));
        let mut crashes: Vec<Crash> = Vec::new();
        let mut empty_restarts = Vec::new();
        for (i, e) in t.of(Actor::Faults) {
            let Event::Fault { kind, detail } = e else {
                continue;
            };
            let at = t.records[i].t_ms;
            match kind.as_str() {
                "broker_crash" | "broker_power_loss" => crashes.push(Crash {
                    index: i,
                    t_ms: at,
                    restart: None,
                }),
                "broker_restart" => {
                    let persist = !detail.split_whitespace().any(|w| w == "persist=false");
                    if !persist {
                        empty_restarts.push((i, at));
                    }
                    if let Some(c) = crashes.iter_mut().rev().find(|c| c.restart.is_none()) {
                        c.restart = Some((i, at, persist));
                    }
                }
                _ => {}
            }
        }
        PartyEvidence {
            t,
            has_packet_log,
            crashes,
            empty_restarts,
        }
    }

    /// Where the broker's log shows it received, from the DUT, a PUBLISH
    /// with one of `pids` between records `from` and `to` (inclusive):
    /// the first such record.
    pub fn broker_received_from_dut(
        &self,
        pids: &BTreeSet<u16>,
        from: usize,
        to: usize,
    ) -> Option<usize> {
        (from..=to.min(self.t.records.len().saturating_sub(1))).find(|&i| {
            let r = &self.t.records[i];
            matches!(&r.event, Event::BrokerPacket { dir: Dir::In, client_id, summary, .. }
                if !is_observer(client_id)
                    && summary.starts_with("PUBLISH ")
                    && summary_pid(summary).is_some_and(|p| pids.contains(&p)))
        })
    }

    /// Whether an observer client held a subscription matching `topic`
    /// just before record `at`, by the broker's view: a SUBSCRIBE it sent
    /// in the packet log, forgotten when the broker told it its session was
    /// new (`client_connected` with `session_present = false`) or restarted
    /// without persistence. Returns `(subscribed, since)`: `since` is the
    /// record that last changed the answer (the SUBSCRIBE, or what cleared
    /// it), if any.
    pub fn observer_subscribed(&self, topic: &str, at: usize) -> (bool, Option<usize>) {
        let mut subs: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
        let mut cleared: Option<usize> = None;
        for (i, r) in self.t.records[..at].iter().enumerate() {
            match (&r.actor, &r.event) {
                (
                    Actor::Broker,
                    Event::BrokerPacket {
                        dir: Dir::In,
                        client_id,
                        summary,
                        ..
                    },
                ) if is_observer(client_id) => {
                    for f in summary_filters(summary) {
                        subs.entry(client_id).or_default().insert(f, i);
                    }
                }
                (
                    Actor::Broker,
                    Event::ClientConnected {
                        client_id,
                        session_present: false,
                        ..
                    },
                ) if subs.contains_key(client_id.as_str()) => {
                    subs.remove(client_id.as_str());
                    cleared = Some(i);
                }
                (Actor::Faults, Event::Fault { .. })
                    if self.empty_restarts.iter().any(|&(j, _)| j == i) =>
                {
                    if !subs.is_empty() {
                        cleared = Some(i);
                    }
                    subs.clear();
                }
                _ => {}
            }
        }
        let matching = subs
            .values()
            .flat_map(|m| m.iter())
            .filter(|(f, _)| filter_matches(f, topic))
            .map(|(_, &i)| i)
            .max();
        match matching {
            Some(i) => (true, Some(i)),
            None => (false, cleared),
        }
    }

    /// The first broker crash at or after `t_ms` (and after record `i`).
    pub fn crash_after(&self, i: usize, t_ms: u64) -> Option<Crash> {
        self.crashes
            .iter()
            .find(|c| c.index > i && c.t_ms >= t_ms)
            .copied()
    }

    /// The last restart without persistence at or before record `i`.
    pub fn empty_restart_before(&self, i: usize) -> Option<(usize, u64)> {
        self.empty_restarts
            .iter()
            .rev()
            .find(|&&(j, _)| j < i)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pids_and_filters_from_summaries() {
        assert_eq!(
            summary_pid("PUBLISH pid=3 qos=1 dup=0 retain=0 topic=a len=2"),
            Some(3)
        );
        assert_eq!(
            summary_pid("PUBLISH qos=0 dup=0 retain=0 topic=a len=2"),
            None
        );
        assert_eq!(
            summary_filters("SUBSCRIBE pid=2 a/b:1,c/#:2"),
            vec!["a/b".to_string(), "c/#".to_string()]
        );
        assert!(summary_filters("PUBLISH pid=2 qos=1").is_empty());
    }
}
