//! Seed selection for `hil run`: `--seed N` (one seed) or `--seeds A..B`
//! (A up to but not including B) / `--seeds A..=B` (B included). Bad input
//! is an error that says what was expected; ranges are limited to
//! [`MAX_SEEDS`] seeds so a typo cannot start a run of billions.

use std::fmt;

/// The most seeds one `--seeds` range may name.
pub const MAX_SEEDS: u64 = 1_000_000;

/// A set of consecutive seeds, `start..end` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    pub start: u64,
    pub end: u64,
}

impl SeedRange {
    /// One seed.
    pub fn single(seed: u64) -> SeedRange {
        SeedRange {
            start: seed,
            end: seed + 1,
        }
    }

    /// The seeds in order.
    pub fn iter(self) -> impl Iterator<Item = u64> {
        self.start..self.end
    }

    /// How many seeds.
    pub fn len(self) -> u64 {
        self.end - self.start
    }

    /// Never true for a parsed range.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

const FORM: &str = "expected `A..B` (B excluded) or `A..=B` (B included), e.g. `1..100`";

fn number(s: &str, which: &str, whole: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!(
            "invalid seed range `{whole}`: the {which} is missing; {FORM}"
        ));
    }
    t.parse::<u64>().map_err(|_| {
        format!(
            "invalid seed range `{whole}`: the {which} `{t}` is not a number from 0 to {}; {FORM}",
            u64::MAX
        )
    })
}

/// Parses `A..B` or `A..=B`.
pub fn parse_range(s: &str) -> Result<SeedRange, String> {
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = s.split_once("..") {
        (a, b, false)
    } else {
        return Err(format!("invalid seed range `{s}`: {FORM}"));
    };
    let start = number(a, "start", s)?;
    let end = number(b, "end", s)?;
    let end = if inclusive {
        end.checked_add(1)
            .ok_or_else(|| format!("invalid seed range `{s}`: the end is too large"))?
    } else {
        end
    };
    if end <= start {
        return Err(format!(
            "invalid seed range `{s}`: it is empty (the end must be greater than the start)"
        ));
    }
    if end - start > MAX_SEEDS {
        return Err(format!(
            "invalid seed range `{s}`: {} seeds, more than the limit of {MAX_SEEDS}",
            end - start
        ));
    }
    Ok(SeedRange { start, end })
}

/// Parses one seed (`--seed N`).
pub fn parse_seed(s: &str) -> Result<u64, String> {
    s.trim().parse::<u64>().map_err(|_| {
        format!(
            "invalid seed `{s}`: expected a number from 0 to {}",
            u64::MAX
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!(parse_range("1..4"), Ok(SeedRange { start: 1, end: 4 }));
        assert_eq!(parse_range("1..=4"), Ok(SeedRange { start: 1, end: 5 }));
        assert_eq!(
            parse_range("1..=4").unwrap().iter().collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            parse_range("5..3").unwrap_err(),
            "invalid seed range `5..3`: it is empty (the end must be greater than the start)"
        );
        assert!(parse_range("5").unwrap_err().contains("expected `A..B`"));
        assert!(parse_range("..5")
            .unwrap_err()
            .contains("the start is missing"));
        assert!(parse_range("a..5")
            .unwrap_err()
            .contains("the start `a` is not a number"));
        assert!(parse_range("0..2000000")
            .unwrap_err()
            .contains("more than the limit"));
        assert!(parse_range(&format!("0..={}", u64::MAX))
            .unwrap_err()
            .contains("too large"));
        assert!(parse_seed("x").unwrap_err().contains("invalid seed `x`"));
    }

    proptest! {
        #[test]
        fn ranges_round_trip(a in 0u64..u64::MAX - MAX_SEEDS, n in 1u64..MAX_SEEDS) {
            let r = parse_range(&format!("{a}..{}", a + n)).unwrap();
            prop_assert_eq!(r, SeedRange { start: a, end: a + n });
            prop_assert_eq!(r.len(), n);
            let r = parse_range(&format!("{a}..={}", a + n - 1)).unwrap();
            prop_assert_eq!(r.len(), n);
        }

        #[test]
        fn never_panics_and_never_yields_empty(s in "\\PC{0,30}") {
            if let Ok(r) = parse_range(&s) {
                prop_assert!(!r.is_empty() && r.len() <= MAX_SEEDS);
            }
            let _ = parse_seed(&s);
        }

        #[test]
        fn near_misses_never_panic(a in any::<u64>(), b in any::<u64>(), sep in prop::sample::select(vec!["..", "..=", "...", ".", "..=="])) {
            let _ = parse_range(&format!("{a}{sep}{b}"));
        }
    }
}
