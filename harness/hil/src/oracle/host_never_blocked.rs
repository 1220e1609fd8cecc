//! `host_never_blocked{ms}`: the bridge host's API never holds up the
//! application (`[bridge]` scenarios): every call (`publish`, `subscribe`,
//! `unsubscribe`) returns within `ms` — accepted into the host's outbox,
//! or refused at once because it is full — whatever the serial line, the
//! gateway or the broker are doing. The completion of a publish (the
//! broker's acknowledgement, end to end) is not a return: it may take as
//! long as an outage lasts. The host reports each call as
//! `host_call {op, ms}` (`ms` in the run's clock: simulated time in the
//! simulator).
//!
//! Inconclusive when the application made no call.

use super::{count_field, secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct HostNeverBlocked {
    pub ms: u64,
}

impl OracleSpec for HostNeverBlocked {
    const NAME: &'static str = "host_never_blocked";
    const FIELDS: &'static [&'static str] = &["ms"];
    const SUMMARY: &'static str = "[bridge] every call of the bridge host's API (publish, subscribe, unsubscribe) returns to the application within `ms`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let ms = count_field(f, "ms")?;
        if ms == 0 {
            return Err(f.invalid("ms", "must be greater than zero"));
        }
        Ok(HostNeverBlocked { ms })
    }

    fn params(&self) -> String {
        format!("ms={}", self.ms)
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.bridge.is_none() {
            return Err("needs a `[bridge]` table (the DUT is not a serial bridge)".into());
        }
        Ok(())
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let mut calls = 0u64;
        let mut worst = 0u64;
        let mut failures = Vec::new();
        for (i, e) in t.of(Actor::App) {
            let Event::HostCall { op, ms } = e else {
                continue;
            };
            calls += 1;
            worst = worst.max(*ms);
            if *ms > self.ms {
                let end = t.records[i].t_ms;
                failures.push(Failure::new(
                    format!(
                        "the host's {op}() held the application for {ms} ms (> {} ms), returning at {}",
                        self.ms,
                        secs(end)
                    ),
                    vec![t.r(i)],
                ));
            }
        }
        if !failures.is_empty() {
            return Outcome::Fail(failures);
        }
        if calls == 0 {
            return Outcome::Inconclusive("the application made no call of the host's API".into());
        }
        Outcome::Pass.noted(format!("{calls} calls, the longest {worst} ms"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::{Oracle, Outcome, Trace};
    use super::HostNeverBlocked;
    use crate::trace::Event::*;

    fn o(ms: u64) -> Oracle {
        Oracle::HostNeverBlocked(HostNeverBlocked { ms })
    }

    fn call(t: u64, ms: u64) -> (u64, Actor, crate::trace::Event) {
        (
            t,
            App,
            HostCall {
                op: s("publish"),
                ms,
            },
        )
    }

    use crate::trace::Actor;

    #[test]
    fn passes_when_calls_return_quickly() {
        let t = trace(vec![call(1_000, 0), call(2_000, 10), run_end(5_000)]);
        assert!(
            matches!(o(50).check(&Trace::new(&t)), Outcome::Noted(p, n) if *p == Outcome::Pass && n == "2 calls, the longest 10 ms")
        );
    }

    #[test]
    fn fails_naming_the_blocking_call() {
        let t = trace(vec![call(1_000, 0), call(9_000, 4_000), run_end(10_000)]);
        let f = failures(&o(50), &t);
        assert_eq!(
            f[0].message,
            "the host's publish() held the application for 4000 ms (> 50 ms), returning at 9.000s"
        );
        assert_eq!(f[0].events[0].index, 1);
    }

    #[test]
    fn no_calls_is_inconclusive() {
        let t = trace(vec![run_end(10_000)]);
        assert!(matches!(
            o(50).check(&Trace::new(&t)),
            Outcome::Inconclusive(_)
        ));
    }
}
