//! `--partition K/N`: a deterministic split of a run list into N shards, as
//! `cargo nextest run --partition count:K/N` splits tests.
//!
//! The list is the scenario × seed list in the order `hil run` builds it
//! (scenario files sorted, then seeds ascending). Item `i` (0-based) goes to
//! shard `i % N + 1`, so every item is in exactly one shard, shards differ
//! in size by at most one, and the split depends only on the list: the same
//! command on any machine gives the same shard.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `total` (both 1-based, `1 <= index <= total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: u32,
    pub total: u32,
}

impl Partition {
    /// The only shard of one: everything.
    pub const ALL: Partition = Partition { index: 1, total: 1 };

    /// Whether item `i` (0-based position in the full list) is in this shard.
    pub fn contains(&self, i: usize) -> bool {
        (i % self.total as usize) + 1 == self.index as usize
    }

    /// The items of `list` in this shard, in list order.
    pub fn select<T>(&self, list: impl IntoIterator<Item = T>) -> Vec<T> {
        list.into_iter()
            .enumerate()
            .filter(|(i, _)| self.contains(*i))
            .map(|(_, t)| t)
            .collect()
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// The expected form, for error messages.
pub const FORM: &str = "K/N with 1 <= K <= N (e.g. `--partition 3/8`)";

impl FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Partition, String> {
        let (k, n) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a partition: expected {FORM}"))?;
        let num = |x: &str, what: &str| -> Result<u32, String> {
            x.trim().parse::<u32>().map_err(|_| {
                format!("`{s}`: the {what} `{x}` is not a whole number; expected {FORM}")
            })
        };
        let index = num(k, "shard")?;
        let total = num(n, "shard count")?;
        if total == 0 || index == 0 || index > total {
            return Err(format!("`{s}` is out of range: expected {FORM}"));
        }
        Ok(Partition { index, total })
    }
}

/// For clap's `value_parser`.
pub fn parse(s: &str) -> Result<Partition, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(parse("3/8").unwrap(), Partition { index: 3, total: 8 });
        assert_eq!(parse("1/1").unwrap(), Partition::ALL);
        for bad in [
            "",
            "3",
            "0/8",
            "9/8",
            "1/0",
            "a/b",
            "-1/2",
            "1/2/3",
            "count:1/2",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("K/N"), "{bad}: {e}");
        }
    }

    #[test]
    fn round_robin_split() {
        let p = Partition { index: 2, total: 3 };
        assert_eq!(p.select(0..10), vec![1, 4, 7]);
        assert_eq!(p.to_string(), "2/3");
    }

    proptest! {
        #[test]
        fn every_item_is_in_exactly_one_shard(len in 0usize..500, total in 1u32..20) {
            let mut seen = vec![0u32; len];
            for index in 1..=total {
                for i in (Partition { index, total }).select(0..len) {
                    seen[i] += 1;
                }
            }
            prop_assert!(seen.iter().all(|&c| c == 1));
        }

        #[test]
        fn shards_are_balanced_and_stable(len in 0usize..500, total in 1u32..20) {
            let sizes: Vec<usize> = (1..=total)
                .map(|index| (Partition { index, total }).select(0..len).len())
                .collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            prop_assert!(max - min <= 1);
            for index in 1..=total {
                let p = Partition { index, total };
                prop_assert_eq!(p.select(0..len), p.select(0..len));
            }
        }

        #[test]
        fn parse_never_panics(s in ".{0,12}") {
            let _ = parse(&s);
        }

        #[test]
        fn display_round_trips(total in 1u32..1000, k in 0u32..1000) {
            let p = Partition { index: k % total + 1, total };
            prop_assert_eq!(parse(&p.to_string()).unwrap(), p);
        }
    }
}
