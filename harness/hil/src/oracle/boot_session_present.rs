//! `boot_session_present{present}`: the first connection after each boot
//! (the start of the run, and every `dut_reboot`) reports
//! `session_present = present` (K4: with `clean_init = true` a device that
//! rebooted starts clean, discarding a stale session; with both `clean_init`
//! and `clean` false it resumes the old one).

use super::{secs, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct BootSessionPresent {
    pub present: bool,
}

impl OracleSpec for BootSessionPresent {
    const NAME: &'static str = "boot_session_present";
    const FIELDS: &'static [&'static str] = &["present"];
    const SUMMARY: &'static str =
        "the first connection after each boot (run start, dut_reboot) has session_present = `present`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(BootSessionPresent {
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
        let mut boot: Option<usize> = Some(0);
        let mut judged = 0;
        let mut failures = Vec::new();
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::Faults, Event::Fault { kind, .. })
                    if crate::scenario::fault::Fault::reboots(kind) =>
                {
                    boot = Some(i)
                }
                (
                    Actor::Dut,
                    Event::Connected {
                        session_present, ..
                    },
                ) => {
                    if let Some(b) = boot.take() {
                        judged += 1;
                        if *session_present != self.present {
                            failures.push(Failure::new(
                                format!(
                                    "first connection after the boot at {} had session_present={}, expected {}",
                                    secs(t.records[b].t_ms),
                                    session_present,
                                    self.present
                                ),
                                vec![t.r(b), t.r(i)],
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if judged == 0 {
            return Outcome::Inconclusive("the DUT never connected".into());
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn t(after_reboot: bool) -> Vec<crate::trace::Record> {
        trace(vec![
            (
                0,
                Harness,
                RunStart {
                    scenario: s("x"),
                    seed: 1,
                    backend: s("sim"),
                },
            ),
            (
                100,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            (
                5000,
                Faults,
                Fault {
                    kind: s("dut_reboot"),
                    detail: s(""),
                },
            ),
            (
                9000,
                Dut,
                Connected {
                    session_present: after_reboot,
                    keepalive_s: 60,
                },
            ),
            (
                20000,
                Dut,
                Connected {
                    session_present: true,
                    keepalive_s: 60,
                },
            ),
            run_end(30_000),
        ])
    }

    #[test]
    fn passes_a_clean_boot() {
        passes(
            &oracle("oracle = \"boot_session_present\"\npresent = false"),
            &t(false),
        );
    }

    #[test]
    fn names_the_reboot_and_the_stale_session() {
        let f = failures(
            &oracle("oracle = \"boot_session_present\"\npresent = false"),
            &t(true),
        );
        assert_eq!(
            f[0].message,
            "first connection after the boot at 5.000s had session_present=true, expected false"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![2, 3]
        );
    }
}
