//! `broker_hang`: the broker stops answering for `for` (sockets stay open,
//! nothing is read or sent), like SIGSTOP then SIGCONT on mosquitto.

use super::{quoted, toml_lines, words, Action, Cut, Expansion, Fault, FaultSpec, Fields, Fuzz};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerHang {
    pub r#for: Dur,
}

impl FaultSpec for BrokerHang {
    const KIND: &'static str = "broker_hang";
    const FIELDS: &'static [&'static str] = &["for"];
    const SUMMARY: &'static str = "the broker stops answering for `for` (connections stay open)";
    const SILENT: bool = true;

    const CUT: Cut = Cut::UntilEnd { or_kind: None };
    const FUZZ: Fuzz =
        Fuzz::Lasting(|d| vec![(Dur::ZERO, Fault::BrokerHang(BrokerHang { r#for: d }))]);

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let d: Dur = f.req("for")?;
        if d.is_zero() {
            return Err(f.invalid("for", "must be greater than zero"));
        }
        Ok(BrokerHang { r#for: d })
    }

    fn detail(&self) -> String {
        words(&[("for", Some(self.r#for.to_string()))])
    }

    fn toml(&self) -> String {
        toml_lines(&[("for", Some(quoted(self.r#for)))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::BrokerHang);
        x.act(self.r#for, Action::BrokerResume);
        x.ends_at(self.r#for);
    }
}
