//! What the DUT's application and the observer do (`[workload]`). The
//! backend runs this as the DUT application, in this order and with these
//! rules (the trace events named are emitted by the `app` actor):
//!
//! 1. At boot (and after a `dut_reboot`) the application calls `connect()`
//!    (`app_connect_start` / `app_connect_done`). If it fails and
//!    `connect_retry` is set, it calls it again after that delay, until it
//!    succeeds; otherwise it gives up and only the heartbeat runs.
//! 2. On every *up* notification it subscribes to each `[[workload.subscribe]]`
//!    entry (as `mqtt_as` applications do, D5) unless the driver restores
//!    subscriptions itself (`dut.restore_subscriptions`).
//! 3. Each `[[workload.publish]]` stream starts at `start` and every
//!    `interval` starts `burst` publishes at once (each its own task, so QoS 1
//!    publishes overlap, P4), `count` messages in all (or until the end).
//!    A publish made while the link is down waits (P1): the stream waits
//!    for its burst's calls to return before the next interval, unless
//!    `wait = false`, where it keeps its schedule and waiting publishes
//!    pile up as concurrent calls (what fills a `dut.offline_queue`).
//! 4. Each received message costs the application `handler_delay` (a slow
//!    application; with `dut.queue_len > 0` the queue then overflows, S3).
//! 5. A heartbeat task runs every `heartbeat` (`heartbeat` events); gaps
//!    between heartbeats show a blocked executor.
//! 6. At `disconnect_at` the application calls `disconnect()` (O3).
//!
//! The observer is a well-behaved client on its own link. Before the DUT
//! boots it subscribes, with QoS 2, to every `[[workload.publish]]` topic
//! and to the will topic. Each `[[workload.observer]]` stream publishes to
//! the DUT's subscriptions like a publish stream (`observer_publish`).
//!
//! Payloads carry message ids, see `trace::payload`.

use serde::{Deserialize, Serialize};

use super::at::At;
use super::types::{Qos, TopicFilter, TopicName};
use crate::duration::Dur;

/// `[workload]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Period of the application's heartbeat task; none = no heartbeat.
    pub heartbeat: Option<Dur>,
    /// Delay before the application calls `connect()` again after the first
    /// connect failed; none = it gives up (K1).
    pub connect_retry: Option<Dur>,
    /// Time the application spends on each received message. Default 0.
    pub handler_delay: Dur,
    /// When the application calls `disconnect()`; none = never. May carry
    /// a tolerance (`"3m ± 5s"`, see `scenario::at`).
    pub disconnect_at: Option<At>,
    /// The DUT application's publish streams.
    pub publish: Vec<PublishStream>,
    /// The DUT application's subscriptions.
    pub subscribe: Vec<Subscription>,
    /// The observer's publish streams (towards the DUT).
    pub observer: Vec<ObserverStream>,
}

fn default_payload_size() -> usize {
    32
}

fn default_burst() -> u32 {
    1
}

/// `[[workload.publish]]`: periodic publishes by the DUT application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishStream {
    pub topic: TopicName,
    pub qos: Qos,
    /// Time between bursts; must be positive.
    pub interval: Dur,
    /// Payload bytes (at least the message id, see `trace::payload`). Default 32.
    #[serde(default = "default_payload_size")]
    pub payload_size: usize,
    /// Messages in all; none = until the end of the run.
    #[serde(default)]
    pub count: Option<u64>,
    /// First burst. Default 0 s. May carry a tolerance (`"10s ± 1s"`,
    /// see `scenario::at`): the stream's phase.
    #[serde(default)]
    pub start: At,
    #[serde(default)]
    pub retain: bool,
    /// Publishes started together at each interval. Default 1.
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Whether the stream waits for its publishes to return before the
    /// next interval. Default true; false keeps the schedule during an
    /// outage (P5 beyond: the offline queue fills at the publish rate).
    #[serde(default = "default_wait")]
    pub wait: bool,
}

fn default_wait() -> bool {
    true
}

/// `[[workload.subscribe]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub topic: TopicFilter,
    pub qos: Qos,
}

/// `[[workload.observer]]`: periodic publishes by the observer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObserverStream {
    pub topic: TopicName,
    pub qos: Qos,
    pub interval: Dur,
    #[serde(default)]
    pub count: Option<u64>,
    /// First publish; may carry a tolerance, like a publish stream's.
    #[serde(default)]
    pub start: At,
    #[serde(default)]
    pub retain: bool,
    #[serde(default = "default_payload_size")]
    pub payload_size: usize,
}

/// Largest payload a stream may ask for.
pub const MAX_PAYLOAD: usize = 256 * 1024;

impl Workload {
    /// The workload `seed` runs: every `start` and `disconnect_at` moved
    /// by the offset the seed draws within its tolerance, exact from then
    /// on (see `scenario::at`).
    pub fn for_seed(&self, seed: u64) -> Workload {
        use super::at::Slot;
        let mut w = self.clone();
        for (i, p) in w.publish.iter_mut().enumerate() {
            p.start = p.start.resolve(seed, Slot::Publish(i));
        }
        for (i, o) in w.observer.iter_mut().enumerate() {
            o.start = o.start.resolve(seed, Slot::Observer(i));
        }
        w.disconnect_at = w.disconnect_at.map(|d| d.resolve(seed, Slot::Disconnect));
        w
    }

    /// True when some DUT subscription matches `topic`.
    pub fn dut_subscribes_to(&self, topic: &str) -> Option<&Subscription> {
        self.subscribe
            .iter()
            .find(|s| super::types::filter_matches(s.topic.as_str(), topic))
    }

    /// (path, message) errors and warnings for values that do not fit
    /// together, given the run's duration. `path` is like `publish[0]`.
    pub fn check(
        &self,
        duration: Dur,
        warnings: &mut Vec<(String, String)>,
    ) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        let mut stream = |path: String,
                          interval: Dur,
                          start: At,
                          count: Option<u64>,
                          size: usize| {
            if interval.is_zero() {
                errors.push((
                    path.clone(),
                    "interval must be greater than zero".to_string(),
                ));
            }
            if start.latest() >= duration {
                errors.push((
                    path.clone(),
                    format!("start {start} is not before the end of the run ({duration})"),
                ));
            }
            if start.tolerance > start.at {
                errors.push((
                        path.clone(),
                        format!("start {start} could fall before the start of the run: the tolerance must be at most {}", start.at),
                    ));
            }
            if count == Some(0) {
                errors.push((
                    path.clone(),
                    "count must be at least 1 (omit it for no limit)".to_string(),
                ));
            }
            if size > MAX_PAYLOAD {
                errors.push((
                    path,
                    format!("payload_size {size} is above the limit of {MAX_PAYLOAD}"),
                ));
            }
        };
        for (i, p) in self.publish.iter().enumerate() {
            stream(
                format!("publish[{i}]"),
                p.interval,
                p.start,
                p.count,
                p.payload_size,
            );
        }
        for (i, o) in self.observer.iter().enumerate() {
            stream(
                format!("observer[{i}]"),
                o.interval,
                o.start,
                o.count,
                o.payload_size,
            );
        }
        for (i, p) in self.publish.iter().enumerate() {
            if p.burst == 0 {
                errors.push((
                    format!("publish[{i}]"),
                    "burst must be at least 1".to_string(),
                ));
            }
        }
        for (i, o) in self.observer.iter().enumerate() {
            if self.dut_subscribes_to(o.topic.as_str()).is_none() {
                warnings.push((
                    format!("observer[{i}]"),
                    format!(
                        "no DUT subscription matches `{}`: the DUT will not receive these",
                        o.topic
                    ),
                ));
            }
        }
        for (name, d) in [
            ("heartbeat", self.heartbeat),
            ("connect_retry", self.connect_retry),
        ] {
            if d == Some(Dur::ZERO) {
                errors.push((
                    name.to_string(),
                    format!("{name} must be greater than zero"),
                ));
            }
        }
        if let Some(at) = self.disconnect_at {
            if at.latest() >= duration {
                errors.push((
                    "disconnect_at".to_string(),
                    format!("disconnect_at {at} is not before the end of the run ({duration})"),
                ));
            }
            if at.tolerance > at.at {
                errors.push((
                    "disconnect_at".to_string(),
                    format!("disconnect_at {at} could fall before the start of the run: the tolerance must be at most {}", at.at),
                ));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use crate::duration::Dur;

    fn parse(body: &str) -> Result<crate::scenario::Scenario, String> {
        let src = format!("name = \"w\"\nduration = \"5m\"\n{body}");
        crate::scenario::parse(&src)
            .map(|(s, _)| s)
            .map_err(|d| d.iter().map(|d| d.message.clone()).collect())
    }

    #[test]
    fn starts_and_disconnect_at_take_tolerances_and_each_seed_resolves_them() {
        let s = parse(
            "[workload]\ndisconnect_at = \"3m +- 5s\"\n\
             [[workload.publish]]\ntopic = \"t\"\nqos = 1\ninterval = \"1s\"\nstart = \"10s ± 1s\"\n\
             [[workload.observer]]\ntopic = \"c\"\nqos = 1\ninterval = \"1s\"\nstart = \"2s\"\n",
        )
        .unwrap();
        let w = &s.workload;
        assert_eq!(w.publish[0].start.to_string(), "10s ± 1s");
        assert_eq!(w.disconnect_at.unwrap().to_string(), "3m ± 5s");
        let mut starts = std::collections::BTreeSet::new();
        for seed in 0..100 {
            let r = s.for_seed(seed).workload;
            let p = r.publish[0].start;
            assert!(p.tolerance.is_zero());
            assert!((9_000..=11_000).contains(&p.at.as_millis()));
            let d = r.disconnect_at.unwrap().at.as_millis();
            assert!((175_000..=185_000).contains(&d));
            assert_eq!(r.observer[0].start.at, Dur::from_secs(2));
            starts.insert(p.at);
        }
        assert!(starts.len() > 50);
    }

    #[test]
    fn a_start_window_must_fit_in_the_run() {
        let e = parse(
            "[[workload.publish]]\ntopic = \"t\"\nqos = 1\ninterval = \"1s\"\nstart = \"1s ± 2s\"\n",
        )
        .unwrap_err();
        assert!(e.contains("publish[0]: start 1s ± 2s could fall before the start of the run: the tolerance must be at most 1s"), "{e}");
        let e = parse("[workload]\ndisconnect_at = \"4m59s ± 2s\"\n").unwrap_err();
        assert!(
            e.contains("disconnect_at 4m59s ± 2s is not before the end of the run (5m)"),
            "{e}"
        );
        let e = parse(
            "[[workload.observer]]\ntopic = \"t\"\nqos = 1\ninterval = \"1s\"\nstart = \"1s ±\"\n",
        )
        .unwrap_err();
        assert!(e.contains("invalid time `1s ±`"), "{e}");
    }
}
