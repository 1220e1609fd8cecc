//! `[broker]`: settings of the broker a scenario runs against, whichever
//! broker it is (the chaos broker in the simulator and on `--broker chaos`,
//! mosquitto on the live backend).
//!
//! ```toml
//! [broker]
//! max_packet_size = 1024   # bytes, 14..=268435460 (default: no limit below the protocol's)
//! ```

use serde::{Deserialize, Serialize};

/// The smallest packet limit a broker can run with (the smallest CONNECT).
pub const MIN_PACKET_SIZE: u64 = 14;
/// The largest packet MQTT can frame (268,435,455 + a 5-byte header).
pub const MAX_PACKET_SIZE: u64 = 268_435_460;

/// `[broker]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerSettings {
    /// The largest packet the broker accepts from a client, in bytes
    /// (mosquitto's `max_packet_size`; the chaos broker advertises it to
    /// MQTT 5 clients in CONNACK and answers a larger packet with
    /// DISCONNECT 0x95). `None`: the protocol's maximum, as mosquitto.
    pub max_packet_size: Option<u64>,
}

impl BrokerSettings {
    /// (field, message) for each invalid setting.
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if let Some(n) = self.max_packet_size {
            if !(MIN_PACKET_SIZE..=MAX_PACKET_SIZE).contains(&n) {
                errors.push((
                    "max_packet_size",
                    format!(
                        "max_packet_size must be between {MIN_PACKET_SIZE} (the smallest CONNECT) \
                         and {MAX_PACKET_SIZE} bytes (the protocol's maximum), not {n}"
                    ),
                ));
            }
        }
        errors
    }
}
