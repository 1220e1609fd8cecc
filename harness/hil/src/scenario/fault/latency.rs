//! `latency`: sets a link's latency range; with `for`, the `[network]`
//! setting comes back afterwards.

use super::{
    link_field, link_value, positive, quoted, toml_lines, words, Action, Expansion, FaultSpec,
    Fields,
};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::network::Link;

#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    pub link: Link,
    pub min: Dur,
    pub max: Dur,
    pub r#for: Option<Dur>,
}

impl FaultSpec for Latency {
    const KIND: &'static str = "latency";
    const FIELDS: &'static [&'static str] = &["link", "min", "max", "for"];
    const SUMMARY: &'static str = "sets `link`'s one-way latency to `min`..`max`; optional `for`";
    const DISRUPTS: bool = false;

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let link = link_field(f)?;
        let min: Dur = f.req("min")?;
        let max: Dur = f.req("max")?;
        if min > max {
            return Err(f.invalid("max", format!("must be at least min ({min})")));
        }
        let d = f.opt("for")?;
        Ok(Latency {
            link,
            min,
            max,
            r#for: positive(f, "for", d)?,
        })
    }

    fn detail(&self) -> String {
        words(&[
            ("link", Some(self.link.to_string())),
            ("min", Some(self.min.to_string())),
            ("max", Some(self.max.to_string())),
            ("for", self.r#for.map(|d| d.to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("link", link_value(self.link)),
            ("min", Some(quoted(self.min))),
            ("max", Some(quoted(self.max))),
            ("for", self.r#for.map(quoted)),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(
            Dur::ZERO,
            Action::SetLatency {
                link: self.link,
                min: self.min,
                max: self.max,
            },
        );
        if let Some(d) = self.r#for {
            x.act(d, Action::ResetLatency(self.link));
            x.ends_at(d);
        }
    }
}
