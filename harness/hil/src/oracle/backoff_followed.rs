//! `backoff_followed{tolerance}`: the DUT spaces its reconnection attempts
//! as its backoff is configured (D4 beyond), delay by delay, not only in
//! number: after its `n`th failed attempt in a row, the next attempt
//! starts after `base(n) = min(backoff.min x 2^(n-1), backoff.max)`
//! shortened by at most `backoff.jitter x base(n)`, and after a refused
//! CONNACK or a rejected TLS certificate no sooner than `backoff.refused`;
//! each ± `tolerance` (default 0.1 s). The backoff is the scenario's
//! `[dut] backoff`.
//!
//! Judged: each `connecting {attempt = n}`, `connect_failed`, `connecting
//! {attempt = n + 1}` sequence with the WiFi up throughout (a DUT waiting
//! for its link does not back off) and no reboot in between. A run whose
//! attempts all wait the full base delay when `jitter > 0` is not an error
//! here (jitter draws may be small), but every delay must lie in its range.

use super::Evidence;
use super::{fmt_seconds, secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::dut::{Backoff, DutConfig};
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct BackoffFollowed {
    pub tolerance_ms: u64,
    /// The scenario's `[dut] backoff`.
    pub backoff: Backoff,
}

impl BackoffFollowed {
    /// The allowed delay after the `n`th failure in a row: (least, most).
    fn range(&self, n: u32, refused: bool) -> (u64, u64) {
        let b = &self.backoff;
        let exp = n.saturating_sub(1).min(20);
        let base = b
            .min
            .as_millis()
            .saturating_mul(1u64 << exp)
            .min(b.max.as_millis());
        let least = (base as f64 * (1.0 - b.jitter)).floor() as u64;
        if refused {
            let r = b.refused.as_millis();
            (least.max(r), base.max(r))
        } else {
            (least, base)
        }
    }
}

/// Whether a `connect_failed` reason is one the driver waits
/// `backoff.refused` after: a refusal in the broker's CONNACK (its
/// `ConnectError::Refused*` text) or a TLS certificate it rejected (its
/// TLS transport's text).
fn is_refusal(reason: &str) -> bool {
    reason.starts_with("broker refused the connection") || reason.contains("TLS handshake rejected")
}

impl OracleSpec for BackoffFollowed {
    const NAME: &'static str = "backoff_followed";
    const FIELDS: &'static [&'static str] = &["tolerance"];
    const SUMMARY: &'static str =
        "each reconnection delay lies in the range `[dut] backoff` gives it (min x 2^n up to max, less jitter; refused), ± `tolerance`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(BackoffFollowed {
            tolerance_ms: f.opt::<Dur>("tolerance")?.map_or(100, |d| d.as_millis()),
            backoff: Backoff::default(),
        })
    }

    fn configure(&mut self, dut: &DutConfig) {
        self.backoff = dut.backoff;
    }

    fn params(&self) -> String {
        let b = &self.backoff;
        format!(
            "tolerance={} min={} max={} jitter={} refused={}",
            Dur::from_millis(self.tolerance_ms),
            b.min,
            b.max,
            b.jitter,
            b.refused
        )
    }

    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let mut failures = Vec::new();
        let mut judged = 0usize;
        // The last attempt: (its number, and the failure that ended it).
        let mut attempt: Option<u32> = None;
        let mut failed: Option<(usize, bool)> = None;
        let mut wifi_up = true;
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::Faults, Event::Fault { kind, .. })
                    if crate::scenario::fault::Fault::reboots(kind) =>
                {
                    attempt = None;
                    failed = None;
                }
                (Actor::Dut, Event::WifiDown) => {
                    wifi_up = false;
                    failed = None;
                }
                (Actor::Dut, Event::WifiUp) => wifi_up = true,
                (Actor::Dut, Event::ConnectFailed { reason }) => {
                    failed = attempt.map(|_| (i, is_refusal(reason)));
                }
                (Actor::Dut, Event::Connecting { attempt: n }) => {
                    if let (Some(prev), Some((fi, refused)), true) = (attempt, failed, wifi_up) {
                        if *n == prev + 1 {
                            judged += 1;
                            let waited = r.t_ms - t.records[fi].t_ms;
                            let (least, most) = self.range(prev, refused);
                            let tol = self.tolerance_ms;
                            if waited + tol < least || waited > most + tol {
                                failures.push(Failure::new(
                                    format!(
                                        "attempt {n} at {} came {}s after attempt {prev} failed; the backoff allows {}s to {}s{}",
                                        secs(r.t_ms),
                                        fmt_seconds(waited),
                                        fmt_seconds(least),
                                        fmt_seconds(most),
                                        if refused { " (after a refusal)" } else { "" }
                                    ),
                                    vec![t.r(fi), t.r(i)],
                                ));
                            }
                        }
                    }
                    attempt = Some(*n);
                    failed = None;
                }
                (Actor::Dut, Event::Connected { .. }) => {
                    attempt = None;
                    failed = None;
                }
                _ => {}
            }
        }
        if judged == 0 {
            return Outcome::Inconclusive(
                "no failed attempt followed by the driver's next one with the link up".into(),
            );
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn attempts(times: &[(u64, u64)]) -> Vec<crate::trace::Record> {
        let mut v = Vec::new();
        for (n, &(start, fail)) in times.iter().enumerate() {
            v.push((
                start,
                Dut,
                Connecting {
                    attempt: n as u32 + 1,
                },
            ));
            v.push((
                fail,
                Dut,
                ConnectFailed {
                    reason: s("transport: connection refused"),
                },
            ));
        }
        v.push(run_end(100_000));
        trace(v)
    }

    /// Defaults: 0.5 s, 1 s, 2 s, 4 s, 5 s... each less up to 25 %.
    #[test]
    fn passes_when_each_delay_is_in_range() {
        let o = oracle("oracle = \"backoff_followed\"");
        let t = attempts(&[(0, 100), (550, 600), (1_500, 1_600), (3_200, 3_300)]);
        passes(&o, &t);
    }

    #[test]
    fn fails_on_a_fixed_spacing() {
        // A retry every 500 ms looks fine to a count, not to the backoff.
        let o = oracle("oracle = \"backoff_followed\"");
        let t = attempts(&[(0, 100), (600, 700), (1_200, 1_300), (1_800, 1_900)]);
        let f = failures(&o, &t);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            f[0].message,
            "attempt 3 at 1.200s came 0.5s after attempt 2 failed; the backoff allows 0.75s to 1s"
        );
    }

    #[test]
    fn a_refusal_waits_the_refused_delay() {
        let o = oracle("oracle = \"backoff_followed\"");
        let t = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (
                100,
                Dut,
                ConnectFailed {
                    reason: s("broker refused the connection: bad user name or password"),
                },
            ),
            (700, Dut, Connecting { attempt: 2 }),
            run_end(1_000),
        ]);
        let f = failures(&o, &t);
        assert!(
            f[0].message
                .ends_with("allows 30s to 30s (after a refusal)"),
            "{}",
            f[0]
        );
        // A rejected TLS certificate waits as long.
        let tls = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (
                100,
                Dut,
                ConnectFailed {
                    reason: s("transport: invalid data (TLS handshake rejected: expired)"),
                },
            ),
            (30_100, Dut, Connecting { attempt: 2 }),
            run_end(31_000),
        ]);
        passes(&o, &tls);
    }

    #[test]
    fn a_wifi_outage_is_not_judged() {
        let o = oracle("oracle = \"backoff_followed\"");
        let t = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (100, Dut, ConnectFailed { reason: s("x") }),
            (200, Dut, WifiDown),
            (9_000, Dut, WifiUp),
            (9_100, Dut, Connecting { attempt: 2 }),
            run_end(10_000),
        ]);
        let out = o.check(&crate::oracle::Trace::new(&t));
        assert!(
            matches!(out, crate::oracle::Outcome::Inconclusive(_)),
            "{out:?}"
        );
    }
}
