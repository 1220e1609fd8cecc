//! `latency`: sets a link's latency range; with `for`, the `[network]`
//! setting comes back afterwards.
//!
//! `direction = "up"` or `"down"` (the DUT link only) makes it asymmetric:
//! `min..max` is added to packets in that direction alone (`up`: from the
//! DUT towards the broker), on top of the link's own latency, which the
//! other direction keeps. `direction = "both"` (the default) sets the link's
//! latency both ways, as without it.
//!
//! The burst form (`burst_every`, `burst_length`, needs `for`): latency
//! spikes. The first burst starts at `at`; each lasts a time drawn from
//! `burst_length`, the next starts a time drawn from `burst_every` after the
//! last one ended, until `for` ends (the fault's end, whatever the draws);
//! between bursts the link has its usual latency. Every draw comes from the
//! run's seed.

use super::{
    link_field, link_value, positive, quoted, toml_lines, words, Action, DurRange, Expansion,
    FaultSpec, Fields,
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
    /// `None`: both ways (sets the link's latency); `Some(true)`: added
    /// towards the broker; `Some(false)`: added towards the DUT.
    pub up: Option<bool>,
    /// The burst form: (gap between bursts, burst length).
    pub burst: Option<(DurRange, DurRange)>,
}

impl Latency {
    fn direction(&self) -> &'static str {
        match self.up {
            None => "both",
            Some(true) => "up",
            Some(false) => "down",
        }
    }

    fn on(&self) -> Action {
        match self.up {
            None => Action::SetLatency {
                link: self.link,
                min: self.min,
                max: self.max,
            },
            Some(up) => Action::SetExtraLatency {
                up,
                min: self.min,
                max: self.max,
            },
        }
    }

    fn off(&self) -> Action {
        match self.up {
            None => Action::ResetLatency(self.link),
            Some(up) => Action::ResetExtraLatency { up },
        }
    }
}

impl FaultSpec for Latency {
    const KIND: &'static str = "latency";
    const FIELDS: &'static [&'static str] = &[
        "link",
        "min",
        "max",
        "for",
        "direction",
        "burst_every",
        "burst_length",
    ];
    const SUMMARY: &'static str = "sets `link`'s one-way latency to `min`..`max` (`direction` up|down: added one way only); optional `for`; bursts with `burst_every` and `burst_length`";
    const DISRUPTS: bool = false;

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let link = link_field(f)?;
        let min: Dur = f.req("min")?;
        let max: Dur = f.req("max")?;
        if min > max {
            return Err(f.invalid("max", format!("must be at least min ({min})")));
        }
        let d = f.opt("for")?;
        let r#for = positive(f, "for", d)?;
        let up = match f.opt::<String>("direction")?.as_deref() {
            None | Some("both") => None,
            Some("up") => Some(true),
            Some("down") => Some(false),
            Some(other) => {
                return Err(f.invalid(
                    "direction",
                    format!("expected \"up\", \"down\" or \"both\", not \"{other}\""),
                ))
            }
        };
        if up.is_some() && link != Link::Dut {
            return Err(f.invalid(
                "direction",
                "one-way latency applies to the DUT's link only (link = \"dut\")",
            ));
        }
        let every = DurRange::field(f, "burst_every")?;
        let length = DurRange::field(f, "burst_length")?;
        let burst = match (every, length) {
            (None, None) => None,
            (Some(e), Some(l)) => {
                if r#for.is_none() {
                    return Err(f.invalid(
                        "burst_every",
                        "bursts need `for`: how long the bursts go on",
                    ));
                }
                Some((e, l))
            }
            (Some(_), None) => {
                return Err(f.invalid("burst_every", "bursts need `burst_length` too"))
            }
            (None, Some(_)) => {
                return Err(f.invalid("burst_length", "bursts need `burst_every` too"))
            }
        };
        Ok(Latency {
            link,
            min,
            max,
            r#for,
            up,
            burst,
        })
    }

    fn detail(&self) -> String {
        words(&[
            ("link", Some(self.link.to_string())),
            ("min", Some(self.min.to_string())),
            ("max", Some(self.max.to_string())),
            ("for", self.r#for.map(|d| d.to_string())),
            ("direction", self.up.map(|_| self.direction().to_string())),
            ("burst_every", self.burst.map(|b| b.0.to_string())),
            ("burst_length", self.burst.map(|b| b.1.to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("link", link_value(self.link)),
            ("min", Some(quoted(self.min))),
            ("max", Some(quoted(self.max))),
            ("for", self.r#for.map(quoted)),
            ("direction", self.up.map(|_| quoted(self.direction()))),
            ("burst_every", self.burst.map(|b| quoted(b.0))),
            ("burst_length", self.burst.map(|b| quoted(b.1))),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        match (self.burst, self.r#for) {
            (Some((every, length)), Some(total)) => {
                let end = total.as_millis();
                let mut t = 0;
                while t < end {
                    x.act(Dur::from_millis(t), self.on());
                    let off = (t + x.draw(length).as_millis()).min(end);
                    x.act(Dur::from_millis(off), self.off());
                    t = off + x.draw(every).as_millis();
                }
                // It ends at `for` whatever the draws (so the timeline
                // checks hold for every seed): the link's own latency is
                // set again then if the last burst ended earlier.
                if x.actions.last().map(|a| a.0) != Some(total) {
                    x.act(total, self.off());
                }
                x.ends_at(total);
            }
            _ => {
                x.act(Dur::ZERO, self.on());
                if let Some(d) = self.r#for {
                    x.act(d, self.off());
                    x.ends_at(d);
                }
            }
        }
    }
}
