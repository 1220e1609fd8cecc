//! `resilient-mqtt-bridge`: MQTT for a host with no network, through a
//! gateway over a serial link (UART).
//!
//! The host (a microcontroller without WiFi) speaks a small framed
//! protocol over its UART to a gateway (a WiFi module, a Linux box) that
//! runs [`resilient-mqtt`](resilient_mqtt) on the network side.
//!
//! - [`frame`]: COBS framing with a CRC-16, resynchronising after garbage
//!   or a lost byte.
//! - [`wire`]: the messages inside frames, and the versioned handshake.
//! - `link` ([`LinkConfig`]): sequence numbers and acknowledgements on every
//!   frame, retransmission, flow control, link up/down.
//! - [`host`]: the host core ([`Host`]), sans-IO, `no_std`, no allocator.
//! - [`gateway`] (feature `std`): the gateway core ([`Gateway`]), sans-IO;
//!   with the feature `gateway` also its async shell over the driver's
//!   tokio client (`gateway::run`).
//! - `tokio` (feature `tokio`): the host's async shell over any tokio
//!   `AsyncRead + AsyncWrite` (a PTY, a serial port, an in-memory pipe).
//! - `embedded` (feature `embedded`): the host's async shell over any
//!   `embedded-io-async` UART, `no_std`.
//!
//! See the crate's README for the wiring, examples and the protocol.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

pub mod frame;
#[cfg(feature = "std")]
pub mod gateway;
pub mod host;
mod link;
pub mod wire;

#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "serial")]
pub mod serial;
#[cfg(feature = "tokio")]
pub mod tokio;

#[cfg(feature = "std")]
pub use gateway::{Gateway, GatewayConfig, MqttRequest, MqttResult};
pub use host::{Host, HostConfig, HostError, HostEvent, Refused, Token};
pub use link::{LinkConfig, LinkStats};
pub use resilient_mqtt::codec::QoS;
pub use wire::{FailReason, VERSION};

/// A point in time: milliseconds since an origin the caller chooses (boot,
/// the start of the program). The cores never read a clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self` plus `ms` milliseconds (saturating).
    pub const fn plus_ms(self, ms: u32) -> Instant {
        Instant(self.0.saturating_add(ms as u64))
    }
}

/// The fixed capacities: every buffer of the host core is sized by these.
pub mod caps {
    /// Longest topic or filter (bytes).
    pub const MAX_TOPIC: usize = 128;
    /// Longest payload (bytes).
    pub const MAX_PAYLOAD: usize = 512;
    /// Longest client id (bytes).
    pub const MAX_CLIENT_ID: usize = 64;
    /// Longest message body: a publish with the longest topic and payload.
    pub const MAX_BODY: usize = 5 + MAX_TOPIC + MAX_PAYLOAD;
    /// Longest frame before stuffing: header, body, CRC.
    pub const MAX_RAW: usize = 4 + MAX_BODY + 2;
    /// Longest frame on the wire: COBS overhead and both delimiters.
    pub const MAX_ENCODED: usize = MAX_RAW + MAX_RAW / 254 + 1 + 2;
    /// Unacknowledged data frames in flight each way.
    pub const WINDOW: usize = 4;
    /// Requests (publish, subscribe, unsubscribe) the host holds until
    /// the gateway answers them.
    pub const OUTBOX: usize = 16;
    /// Subscriptions the host restores after a gateway reboot.
    pub const MAX_SUBS: usize = 8;
    /// Events the host queues for its application.
    pub const EVENTS: usize = 8;
    /// Of those, kept free for the link's own events (up/down).
    pub const EVENT_RESERVE: usize = 3;
}

// The README's code blocks compile as doc tests.
#[cfg(all(doctest, feature = "gateway", feature = "serial"))]
#[doc = include_str!("../README.md")]
mod readme {}
