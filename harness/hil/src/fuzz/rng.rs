//! The fuzzer's random numbers: SplitMix64 seeded from the run's seed only
//! (no clock, no thread), so a seed always picks the same fault schedule.

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, well mixed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The generator for `seed` (mixed with a constant so seed 0 is fine).
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6a09_e667_f3bc_c909)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo + 1;
        // Rejection sampling: no modulo bias.
        let zone = u64::MAX - (u64::MAX % span);
        loop {
            let v = self.next_u64();
            if v < zone {
                return lo + v % span;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;
    use proptest::prelude::{prop_assert, prop_assert_eq, proptest};

    proptest! {
        #[test]
        fn range_stays_in_bounds(seed: u64, lo in 0u64..1_000_000, w in 0u64..1_000_000) {
            let mut r = Rng::new(seed);
            for _ in 0..20 {
                let v = r.range(lo, lo + w);
                prop_assert!(v >= lo && v <= lo + w);
            }
        }

        #[test]
        fn same_seed_same_numbers(seed: u64) {
            let (mut a, mut b) = (Rng::new(seed), Rng::new(seed));
            for _ in 0..10 {
                prop_assert_eq!(a.next_u64(), b.next_u64());
            }
        }
    }
}
