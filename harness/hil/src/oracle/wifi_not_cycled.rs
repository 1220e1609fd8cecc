//! `wifi_not_cycled`: the DUT's WiFi goes down only when a WiFi fault takes
//! it down. A broker outage with WiFi up must not make the driver cycle its
//! WiFi (B3: `mqtt_as` treats every outage as a WiFi reconnect, with a 5 s
//! integrity check, so its retry cycle is at least 7 s).
//!
//! A DUT `wifi_down` is allowed inside the window of a `wifi_*` fault (from
//! its `fault` to its `fault_end`, or to the end of the run without one);
//! any other is a failure.

use super::{secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct WifiNotCycled;

impl OracleSpec for WifiNotCycled {
    const NAME: &'static str = "wifi_not_cycled";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str =
        "the DUT's WiFi goes down only inside wifi_* faults (a broker outage does not cycle WiFi)";

    fn parse(_f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(WifiNotCycled)
    }

    fn params(&self) -> String {
        String::new()
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.timeline
            .iter()
            .any(|e| e.fault.kind().starts_with("broker_") || e.fault.kind().starts_with("link_"))
        {
            Ok(())
        } else {
            Err("needs a broker or link fault (an outage with WiFi up)".into())
        }
    }

    fn needs_why(&self) -> &'static str {
        "the driver's view of its WiFi (`wifi_up`, `wifi_down`); the wire shows connections, not the link"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let end = t.end_ms();
        // (start, end) of every wifi fault.
        let mut windows: Vec<(u64, u64)> = Vec::new();
        for (i, e) in t.of(Actor::Faults) {
            let Event::Fault { kind, .. } = e else {
                continue;
            };
            if !kind.starts_with("wifi_") {
                continue;
            }
            let start = t.records[i].t_ms;
            let stop = t.records[i + 1..]
                .iter()
                .find(|r| {
                    r.actor == Actor::Faults
                        && matches!(&r.event, Event::FaultEnd { kind: k } if k == kind)
                })
                .map_or(end, |r| r.t_ms);
            windows.push((start, stop));
        }
        let mut failures = Vec::new();
        for (i, e) in t.of(Actor::Dut) {
            if !matches!(e, Event::WifiDown) {
                continue;
            }
            let ti = t.records[i].t_ms;
            if !windows.iter().any(|(a, b)| (*a..=*b).contains(&ti)) {
                failures.push(Failure::new(
                    format!(
                        "the DUT took its WiFi down at {} with no WiFi fault in force",
                        secs(ti)
                    ),
                    vec![t.r(i)],
                ));
            }
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn o() -> super::super::Oracle {
        oracle("oracle = \"wifi_not_cycled\"")
    }

    #[test]
    fn wifi_down_under_a_wifi_fault_passes() {
        let t = trace(vec![
            (0, Dut, WifiUp),
            (
                10_000,
                Faults,
                Fault {
                    kind: s("wifi_down"),
                    detail: s("for=1m"),
                },
            ),
            (10_000, Dut, WifiDown),
            (
                70_000,
                Faults,
                FaultEnd {
                    kind: s("wifi_down"),
                },
            ),
            (70_000, Dut, WifiUp),
            run_end(100_000),
        ]);
        passes(&o(), &t);
    }

    #[test]
    fn a_wifi_cycle_during_a_broker_outage_fails() {
        let t = trace(vec![
            (0, Dut, WifiUp),
            (
                10_000,
                Faults,
                Fault {
                    kind: s("broker_crash"),
                    detail: s(""),
                },
            ),
            (10_000, Dut, Down),
            (10_050, Dut, WifiDown),
            (10_100, Dut, WifiUp),
            run_end(100_000),
        ]);
        let f = failures(&o(), &t);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("at 10.050s"), "{f:?}");
    }
}
