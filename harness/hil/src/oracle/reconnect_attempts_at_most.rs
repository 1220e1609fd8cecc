//! `reconnect_attempts_at_most{n, window}`: no reconnect storm: in any
//! `window` of time there are at most `n` connection attempts
//! (`connecting`), first connect included (D4 beyond: backoff). A
//! connection the DUT opens after closing its last one with its own
//! DISCONNECT is a session it chose to start, not a reconnect, and is not
//! counted ([`super::chosen_connects`]).

use super::{count_field, secs, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectAttemptsAtMost {
    pub n: u64,
    pub window: Dur,
}

impl OracleSpec for ReconnectAttemptsAtMost {
    const NAME: &'static str = "reconnect_attempts_at_most";
    const FIELDS: &'static [&'static str] = &["n", "window"];
    const SUMMARY: &'static str =
        "at most `n` connection attempts in any `window` (no reconnect storm)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let n = count_field(f, "n")?;
        let window: Dur = f.req("window")?;
        if window.is_zero() {
            return Err(f.invalid("window", "must be greater than zero"));
        }
        Ok(ReconnectAttemptsAtMost { n, window })
    }

    fn params(&self) -> String {
        format!("n={} window={}", self.n, self.window)
    }

    /// Judged from the DUT's connections and packets: black-box DUTs too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let chosen = super::chosen_connects(t.records);
        let attempts: Vec<usize> = t
            .of(Actor::Dut)
            .filter(|(i, e)| matches!(e, Event::Connecting { .. }) && !chosen.contains(i))
            .map(|(i, _)| i)
            .collect();
        if attempts.is_empty() {
            return Outcome::Inconclusive("no connection attempt in the trace".into());
        }
        let n = self.n as usize;
        let w = self.window.as_millis();
        let mut failures = Vec::new();
        let mut k = 0;
        while k + n < attempts.len() {
            let a = attempts[k];
            let b = attempts[k + n];
            let (ta, tb) = (t.records[a].t_ms, t.records[b].t_ms);
            if tb - ta < w {
                failures.push(Failure::new(
                    format!(
                        "{} connection attempts within {} ms (from {} to {}), more than {} in {}",
                        n + 1,
                        tb - ta,
                        secs(ta),
                        secs(tb),
                        self.n,
                        self.window
                    ),
                    attempts[k..=k + n].iter().map(|&i| t.r(i)).collect(),
                ));
                // Report each storm once: skip past it.
                k += n + 1;
            } else {
                k += 1;
            }
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn attempts(times: &[u64]) -> Vec<crate::trace::Record> {
        let mut v: Vec<_> = times
            .iter()
            .map(|&t| (t, Dut, Connecting { attempt: 1 }))
            .collect();
        v.push(run_end(1_000_000));
        trace(v)
    }

    #[test]
    fn passes_with_backoff() {
        passes(
            &oracle("oracle = \"reconnect_attempts_at_most\"\nn = 3\nwindow = \"1m\""),
            &attempts(&[0, 30_000, 60_000, 90_000, 120_000]),
        );
    }

    #[test]
    fn names_the_attempts_of_a_storm() {
        let f = failures(
            &oracle("oracle = \"reconnect_attempts_at_most\"\nn = 2\nwindow = \"1m\""),
            &attempts(&[0, 100_000, 101_000, 102_000]),
        );
        assert_eq!(
            f[0].message,
            "3 connection attempts within 2000 ms (from 100.000s to 102.000s), more than 2 in 1m"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn sessions_the_dut_chose_to_start_are_not_reconnects() {
        // A client that connects once per message and ends each
        // connection with its own DISCONNECT: no storm, however often.
        let mut v = Vec::new();
        for k in 0..10u64 {
            v.push((k * 1_000, Dut, Connecting { attempt: 1 }));
            v.push((
                k * 1_000 + 10,
                Dut,
                ConnectionLost {
                    reason: "disconnected_by_dut".into(),
                },
            ));
        }
        v.push((20_000, Dut, Connecting { attempt: 1 }));
        v.push(run_end(1_000_000));
        let o = oracle("oracle = \"reconnect_attempts_at_most\"\nn = 2\nwindow = \"1m\"");
        passes(&o, &trace(v.clone()));
        // The same connections reset instead: a storm.
        for (_, _, e) in v.iter_mut() {
            if let ConnectionLost { reason } = e {
                *reason = "reset_by_dut".into();
            }
        }
        assert!(!failures(&o, &trace(v)).is_empty());
    }
}
