//! The network model (`[network]`): latency and loss per link. A link joins
//! a client to the broker: `dut` (the DUT's WiFi + upstream) and `observer`.
//!
//! ```toml
//! [network.dut]
//! latency = { min = "20ms", max = "150ms" }
//! loss = 0.01        # fraction of packets lost, 0.0..1.0 (simulator only)
//!
//! [network.observer]
//! latency = { min = "1ms", max = "5ms" }
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::duration::Dur;

/// Which link a fault or setting applies to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// DUT <-> broker.
    #[default]
    Dut,
    /// Observer <-> broker.
    Observer,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Link::Dut => "dut",
            Link::Observer => "observer",
        })
    }
}

/// `[network]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    pub dut: LinkModel,
    pub observer: LinkModel,
}

impl Network {
    /// The model of `link`.
    pub fn link(&self, link: Link) -> &LinkModel {
        match link {
            Link::Dut => &self.dut,
            Link::Observer => &self.observer,
        }
    }
}

/// One link's model. One-way latency is drawn per packet from the seed,
/// within `latency.min..=latency.max`. The simulator uses turmoil's draw:
/// `min + (max - min) * x` with `x` exponential (rate 5, so a mean of a
/// fifth of the range, capped at `max`): most packets near `min`, a tail
/// towards `max`. Packets are delivered on the simulator's ticks (10 ms by
/// default), so a range within one tick makes every packet take one tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkModel {
    /// Default [`DEFAULT_LATENCY`]: 5 ms to 50 ms, several 10 ms ticks, so
    /// that each seed gives packets different delays (and orders).
    pub latency: Latency,
    /// Fraction of packets lost, 0.0..1.0. Default 0.
    pub loss: f64,
}

/// A link's latency when `[network]` does not set it: a WiFi hop and a
/// short path to the broker. It spans several 10 ms ticks on purpose: a
/// range within one tick gives every packet the same delay on every seed.
pub const DEFAULT_LATENCY: Latency = Latency {
    min: Dur::from_millis(5),
    max: Dur::from_millis(50),
};

impl Default for LinkModel {
    fn default() -> Self {
        LinkModel {
            latency: DEFAULT_LATENCY,
            loss: 0.0,
        }
    }
}

/// A latency range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub min: Dur,
    pub max: Dur,
}

impl Network {
    /// (link, message) for each inconsistent setting.
    pub fn check(&self) -> Vec<(Link, String)> {
        let mut errors = Vec::new();
        for link in [Link::Dut, Link::Observer] {
            let m = self.link(link);
            if m.latency.min > m.latency.max {
                errors.push((
                    link,
                    format!(
                        "latency min {} is above max {}",
                        m.latency.min, m.latency.max
                    ),
                ));
            }
            if !(0.0..1.0).contains(&m.loss) {
                errors.push((link, format!("loss must be in 0.0..1.0, not {}", m.loss)));
            }
        }
        errors
    }
}
