//! An MQTT-aware TCP fault proxy, between a device (the DUT) and any broker.
//!
//! Byte-level faults per direction (latency with jitter, bandwidth,
//! blackhole, hold, reset-peer, slow-close, slicer, limit-data, refuse) and
//! packet-level faults that follow MQTT framing in both directions across
//! any TCP segmentation (drop the next N packets of a type, delay a type,
//! duplicate, rewrite a CONNACK's return code, close after the Nth packet of
//! a type). Every fault can be bounded in time (`after T`, `for D`); every
//! random choice comes from a seed; everything the proxy does is written
//! to a timestamped log.
//!
//! - [`fault`]: one file per fault kind behind the [`fault::Fault`] enum.
//! - [`rule`]: a fault + directions + time window; the [`rule::RuleSet`].
//! - [`pipe`]: the sans-IO core (framing and faults, no sockets, no clock).
//! - [`wire`]: the wire tap, what a device did as seen on its connection
//!   (for harnesses that cannot instrument it).
//! - [`proxy`]: the thin tokio shell; [`control`]: the control port;
//!   [`cli`]: `hil proxy`'s flags and run loop.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use fault_proxy::{Proxy, ProxyConfig};
//! let proxy = Proxy::start(ProxyConfig {
//!     listen: "127.0.0.1:0".parse().unwrap(),
//!     upstream: "127.0.0.1:1883".into(),
//!     seed: 7,
//!     rules: vec![],
//!     log_file: None,
//! }).await?;
//! proxy.add_line("drop puback 1").unwrap();   // the next PUBACK to the device vanishes
//! # Ok(()) }
//! ```

pub mod cli;
pub mod control;
pub mod duration;
pub mod fault;
pub mod log;
pub mod pipe;
pub mod proxy;
pub mod rng;
pub mod rule;
pub mod wire;

pub use proxy::{Proxy, ProxyConfig, Stats};
pub use rule::{RuleSet, RuleSpec};
