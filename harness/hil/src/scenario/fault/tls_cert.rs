//! `tls_cert`: the broker presents `cert` (`valid`, `expired`, `other_ca`,
//! `wrong_name`) to new TLS handshakes: a certificate rotation gone wrong,
//! or fixed. With `for`, the certificate `[tls]` names comes back after it
//! (the disruption ends then); without, the change stays. Connections
//! already up keep theirs, so it is usually paired with a broker restart. A
//! rejected certificate must give a clear error and no retry storm (T1).
//! Needs `[tls]`.

use super::{positive, quoted, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::tls::BrokerCert;

#[derive(Debug, Clone, PartialEq)]
pub struct TlsCert {
    pub cert: BrokerCert,
    pub r#for: Option<Dur>,
}

impl FaultSpec for TlsCert {
    const KIND: &'static str = "tls_cert";
    const FIELDS: &'static [&'static str] = &["cert", "for"];
    const SUMMARY: &'static str =
        "the broker presents `cert` (valid, expired, other_ca, wrong_name) to new TLS handshakes, for `for` if given (needs [tls])";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let cert = f.req("cert")?;
        let d: Option<Dur> = f.opt("for")?;
        Ok(TlsCert {
            cert,
            r#for: positive(f, "for", d)?,
        })
    }

    fn detail(&self) -> String {
        words(&[
            ("cert", Some(self.cert.to_string())),
            ("for", self.r#for.map(|d| d.to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("cert", Some(quoted(self.cert))),
            ("for", self.r#for.map(quoted)),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::TlsCert(Some(self.cert)));
        match self.r#for {
            Some(d) => {
                x.act(d, Action::TlsCert(None));
                x.ends_at(d);
            }
            None => x.ends_at(Dur::ZERO),
        }
    }
}
