//! `link_reset`: a TCP reset on the path (a NAT or firewall dropping its
//! state, a middlebox sending RST): every connection on `link` is reset at
//! both ends at once. Unlike a broker close (`broker_close_after`, a
//! crash), the broker did nothing: it learns of it like the DUT does, and
//! the DUT sees a reset, not an orderly close. New connections work.

use super::{link_field, link_value, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::network::Link;

#[derive(Debug, Clone, PartialEq)]
pub struct LinkReset {
    /// Default `dut`.
    pub link: Link,
}

impl FaultSpec for LinkReset {
    const KIND: &'static str = "link_reset";
    const FIELDS: &'static [&'static str] = &["link"];
    const SUMMARY: &'static str =
        "a TCP reset on `link`'s path: its connections are reset at both ends (not a broker close)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(LinkReset {
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
        x.act(Dur::ZERO, Action::LinkReset(self.link));
        x.ends_at(Dur::ZERO);
    }
}
