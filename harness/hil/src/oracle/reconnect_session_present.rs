//! `reconnect_session_present{present}`: every reconnection of the DUT
//! after a lost connection (not the first connection after a boot, which
//! `boot_session_present` judges) reports `session_present = present`.
//! With a kept session (3.1.1 `clean = false`, MQTT 5 `clean = false` and
//! `session_expiry > 0`) and a broker that kept it, that is `true`; a
//! broker or DUT that let the session end gives `false`.

use super::{secs, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectSessionPresent {
    pub present: bool,
}

impl OracleSpec for ReconnectSessionPresent {
    const NAME: &'static str = "reconnect_session_present";
    const FIELDS: &'static [&'static str] = &["present"];
    const SUMMARY: &'static str =
        "every reconnection after a lost connection has session_present = `present`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(ReconnectSessionPresent {
            present: f.req("present")?,
        })
    }

    fn params(&self) -> String {
        format!("present={}", self.present)
    }

    /// Judged from the DUT's connections and packets: black-box DUTs too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        // The connection_lost a reconnection follows; a boot resets it.
        let mut lost: Option<usize> = None;
        let mut judged = 0;
        let mut failures = Vec::new();
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::Faults, Event::Fault { kind, .. })
                    if crate::scenario::fault::Fault::reboots(kind) =>
                {
                    lost = None
                }
                (Actor::Dut, Event::ConnectionLost { .. }) => lost = lost.or(Some(i)),
                (
                    Actor::Dut,
                    Event::Connected {
                        session_present, ..
                    },
                ) => {
                    if let Some(l) = lost.take() {
                        judged += 1;
                        if *session_present != self.present {
                            failures.push(Failure::new(
                                format!(
                                    "the reconnection after the connection lost at {} had session_present={}, expected {}",
                                    secs(t.records[l].t_ms),
                                    session_present,
                                    self.present
                                ),
                                vec![t.r(l), t.r(i)],
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if judged == 0 {
            return Outcome::Inconclusive(
                "the DUT never reconnected after a lost connection".into(),
            );
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn t(present_after: bool) -> Vec<crate::trace::Record> {
        trace(vec![
            (
                10,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            (
                500,
                Dut,
                ConnectionLost {
                    reason: s("closed by broker"),
                },
            ),
            (
                900,
                Dut,
                Connected {
                    session_present: present_after,
                    keepalive_s: 60,
                },
            ),
            run_end(1_000),
        ])
    }

    #[test]
    fn judges_reconnections_only() {
        let o = oracle("oracle = \"reconnect_session_present\"\npresent = true");
        passes(&o, &t(true));
        let f = failures(&o, &t(false));
        assert!(f[0].message.contains("lost at 0.500s"), "{f:?}");
    }
}
