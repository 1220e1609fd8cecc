//! `attempts_end_within{seconds}`: every connection attempt of the DUT
//! (`connecting`) ends, connected or failed, within `seconds` (C3, T1: a TLS
//! handshake or a CONNACK that never comes is given up after
//! `response_time`, never waited on forever). An attempt still open when
//! the run ends is judged against the end of the run.

use super::{fmt_seconds, seconds_field, secs, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct AttemptsEndWithin {
    pub ms: u64,
}

impl OracleSpec for AttemptsEndWithin {
    const NAME: &'static str = "attempts_end_within";
    const FIELDS: &'static [&'static str] = &["seconds"];
    const SUMMARY: &'static str =
        "every connection attempt ends (connected or failed) within `seconds`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(AttemptsEndWithin {
            ms: seconds_field(f, "seconds")?,
        })
    }

    fn params(&self) -> String {
        format!("seconds={}", fmt_seconds(self.ms))
    }

    /// Judged from the DUT's connections and packets: black-box DUTs too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let mut failures = Vec::new();
        let mut open: Option<usize> = None;
        let mut attempts = 0u64;
        let judge = |failures: &mut Vec<Failure>, s: usize, end: Option<usize>, at: u64| {
            let ts = t.records[s].t_ms;
            if at.saturating_sub(ts) > self.ms {
                let (what, refs) = match end {
                    Some(e) => (format!("ended {} ms later", at - ts), vec![t.r(s), t.r(e)]),
                    None => ("had not ended".to_string(), vec![t.r(s)]),
                };
                failures.push(Failure::new(
                    format!(
                        "the connection attempt at {} {what} (limit {}s)",
                        secs(ts),
                        fmt_seconds(self.ms)
                    ),
                    refs,
                ));
            }
        };
        for (i, e) in t.of(Actor::Dut) {
            match e {
                Event::Connecting { .. } => {
                    attempts += 1;
                    if let Some(s) = open.replace(i) {
                        judge(&mut failures, s, None, t.records[i].t_ms);
                    }
                }
                Event::Connected { .. } | Event::ConnectFailed { .. } => {
                    if let Some(s) = open.take() {
                        judge(&mut failures, s, Some(i), t.records[i].t_ms);
                    }
                }
                _ => {}
            }
        }
        if let Some(s) = open {
            judge(&mut failures, s, None, t.end_ms());
        }
        if attempts == 0 {
            return Outcome::Inconclusive("the DUT made no connection attempt".into());
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn o() -> super::super::Oracle {
        oracle("oracle = \"attempts_end_within\"\nseconds = 10")
    }

    #[test]
    fn attempts_given_up_in_time_pass() {
        let t = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (
                10_000,
                Dut,
                ConnectFailed {
                    reason: s("timed out"),
                },
            ),
            (15_000, Dut, Connecting { attempt: 2 }),
            (
                15_100,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            run_end(60_000),
        ]);
        passes(&o(), &t);
    }

    #[test]
    fn a_slow_or_endless_attempt_fails() {
        let t = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (
                12_000,
                Dut,
                ConnectFailed {
                    reason: s("timed out"),
                },
            ),
            (20_000, Dut, Connecting { attempt: 2 }),
            run_end(60_000),
        ]);
        let f = failures(&o(), &t);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].message.contains("ended 12000 ms later"), "{f:?}");
        assert!(f[1].message.contains("had not ended"), "{f:?}");
    }
}
