//! `[bridge]`: the DUT is a serial MQTT bridge (issue 20): a bridge host
//! (an MCU with no network, running the workload's application on
//! `resilient-mqtt-bridge`'s host core) wired over a UART to a gateway (a
//! radio module running `resilient-mqtt` towards the broker and the
//! bridge's gateway core towards the host). Without the table the DUT is
//! the driver itself, as before; with it every other table keeps its
//! meaning: `[dut]` configures the gateway's driver (client id, keepalive,
//! session...), `[network.dut]` and the WiFi faults are the gateway's
//! network, `[workload]` is the host's application, and the serial faults
//! (`serial_cut`, `serial_noise`, `serial_drop`, `gateway_reboot`) act on
//! the UART and the gateway.
//!
//! ```toml
//! [bridge]
//! baud = 115200            # the UART's rate, 8N1: 10 bits a byte (default 115200)
//! latency = "0ms"          # extra one-way delay on the line (default 0)
//! frame_timeout = "200ms"  # the link's retransmission timeout (default: the crate's)
//! queue_capacity = 32      # the gateway's per-host queue while the broker is unreachable (default: the crate's)
//! gateway_boot = "1s"      # how long the gateway takes to boot after power-on or `gateway_reboot` (default 1s)
//! ```
//!
//! Simulator only: the live and board backends refuse a `[bridge]`
//! scenario with an error.

use serde::{Deserialize, Serialize};

use crate::duration::Dur;

/// The default UART rate.
pub const DEFAULT_BAUD: u32 = 115_200;
/// The slowest and fastest rates accepted.
pub const BAUD_RANGE: std::ops::RangeInclusive<u32> = 300..=4_000_000;

fn default_baud() -> u32 {
    DEFAULT_BAUD
}

fn default_gateway_boot() -> Dur {
    Dur::from_millis(1_000)
}

/// `[bridge]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bridge {
    #[serde(default = "default_baud")]
    pub baud: u32,
    #[serde(default)]
    pub latency: Dur,
    #[serde(default)]
    pub frame_timeout: Option<Dur>,
    #[serde(default)]
    pub queue_capacity: Option<u32>,
    #[serde(default = "default_gateway_boot")]
    pub gateway_boot: Dur,
}

impl Default for Bridge {
    fn default() -> Self {
        Bridge {
            baud: DEFAULT_BAUD,
            latency: Dur::ZERO,
            frame_timeout: None,
            queue_capacity: None,
            gateway_boot: default_gateway_boot(),
        }
    }
}

impl Bridge {
    /// (field, message) for each value that does not fit a run of
    /// `duration`.
    pub fn check(&self, duration: Dur) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if !BAUD_RANGE.contains(&self.baud) {
            errors.push((
                "baud",
                format!(
                    "baud must be between {} and {}, not {}",
                    BAUD_RANGE.start(),
                    BAUD_RANGE.end(),
                    self.baud
                ),
            ));
        }
        if self.frame_timeout.is_some_and(|d| d.is_zero()) {
            errors.push((
                "frame_timeout",
                "frame_timeout must be greater than zero".into(),
            ));
        }
        if self.queue_capacity == Some(0) {
            errors.push(("queue_capacity", "queue_capacity must be at least 1".into()));
        }
        if self.gateway_boot >= duration {
            errors.push((
                "gateway_boot",
                format!(
                    "gateway_boot {} is not shorter than the run ({duration})",
                    self.gateway_boot
                ),
            ));
        }
        errors
    }

    /// Microseconds one byte takes on the line (8N1: 10 bits).
    pub fn byte_us(&self) -> u64 {
        (10_000_000 / u64::from(self.baud.max(1))).max(1)
    }
}

/// Whether `kind` is a fault that needs a `[bridge]` table.
pub fn needs_bridge(kind: &str) -> bool {
    kind.starts_with("serial_") || kind == "gateway_reboot"
}
