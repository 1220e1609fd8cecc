//! Rules: a fault, the directions it applies to, and its time window
//! (`after T` = starts T after it was added, `for D` = stops D after it
//! started). The [`RuleSet`] is what the control port and the live backend
//! change, and what every connection consults.

use std::fmt;

use crate::duration::{fmt_ms, parse_ms};
use crate::fault::{Blackhole, Dir, Dirs, Fault};

/// One installed fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: u64,
    pub dirs: Dirs,
    pub fault: Fault,
    /// Proxy clock (ms since the proxy started).
    pub start_ms: u64,
    pub stop_ms: Option<u64>,
    /// What is left of a `drop N` / `duplicate N`.
    pub budget: Option<u32>,
}

impl Rule {
    /// Active at `now` (inside its window, and its budget not used up).
    pub fn active(&self, now: u64) -> bool {
        now >= self.start_ms && self.stop_ms.is_none_or(|s| now < s) && self.budget != Some(0)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} {}", self.id, self.dirs.as_str(), self.fault)?;
        write!(f, " from {}", fmt_ms(self.start_ms))?;
        if let Some(s) = self.stop_ms {
            write!(f, " until {}", fmt_ms(s))?;
        }
        if let Some(b) = self.budget {
            write!(f, " (left {b})")?;
        }
        Ok(())
    }
}

/// A parsed rule before it is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub dirs: Dirs,
    pub fault: Fault,
    pub after_ms: u64,
    pub for_ms: Option<u64>,
}

impl RuleSpec {
    /// Parses `[up|down|both] KIND ARGS... [after D] [for D]`.
    pub fn parse(line: &str) -> Result<RuleSpec, String> {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        let mut after_ms = 0;
        let mut for_ms = None;
        // Trailing `after D` / `for D`, in either order.
        loop {
            let n = words.len();
            if n >= 2 && words[n - 2] == "after" {
                after_ms = parse_ms(words[n - 1])?;
            } else if n >= 2 && words[n - 2] == "for" {
                for_ms = Some(parse_ms(words[n - 1])?);
            } else {
                break;
            }
            words.truncate(n - 2);
        }
        let dirs = match words.first() {
            Some(&"up") => Some(Dirs::Up),
            Some(&"down") => Some(Dirs::Down),
            Some(&"both") => Some(Dirs::Both),
            _ => None,
        };
        let rest = if dirs.is_some() {
            &words[1..]
        } else {
            &words[..]
        };
        let Some((kind, args)) = rest.split_first() else {
            return Err(
                "expected a fault: [up|down|both] KIND ARGS... [after DURATION] [for DURATION]"
                    .into(),
            );
        };
        let fault = Fault::parse(kind, args)?;
        Ok(RuleSpec {
            dirs: dirs.unwrap_or(fault.default_dirs()),
            fault,
            after_ms,
            for_ms,
        })
    }
}

/// Every rule in force, in the order they were added.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    next_id: u64,
}

impl RuleSet {
    /// Installs `spec` at proxy time `now`; returns its id.
    pub fn add(&mut self, spec: RuleSpec, now: u64) -> u64 {
        self.next_id += 1;
        let start_ms = now.saturating_add(spec.after_ms);
        self.rules.push(Rule {
            id: self.next_id,
            dirs: spec.dirs,
            budget: spec.fault.budget(),
            fault: spec.fault,
            start_ms,
            stop_ms: spec.for_ms.map(|d| start_ms.saturating_add(d)),
        });
        self.next_id
    }

    /// Removes a rule; false if there is none with that id.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        self.rules.len() != before
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub(crate) fn rules_mut(&mut self) -> &mut [Rule] {
        &mut self.rules
    }

    /// Active rules that apply to `dir` at `now`.
    pub fn active(&self, dir: Dir, now: u64) -> impl Iterator<Item = &Rule> {
        self.rules
            .iter()
            .filter(move |r| r.dirs.has(dir) && r.active(now))
    }

    /// Whether some active rule of this shape applies (direction-free kinds
    /// such as `refuse` match any direction).
    pub fn any(&self, now: u64, pred: impl Fn(&Fault) -> bool) -> bool {
        self.rules.iter().any(|r| r.active(now) && pred(&r.fault))
    }

    /// Whether `dir` is held at `now` (a `hold` or a `blackhole`), and
    /// what happens to the held bytes when it ends: a `blackhole reset`
    /// among the holders resets the connection.
    pub fn holding(&self, dir: Dir, now: u64) -> Option<HoldEnd> {
        self.active(dir, now)
            .filter_map(|r| match r.fault {
                Fault::Hold(_) | Fault::Blackhole(Blackhole { reset: false }) => {
                    Some(HoldEnd::Deliver { rule: r.id })
                }
                Fault::Blackhole(Blackhole { reset: true }) => Some(HoldEnd::Reset { rule: r.id }),
                _ => None,
            })
            .max()
    }

    /// Whether a `blackhole` (either direction) is in force at `now`, and
    /// how it ends: a `blackhole reset` among them resets.
    pub fn blackhole(&self, now: u64) -> Option<HoldEnd> {
        self.rules
            .iter()
            .filter(|r| r.active(now))
            .filter_map(|r| match r.fault {
                Fault::Blackhole(Blackhole { reset: false }) => {
                    Some(HoldEnd::Deliver { rule: r.id })
                }
                Fault::Blackhole(Blackhole { reset: true }) => Some(HoldEnd::Reset { rule: r.id }),
                _ => None,
            })
            .max()
    }
}

/// What becomes of held bytes when the hold ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HoldEnd {
    /// Delivered in order (`hold`, `blackhole`).
    Deliver { rule: u64 },
    /// The connection is reset instead (`blackhole reset`).
    Reset { rule: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directions_windows_and_defaults() {
        let s = RuleSpec::parse("drop puback 2 after 1s for 5s").unwrap();
        assert_eq!(s.dirs, Dirs::Down);
        assert_eq!((s.after_ms, s.for_ms), (1000, Some(5000)));
        let s = RuleSpec::parse("up latency 100ms jitter 20ms for 2s").unwrap();
        assert_eq!(s.dirs, Dirs::Up);
        assert_eq!(s.fault.to_string(), "latency 0.100s jitter 0.020s");
        assert_eq!(RuleSpec::parse("blackhole").unwrap().dirs, Dirs::Both);
    }

    #[test]
    fn errors_say_what_was_expected() {
        let e = RuleSpec::parse("drop").unwrap_err();
        assert!(e.contains("needs a packet type"), "{e}");
        let e = RuleSpec::parse("drop frobnicate").unwrap_err();
        assert!(e.contains("not an MQTT packet type"), "{e}");
        let e = RuleSpec::parse("explode").unwrap_err();
        assert!(e.contains("unknown fault `explode`"), "{e}");
        let e = RuleSpec::parse("blackhole now").unwrap_err();
        assert!(e.contains("unexpected `now`"), "{e}");
        assert!(RuleSpec::parse("").is_err());
        assert!(RuleSpec::parse("connack-code 9").is_err());
        assert!(RuleSpec::parse("slicer 0 1ms").is_err());
        assert!(RuleSpec::parse("latency 1s for xyz").is_err());
    }

    #[test]
    fn windows_and_budgets_bound_activity() {
        let mut set = RuleSet::default();
        let id = set.add(
            RuleSpec::parse("drop pingresp 1 after 1s for 2s").unwrap(),
            500,
        );
        let r = &set.rules()[0];
        assert!(!r.active(1499));
        assert!(r.active(1500));
        assert!(!r.active(3500));
        set.rules_mut()[0].budget = Some(0);
        assert!(!set.rules()[0].active(2000));
        assert!(set.remove(id));
        assert!(!set.remove(id));
    }
}
