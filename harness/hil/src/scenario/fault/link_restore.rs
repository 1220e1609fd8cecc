//! `link_restore`: ends a `link_blackhole` on the same link.

use super::{link_field, link_value, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::network::Link;

#[derive(Debug, Clone, PartialEq)]
pub struct LinkRestore {
    pub link: Link,
}

impl FaultSpec for LinkRestore {
    const KIND: &'static str = "link_restore";
    const FIELDS: &'static [&'static str] = &["link"];
    const SUMMARY: &'static str = "ends a `link_blackhole` on `link`";
    const DISRUPTS: bool = false;

    const ENDS_FAULT: bool = true;

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(LinkRestore {
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
        x.act(Dur::ZERO, Action::Restore(self.link));
    }
}
