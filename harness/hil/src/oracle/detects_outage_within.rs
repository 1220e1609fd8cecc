//! `detects_outage_within{seconds}`: after a silent fault starts (one whose
//! kind is silent: `link_blackhole`, `broker_power_loss`, `broker_hang`), the
//! DUT gives its *down* notification within `seconds` (D3, B4).
//!
//! Not judged: a silent fault on the observer's link (`link=observer` in its
//! detail), one that starts while the DUT is already down, one that ends
//! before detection was due (and before the DUT noticed), and one whose
//! window runs past the end of the run.

use super::{fmt_seconds, seconds_field, secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fault::Fault;
use crate::scenario::fields::Fields;
use crate::scenario::network::Link;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct DetectsOutageWithin {
    pub ms: u64,
}

impl OracleSpec for DetectsOutageWithin {
    const NAME: &'static str = "detects_outage_within";
    const FIELDS: &'static [&'static str] = &["seconds"];
    const SUMMARY: &'static str =
        "the DUT reports *down* at most `seconds` after a silent fault starts";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(DetectsOutageWithin {
            ms: seconds_field(f, "seconds")?,
        })
    }

    fn params(&self) -> String {
        format!("seconds={}", fmt_seconds(self.ms))
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        let silent_on_dut = s.timeline.iter().any(|e| {
            Fault::is_silent(e.fault.kind())
                && !matches!(&e.fault, Fault::LinkBlackhole(b) if b.link == Link::Observer)
        });
        if silent_on_dut {
            Ok(())
        } else {
            Err("needs a silent fault on the DUT's side (link_blackhole, broker_power_loss, broker_hang)".into())
        }
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let end = t.end_ms();
        let updown = t.dut_updown();
        let mut failures = Vec::new();
        let mut judged = 0;
        for (i, e) in t.of(Actor::Faults) {
            let Event::Fault { kind, detail } = e else {
                continue;
            };
            if !Fault::is_silent(kind) || detail.split(' ').any(|w| w == "link=observer") {
                continue;
            }
            let ts = t.records[i].t_ms;
            if t.dut_state_at(&updown, ts).is_none_or(|s| !s.2) {
                continue; // already down (or never up)
            }
            let deadline = ts + self.ms;
            let down = updown.iter().find(|(_, ti, up)| !*up && *ti >= ts);
            if down.is_some_and(|d| d.1 <= deadline) {
                judged += 1;
                continue;
            }
            let ended = t.records[i + 1..].iter().find(|r| {
                r.actor == Actor::Faults
                    && matches!(&r.event, Event::FaultEnd { kind: k } if k == kind)
            });
            if ended.is_some_and(|r| r.t_ms < deadline) {
                continue;
            }
            if deadline > end {
                continue;
            }
            judged += 1;
            let mut events = vec![t.r(i)];
            let when = match down {
                Some(d) => {
                    events.push(t.r(d.0));
                    format!("first down at {}", secs(d.1))
                }
                None => "no down at all".to_string(),
            };
            failures.push(Failure::new(
                format!(
                    "silent fault {kind} at {}: no DUT down within {}s ({when})",
                    secs(ts),
                    fmt_seconds(self.ms)
                ),
                events,
            ));
        }
        if judged == 0 {
            return Outcome::Inconclusive("no silent fault hit the DUT while it was up".into());
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn t(down_at: u64) -> Vec<crate::trace::Record> {
        trace(vec![
            (0, Dut, Up),
            (
                60_000,
                Faults,
                Fault {
                    kind: s("link_blackhole"),
                    detail: s("link=dut for=1m"),
                },
            ),
            (down_at, Dut, Down),
            (
                120_000,
                Faults,
                FaultEnd {
                    kind: s("link_blackhole"),
                },
            ),
            run_end(200_000),
        ])
    }

    #[test]
    fn passes_when_detected_in_time() {
        passes(
            &oracle("oracle = \"detects_outage_within\"\nseconds = 25"),
            &t(84_000),
        );
    }

    #[test]
    fn names_the_fault_and_the_late_down() {
        let f = failures(
            &oracle("oracle = \"detects_outage_within\"\nseconds = 25"),
            &t(110_000),
        );
        assert_eq!(
            f[0].message,
            "silent fault link_blackhole at 60.000s: no DUT down within 25s (first down at 110.000s)"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn observer_link_faults_are_not_judged() {
        let t = trace(vec![
            (0, Dut, Up),
            (
                60_000,
                Faults,
                Fault {
                    kind: s("link_blackhole"),
                    detail: s("link=observer"),
                },
            ),
            run_end(200_000),
        ]);
        let o = oracle("oracle = \"detects_outage_within\"\nseconds = 25");
        assert!(matches!(
            o.check(&super::Trace::new(&t)),
            super::Outcome::Inconclusive(_)
        ));
    }
}
