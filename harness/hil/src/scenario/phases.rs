//! `[sim]`: the phases the simulator draws from the seed, besides the
//! network's per-packet latency and the timeline's tolerances. In the field
//! a device boots a little sooner or later, the other clients are already
//! there or just arriving, and two packets sent in one instant reach their
//! hosts in either order; a sweep over seeds should see all of that.
//!
//! ```toml
//! [sim]
//! boot_delay = "1s"        # the DUT boots 0..=1s (seeded) after the observer is ready (default 1s)
//! observer_phase = "500ms" # the observer starts 0..=500ms (seeded) into the run (default 500ms)
//! shuffle_hosts = true     # each tick runs the hosts in a seeded order (default true)
//! ```
//!
//! Zero and `false` make a run depend on the seed only through latency,
//! tolerances and the driver's own jitter. Live and board backends ignore
//! this table (their phases come from the real world).

use serde::{Deserialize, Serialize};

use crate::duration::Dur;
use crate::fuzz::rng::Rng;

/// `[sim]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimPhases {
    /// Longest seeded delay between the observer being ready and the DUT
    /// booting (also drawn again for each `dut_reboot`).
    pub boot_delay: Dur,
    /// Longest seeded delay before the observer starts.
    pub observer_phase: Dur,
    /// Whether each tick runs the hosts in a seeded order (turmoil's
    /// random node order): which of two packets that arrive in one tick is
    /// handled first.
    pub shuffle_hosts: bool,
}

/// The default `[sim] boot_delay`.
pub const DEFAULT_BOOT_DELAY: Dur = Dur::from_millis(1_000);
/// The default `[sim] observer_phase`.
pub const DEFAULT_OBSERVER_PHASE: Dur = Dur::from_millis(500);

impl Default for SimPhases {
    fn default() -> Self {
        SimPhases {
            boot_delay: DEFAULT_BOOT_DELAY,
            observer_phase: DEFAULT_OBSERVER_PHASE,
            shuffle_hosts: true,
        }
    }
}

/// What a seeded phase is for (each draws from its own stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The DUT's boot number N (0: the first boot).
    Boot(u64),
    /// The observer's start.
    Observer,
}

impl SimPhases {
    /// (field, message) for each value that does not fit the run.
    pub fn check(&self, duration: Dur) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        for (name, d) in [
            ("boot_delay", self.boot_delay),
            ("observer_phase", self.observer_phase),
        ] {
            if d >= duration {
                errors.push((
                    name,
                    format!("{name} {d} is not shorter than the run ({duration})"),
                ));
            }
        }
        errors
    }

    /// The delay `seed` draws for `phase`, in `0..=` its bound.
    pub fn draw(&self, seed: u64, phase: Phase) -> Dur {
        let (max, salt) = match phase {
            Phase::Boot(n) => (
                self.boot_delay,
                0xb007_de1a_u64 ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ),
            Phase::Observer => (self.observer_phase, 0x0b5e_7e41_u64 << 20),
        };
        Dur::from_millis(Rng::new(seed ^ salt).range(0, max.as_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_within_their_bounds_and_vary_with_the_seed() {
        let p = SimPhases::default();
        let boots: Vec<Dur> = (0..100).map(|s| p.draw(s, Phase::Boot(0))).collect();
        assert!(boots.iter().all(|d| *d <= DEFAULT_BOOT_DELAY));
        let distinct: std::collections::BTreeSet<_> = boots.iter().collect();
        assert!(distinct.len() > 50, "{distinct:?}");
        assert_ne!(p.draw(7, Phase::Boot(0)), p.draw(7, Phase::Boot(1)));
        assert_eq!(p.draw(7, Phase::Observer), p.draw(7, Phase::Observer));
        assert!((0..100).all(|s| p.draw(s, Phase::Observer) <= DEFAULT_OBSERVER_PHASE));
    }

    #[test]
    fn zero_bounds_draw_zero() {
        let p = SimPhases {
            boot_delay: Dur::ZERO,
            observer_phase: Dur::ZERO,
            shuffle_hosts: false,
        };
        assert!((0..50).all(|s| p.draw(s, Phase::Boot(s)).is_zero()));
        assert!((0..50).all(|s| p.draw(s, Phase::Observer).is_zero()));
    }
}
