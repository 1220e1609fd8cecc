//! `no_reconnect_after_disconnect`: after the application calls
//! `disconnect()` the driver stops reconnecting (O3): no `connecting` until
//! the DUT reboots.

use super::{secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct NoReconnectAfterDisconnect;

impl OracleSpec for NoReconnectAfterDisconnect {
    const NAME: &'static str = "no_reconnect_after_disconnect";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str =
        "after the application's disconnect() the driver never tries to connect";

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(NoReconnectAfterDisconnect)
    }

    fn params(&self) -> String {
        String::new()
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.workload.disconnect_at.is_none() {
            return Err("needs `workload.disconnect_at`".into());
        }
        Ok(())
    }

    fn needs_why(&self) -> &'static str {
        "when the application called `disconnect()` (`app_disconnect`); a DISCONNECT on the wire does not say the application meant to stop"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let mut since: Option<usize> = None;
        let mut seen = false;
        let mut failures = Vec::new();
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::App, Event::AppDisconnect) => {
                    since = Some(i);
                    seen = true;
                }
                (Actor::Faults, Event::Fault { kind, .. })
                    if crate::scenario::fault::Fault::reboots(kind) =>
                {
                    since = None
                }
                (Actor::Dut, Event::Connecting { .. }) => {
                    if let Some(d) = since {
                        failures.push(Failure::new(
                            format!(
                                "connection attempt at {} after disconnect() at {}",
                                secs(r.t_ms),
                                secs(t.records[d].t_ms)
                            ),
                            vec![t.r(d), t.r(i)],
                        ));
                    }
                }
                _ => {}
            }
        }
        if !seen {
            return Outcome::Inconclusive("the application never called disconnect()".into());
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    #[test]
    fn passes_when_quiet_after_disconnect() {
        let t = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (50, App, AppDisconnect),
            run_end(1000),
        ]);
        passes(&oracle("oracle = \"no_reconnect_after_disconnect\""), &t);
    }

    #[test]
    fn names_the_disconnect_and_the_attempt() {
        let t = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (50, App, AppDisconnect),
            (900, Dut, Connecting { attempt: 1 }),
            run_end(1000),
        ]);
        let f = failures(&oracle("oracle = \"no_reconnect_after_disconnect\""), &t);
        assert_eq!(
            f[0].message,
            "connection attempt at 0.900s after disconnect() at 0.050s"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}
