//! `wifi_down`: the DUT's WiFi loses signal (the driver sees its link go
//! down at once, D2; packets in flight vanish). Ends with `wifi_up`, or by
//! itself after `for`.

use super::{
    positive, quoted, toml_lines, words, Action, Cut, Expansion, Fault, FaultSpec, Fields, Fuzz,
};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct WifiDown {
    /// Back up after this long; none = until a `wifi_up`.
    pub r#for: Option<Dur>,
}

impl FaultSpec for WifiDown {
    const KIND: &'static str = "wifi_down";
    const FIELDS: &'static [&'static str] = &["for"];
    const SUMMARY: &'static str = "the DUT's WiFi signal drops (packets vanish); optional `for`";

    const CUT: Cut = Cut::UntilEnd { or_kind: None };
    const FUZZ: Fuzz =
        Fuzz::Lasting(|d| vec![(Dur::ZERO, Fault::WifiDown(WifiDown { r#for: Some(d) }))]);

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let d = f.opt("for")?;
        Ok(WifiDown {
            r#for: positive(f, "for", d)?,
        })
    }

    fn detail(&self) -> String {
        words(&[("for", self.r#for.map(|d| d.to_string()))])
    }

    fn toml(&self) -> String {
        toml_lines(&[("for", self.r#for.map(quoted))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::WifiDown);
        if let Some(d) = self.r#for {
            x.act(d, Action::WifiUp);
            x.ends_at(d);
        }
    }
}
