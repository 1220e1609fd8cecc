//! `broker_refuse`: every new CONNECT is answered with CONNACK return code
//! `code` (1 = protocol version, 2 = identifier rejected, 3 = server
//! unavailable, 4 = bad user name or password, 5 = not authorised);
//! existing connections are untouched. For `for`, or until the end.

use super::{positive, quoted, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerRefuse {
    pub code: u8,
    pub r#for: Option<Dur>,
}

impl FaultSpec for BrokerRefuse {
    const KIND: &'static str = "broker_refuse";
    const FIELDS: &'static [&'static str] = &["code", "for"];
    const SUMMARY: &'static str =
        "new CONNECTs get CONNACK return code `code` (1-5); optional `for`, else until the end";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let code: i64 = f.req("code")?;
        if !(1..=5).contains(&code) {
            return Err(f.invalid(
                "code",
                format!("a CONNACK refusal code is 1 to 5, not {code}"),
            ));
        }
        let d = f.opt("for")?;
        Ok(BrokerRefuse {
            code: code as u8,
            r#for: positive(f, "for", d)?,
        })
    }

    fn detail(&self) -> String {
        words(&[
            ("code", Some(self.code.to_string())),
            ("for", self.r#for.map(|d| d.to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("code", Some(self.code.to_string())),
            ("for", self.r#for.map(quoted)),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::BrokerRefuse { code: self.code });
        if let Some(d) = self.r#for {
            x.act(d, Action::BrokerAccept);
            x.ends_at(d);
        }
    }
}
