//! `link_blackhole`: packets on a link vanish but the link stays up (no
//! reset, no signal loss): a half-open connection the driver must detect by
//! itself (D3). Ends with `link_restore`, or by itself after `for`.

use super::{
    link_field, link_value, positive, quoted, toml_lines, words, Action, Cut, Expansion, Fault,
    FaultSpec, Fields, Fuzz,
};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::network::Link;

#[derive(Debug, Clone, PartialEq)]
pub struct LinkBlackhole {
    /// Default `dut`.
    pub link: Link,
    pub r#for: Option<Dur>,
}

impl FaultSpec for LinkBlackhole {
    const KIND: &'static str = "link_blackhole";
    const FIELDS: &'static [&'static str] = &["link", "for"];
    const SUMMARY: &'static str =
        "packets on `link` (dut|observer) silently vanish, the link stays up; optional `for`";
    const SILENT: bool = true;

    const CUT: Cut = Cut::UntilEnd { or_kind: None };
    const FUZZ: Fuzz = Fuzz::Lasting(|d| {
        vec![(
            Dur::ZERO,
            Fault::LinkBlackhole(LinkBlackhole {
                link: Link::Dut,
                r#for: Some(d),
            }),
        )]
    });

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let link = link_field(f)?;
        let d = f.opt("for")?;
        Ok(LinkBlackhole {
            link,
            r#for: positive(f, "for", d)?,
        })
    }

    fn detail(&self) -> String {
        words(&[
            ("link", Some(self.link.to_string())),
            ("for", self.r#for.map(|d| d.to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("link", link_value(self.link)),
            ("for", self.r#for.map(quoted)),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::Blackhole(self.link));
        if let Some(d) = self.r#for {
            x.act(d, Action::Restore(self.link));
            x.ends_at(d);
        }
    }
}
