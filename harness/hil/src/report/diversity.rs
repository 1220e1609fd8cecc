//! `seed_diversity`: how many distinct traces a sweep's seeds gave, per
//! scenario. A nightly sweep of N seeds is only worth N runs if the seeds
//! lead to different executions; when every seed gives the same trace the
//! sweep ran one execution N times, and the reporters say so with a
//! warning.
//!
//! Each run's trace is reduced to a fingerprint ([`fingerprint`]): a
//! 64-bit FNV-1a hash of its records as JSON, without `run_start` (which
//! names the seed) and with the DUT's client id replaced when the seed
//! generated it (a different name is not a different execution). Only
//! scenarios run with two seeds or more get a line.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;
use crate::trace::{Event, Record};

/// The DUT's client id when `seed` generated it (no `[dut] client_id`).
pub fn seeded_client_id(scenario: &Scenario, seed: u64) -> Option<String> {
    if scenario.dut.client_id.is_some() {
        return None;
    }
    resilient_mqtt::session::Session::new(scenario.dut.to_driver(seed))
        .ok()
        .map(|s| s.client_id().to_string())
}

/// The fingerprint of one trace: equal for two runs exactly when their
/// records (but `run_start`, and `seed_client_id` where it appears) are
/// byte-identical as JSON.
pub fn fingerprint(records: &[Record], seed_client_id: Option<&str>) -> u64 {
    let mut h = Fnv::new();
    for r in records {
        if matches!(r.event, Event::RunStart { .. }) {
            continue;
        }
        let line = serde_json::to_string(r).unwrap_or_default();
        match seed_client_id.filter(|id| !id.is_empty()) {
            Some(id) => h.write(line.replace(id, "<seeded-client-id>").as_bytes()),
            None => h.write(line.as_bytes()),
        }
        h.write(b"\n");
    }
    h.0
}

/// FNV-1a, 64 bits: small, stable across builds and platforms.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// One scenario's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub scenario: String,
    /// Runs with a trace.
    pub seeds: usize,
    /// Distinct traces among them.
    pub distinct: usize,
}

impl Line {
    /// Every seed gave the same trace.
    pub fn all_same(&self) -> bool {
        self.seeds > 1 && self.distinct == 1
    }

    /// The terminal's line (and, if every seed gave the same trace, the
    /// warning after it).
    pub fn render(&self) -> String {
        let mut t = format!(
            "seed_diversity {}: {} distinct trace(s) from {} seed(s)\n",
            self.scenario, self.distinct, self.seeds
        );
        if self.all_same() {
            t.push_str(&format!(
                "warning: {}: all {} seeds gave the same trace: this sweep ran one execution {} times (give the timeline tolerances, `at = \"60s ± 2s\"`, or see \"Seeds\" in scenarios/README.md)\n",
                self.scenario, self.seeds, self.seeds
            ));
        }
        t
    }
}

/// The fingerprints seen so far, per scenario.
#[derive(Debug, Clone, Default)]
pub struct Diversity {
    seen: BTreeMap<String, (usize, BTreeSet<u64>)>,
}

impl Diversity {
    /// Counts a run of `scenario` whose trace has `fingerprint`.
    pub fn add(&mut self, scenario: &str, fingerprint: u64) {
        let e = self.seen.entry(scenario.to_string()).or_default();
        e.0 += 1;
        e.1.insert(fingerprint);
    }

    /// One line per scenario run with two seeds or more, by name.
    pub fn lines(&self) -> Vec<Line> {
        self.seen
            .iter()
            .filter(|(_, (n, _))| *n > 1)
            .map(|(name, (n, set))| Line {
                scenario: name.clone(),
                seeds: *n,
                distinct: set.len(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Actor;

    fn trace(seed: u64, t_ms: u64, client: &str) -> Vec<Record> {
        vec![
            Record::new(
                0,
                Actor::Harness,
                Event::RunStart {
                    scenario: "s".into(),
                    seed,
                    backend: "sim".into(),
                },
            ),
            Record::new(
                t_ms,
                Actor::Broker,
                Event::ClientConnected {
                    client_id: client.into(),
                    clean: true,
                    session_present: false,
                },
            ),
            Record::new(t_ms + 5, Actor::Harness, Event::RunEnd),
        ]
    }

    #[test]
    fn the_seed_in_run_start_and_a_seeded_client_id_do_not_count() {
        let a = fingerprint(&trace(1, 30, "dut-aaaa"), Some("dut-aaaa"));
        let b = fingerprint(&trace(2, 30, "dut-bbbb"), Some("dut-bbbb"));
        assert_eq!(a, b);
        // A configured id is part of the execution like any other field.
        assert_ne!(
            fingerprint(&trace(1, 30, "dut-aaaa"), None),
            fingerprint(&trace(2, 30, "dut-bbbb"), None)
        );
        // One millisecond anywhere is another trace.
        assert_ne!(a, fingerprint(&trace(1, 31, "dut-aaaa"), Some("dut-aaaa")));
    }

    #[test]
    fn lines_count_distinct_traces_and_warn_when_all_are_the_same() {
        let mut d = Diversity::default();
        for seed in 1..=20u64 {
            d.add("diverse", seed % 12);
            d.add("stuck", 42);
        }
        d.add("once", 7);
        let lines = d.lines();
        assert_eq!(
            lines,
            vec![
                Line {
                    scenario: "diverse".into(),
                    seeds: 20,
                    distinct: 12
                },
                Line {
                    scenario: "stuck".into(),
                    seeds: 20,
                    distinct: 1
                },
            ]
        );
        assert_eq!(
            lines[0].render(),
            "seed_diversity diverse: 12 distinct trace(s) from 20 seed(s)\n"
        );
        let stuck = lines[1].render();
        assert!(stuck.starts_with("seed_diversity stuck: 1 distinct trace(s) from 20 seed(s)\nwarning: stuck: all 20 seeds gave the same trace"), "{stuck}");
    }
}
