//! `connect_returns_within{seconds, first}`: every `connect()` call by the
//! application returns within `seconds` (K1: the first connect reports an
//! error instead of hanging or retrying by itself). With `first = "ok"` or
//! `first = "error"`, the first call must also end that way.

use serde::Deserialize;

use super::{fmt_seconds, seconds_field, secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

/// The expected result of the first `connect()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    Ok,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectReturnsWithin {
    pub ms: u64,
    pub first: Option<Expected>,
}

impl OracleSpec for ConnectReturnsWithin {
    const NAME: &'static str = "connect_returns_within";
    const FIELDS: &'static [&'static str] = &["seconds", "first"];
    const SUMMARY: &'static str =
        "every application connect() returns within `seconds`; optional `first` = \"ok\" | \"error\"";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(ConnectReturnsWithin {
            ms: seconds_field(f, "seconds")?,
            first: f.opt("first")?,
        })
    }

    fn params(&self) -> String {
        let mut p = format!("seconds={}", fmt_seconds(self.ms));
        if let Some(e) = self.first {
            p.push_str(if e == Expected::Ok {
                " first=ok"
            } else {
                " first=error"
            });
        }
        p
    }

    fn needs_why(&self) -> &'static str {
        "when the application's `connect()` call returned (`app_connect_start`, `app_connect_done`)"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let end = t.end_ms();
        let mut failures = Vec::new();
        let mut calls = 0;
        let mut open: Option<usize> = None;
        let mut first_checked = false;
        let judge_open = |failures: &mut Vec<Failure>, s: usize, until: u64| {
            let ts = t.records[s].t_ms;
            if until.saturating_sub(ts) > self.ms {
                failures.push(Failure::new(
                    format!(
                        "connect() called at {} had not returned {}s later",
                        secs(ts),
                        fmt_seconds(self.ms)
                    ),
                    vec![t.r(s)],
                ));
            }
        };
        for (i, e) in t.of(Actor::App) {
            match e {
                Event::AppConnectStart => {
                    calls += 1;
                    if let Some(s) = open.take() {
                        judge_open(&mut failures, s, t.records[i].t_ms);
                    }
                    open = Some(i);
                }
                Event::AppConnectDone { ok, error } => {
                    let Some(s) = open.take() else { continue };
                    let (ts, td) = (t.records[s].t_ms, t.records[i].t_ms);
                    if td - ts > self.ms {
                        failures.push(Failure::new(
                            format!("connect() took {} ms (> {} ms)", td - ts, self.ms),
                            vec![t.r(s), t.r(i)],
                        ));
                    }
                    if !first_checked {
                        first_checked = true;
                        let got = if *ok { Expected::Ok } else { Expected::Error };
                        if let Some(want) = self.first.filter(|w| *w != got) {
                            let how = match error {
                                Some(e) => format!("failed: {e}"),
                                None => "succeeded".to_string(),
                            };
                            failures.push(Failure::new(
                                format!(
                                    "the first connect() {how}; expected {}",
                                    if want == Expected::Ok {
                                        "success"
                                    } else {
                                        "an error"
                                    }
                                ),
                                vec![t.r(s), t.r(i)],
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(s) = open {
            judge_open(&mut failures, s, end);
        }
        if calls == 0 {
            return Outcome::Fail(vec![Failure::new(
                "the application never called connect()",
                vec![],
            )]);
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    #[test]
    fn passes_a_prompt_error() {
        let t = trace(vec![
            (0, App, AppConnectStart),
            (
                5_000,
                App,
                AppConnectDone {
                    ok: false,
                    error: Some(s("connection refused")),
                },
            ),
            run_end(60_000),
        ]);
        passes(
            &oracle("oracle = \"connect_returns_within\"\nseconds = 10\nfirst = \"error\""),
            &t,
        );
    }

    #[test]
    fn names_a_hanging_connect() {
        let t = trace(vec![
            (0, App, AppConnectStart),
            (100, Dut, Connecting { attempt: 1 }),
            run_end(60_000),
        ]);
        let f = failures(
            &oracle("oracle = \"connect_returns_within\"\nseconds = 10"),
            &t,
        );
        assert_eq!(
            f[0].message,
            "connect() called at 0.000s had not returned 10s later"
        );
        assert_eq!(f[0].events[0].index, 0);
    }

    #[test]
    fn names_a_wrong_first_result() {
        let t = trace(vec![
            (0, App, AppConnectStart),
            (
                50,
                App,
                AppConnectDone {
                    ok: true,
                    error: None,
                },
            ),
            run_end(100),
        ]);
        let f = failures(
            &oracle("oracle = \"connect_returns_within\"\nseconds = 10\nfirst = \"error\""),
            &t,
        );
        assert_eq!(
            f[0].message,
            "the first connect() succeeded; expected an error"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![0, 1]
        );
    }
}
