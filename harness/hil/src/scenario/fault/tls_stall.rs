//! `tls_stall`: for `for`, every TLS handshake the broker receives stalls
//! right after its first record (the ServerHello): the socket stays open and
//! nothing more comes. The DUT must give the attempt up within its
//! `response_time` and try again after its backoff, with no leak (T1).
//! Connections already up are not touched. Needs `[tls]`.

use super::{quoted, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct TlsStall {
    pub r#for: Dur,
}

impl FaultSpec for TlsStall {
    const KIND: &'static str = "tls_stall";
    const FIELDS: &'static [&'static str] = &["for"];
    const SUMMARY: &'static str =
        "for `for`, the broker's TLS handshakes stall after the ServerHello (needs [tls])";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let d: Dur = f.req("for")?;
        if d.is_zero() {
            return Err(f.invalid("for", "must be greater than zero"));
        }
        Ok(TlsStall { r#for: d })
    }

    fn detail(&self) -> String {
        words(&[("for", Some(self.r#for.to_string()))])
    }

    fn toml(&self) -> String {
        toml_lines(&[("for", Some(quoted(self.r#for)))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::TlsStall);
        x.act(self.r#for, Action::TlsUnstall);
        x.ends_at(self.r#for);
    }
}
