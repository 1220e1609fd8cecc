//! Broker configuration: limits (mosquitto's defaults), the optional
//! user/password table and the seed for the only randomness (generated
//! client ids).

use std::collections::BTreeMap;
use std::fmt;

/// The largest packet MQTT can frame: 268,435,455 bytes of remaining
/// length plus a 5-byte fixed header.
pub const PROTOCOL_MAX_PACKET_SIZE: usize = resilient_mqtt::codec::DEFAULT_MAX_PACKET_SIZE;

/// How the broker behaves when no fault is active.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// QoS 1/2 messages sent and not yet acknowledged, per session
    /// (mosquitto's `max_inflight_messages`, default 20).
    pub max_inflight: usize,
    /// QoS 1/2 messages queued beyond the in-flight window, per session
    /// (mosquitto's `max_queued_messages`, default 1000). Further messages are
    /// dropped and counted.
    pub max_queued: usize,
    /// The largest packet (whole, in bytes) accepted from a client; a larger
    /// one ends the connection (an MQTT 5 client first gets DISCONNECT 0x95
    /// packet too large). Below the protocol's maximum it is advertised to
    /// MQTT 5 clients in CONNACK (Maximum Packet Size). Default: the
    /// protocol's maximum, [`PROTOCOL_MAX_PACKET_SIZE`], not advertised (as
    /// mosquitto 2.0 without `max_packet_size`).
    pub max_packet_size: usize,
    /// `Some`: only these user names with these passwords may connect
    /// (anything else gets CONNACK 5, as mosquitto 2 answers 3.1.1 clients).
    /// `None`: anonymous access.
    pub users: Option<BTreeMap<String, Vec<u8>>>,
    /// Seeds the generator of client ids for clients that send an empty one.
    pub seed: u64,
    /// How many packet-log entries and events are kept for [`crate::Broker::packet_log`]
    /// (oldest dropped first). Subscribers of the tap see every one.
    pub log_capacity: usize,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            max_inflight: 20,
            max_queued: 1000,
            max_packet_size: PROTOCOL_MAX_PACKET_SIZE,
            users: None,
            seed: 0,
            log_capacity: 100_000,
        }
    }
}

// Passwords never reach a log: Debug lists the user names only.
impl fmt::Debug for BrokerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("max_inflight", &self.max_inflight)
            .field("max_queued", &self.max_queued)
            .field("max_packet_size", &self.max_packet_size)
            .field(
                "users",
                &self
                    .users
                    .as_ref()
                    .map(|u| u.keys().cloned().collect::<Vec<_>>()),
            )
            .field("seed", &self.seed)
            .field("log_capacity", &self.log_capacity)
            .finish()
    }
}

/// A configuration the broker cannot run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `max_inflight` of 0 would never send a QoS 1/2 message.
    ZeroInflight,
    /// `max_packet_size` below the smallest CONNECT.
    PacketSizeTooSmall(usize),
    /// `max_packet_size` above what MQTT can frame.
    PacketSizeTooLarge(usize),
    /// A line of a password file that is not `user:password`.
    BadPasswordLine { line: usize },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroInflight => write!(f, "max_inflight must be at least 1"),
            ConfigError::PacketSizeTooSmall(n) => {
                write!(
                    f,
                    "max_packet_size {n} is below the 14 bytes of the smallest CONNECT"
                )
            }
            ConfigError::PacketSizeTooLarge(n) => write!(
                f,
                "max_packet_size {n} is above the protocol's maximum of {PROTOCOL_MAX_PACKET_SIZE} bytes"
            ),
            ConfigError::BadPasswordLine { line } => {
                write!(f, "password file line {line}: expected `user:password`")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl BrokerConfig {
    /// Checks the limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_inflight == 0 {
            return Err(ConfigError::ZeroInflight);
        }
        if self.max_packet_size < 14 {
            return Err(ConfigError::PacketSizeTooSmall(self.max_packet_size));
        }
        if self.max_packet_size > PROTOCOL_MAX_PACKET_SIZE {
            return Err(ConfigError::PacketSizeTooLarge(self.max_packet_size));
        }
        Ok(())
    }

    /// Parses a plain-text password table: one `user:password` per line;
    /// blank lines and lines starting with `#` are skipped. The error names
    /// the line, never its content.
    pub fn parse_users(text: &str) -> Result<BTreeMap<String, Vec<u8>>, ConfigError> {
        let mut users = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((user, password)) = line.split_once(':') else {
                return Err(ConfigError::BadPasswordLine { line: i + 1 });
            };
            if user.is_empty() {
                return Err(ConfigError::BadPasswordLine { line: i + 1 });
            }
            users.insert(user.to_string(), password.as_bytes().to_vec());
        }
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords() {
        let mut users = BTreeMap::new();
        users.insert("dev".to_string(), b"s3cret-pw".to_vec());
        let c = BrokerConfig {
            users: Some(users),
            ..BrokerConfig::default()
        };
        let s = format!("{c:?}");
        assert!(s.contains("dev"));
        assert!(!s.contains("s3cret"));
    }

    #[test]
    fn password_file_errors_name_the_line_only() {
        let err = BrokerConfig::parse_users("# c\nalice:pw\nbob-no-colon-secret\n").unwrap_err();
        assert_eq!(err, ConfigError::BadPasswordLine { line: 3 });
        assert!(!err.to_string().contains("secret"));
        let ok = BrokerConfig::parse_users("alice:p:w\n\n").unwrap();
        assert_eq!(ok["alice"], b"p:w".to_vec());
    }

    #[test]
    fn validate_rejects_zero_inflight() {
        let c = BrokerConfig {
            max_inflight: 0,
            ..BrokerConfig::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::ZeroInflight));
        assert_eq!(BrokerConfig::default().validate(), Ok(()));
    }
}
