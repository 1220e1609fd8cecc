//! Durations as scenario files write them: humantime-like strings such as
//! `"500ms"`, `"30s"`, `"2m"`, `"1m30s"` or `"1.5s"`, held as whole
//! milliseconds (the simulator's resolution).
//!
//! Parsing is strict (no spaces, no bare numbers, no negative values) so that
//! a typo is an error that points at the string, never a silently different
//! time. [`Dur`]'s `Display` prints the canonical form, which parses back to
//! the same value.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative span of simulated (or wall) time, in whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(u64);

/// The form every duration error message explains.
pub const DURATION_FORM: &str =
    "a number followed by a unit (ms, s, m, h), e.g. \"500ms\", \"30s\", \"2m\", \"1m30s\"";

impl Dur {
    /// Zero.
    pub const ZERO: Dur = Dur(0);

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Dur {
        Dur(ms)
    }

    /// A duration of `s` seconds (saturating).
    pub const fn from_secs(s: u64) -> Dur {
        Dur(s.saturating_mul(1000))
    }

    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// As a `std::time::Duration`.
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }

    /// True for zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses the scenario form (see the module documentation).
    pub fn parse(s: &str) -> Result<Dur, String> {
        let bad = |why: &str| format!("invalid duration `{s}`: {why}; expected {DURATION_FORM}");
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut total: u64 = 0;
        let mut last_unit = u64::MAX;
        while i < bytes.len() {
            // number: digits [ '.' digits ]
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let int_part = &s[start..i];
            let mut frac_part = "";
            if i < bytes.len() && bytes[i] == b'.' {
                i += 1;
                let fs = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                frac_part = &s[fs..i];
                if frac_part.is_empty() {
                    return Err(bad("a decimal point needs digits after it"));
                }
            }
            if int_part.is_empty() {
                return Err(bad("each part must start with a number"));
            }
            let us = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = match &s[us..i] {
                "ms" => 1u64,
                "s" => 1_000,
                "m" | "min" => 60_000,
                "h" => 3_600_000,
                "" => return Err(bad("a number needs a unit")),
                other => return Err(bad(&format!("unknown unit `{other}`"))),
            };
            if unit >= last_unit {
                return Err(bad("units must go from largest to smallest, each once"));
            }
            last_unit = unit;
            let int: u64 = int_part
                .parse()
                .map_err(|_| bad("the number is too large"))?;
            let mut ms = int
                .checked_mul(unit)
                .ok_or_else(|| bad("the number is too large"))?;
            if !frac_part.is_empty() {
                if frac_part.len() > 9 {
                    return Err(bad("too many decimal places"));
                }
                let frac: u64 = frac_part.parse().map_err(|_| bad("bad fraction"))?;
                let scale = 10u64.pow(frac_part.len() as u32);
                let num = frac
                    .checked_mul(unit)
                    .ok_or_else(|| bad("the number is too large"))?;
                if num % scale != 0 {
                    return Err(bad("it is not a whole number of milliseconds"));
                }
                ms = ms
                    .checked_add(num / scale)
                    .ok_or_else(|| bad("the number is too large"))?;
            }
            total = total
                .checked_add(ms)
                .ok_or_else(|| bad("the number is too large"))?;
        }
        Ok(Dur(total))
    }

    /// Seconds with three decimals, as the transcript and messages print
    /// times: `12.340s`.
    pub fn secs_string(self) -> String {
        format!("{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, name) in [(3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")] {
            if rest >= unit {
                write!(f, "{}{}", rest / unit, name)?;
                rest %= unit;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Dur, String> {
        Dur::parse(s)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a duration string: {DURATION_FORM}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dur, E> {
                Dur::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(Dur::parse("500ms"), Ok(Dur(500)));
        assert_eq!(Dur::parse("30s"), Ok(Dur(30_000)));
        assert_eq!(Dur::parse("2m"), Ok(Dur(120_000)));
        assert_eq!(Dur::parse("1m30s"), Ok(Dur(90_000)));
        assert_eq!(Dur::parse("1.5s"), Ok(Dur(1_500)));
        assert_eq!(Dur::parse("1h2m3s4ms"), Ok(Dur(3_723_004)));
        assert_eq!(Dur::parse("0s"), Ok(Dur(0)));
    }

    #[test]
    fn rejects_bad_forms_with_the_expected_form() {
        for bad in [
            "", "5", "5x", "s", "-1s", "1s2m", "1s1s", "1.s", "0.0001s", "1 s", "1.5ms",
        ] {
            let e = Dur::parse(bad).unwrap_err();
            assert!(
                e.contains("expected a number followed by a unit"),
                "{bad}: {e}"
            );
        }
        assert!(Dur::parse("99999999999999999999h")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn secs_string_has_three_decimals() {
        assert_eq!(Dur(12_340).secs_string(), "12.340s");
        assert_eq!(Dur(5).secs_string(), "0.005s");
    }

    proptest! {
        #[test]
        fn display_round_trips(ms in 0u64..10_000_000_000) {
            let d = Dur(ms);
            prop_assert_eq!(Dur::parse(&d.to_string()), Ok(d));
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = Dur::parse(&s);
        }
    }
}
