//! `link_release`: ends a `link_hold` on the same link, delivering the held
//! packets in order.

use super::{link_field, link_value, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::network::Link;

#[derive(Debug, Clone, PartialEq)]
pub struct LinkRelease {
    pub link: Link,
}

impl FaultSpec for LinkRelease {
    const KIND: &'static str = "link_release";
    const FIELDS: &'static [&'static str] = &["link"];
    const SUMMARY: &'static str = "ends a `link_hold` on `link`; held packets arrive in order";
    const DISRUPTS: bool = false;

    const ENDS_FAULT: bool = true;

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(LinkRelease {
            link: link_field(f)?,
        })
    }

    fn detail(&self) -> String {
        words(&[("link", Some(self.link.to_string()))])
    }

    fn toml(&self) -> String {
        toml_lines(&[("link", link_value(self.link))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::Release(self.link));
    }
}
