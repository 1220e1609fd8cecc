//! `link_hold`: packets on a link are held back, not lost, for a short
//! outage that TCP survives; `link_release` (or `for`) delivers them in
//! order.

use super::{
    link_field, link_value, positive, quoted, toml_lines, words, Action, Expansion, Fault,
    FaultSpec, Fields, Fuzz,
};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::network::Link;

#[derive(Debug, Clone, PartialEq)]
pub struct LinkHold {
    pub link: Link,
    pub r#for: Option<Dur>,
}

impl FaultSpec for LinkHold {
    const KIND: &'static str = "link_hold";
    const FIELDS: &'static [&'static str] = &["link", "for"];
    const SUMMARY: &'static str =
        "packets on `link` are held, then delivered in order (a short outage TCP survives); optional `for`";

    const FUZZ: Fuzz = Fuzz::Lasting(|d| {
        vec![(
            Dur::ZERO,
            Fault::LinkHold(LinkHold {
                link: Link::Dut,
                r#for: Some(d),
            }),
        )]
    });

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let link = link_field(f)?;
        let d = f.opt("for")?;
        Ok(LinkHold {
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
        x.act(Dur::ZERO, Action::Hold(self.link));
        if let Some(d) = self.r#for {
            x.act(d, Action::Release(self.link));
            x.ends_at(d);
        }
    }
}
