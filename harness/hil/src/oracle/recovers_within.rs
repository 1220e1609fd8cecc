//! `recovers_within{seconds}`: after every disruption ends (`fault_end`),
//! the DUT is up (its last up/down notification is `up`) `seconds` later at
//! the latest (K3, D4).
//!
//! A device that connects only to publish (the wire view's
//! `disconnected_by_dut` after each message) recovered when it was up after
//! the disruption ended, even if it is between messages at the deadline.
//!
//! Not judged: a disruption whose window overlaps another disruption (one
//! still going on, or starting within the window, may legitimately keep the
//! DUT down), nor one whose window runs past the end of the run while the
//! DUT is still recovering. Disruptions are `fault`..`fault_end` intervals
//! of kinds that disrupt (not `wifi_up`, `link_restore`, `link_release`,
//! `broker_restart`, `latency`); one without a `fault_end` lasts to the end.

use super::{fmt_seconds, seconds_field, secs, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct RecoversWithin {
    pub ms: u64,
}

impl OracleSpec for RecoversWithin {
    const NAME: &'static str = "recovers_within";
    const FIELDS: &'static [&'static str] = &["seconds"];
    const SUMMARY: &'static str = "the DUT is up again at most `seconds` after each fault ends";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(RecoversWithin {
            ms: seconds_field(f, "seconds")?,
        })
    }

    fn params(&self) -> String {
        format!("seconds={}", fmt_seconds(self.ms))
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.schedule.ends().next().is_some() {
            Ok(())
        } else {
            Err("needs a fault in the timeline that ends (a `for`, a restore, a reboot...)".into())
        }
    }

    /// Judged from the DUT's connections and packets: black-box DUTs too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let end = t.end_ms();
        let updown = t.dut_updown();
        let intervals = t.disruptions();
        let mut failures = Vec::new();
        let mut judged = 0;
        for (i, e) in t.of(Actor::Faults) {
            let Event::FaultEnd { kind } = e else {
                continue;
            };
            let te = t.records[i].t_ms;
            let deadline = te + self.ms;
            if Trace::disrupted_besides(&intervals, i, te, deadline) {
                continue;
            }
            let judge_at = deadline.min(end);
            let state = t.dut_state_at(&updown, judge_at);
            if state.is_some_and(|s| s.2 || voluntarily_down_after_up(t, &updown, s.0, te)) {
                judged += 1;
                continue;
            }
            if deadline > end {
                continue; // still recovering when the run ended
            }
            judged += 1;
            let next_up = updown.iter().find(|(_, ti, up)| *up && *ti > deadline);
            let mut events = vec![t.r(i)];
            if let Some(s) = state {
                events.push(t.r(s.0));
            }
            let later = match next_up {
                Some(u) => {
                    events.push(t.r(u.0));
                    format!("up only at {}", secs(u.1))
                }
                None => "never up again".to_string(),
            };
            failures.push(Failure::new(
                format!(
                    "{kind} ended at {}; the DUT was still down {}s later ({later})",
                    secs(te),
                    fmt_seconds(self.ms)
                ),
                events,
            ));
        }
        if judged == 0 {
            return Outcome::Inconclusive("no fault ended with time left to judge recovery".into());
        }
        Outcome::from_failures(failures)
    }
}

/// A DUT that connects only to publish (`mosquitto_pub` in a loop) is down
/// between its messages by its own DISCONNECT: it recovered if it was up
/// after the disruption ended and the `down` at index `down` followed its
/// own DISCONNECT (`connection_lost` reason `disconnected_by_dut`, the wire
/// view's word for it).
fn voluntarily_down_after_up(
    t: &Trace<'_>,
    updown: &[(usize, u64, bool)],
    down: usize,
    ended: u64,
) -> bool {
    let voluntary = down > 0
        && matches!(&t.records[down - 1].event,
            Event::ConnectionLost { reason } if reason == "disconnected_by_dut");
    voluntary
        && updown
            .iter()
            .any(|&(i, ti, up)| up && ti >= ended && i < down)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn t(up_again: u64) -> Vec<crate::trace::Record> {
        trace(vec![
            (0, Dut, Up),
            (
                30_000,
                Faults,
                Fault {
                    kind: s("wifi_down"),
                    detail: s(""),
                },
            ),
            (30_000, Dut, Down),
            (
                60_000,
                Faults,
                Fault {
                    kind: s("wifi_up"),
                    detail: s(""),
                },
            ),
            (
                60_000,
                Faults,
                FaultEnd {
                    kind: s("wifi_down"),
                },
            ),
            (up_again, Dut, Up),
            run_end(200_000),
        ])
    }

    #[test]
    fn overlapping_disruptions_are_not_judged() {
        let t = trace(vec![
            (0, Dut, Up),
            (
                30_000,
                Faults,
                Fault {
                    kind: s("broker_refuse"),
                    detail: s("code=5 for=3m"),
                },
            ),
            (
                31_000,
                Faults,
                Fault {
                    kind: s("broker_crash"),
                    detail: s(""),
                },
            ),
            (31_000, Dut, Down),
            (
                32_000,
                Faults,
                Fault {
                    kind: s("broker_restart"),
                    detail: s("persist=true"),
                },
            ),
            (
                32_000,
                Faults,
                FaultEnd {
                    kind: s("broker_crash"),
                },
            ),
            (
                210_000,
                Faults,
                FaultEnd {
                    kind: s("broker_refuse"),
                },
            ),
            (240_000, Dut, Up),
            run_end(300_000),
        ]);
        passes(&oracle("oracle = \"recovers_within\"\nseconds = 40"), &t);
        let f = failures(&oracle("oracle = \"recovers_within\"\nseconds = 20"), &t);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message.starts_with("broker_refuse ended at 210.000s"),
            "{}",
            f[0]
        );
    }

    /// A device that disconnects by itself after each message (the wire
    /// view's `disconnected_by_dut`) recovered when it was up again in time.
    #[test]
    fn a_device_that_connects_per_message_recovers_by_its_next_message() {
        let mut t = t(200_000);
        let lost = |at| {
            (
                at,
                Dut,
                ConnectionLost {
                    reason: s("disconnected_by_dut"),
                },
            )
        };
        let extra = trace(vec![(62_000, Dut, Up), lost(62_100), (62_100, Dut, Down)]);
        t.splice(5..5, extra);
        passes(&oracle("oracle = \"recovers_within\"\nseconds = 20"), &t);
        // Up before the fault ended does not count.
        let early = trace(vec![
            (0, Dut, Up),
            (
                30_000,
                Faults,
                Fault {
                    kind: s("wifi_down"),
                    detail: s(""),
                },
            ),
            (59_000, Dut, Up),
            lost(59_500),
            (59_500, Dut, Down),
            (
                60_000,
                Faults,
                FaultEnd {
                    kind: s("wifi_down"),
                },
            ),
            run_end(200_000),
        ]);
        assert_eq!(
            failures(
                &oracle("oracle = \"recovers_within\"\nseconds = 20"),
                &early
            )
            .len(),
            1
        );
    }

    #[test]
    fn passes_when_up_in_time() {
        passes(
            &oracle("oracle = \"recovers_within\"\nseconds = 20"),
            &t(75_000),
        );
    }

    #[test]
    fn names_the_fault_end_and_the_late_up() {
        let f = failures(
            &oracle("oracle = \"recovers_within\"\nseconds = 20"),
            &t(95_000),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "wifi_down ended at 60.000s; the DUT was still down 20s later (up only at 95.000s)"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![4, 2, 5]
        );
    }
}
