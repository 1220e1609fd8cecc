//! `never_stalls{ms}`: the application's heartbeat task never waits longer
//! than `ms` between two runs, from the first heartbeat to the end of the
//! run (P1: the driver never blocks other tasks). Gaps that contain a
//! `dut_reboot` are not judged.
//!
//! What it can see depends on the clock. On live and board runs the trace
//! is in wall time (scaled by `live_time_scale`): a driver that hogs the
//! CPU, blocks the executor or waits on a lock delays the heartbeat, and
//! this oracle fails. In the simulator, code costs no simulated time: a
//! CPU-bound stretch (a busy loop, a slow parse) takes zero simulated
//! milliseconds, so it cannot fail on CPU time there; it sees only waits on
//! simulated time (a task awaiting a timer or I/O while holding up the
//! heartbeat's executor). The failure text says which clock it judged.
//! A simulator check that the DUT's tasks yield (such as a poll budget
//! per step) is not implemented.

use super::{count_field, secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct NeverStalls {
    pub ms: u64,
}

impl OracleSpec for NeverStalls {
    const NAME: &'static str = "never_stalls";
    const FIELDS: &'static [&'static str] = &["ms"];
    const SUMMARY: &'static str = "the longest gap between application heartbeats is at most `ms` (wall time on live/board runs; in the simulator only waits count: code costs no simulated time)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let ms = count_field(f, "ms")?;
        if ms == 0 {
            return Err(f.invalid("ms", "must be greater than zero"));
        }
        Ok(NeverStalls { ms })
    }

    fn params(&self) -> String {
        format!("ms={}", self.ms)
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        match s.workload.heartbeat {
            None => Err("needs `workload.heartbeat`".into()),
            Some(h) if h.as_millis() >= self.ms => Err(format!(
                "allows {} ms but the heartbeat period is {h}: it could never pass",
                self.ms
            )),
            Some(_) => Ok(()),
        }
    }

    fn needs_why(&self) -> &'static str {
        "the application's heartbeats (`heartbeat`), whose gaps show a blocked executor"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let beats: Vec<usize> = t
            .of(Actor::App)
            .filter(|(_, e)| matches!(e, Event::Heartbeat))
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = beats.first() else {
            return Outcome::Fail(vec![Failure::new(
                "no heartbeat in the trace: the application never ran",
                vec![],
            )]);
        };
        let clock = match t.records.iter().find_map(|r| match &r.event {
            Event::RunStart { backend, .. } => Some(backend.as_str()),
            _ => None,
        }) {
            Some("sim") => " of simulated time (in the simulator code costs no simulated time: only waits count, CPU time cannot show)",
            Some(_) => " of wall time",
            None => "",
        };
        let reboots = t.reboots();
        let mut failures = Vec::new();
        let mut prev = first;
        let end = t.end_ms();
        let mut gaps: Vec<(usize, Option<usize>, u64)> = Vec::new();
        for &b in &beats[1..] {
            gaps.push((prev, Some(b), t.records[b].t_ms));
            prev = b;
        }
        gaps.push((prev, None, end));
        for (a, b, tb) in gaps {
            let ta = t.records[a].t_ms;
            if tb.saturating_sub(ta) <= self.ms || reboots.iter().any(|&r| r >= ta && r <= tb) {
                continue;
            }
            let mut events = vec![t.r(a)];
            let to = match b {
                Some(b) => {
                    events.push(t.r(b));
                    format!("the next at {}", secs(tb))
                }
                None => format!("none until the end at {}", secs(tb)),
            };
            failures.push(Failure::new(
                format!(
                    "the application stalled for {} ms (> {} ms){clock}: heartbeat at {}, {to}",
                    tb - ta,
                    self.ms,
                    secs(ta)
                ),
                events,
            ));
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    #[test]
    fn passes_with_regular_heartbeats() {
        let t = trace(vec![
            (0, App, Heartbeat),
            (100, App, Heartbeat),
            (200, App, Heartbeat),
            run_end(250),
        ]);
        passes(&oracle("oracle = \"never_stalls\"\nms = 1500"), &t);
    }

    #[test]
    fn names_the_heartbeats_around_the_stall() {
        let t = trace(vec![
            (0, App, Heartbeat),
            (1000, App, Heartbeat),
            (4000, App, Heartbeat),
            run_end(4100),
        ]);
        let f = failures(&oracle("oracle = \"never_stalls\"\nms = 1500"), &t);
        assert_eq!(
            f[0].message,
            "the application stalled for 3000 ms (> 1500 ms): heartbeat at 1.000s, the next at 4.000s"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn names_the_clock_it_judged() {
        let start = |backend: &str| {
            (
                0,
                Harness,
                RunStart {
                    scenario: s("t"),
                    seed: 1,
                    backend: s(backend),
                },
            )
        };
        let o = oracle("oracle = \"never_stalls\"\nms = 1500");
        let sim = trace(vec![start("sim"), (0, App, Heartbeat), run_end(5000)]);
        assert!(
            failures(&o, &sim)[0]
                .message
                .contains("(> 1500 ms) of simulated time (in the simulator code costs no simulated time: only waits count, CPU time cannot show)"),
        );
        let live = trace(vec![start("live"), (0, App, Heartbeat), run_end(5000)]);
        assert!(failures(&o, &live)[0]
            .message
            .contains("(> 1500 ms) of wall time:"));
    }

    #[test]
    fn a_silent_end_is_a_stall() {
        let t = trace(vec![(0, App, Heartbeat), run_end(5000)]);
        let f = failures(&oracle("oracle = \"never_stalls\"\nms = 1500"), &t);
        assert!(
            f[0].message.contains("none until the end at 5.000s"),
            "{}",
            f[0]
        );
    }
}
