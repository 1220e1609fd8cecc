//! The device under test's configuration, as a scenario file writes it
//! (`[dut]`): the driver's own settings with `mqtt_as`'s defaults
//! (MQTT_AS_BEHAVIOUR.md C1-C7), plus `quick` (K2). One place maps it onto
//! the driver's `resilient_mqtt::session::Config` for every backend:
//! [`DutConfig::to_driver`]. The defaults are the driver's own (its
//! `Config`, `Backoff`, `ResponseMode::ADAPTIVE` and `OfflineQueue`
//! defaults), declared once there.
//!
//! ```toml
//! [dut]
//! client_id = "dut-1"          # default: generated from the seed
//! user = "device"
//! password = { env = "MQTT_PASSWORD" }   # or an inline string (warned about)
//! keepalive = "60s"
//! ping_interval = "0s"         # 0 = keepalive / 4
//! response_time = "10s"
//! adaptive_response = { min = "7.5s", max = "30s" }   # default: fixed response_time
//! max_repubs = 4
//! clean_init = true
//! clean = true
//! queue_len = 0                # 0 = callback interface
//! quick = false                # true skips the 5 s WiFi integrity check
//! restore_subscriptions = false
//! will = { topic = "dut/status", message = "offline", retain = true, qos = 1 }
//! backoff = { min = "500ms", max = "5s", jitter = 0.25, refused = "30s" }
//! offline_queue = { max_messages = 100, max_bytes = 65536, overflow = "drop_oldest", persist = true }
//! mqtt = 5                     # protocol: 3 = MQTT 3.1.1 (default), 5 = MQTT 5
//! session_expiry = "1h"        # MQTT 5 only: Session Expiry Interval (default 0)
//! receive_maximum = 32         # MQTT 5 only: the DUT's Receive Maximum (default 32)
//! ```

use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{self as driver, Protocol, ResponseMode, V5Config, WillConfig};
use serde::{Deserialize, Serialize};

use super::types::{Qos, Secret, TopicName};
use crate::duration::Dur;

/// A driver duration as a scenario duration (whole milliseconds).
fn dur(d: std::time::Duration) -> Dur {
    Dur::from_millis(d.as_millis() as u64)
}

/// `[dut]`: the driver's configuration. Every field has `mqtt_as`'s default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DutConfig {
    /// C1: client id; `None` = generated from the seed.
    pub client_id: Option<String>,
    /// C1: user name.
    pub user: Option<String>,
    /// C1: password (a secret: never written to traces or reports). Needs
    /// `user`.
    pub password: Option<Secret>,
    /// C2: keepalive, whole seconds, at most 65535 s. Default 60 s; 0 = off.
    pub keepalive: Dur,
    /// C2: ping interval; 0 = keepalive / 4. Default 0.
    pub ping_interval: Dur,
    /// C3: reply timeout and QoS 1 resend interval. Default 10 s.
    pub response_time: Dur,
    /// C3 beyond (issue 11): adapt the reply timeout to measured round
    /// trips within these bounds. Default: absent, the fixed `response_time`.
    pub adaptive_response: Option<AdaptiveResponse>,
    /// C4: resends of one publish before the link is declared down. Default 4.
    pub max_repubs: u8,
    /// C5: clean session on the very first connect. Default true.
    pub clean_init: bool,
    /// C5: clean session on reconnects. Default true.
    pub clean: bool,
    /// C6: last will.
    pub will: Option<Will>,
    /// C7: 0 = callback interface; > 0 = bounded incoming queue. Default 0.
    pub queue_len: usize,
    /// K2: skip the 5 s WiFi integrity check on the first connect.
    pub quick: bool,
    /// D5 beyond: the driver restores subscriptions itself. Default false.
    pub restore_subscriptions: bool,
    /// D4 beyond: reconnect backoff.
    pub backoff: Backoff,
    /// P5 beyond (issue 11): bound, overflow policy and persistence of the
    /// publishes the driver holds. Default: absent, unbounded and not
    /// persisted (as `mqtt_as`).
    pub offline_queue: Option<OfflineQueue>,
    /// V1 (issue 11): the protocol, 3 (MQTT 3.1.1, the default) or 5.
    /// Left out of serialised configurations when 3, so those stay as they
    /// were.
    #[serde(skip_serializing_if = "is_mqtt3")]
    pub mqtt: u8,
    /// MQTT 5: Session Expiry Interval, whole seconds (0 = the session ends
    /// with each connection). Default 0. `clean = false` needs it > 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_expiry: Option<Dur>,
    /// MQTT 5: the Receive Maximum the DUT advertises (1..=65535; the
    /// driver's default 32 when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receive_maximum: Option<u32>,
}

fn is_mqtt3(v: &u8) -> bool {
    *v == 3
}

impl Default for DutConfig {
    /// The driver's defaults (`resilient_mqtt::session::Config::default()`).
    fn default() -> Self {
        let d = driver::Config::default();
        DutConfig {
            client_id: None,
            user: None,
            password: None,
            keepalive: dur(d.keepalive),
            ping_interval: dur(d.ping_interval),
            response_time: dur(d.response_time),
            adaptive_response: None,
            max_repubs: d.max_repubs,
            clean_init: d.clean_init,
            clean: d.clean,
            will: None,
            queue_len: d.queue_len,
            quick: false,
            restore_subscriptions: d.restore_subscriptions,
            backoff: Backoff::default(),
            offline_queue: None,
            mqtt: 3,
            session_expiry: None,
            receive_maximum: None,
        }
    }
}

/// C3 beyond: bounds of the adaptive response time (smoothed RTT + 4 x its
/// deviation, clamped). `adaptive_response = {}` takes the driver's
/// recommended bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveResponse {
    /// Default 7.5 s (half the default ping interval).
    pub min: Dur,
    /// Default 30 s.
    pub max: Dur,
}

impl Default for AdaptiveResponse {
    /// The driver's recommended bounds (`ResponseMode::ADAPTIVE`).
    fn default() -> Self {
        match ResponseMode::ADAPTIVE {
            ResponseMode::Adaptive { min, max } => AdaptiveResponse {
                min: dur(min),
                max: dur(max),
            },
            // Not the case: ADAPTIVE is adaptive. The fixed time then.
            ResponseMode::Fixed => {
                let fixed = dur(driver::Config::default().response_time);
                AdaptiveResponse {
                    min: fixed,
                    max: fixed,
                }
            }
        }
    }
}

/// P5 beyond: the driver's bounded offline queue. Everything the driver
/// holds (publishes made during an outage, and those in flight) is bounded
/// by `max_messages` and `max_bytes` (topic + payload); a publish that does
/// not fit is refused (`overflow = "reject"`: `publish()` fails) or makes
/// room by dropping the oldest held publish (`"drop_oldest"`). With
/// `persist = true` queued QoS >= 1 publishes are kept in the device's
/// "flash" (in the simulator: storage that survives `dut_reboot`) and sent
/// after the reboot. With an offline queue the application also keeps its
/// message counters across reboots, so message ids stay unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineQueue {
    /// Most publishes held (>= 1). Required.
    pub max_messages: usize,
    /// Most bytes held (>= 1). Default 64 KiB.
    #[serde(default = "default_queue_bytes")]
    pub max_bytes: usize,
    /// What a publish that does not fit does. Default `reject`.
    #[serde(default)]
    pub overflow: QueueOverflow,
    /// Keep queued QoS >= 1 publishes across `dut_reboot`. Default false.
    #[serde(default)]
    pub persist: bool,
}

/// The driver's default (`OfflineQueue::default().max_bytes`).
fn default_queue_bytes() -> usize {
    driver::OfflineQueue::default().max_bytes
}

/// `offline_queue.overflow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueOverflow {
    /// The new publish is refused: `publish()` returns an error.
    #[default]
    Reject,
    /// The oldest held publish is dropped (and counted) to make room.
    DropOldest,
}

/// C6: the last will; all four fields are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Will {
    pub topic: TopicName,
    pub message: String,
    pub retain: bool,
    pub qos: Qos,
}

/// D4 beyond: reconnect backoff, exponential from `min` to `max`, each delay
/// shortened by up to `jitter` (a fraction) drawn from the seed; after a
/// refused CONNACK the driver waits at least `refused`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backoff {
    /// Default 500 ms.
    pub min: Dur,
    /// Default 5 s.
    pub max: Dur,
    /// 0.0..=1.0. Default 0.25.
    pub jitter: f64,
    /// Default 30 s.
    pub refused: Dur,
}

impl Default for Backoff {
    /// The driver's defaults (`resilient_mqtt::session::Backoff::default()`).
    fn default() -> Self {
        let b = driver::Backoff::default();
        Backoff {
            min: dur(b.initial),
            max: dur(b.max),
            jitter: b.jitter,
            refused: dur(b.refused),
        }
    }
}

impl DutConfig {
    /// The driver's configuration for this `[dut]` and `seed` (the one
    /// mapping every backend uses). A password that cannot be resolved is
    /// left out (the harness reports it before the run).
    pub fn to_driver(&self, seed: u64) -> driver::Config {
        let qos = |q: u8| QoS::from_u8(q).unwrap_or(QoS::AtMostOnce);
        driver::Config {
            client_id: self.client_id.clone().unwrap_or_default(),
            user: self.user.clone(),
            password: self
                .password
                .as_ref()
                .and_then(|p| p.resolve().ok())
                .map(String::into_bytes),
            keepalive: self.keepalive.to_std(),
            ping_interval: self.ping_interval.to_std(),
            response_time: self.response_time.to_std(),
            response_mode: match self.adaptive_response {
                None => ResponseMode::Fixed,
                Some(a) => ResponseMode::Adaptive {
                    min: a.min.to_std(),
                    max: a.max.to_std(),
                },
            },
            max_repubs: self.max_repubs,
            clean_init: self.clean_init,
            clean: self.clean,
            will: self.will.as_ref().map(|w| WillConfig {
                topic: w.topic.as_str().to_string(),
                message: w.message.clone().into_bytes(),
                retain: w.retain,
                qos: qos(w.qos.get()),
            }),
            queue_len: self.queue_len,
            restore_subscriptions: self.restore_subscriptions,
            backoff: driver::Backoff {
                initial: self.backoff.min.to_std(),
                max: self.backoff.max.to_std(),
                jitter: self.backoff.jitter,
                refused: self.backoff.refused.to_std(),
            },
            offline_queue: self.offline_queue.map(|q| driver::OfflineQueue {
                max_messages: q.max_messages,
                max_bytes: q.max_bytes,
                overflow: match q.overflow {
                    QueueOverflow::Reject => driver::Overflow::Reject,
                    QueueOverflow::DropOldest => driver::Overflow::DropOldest,
                },
                persist: q.persist,
            }),
            seed,
            protocol: self.protocol(),
            ..driver::Config::default()
        }
    }

    /// `mqtt = 5` (with `session_expiry`, `receive_maximum`) is MQTT 5 with
    /// the driver's other v5 defaults; anything else is 3.1.1.
    fn protocol(&self) -> Protocol {
        if self.mqtt != 5 {
            return Protocol::V311;
        }
        let defaults = V5Config::default();
        Protocol::v5(V5Config {
            session_expiry: self.session_expiry.map_or(0, |e| {
                (e.as_millis() / 1000).min(u64::from(u32::MAX)) as u32
            }),
            receive_maximum: self
                .receive_maximum
                .map_or(defaults.receive_maximum, |r| r.clamp(1, 65535) as u16),
            ..defaults
        })
    }

    /// The ping interval in force (C2): keepalive / 4, unless
    /// `ping_interval` is set and smaller.
    pub fn effective_ping_interval(&self) -> Dur {
        let quarter = Dur::from_millis(self.keepalive.as_millis() / 4);
        if self.ping_interval.is_zero() || (!quarter.is_zero() && self.ping_interval > quarter) {
            quarter
        } else {
            self.ping_interval
        }
    }

    /// Checks that the fields fit together. Returns (field, message) pairs;
    /// `warnings` collects advice that does not invalidate the file.
    #[allow(clippy::manual_is_multiple_of)] // is_multiple_of is newer than the MSRV
    pub fn check(&self, warnings: &mut Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.password.is_some() && self.user.is_none() {
            errors.push(("password", "a password needs a `user` (C1)".to_string()));
        }
        if matches!(self.password, Some(Secret::Inline(_))) {
            warnings.push((
                "password",
                "the password is written in the file; prefer `password = { env = \"VARIABLE\" }`"
                    .to_string(),
            ));
        }
        if self.keepalive.as_millis() % 1000 != 0 {
            errors.push((
                "keepalive",
                format!("keepalive must be whole seconds, not {}", self.keepalive),
            ));
        }
        if self.keepalive > Dur::from_secs(65535) {
            errors.push(("keepalive", "keepalive must be at most 65535s".to_string()));
        }
        if self.response_time.is_zero() {
            errors.push((
                "response_time",
                "response_time must be greater than zero".to_string(),
            ));
        }
        if let Some(a) = &self.adaptive_response {
            if a.min.is_zero() || a.min > a.max {
                errors.push((
                    "adaptive_response",
                    format!(
                        "adaptive_response needs 0 < min <= max (min {}, max {})",
                        a.min, a.max
                    ),
                ));
            }
        }
        if !self.keepalive.is_zero() && self.ping_interval > self.keepalive {
            warnings.push((
                "ping_interval",
                format!(
                    "ping_interval {} is longer than keepalive {}: keepalive / 4 is used instead",
                    self.ping_interval, self.keepalive
                ),
            ));
        }
        if let Some(id) = &self.client_id {
            if id.is_empty() || id.len() > 65535 {
                errors.push((
                    "client_id",
                    "client_id must be 1 to 65535 bytes (omit it to generate one)".to_string(),
                ));
            }
        }
        if let Some(q) = &self.offline_queue {
            if q.max_messages == 0 || q.max_bytes == 0 {
                errors.push((
                    "offline_queue",
                    format!(
                        "offline_queue needs max_messages >= 1 and max_bytes >= 1 (max_messages {}, max_bytes {})",
                        q.max_messages, q.max_bytes
                    ),
                ));
            }
        }
        if self.mqtt != 3 && self.mqtt != 5 {
            errors.push((
                "mqtt",
                format!("mqtt is 3 (MQTT 3.1.1) or 5 (MQTT 5), not {}", self.mqtt),
            ));
        }
        if self.mqtt == 5 {
            if let Some(e) = self.session_expiry {
                if e.as_millis() % 1000 != 0 || e.as_millis() / 1000 > u64::from(u32::MAX) {
                    errors.push((
                        "session_expiry",
                        format!("session_expiry must be whole seconds below 2^32, not {e}"),
                    ));
                }
            }
            if let Some(r) = self.receive_maximum {
                if !(1..=65535).contains(&r) {
                    errors.push((
                        "receive_maximum",
                        format!("receive_maximum must be 1 to 65535, not {r}"),
                    ));
                }
            }
            if !self.clean && self.session_expiry.is_none_or(|e| e.is_zero()) {
                errors.push((
                    "session_expiry",
                    "MQTT 5 with clean = false needs session_expiry > 0 (else the session ends with each connection)"
                        .to_string(),
                ));
            }
        } else {
            for (key, set) in [
                ("session_expiry", self.session_expiry.is_some()),
                ("receive_maximum", self.receive_maximum.is_some()),
            ] {
                if set {
                    errors.push((
                        key,
                        format!("{key} is an MQTT 5 setting: it needs mqtt = 5"),
                    ));
                }
            }
        }
        let b = &self.backoff;
        if b.min.is_zero() || b.min > b.max {
            errors.push((
                "backoff",
                format!(
                    "backoff needs 0 < min <= max (min {}, max {})",
                    b.min, b.max
                ),
            ));
        }
        if !(0.0..=1.0).contains(&b.jitter) {
            errors.push((
                "backoff",
                format!("backoff jitter must be in 0..=1, not {}", b.jitter),
            ));
        }
        errors
    }
}
