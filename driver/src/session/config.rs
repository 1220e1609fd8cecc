//! The driver's configuration, mirroring `mqtt_as`'s config dictionary
//! (behaviours C1-C8), with the defaults `mqtt_as` uses, plus the reconnect
//! backoff ("beyond" D4) and the seed that makes jitter repeatable.

use super::store::{Bytes, Text};
use core::fmt;
use core::time::Duration;

use super::queue::OfflineQueue;
use super::v5::Protocol;
use crate::codec::{valid_topic_name, QoS};

/// The last will (C6): all fields are mandatory when a will is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WillConfig {
    pub topic: Text,
    pub message: Bytes,
    pub retain: bool,
    pub qos: QoS,
}

/// C8: WiFi credentials, for the link layer on boards. The session never
/// uses them; the shell hands them to its link. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct WifiCredentials {
    pub ssid: Text,
    pub password: Text,
}

impl fmt::Debug for WifiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WifiCredentials")
            .field("ssid", &self.ssid)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Reconnect backoff (D4 beyond): exponential from `initial` to `max`, each
/// delay shortened by up to `jitter` (a fraction) drawn from the seeded RNG.
/// After a CONNACK refusal the driver waits at least `refused` before trying
/// again, so rejected credentials never cause a reconnect storm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// First delay after a failed attempt. Default 500 ms.
    pub initial: Duration,
    /// Longest delay. Default 5 s.
    pub max: Duration,
    /// Fraction of each delay that jitter may remove, 0.0..=1.0. Default 0.25.
    pub jitter: f64,
    /// Minimum delay after the broker refused the connection. Default 30 s.
    pub refused: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(5),
            jitter: 0.25,
            refused: Duration::from_secs(30),
        }
    }
}

/// C3 beyond: how the reply timeout on a live connection is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseMode {
    /// Always `response_time`, as in `mqtt_as` (the default).
    #[default]
    Fixed,
    /// Estimated from round trips (PINGREQ/PINGRESP, publish acks) like
    /// TCP's retransmission timeout: smoothed RTT + 4 x its deviation,
    /// clamped to `min..=max`; `response_time` (clamped) until the first
    /// sample. Connecting (transport, TLS handshake, CONNACK) and writes
    /// stay bounded by `response_time`. The ping then goes out one timeout
    /// before the ping interval ends (but not before half of it), so a
    /// silent outage is declared about `ping_interval` after the broker
    /// last spoke; unacknowledged publishes are resent with the timeout
    /// doubling each time (never above `max`).
    Adaptive { min: Duration, max: Duration },
}

impl ResponseMode {
    /// Recommended adaptive bounds: never below 7.5 s (half the default
    /// ping interval: a latency burst of up to 7.5 s round trip on a live
    /// link is not an outage, and a silent outage is still declared within
    /// the 15 s ping interval), never above 30 s.
    pub const ADAPTIVE: ResponseMode = ResponseMode::Adaptive {
        min: Duration::from_millis(7500),
        max: Duration::from_secs(30),
    };
}

/// Everything the driver needs to know. `Config::default()` is `mqtt_as`'s
/// default configuration. Its `Debug` output never shows the password.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// C1: the client id. Empty = generated from `seed` ("rmqtt-" + 12 hex).
    pub client_id: Text,
    /// C1: broker host name or address (used by the shell's transport).
    pub server: Text,
    /// C1: broker port; 0 = 1883 (8883 with TLS).
    pub port: u16,
    /// C1: user name.
    pub user: Option<Text>,
    /// C1: password; a password without a user is a configuration error.
    /// Never printed: `Debug` of the session and all events leave it out.
    pub password: Option<Bytes>,
    /// C2: keepalive sent to the broker. Default 60 s; zero turns it off.
    pub keepalive: Duration,
    /// C2: ping interval; zero = keepalive / 4; a smaller value wins.
    pub ping_interval: Duration,
    /// C3: how long a reply (CONNACK, PINGRESP, PUBACK, SUBACK) may take
    /// before the connection is deemed dead or a publish is resent. 10 s.
    pub response_time: Duration,
    /// C3 beyond: fixed `response_time` (default) or adaptive.
    pub response_mode: ResponseMode,
    /// C4: resends of one QoS 1 publish before the link is declared down. 4.
    pub max_repubs: u8,
    /// C5: clean session on the very first connect. Default true.
    pub clean_init: bool,
    /// C5: clean session on reconnects. Default true.
    pub clean: bool,
    /// C6: the last will.
    pub will: Option<WillConfig>,
    /// C8: WiFi credentials for the link layer (boards only).
    pub wifi: Option<WifiCredentials>,
    /// C7: 0 = callback interface; > 0 = event interface with a bounded
    /// incoming queue of this length (oldest dropped on overflow, S3).
    pub queue_len: usize,
    /// K2: how long the link must stay up before the broker is contacted.
    /// Default 5 s.
    pub link_integrity: Duration,
    /// K1: how long the first connect waits for the link to come up. 30 s.
    pub link_timeout: Duration,
    /// D4 beyond: reconnect backoff.
    pub backoff: Backoff,
    /// D5 beyond: resubscribe by itself after a reconnect that lost the
    /// session. Default false, as in `mqtt_as` (the application does it on
    /// the up notification).
    pub restore_subscriptions: bool,
    /// P4: QoS 1/2 publishes in flight at once; more wait their turn. 32.
    pub max_inflight: usize,
    /// Largest incoming packet accepted. Default 64 KiB.
    pub max_packet_size: usize,
    /// P5 beyond: bound, overflow policy and persistence of the publishes
    /// the session holds (queued during an outage or in flight). `None`
    /// (the default): unbounded, not persisted, as `mqtt_as`.
    pub offline_queue: Option<OfflineQueue>,
    /// Seed for jitter and the generated client id (C1).
    pub seed: u64,
    /// O5: debug logging by the shell.
    pub debug: bool,
    /// MQTT 3.1.1 (the default) or MQTT 5 with its options (V1, V2).
    pub protocol: Protocol,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_id: Text::new(),
            server: Text::new(),
            port: 0,
            user: None,
            password: None,
            keepalive: Duration::from_secs(60),
            ping_interval: Duration::ZERO,
            response_time: Duration::from_secs(10),
            response_mode: ResponseMode::Fixed,
            max_repubs: 4,
            clean_init: true,
            clean: true,
            will: None,
            wifi: None,
            queue_len: 0,
            link_integrity: Duration::from_secs(5),
            link_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            restore_subscriptions: false,
            max_inflight: 32,
            max_packet_size: 64 * 1024,
            offline_queue: None,
            seed: 0,
            debug: false,
            protocol: Protocol::V311,
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// C1: a password needs a user.
    PasswordWithoutUser,
    /// C6: the will topic is empty or has wildcards.
    InvalidWillTopic,
    /// C3: response_time must be positive.
    ZeroResponseTime,
    /// C3 beyond: adaptive bounds need 0 < min <= max.
    InvalidAdaptiveBounds,
    /// Keepalive above 65535 s cannot be sent.
    KeepaliveTooLong,
    /// max_inflight must be 1..=65535.
    InvalidMaxInflight,
    /// Backoff: initial must be positive and <= max; jitter in 0..=1.
    InvalidBackoff,
    /// The client id is longer than 65535 bytes.
    ClientIdTooLong,
    /// MQTT 5: receive_maximum must be 1..=65535.
    ZeroReceiveMaximum,
    /// MQTT 5: `clean = false` keeps the session across outages, which
    /// needs a non-zero session expiry.
    PersistentSessionNeedsExpiry,
    /// MQTT 5: a CONNECT or will property cannot be sent (a NUL in a
    /// string, a wildcard in the will's response topic).
    InvalidV5Property,
    /// P5 beyond: the offline queue needs max_messages >= 1 and
    /// max_bytes >= 1.
    InvalidOfflineQueue,
    /// P5 beyond: a storage was given to the client but
    /// `offline_queue.persist` is off (nothing would be stored).
    StorageWithoutPersist,
    /// Without `alloc`: the configuration asks for more than the build's
    /// fixed capacity (`session::store::caps`, set at build time).
    OverCapacity {
        what: &'static str,
        asked: usize,
        max: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ConfigError::OverCapacity { what, asked, max } = self {
            return write!(
                f,
                "{what} = {asked} is over this build's capacity of {max} (no allocator: see session::store::caps)"
            );
        }
        f.write_str(match self {
            ConfigError::OverCapacity { .. } => "over capacity",
            ConfigError::PasswordWithoutUser => "a password was given without a user",
            ConfigError::InvalidWillTopic => "the will topic is empty or contains wildcards",
            ConfigError::ZeroResponseTime => "response_time must be greater than zero",
            ConfigError::InvalidAdaptiveBounds => "adaptive response time needs 0 < min <= max",
            ConfigError::KeepaliveTooLong => "keepalive must be at most 65535 s",
            ConfigError::InvalidMaxInflight => "max_inflight must be between 1 and 65535",
            ConfigError::InvalidBackoff => "backoff needs 0 < initial <= max and jitter in 0..=1",
            ConfigError::ClientIdTooLong => "client_id is longer than 65535 bytes",
            ConfigError::ZeroReceiveMaximum => "MQTT 5 receive_maximum must be at least 1",
            ConfigError::PersistentSessionNeedsExpiry => {
                "MQTT 5 with clean = false needs session_expiry > 0 (else the session ends with each connection)"
            }
            ConfigError::InvalidV5Property => {
                "an MQTT 5 connect or will property cannot be sent (NUL in a string, or a will response topic with wildcards)"
            }
            ConfigError::InvalidOfflineQueue => {
                "offline_queue needs max_messages >= 1 and max_bytes >= 1"
            }
            ConfigError::StorageWithoutPersist => {
                "a queue storage was given but offline_queue.persist is off"
            }
        })
    }
}

impl core::error::Error for ConfigError {}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("client_id", &self.client_id)
            .field("server", &self.server)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("keepalive", &self.keepalive)
            .field("ping_interval", &self.ping_interval)
            .field("response_time", &self.response_time)
            .field("response_mode", &self.response_mode)
            .field("max_repubs", &self.max_repubs)
            .field("clean_init", &self.clean_init)
            .field("clean", &self.clean)
            .field("will", &self.will)
            .field("wifi", &self.wifi)
            .field("queue_len", &self.queue_len)
            .field("link_integrity", &self.link_integrity)
            .field("link_timeout", &self.link_timeout)
            .field("backoff", &self.backoff)
            .field("restore_subscriptions", &self.restore_subscriptions)
            .field("max_inflight", &self.max_inflight)
            .field("max_packet_size", &self.max_packet_size)
            .field("offline_queue", &self.offline_queue)
            .field("seed", &self.seed)
            .field("debug", &self.debug)
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl Config {
    /// Checks the configuration (C1, C3, C6, backoff).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.password.is_some() && self.user.is_none() {
            return Err(ConfigError::PasswordWithoutUser);
        }
        if let Some(w) = &self.will {
            if !valid_topic_name(&w.topic) {
                return Err(ConfigError::InvalidWillTopic);
            }
        }
        if self.response_time.is_zero() {
            return Err(ConfigError::ZeroResponseTime);
        }
        if let ResponseMode::Adaptive { min, max } = self.response_mode {
            if min.is_zero() || min > max {
                return Err(ConfigError::InvalidAdaptiveBounds);
            }
        }
        if self.keepalive.as_secs() > u16::MAX as u64 {
            return Err(ConfigError::KeepaliveTooLong);
        }
        if self.max_inflight == 0 || self.max_inflight > u16::MAX as usize {
            return Err(ConfigError::InvalidMaxInflight);
        }
        let b = &self.backoff;
        if b.initial.is_zero() || b.initial > b.max || !(0.0..=1.0).contains(&b.jitter) {
            return Err(ConfigError::InvalidBackoff);
        }
        if self.client_id.len() > u16::MAX as usize {
            return Err(ConfigError::ClientIdTooLong);
        }
        #[cfg(feature = "alloc")]
        if let Protocol::V5(v5) = &self.protocol {
            if v5.receive_maximum == 0 {
                return Err(ConfigError::ZeroReceiveMaximum);
            }
            if !self.clean && v5.session_expiry == 0 {
                return Err(ConfigError::PersistentSessionNeedsExpiry);
            }
            let nul = |s: &str| s.contains('\0');
            let pairs_ok = |p: &[(Text, Text)]| !p.iter().any(|(k, v)| nul(k) || nul(v));
            let m = &v5.will.message;
            if !pairs_ok(&v5.user_properties)
                || !pairs_ok(&m.user_properties)
                || m.content_type.as_deref().is_some_and(nul)
                || m.response_topic
                    .as_deref()
                    .is_some_and(|t| !valid_topic_name(t))
            {
                return Err(ConfigError::InvalidV5Property);
            }
        }
        if let Some(q) = &self.offline_queue {
            if q.max_messages == 0 || q.max_bytes == 0 {
                return Err(ConfigError::InvalidOfflineQueue);
            }
        }
        self.validate_capacity()
    }

    /// Without `alloc`, what the configuration asks the session to hold
    /// must fit the build's capacities ([`caps`](super::store::caps)).
    #[cfg(not(feature = "alloc"))]
    fn validate_capacity(&self) -> Result<(), ConfigError> {
        use super::store::caps;
        let over = |what: &'static str, max: usize, asked: usize| {
            (asked > max).then_some(ConfigError::OverCapacity { what, asked, max })
        };
        let checks = [
            over("queue_len", caps::QUEUE, self.queue_len),
            over(
                "offline_queue.max_messages",
                caps::OUTBOX,
                self.offline_queue.map_or(0, |q| q.max_messages),
            ),
        ];
        match checks.into_iter().flatten().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    #[cfg(feature = "alloc")]
    fn validate_capacity(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// C2: the effective ping interval: keepalive / 4, or `ping_interval`
    /// when it is smaller (and non-zero). `None` when both are zero.
    pub fn effective_ping_interval(&self) -> Option<Duration> {
        self.ping_interval_for(self.keepalive)
    }

    /// C2 for a given keepalive (MQTT 5: the server's keep alive may
    /// replace ours).
    pub fn ping_interval_for(&self, keepalive: Duration) -> Option<Duration> {
        let quarter = keepalive / 4;
        match (quarter.is_zero(), self.ping_interval.is_zero()) {
            (true, true) => None,
            (true, false) => Some(self.ping_interval),
            (false, true) => Some(quarter),
            (false, false) => Some(quarter.min(self.ping_interval)),
        }
    }

    /// C1: the port to use: 1883 when 0 (8883 when `tls`).
    pub fn effective_port(&self, tls: bool) -> u16 {
        match (self.port, tls) {
            (0, false) => 1883,
            (0, true) => 8883,
            (p, _) => p,
        }
    }
}
