//! `detects_outage_within{seconds, faults}`: after a silent fault starts
//! (one whose kind is silent: `link_blackhole`, `broker_power_loss`,
//! `broker_hang`), the DUT gives its *down* notification within `seconds`
//! (D3, B4). With `faults = [...]` the listed kinds are judged instead, e.g.
//! `faults = ["broker_crash"], seconds = 1`: a broker that closes the socket
//! is noticed at once, by the reader, not at the next ping (B2).
//!
//! Not judged: a silent fault on the observer's link (`link=observer` in its
//! detail), one that starts while the DUT is already down, one that ends
//! before detection was due (and before the DUT noticed), and one whose
//! window runs past the end of the run.

use super::{fmt_seconds, seconds_field, secs, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fault::{Fault, KINDS};
use crate::scenario::fields::Fields;
use crate::scenario::network::Link;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct DetectsOutageWithin {
    pub ms: u64,
    /// The fault kinds judged; `None` = the silent ones.
    pub kinds: Option<Vec<String>>,
}

impl DetectsOutageWithin {
    fn judges(&self, kind: &str) -> bool {
        match &self.kinds {
            Some(k) => k.iter().any(|x| x == kind),
            None => Fault::is_silent(kind),
        }
    }
}

impl OracleSpec for DetectsOutageWithin {
    const NAME: &'static str = "detects_outage_within";
    const FIELDS: &'static [&'static str] = &["seconds", "faults"];
    const SUMMARY: &'static str =
        "the DUT reports *down* at most `seconds` after a silent fault (or one of `faults`) starts";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let ms = seconds_field(f, "seconds")?;
        let kinds: Option<Vec<String>> = f.opt("faults")?;
        if let Some(k) = &kinds {
            if k.is_empty() {
                return Err(f.invalid("faults", "must name at least one fault kind"));
            }
            if let Some(bad) = k.iter().find(|k| !KINDS.contains(&k.as_str())) {
                return Err(f.invalid(
                    "faults",
                    format!(
                        "unknown fault kind `{bad}`; the kinds are: {}",
                        KINDS.join(", ")
                    ),
                ));
            }
        }
        Ok(DetectsOutageWithin { ms, kinds })
    }

    fn params(&self) -> String {
        match &self.kinds {
            None => format!("seconds={}", fmt_seconds(self.ms)),
            Some(k) => format!("seconds={} faults={}", fmt_seconds(self.ms), k.join(",")),
        }
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        let on_dut = s.timeline.iter().any(|e| {
            self.judges(e.fault.kind())
                && !matches!(&e.fault, Fault::LinkBlackhole(b) if b.link == Link::Observer)
        });
        match (&self.kinds, on_dut) {
            (_, true) => Ok(()),
            (None, false) => Err("needs a silent fault on the DUT's side (link_blackhole, broker_power_loss, broker_hang)".into()),
            (Some(k), false) => Err(format!("needs a fault of a listed kind ({}) on the DUT's side", k.join(", "))),
        }
    }

    /// Judged from the DUT's connections and packets: black-box DUTs too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
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
            if !self.judges(kind) || detail.split(' ').any(|w| w == "link=observer") {
                continue;
            }
            let ts = t.records[i].t_ms;
            // The state before this record (a down at the same millisecond,
            // after it in the trace, is the detection, not a prior state).
            if updown
                .iter()
                .rev()
                .find(|(j, _, _)| *j < i)
                .is_none_or(|s| !s.2)
            {
                continue; // already down (or never up)
            }
            let deadline = ts + self.ms;
            let down = updown.iter().find(|(j, _, up)| !*up && *j > i);
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
                    "fault {kind} at {}: no DUT down within {}s ({when})",
                    secs(ts),
                    fmt_seconds(self.ms)
                ),
                events,
            ));
        }
        if judged == 0 {
            return Outcome::Inconclusive("no judged fault hit the DUT while it was up".into());
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
            "fault link_blackhole at 60.000s: no DUT down within 25s (first down at 110.000s)"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    /// B2: with `faults = ["broker_crash"]` a crash is judged (and a silent
    /// fault is not); the down must come within the limit.
    #[test]
    fn listed_kinds_are_judged_instead_of_the_silent_ones() {
        use super::super::{OracleSpec, Outcome, Trace};
        let o = super::DetectsOutageWithin {
            ms: 1_000,
            kinds: Some(vec![s("broker_crash")]),
        };
        let crash = |down_at: u64| {
            trace(vec![
                (0, Dut, Up),
                (
                    60_000,
                    Faults,
                    Fault {
                        kind: s("broker_crash"),
                        detail: s(""),
                    },
                ),
                (down_at, Dut, Down),
                run_end(200_000),
            ])
        };
        assert_eq!(o.check(&Trace::new(&crash(60_010))), Outcome::Pass);
        match o.check(&Trace::new(&crash(85_000))) {
            Outcome::Fail(f) => assert!(f[0].message.starts_with("fault broker_crash at 60.000s")),
            other => panic!("{other:?}"),
        }
        // The blackhole of `t` is not a listed kind: nothing to judge.
        assert!(matches!(
            o.check(&Trace::new(&t(110_000))),
            Outcome::Inconclusive(_)
        ));
        assert_eq!(o.params(), "seconds=1 faults=broker_crash");
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
