//! `publish_completes_within{ms}`: every application `publish()` returns
//! within `ms` (P1, P4, B5: with the link up a publish completes at once,
//! concurrent QoS 1 publishes overlap, one lost PUBACK costs one
//! `response_time`, never a stall). Meant for scenarios without outages:
//! during an outage a publish legitimately waits.

use std::collections::BTreeMap;

use super::{count_field, secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct PublishCompletesWithin {
    pub ms: u64,
}

impl OracleSpec for PublishCompletesWithin {
    const NAME: &'static str = "publish_completes_within";
    const FIELDS: &'static [&'static str] = &["ms"];
    const SUMMARY: &'static str = "every application publish() returns within `ms`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let ms = count_field(f, "ms")?;
        if ms == 0 {
            return Err(f.invalid("ms", "must be greater than zero"));
        }
        Ok(PublishCompletesWithin { ms })
    }

    fn params(&self) -> String {
        format!("ms={}", self.ms)
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.workload.publish.is_empty() {
            return Err("needs a [[workload.publish]] stream".into());
        }
        Ok(())
    }

    fn needs_why(&self) -> &'static str {
        "when the application's `publish()` call returned; the PUBACK on the wire is not that"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let end = t.end_ms();
        let mut open: BTreeMap<&str, usize> = BTreeMap::new();
        let mut failures = Vec::new();
        let mut any = false;
        for (i, e) in t.of(Actor::App) {
            match e {
                Event::AppPublishStart { msg, .. } => {
                    any = true;
                    open.insert(msg, i);
                }
                Event::AppPublishDone { msg } => {
                    if let Some(s) = open.remove(msg.as_str()) {
                        let took = t.records[i].t_ms - t.records[s].t_ms;
                        if took > self.ms {
                            failures.push(Failure::new(
                                format!("publish {msg} took {took} ms (> {} ms)", self.ms),
                                vec![t.r(s), t.r(i)],
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut pending: Vec<(usize, &str)> = open.into_iter().map(|(m, i)| (i, m)).collect();
        pending.sort();
        for (s, msg) in pending {
            let ts = t.records[s].t_ms;
            if end - ts > self.ms {
                failures.push(Failure::new(
                    format!("publish {msg} started at {} never completed", secs(ts)),
                    vec![t.r(s)],
                ));
            }
        }
        if !any {
            return Outcome::Inconclusive("no application publish in the trace".into());
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn start(t: u64, m: &str) -> (u64, crate::trace::Actor, crate::trace::Event) {
        (
            t,
            App,
            AppPublishStart {
                msg: s(m),
                topic: s("t"),
                qos: 1,
            },
        )
    }

    fn done(t: u64, m: &str) -> (u64, crate::trace::Actor, crate::trace::Event) {
        (t, App, AppPublishDone { msg: s(m) })
    }

    #[test]
    fn passes_overlapping_quick_publishes() {
        let t = trace(vec![
            start(0, "dut-0:1"),
            start(0, "dut-0:2"),
            done(300, "dut-0:1"),
            done(310, "dut-0:2"),
            run_end(1000),
        ]);
        passes(
            &oracle("oracle = \"publish_completes_within\"\nms = 500"),
            &t,
        );
    }

    #[test]
    fn names_slow_and_stuck_publishes() {
        let t = trace(vec![
            start(0, "dut-0:1"),
            start(0, "dut-0:2"),
            done(300, "dut-0:1"),
            done(1500, "dut-0:2"),
            start(2000, "dut-0:3"),
            run_end(5000),
        ]);
        let f = failures(
            &oracle("oracle = \"publish_completes_within\"\nms = 500"),
            &t,
        );
        assert_eq!(f[0].message, "publish dut-0:2 took 1500 ms (> 500 ms)");
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(
            f[1].message,
            "publish dut-0:3 started at 2.000s never completed"
        );
        assert_eq!(f[1].events[0].index, 4);
    }
}
