//! Times with a tolerance: when a timeline entry happens (`at`) or a
//! workload timer first fires (`start`, `disconnect_at`), optionally with
//! a window the seed may move it within: `"60s ± 2s"` (or, in ASCII,
//! `"60s +- 2s"`; spaces around the sign are optional).
//!
//! Each seed draws one offset per time, uniform in `-tolerance..=+tolerance`
//! (whole milliseconds), so a sweep explores the phase of the faults and of
//! the application's timers relative to the driver's own timers. Without a
//! tolerance a time is exact: what a file says is what every seed runs.
//!
//! The random numbers come from the seed and the time's place in the file
//! only ([`At::resolve`]), never from the order in which they are drawn, so
//! adding a tolerance to one entry does not move another.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::{Dur, DURATION_FORM};
use crate::fuzz::rng::Rng;

/// A time and the tolerance a seed may move it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct At {
    /// The nominal time.
    pub at: Dur,
    /// How far a seed may move it, either way (zero: exact).
    pub tolerance: Dur,
}

/// The form every error message explains.
pub const AT_FORM: &str =
    "a duration, optionally with a tolerance the seed may move it by: \"60s\", \"60s ± 2s\" or \"60s +- 2s\"";

/// Where the seeded offsets of one scenario come from: which kind of time,
/// and its index (see [`At::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `[[timeline]]` entry N.
    Timeline(usize),
    /// `[[workload.publish]]` stream N's `start`.
    Publish(usize),
    /// `[[workload.observer]]` stream N's `start`.
    Observer(usize),
    /// `workload.disconnect_at`.
    Disconnect,
}

impl Slot {
    fn salt(self) -> u64 {
        let (kind, i) = match self {
            Slot::Timeline(i) => (1u64, i),
            Slot::Publish(i) => (2, i),
            Slot::Observer(i) => (3, i),
            Slot::Disconnect => (4, 0),
        };
        (kind << 56) ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x7a11_0ff5_e7d1_5ea5
    }
}

impl At {
    /// An exact time.
    pub const fn exact(at: Dur) -> At {
        At {
            at,
            tolerance: Dur::ZERO,
        }
    }

    /// The earliest time a seed can pick (saturating at zero).
    pub fn earliest(self) -> Dur {
        Dur::from_millis(
            self.at
                .as_millis()
                .saturating_sub(self.tolerance.as_millis()),
        )
    }

    /// The latest time a seed can pick.
    pub fn latest(self) -> Dur {
        Dur::from_millis(
            self.at
                .as_millis()
                .saturating_add(self.tolerance.as_millis()),
        )
    }

    /// The offset `seed` draws for the time in `slot`, in milliseconds
    /// (`-tolerance..=tolerance`; 0 for an exact time).
    pub fn offset_ms(self, seed: u64, slot: Slot) -> i64 {
        let tol = self.tolerance.as_millis();
        if tol == 0 {
            return 0;
        }
        let mut rng = Rng::new(seed ^ slot.salt());
        rng.range(0, tol.saturating_mul(2)) as i64 - tol as i64
    }

    /// The time `seed` picks for `slot` (never before zero), exact from
    /// then on.
    pub fn resolve(self, seed: u64, slot: Slot) -> At {
        At::exact(Dur::from_millis(shift(self.at, self.offset_ms(seed, slot))))
    }

    /// Parses `"60s"`, `"60s ± 2s"` or `"60s +- 2s"`.
    pub fn parse(s: &str) -> Result<At, String> {
        let bad = |why: String| format!("invalid time `{s}`: {why}; expected {AT_FORM}");
        let (at, tol) = match s.split_once('±').or_else(|| s.split_once("+-")) {
            Some((a, t)) => (a.trim(), Some(t.trim())),
            None => (s, None),
        };
        let at = Dur::parse(at).map_err(|e| bad(why(&e)))?;
        let tolerance = match tol {
            None => Dur::ZERO,
            Some(t) => Dur::parse(t).map_err(|e| bad(format!("tolerance `{t}`: {}", why(&e))))?,
        };
        Ok(At { at, tolerance })
    }
}

/// `at` moved by `offset_ms` (saturating at zero).
pub fn shift(at: Dur, offset_ms: i64) -> u64 {
    if offset_ms < 0 {
        at.as_millis().saturating_sub(offset_ms.unsigned_abs())
    } else {
        at.as_millis().saturating_add(offset_ms as u64)
    }
}

/// What a duration error says was wrong, without its "invalid duration"
/// head and "expected ..." tail (the caller adds its own).
fn why(e: &str) -> String {
    let tail = format!("; expected {DURATION_FORM}");
    let e = e.strip_suffix(&tail).unwrap_or(e);
    match e.strip_prefix("invalid duration `") {
        Some(rest) => rest.split_once("`: ").map_or(rest, |(_, w)| w).to_string(),
        None => e.to_string(),
    }
}

impl From<Dur> for At {
    fn from(at: Dur) -> At {
        At::exact(at)
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tolerance.is_zero() {
            write!(f, "{}", self.at)
        } else {
            write!(f, "{} ± {}", self.at, self.tolerance)
        }
    }
}

impl std::str::FromStr for At {
    type Err = String;
    fn from_str(s: &str) -> Result<At, String> {
        At::parse(s)
    }
}

impl Serialize for At {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<At, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = At;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a time string: {AT_FORM}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<At, E> {
                At::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(ms: u64, tol: u64) -> At {
        At {
            at: Dur::from_millis(ms),
            tolerance: Dur::from_millis(tol),
        }
    }

    #[test]
    fn parses_exact_times_and_both_tolerance_forms() {
        assert_eq!(At::parse("60s"), Ok(at(60_000, 0)));
        assert_eq!(At::parse("60s ± 2s"), Ok(at(60_000, 2_000)));
        assert_eq!(At::parse("60s±2s"), Ok(at(60_000, 2_000)));
        assert_eq!(At::parse("60s +- 2s"), Ok(at(60_000, 2_000)));
        assert_eq!(At::parse("1m30s+-500ms"), Ok(at(90_000, 500)));
        assert_eq!(At::parse("10s ± 0s"), Ok(at(10_000, 0)));
    }

    #[test]
    fn bad_forms_say_what_was_expected() {
        for bad in [
            "",
            "60",
            "60s ±",
            "60s ± ",
            "± 2s",
            "60s ± 2",
            "60s +-",
            "60s - 2s",
            "60s ± ± 2s",
            "60 s",
            "60s ±2x",
        ] {
            let e = At::parse(bad).unwrap_err();
            assert!(
                e.contains("expected a duration, optionally with a tolerance"),
                "{bad}: {e}"
            );
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
        assert!(At::parse("60s ± 2")
            .unwrap_err()
            .contains("tolerance `2`: a number needs a unit"));
    }

    #[test]
    fn an_exact_time_never_moves() {
        for seed in 0..100 {
            assert_eq!(at(5_000, 0).offset_ms(seed, Slot::Timeline(0)), 0);
        }
    }

    #[test]
    fn offsets_spread_over_the_window_and_differ_by_slot() {
        let a = at(60_000, 2_000);
        let offs: Vec<i64> = (0..200)
            .map(|s| a.offset_ms(s, Slot::Timeline(3)))
            .collect();
        assert!(offs.iter().all(|o| (-2_000..=2_000).contains(o)));
        assert!(offs.iter().any(|o| *o < -1_000) && offs.iter().any(|o| *o > 1_000));
        let other: Vec<i64> = (0..200)
            .map(|s| a.offset_ms(s, Slot::Timeline(4)))
            .collect();
        assert_ne!(offs, other);
        let publish: Vec<i64> = (0..200).map(|s| a.offset_ms(s, Slot::Publish(3))).collect();
        assert_ne!(offs, publish);
    }

    proptest! {
        #[test]
        fn display_round_trips(ms in 0u64..10_000_000, tol in 0u64..100_000) {
            let a = at(ms, tol);
            prop_assert_eq!(At::parse(&a.to_string()), Ok(a));
        }

        #[test]
        fn resolved_times_stay_in_the_window(ms in 0u64..10_000_000, tol in 0u64..100_000, seed: u64, i in 0usize..100) {
            let a = at(ms, tol);
            let r = a.resolve(seed, Slot::Timeline(i));
            prop_assert!(r.tolerance.is_zero());
            prop_assert!(r.at >= a.earliest() && r.at <= a.latest());
            prop_assert_eq!(r, a.resolve(seed, Slot::Timeline(i)));
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = At::parse(&s);
        }
    }
}
