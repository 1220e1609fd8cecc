//! `connect_error_mentions{text}`: a failed connection says why (T1: an
//! expired certificate or an unknown CA is a clear connect error, not a
//! bare "connection failed"). At least one failed attempt of the DUT
//! (`connect_failed`) or failed application `connect()` mentions `text`
//! (case-insensitive), and so does every error an application `connect()`
//! returned.

use super::{Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectErrorMentions {
    pub text: String,
}

impl OracleSpec for ConnectErrorMentions {
    const NAME: &'static str = "connect_error_mentions";
    const FIELDS: &'static [&'static str] = &["text"];
    const SUMMARY: &'static str =
        "failed connects say why: one mentions `text`, and every connect() error does";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let text: String = f.req("text")?;
        if text.trim().is_empty() {
            return Err(f.invalid("text", "must not be empty"));
        }
        Ok(ConnectErrorMentions { text })
    }

    fn params(&self) -> String {
        format!("text={:?}", self.text)
    }

    fn needs_why(&self) -> &'static str {
        "the error text the driver and the application's `connect()` gave; the wire shows only a CONNACK code or a closed connection"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let want = self.text.to_lowercase();
        let says = |s: &str| s.to_lowercase().contains(&want);
        let mut seen = false;
        let mut failures = Vec::new();
        for (i, r) in t.iter() {
            match (&r.actor, &r.event) {
                (Actor::Dut, Event::ConnectFailed { reason }) => seen |= says(reason),
                (
                    Actor::App,
                    Event::AppConnectDone {
                        ok: false,
                        error: Some(e),
                    },
                ) => {
                    if says(e) {
                        seen = true;
                    } else {
                        failures.push(Failure::new(
                            format!(
                                "connect() failed with {e:?}, which does not mention {:?}",
                                self.text
                            ),
                            vec![t.r(i)],
                        ));
                    }
                }
                _ => {}
            }
        }
        if !seen && failures.is_empty() {
            failures.push(Failure::new(
                format!("no failed connection attempt mentions {:?}", self.text),
                vec![],
            ));
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn o() -> super::super::Oracle {
        oracle("oracle = \"connect_error_mentions\"\ntext = \"expired\"")
    }

    fn app_error(e: &str) -> crate::trace::Event {
        AppConnectDone {
            ok: false,
            error: Some(s(e)),
        }
    }

    #[test]
    fn a_clear_error_passes() {
        let t = trace(vec![
            (0, App, AppConnectStart),
            (0, Dut, Connecting { attempt: 1 }),
            (
                40,
                Dut,
                ConnectFailed {
                    reason: s("TLS handshake rejected: invalid peer certificate: Expired"),
                },
            ),
            (40, App, app_error("TLS handshake rejected: Expired")),
            run_end(1_000),
        ]);
        passes(&o(), &t);
    }

    #[test]
    fn a_vague_error_or_none_fails() {
        let t = trace(vec![
            (0, App, AppConnectStart),
            (40, App, app_error("connection failed")),
            run_end(1_000),
        ]);
        let f = failures(&o(), &t);
        assert!(f[0].message.contains("does not mention"), "{f:?}");
        let t = trace(vec![(0, Dut, Connecting { attempt: 1 }), run_end(1_000)]);
        let f = failures(&o(), &t);
        assert!(
            f[0].message.contains("no failed connection attempt"),
            "{f:?}"
        );
    }
}
