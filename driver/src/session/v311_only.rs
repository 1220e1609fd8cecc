//! The protocol module of the allocation-free build (no `alloc` feature):
//! the session then speaks MQTT 3.1.1 only, and this module stands in for
//! `v5` with the 3.1.1 answers to what the core asks of the protocol: no
//! server limits, the configured in-flight window and keepalive, nothing
//! extra to check before a send. The MQTT 5 option types still exist (a
//! shell can be written once for both builds), but a non-default option
//! is refused with [`RequestError::NeedsMqtt5`].

#[path = "v5/config.rs"]
mod config;

pub use config::{
    AckReason, MessageProperties, Protocol, PublishProperties, ReasonCode, RetainHandling,
    ServerLimits, SubscribeOptions, V5Config, WillProperties,
};

use super::outbox::OutPublish;
use super::{RequestError, Session};

/// The protocol state of a session: always 3.1.1 here.
#[derive(Debug)]
pub(crate) enum Wire {
    V311,
}

/// The outcome of decoding one packet from the receive buffer.
pub(crate) enum Step {
    /// More bytes are needed.
    Incomplete,
    /// A packet of this length was handled.
    Consumed(usize),
    /// The bytes are not valid; the connection was ended.
    Failed,
}

impl Wire {
    pub fn new(protocol: &Protocol, _client_id_empty: bool) -> Self {
        match protocol {
            Protocol::V311 => Wire::V311,
        }
    }

    pub fn is_v5(&self) -> bool {
        false
    }
}

impl Session {
    /// The server's limits: MQTT 3.1.1 has none.
    pub fn server_limits(&self) -> Option<&ServerLimits> {
        None
    }

    /// P4: `max_inflight`.
    pub(crate) fn inflight_window(&self) -> usize {
        self.config.max_inflight
    }

    /// C2: our keepalive.
    pub(crate) fn keepalive_in_force(&self) -> core::time::Duration {
        self.config.keepalive
    }

    /// MQTT 3.1.1 has no per-connection limits to check.
    pub(crate) fn v5_check_sendable(&self, _p: &OutPublish) -> Result<(), RequestError> {
        Ok(())
    }
}
