//! `wifi_flap`: the DUT's WiFi goes down and up repeatedly, for `for` in
//! all; the WiFi is up when it ends. Regular: each `period` starts with the
//! WiFi down for `duty` x `period`, then up for the rest. Irregular: down
//! for a time drawn from `down` (a range, e.g. `"200ms..5s"`), then up for
//! a time drawn from `up` (e.g. `"1s..30s"`), and so on, every draw from
//! the run's seed (so each seed flaps differently, and one seed always the
//! same way).

use super::{quoted, toml_lines, words, Action, DurRange, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct WifiFlap {
    pub pattern: Pattern,
    /// Total length; at least one period (regular).
    pub r#for: Dur,
}

/// How the WiFi flaps.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// Every `period`: down for `duty` x `period` (strictly between 0 and
    /// 1), then up.
    Regular { period: Dur, duty: f64 },
    /// Down for a time drawn from `down`, up for one drawn from `up`, ...
    Irregular { down: DurRange, up: DurRange },
}

fn down_ms(period: Dur, duty: f64) -> u64 {
    ((period.as_millis() as f64) * duty).round() as u64
}

impl FaultSpec for WifiFlap {
    const KIND: &'static str = "wifi_flap";
    const FIELDS: &'static [&'static str] = &["period", "duty", "up", "down", "for"];
    const SUMMARY: &'static str =
        "the DUT's WiFi drops for `duty` x `period` at the start of every `period`, or (irregular) for a seeded time from `down` then up for one from `up`, for `for`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let down = DurRange::field(f, "down")?;
        let up = DurRange::field(f, "up")?;
        let pattern = match (down, up) {
            (None, None) => {
                let period: Dur = f.req("period")?;
                let duty: f64 = f.req("duty")?;
                if period.is_zero() {
                    return Err(f.invalid("period", "must be greater than zero"));
                }
                if !(duty > 0.0 && duty < 1.0) {
                    return Err(f.invalid(
                        "duty",
                        format!("must be strictly between 0 and 1, not {duty}"),
                    ));
                }
                let down = down_ms(period, duty);
                if down == 0 || down >= period.as_millis() {
                    return Err(f.invalid("duty", "leaves no time down or no time up in a period"));
                }
                Pattern::Regular { period, duty }
            }
            (Some(down), Some(up)) => {
                for key in ["period", "duty"] {
                    if f.opt::<toml::Value>(key)?.is_some() {
                        return Err(f.invalid(
                            key,
                            "an irregular flap (`down` and `up` ranges) has no `period` or `duty`",
                        ));
                    }
                }
                Pattern::Irregular { down, up }
            }
            (Some(_), None) => {
                return Err(f.invalid("down", "an irregular flap needs `up` as well as `down`"))
            }
            (None, Some(_)) => {
                return Err(f.invalid("up", "an irregular flap needs `down` as well as `up`"))
            }
        };
        let r#for: Dur = f.req("for")?;
        if r#for.is_zero() {
            return Err(f.invalid("for", "must be greater than zero"));
        }
        if let Pattern::Regular { period, .. } = pattern {
            if r#for < period {
                return Err(f.invalid("for", format!("must be at least one period ({period})")));
            }
        }
        Ok(WifiFlap { pattern, r#for })
    }

    fn detail(&self) -> String {
        match &self.pattern {
            Pattern::Regular { period, duty } => words(&[
                ("period", Some(period.to_string())),
                ("duty", Some(duty.to_string())),
                ("for", Some(self.r#for.to_string())),
            ]),
            Pattern::Irregular { down, up } => words(&[
                ("down", Some(down.to_string())),
                ("up", Some(up.to_string())),
                ("for", Some(self.r#for.to_string())),
            ]),
        }
    }

    fn toml(&self) -> String {
        match &self.pattern {
            Pattern::Regular { period, duty } => toml_lines(&[
                ("period", Some(quoted(period))),
                ("duty", Some(duty.to_string())),
                ("for", Some(quoted(self.r#for))),
            ]),
            Pattern::Irregular { down, up } => toml_lines(&[
                ("down", Some(quoted(down))),
                ("up", Some(quoted(up))),
                ("for", Some(quoted(self.r#for))),
            ]),
        }
    }

    fn expand(&self, x: &mut Expansion) {
        let end = self.r#for.as_millis();
        let mut t = 0;
        while t < end {
            x.act(Dur::from_millis(t), Action::WifiDown);
            let (down, up) = match &self.pattern {
                Pattern::Regular { period, duty } => {
                    let d = down_ms(*period, *duty);
                    (d, period.as_millis() - d)
                }
                Pattern::Irregular { down, up } => {
                    (x.draw(*down).as_millis(), x.draw(*up).as_millis())
                }
            };
            let back = (t + down).min(end);
            x.act(Dur::from_millis(back), Action::WifiUp);
            t = back + up;
        }
        // The flap (and its fault_end) ends with its last up: at `end` when
        // the final down is cut short, else at that up's time.
        let last_up = x.actions.last().map(|a| a.0).unwrap_or(Dur::ZERO);
        x.ends_at(last_up);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any seed flaps within the ranges and the window: down, up,
        /// down... from 0, each down and up drawn from its range (the last
        /// down cut short at `for`), ending up.
        #[test]
        fn an_irregular_flap_stays_in_its_ranges(
            seed: u64,
            dmin in 1u64..5_000, dspan in 0u64..5_000,
            umin in 1u64..30_000, uspan in 0u64..30_000,
            total in 1u64..600_000,
        ) {
            let r = |a: u64, b: u64| DurRange { min: Dur::from_millis(a), max: Dur::from_millis(a + b) };
            let flap = WifiFlap {
                pattern: Pattern::Irregular { down: r(dmin, dspan), up: r(umin, uspan) },
                r#for: Dur::from_millis(total),
            };
            let f = super::super::Fault::WifiFlap(flap);
            let x = f.expand_seeded(seed, 3);
            prop_assert_eq!(&x.actions, &f.expand_seeded(seed, 3).actions);
            let acts: Vec<(u64, Action)> = x.actions.iter().map(|(t, a)| (t.as_millis(), *a)).collect();
            prop_assert_eq!(acts[0], (0, Action::WifiDown));
            prop_assert_eq!(acts.last().map(|a| a.1), Some(Action::WifiUp));
            prop_assert_eq!(x.ends_at.map(|d| d.as_millis()), acts.last().map(|a| a.0));
            for (i, w) in acts.windows(2).enumerate() {
                let len = w[1].0 - w[0].0;
                prop_assert!(w[1].0 <= total);
                if i % 2 == 0 {
                    prop_assert_eq!(w[0].1, Action::WifiDown);
                    prop_assert!(len <= dmin + dspan && (len >= dmin || w[1].0 == total));
                } else {
                    prop_assert_eq!(w[0].1, Action::WifiUp);
                    prop_assert!(len >= umin && len <= umin + uspan);
                }
            }
        }
    }
}
