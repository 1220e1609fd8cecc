//! `wifi_flap`: the DUT's WiFi goes down and up repeatedly: each `period`
//! starts with the WiFi down for `duty` x `period`, then up for the rest, for
//! `for` in all; the WiFi is up when it ends.

use super::{quoted, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct WifiFlap {
    /// One down + up cycle.
    pub period: Dur,
    /// Fraction of each period with the WiFi down, strictly between 0 and 1.
    pub duty: f64,
    /// Total length; at least one period.
    pub r#for: Dur,
}

impl WifiFlap {
    fn down_ms(&self) -> u64 {
        ((self.period.as_millis() as f64) * self.duty).round() as u64
    }
}

impl FaultSpec for WifiFlap {
    const KIND: &'static str = "wifi_flap";
    const FIELDS: &'static [&'static str] = &["period", "duty", "for"];
    const SUMMARY: &'static str =
        "the DUT's WiFi drops for `duty` x `period` at the start of every `period`, for `for`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let period: Dur = f.req("period")?;
        let duty: f64 = f.req("duty")?;
        let r#for: Dur = f.req("for")?;
        if period.is_zero() {
            return Err(f.invalid("period", "must be greater than zero"));
        }
        if !(duty > 0.0 && duty < 1.0) {
            return Err(f.invalid(
                "duty",
                format!("must be strictly between 0 and 1, not {duty}"),
            ));
        }
        if r#for < period {
            return Err(f.invalid("for", format!("must be at least one period ({period})")));
        }
        let flap = WifiFlap {
            period,
            duty,
            r#for,
        };
        let down = flap.down_ms();
        if down == 0 || down >= period.as_millis() {
            return Err(f.invalid("duty", "leaves no time down or no time up in a period"));
        }
        Ok(flap)
    }

    fn detail(&self) -> String {
        words(&[
            ("period", Some(self.period.to_string())),
            ("duty", Some(self.duty.to_string())),
            ("for", Some(self.r#for.to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("period", Some(quoted(self.period))),
            ("duty", Some(self.duty.to_string())),
            ("for", Some(quoted(self.r#for))),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        let period = self.period.as_millis();
        let down = self.down_ms();
        let end = self.r#for.as_millis();
        let mut t = 0;
        while t < end {
            x.act(Dur::from_millis(t), Action::WifiDown);
            let up = (t + down).min(end);
            x.act(Dur::from_millis(up), Action::WifiUp);
            t += period;
        }
        // The flap (and its fault_end) ends with its last up: at `end` when
        // the final period is cut short, else at that period's up time.
        let last_up = x.actions.last().map(|a| a.0).unwrap_or(Dur::ZERO);
        x.ends_at(last_up);
    }
}
