//! The chaos broker: an MQTT 3.1.1 and 5 broker, as mosquitto behaves,
//! that misbehaves on command (see issue 3; MQTT 5 in [`v5`], issue 11).
//!
//! Two layers, quinn style:
//!
//! - [`core::Core`]: the whole broker as a sans-IO state machine. Bytes of
//!   each connection and the current time (a [`Duration`](std::time::Duration)
//!   since the broker started) go in; bytes to send, close requests, the next
//!   deadline, packet-log entries and broker events come out. No socket, no
//!   clock, no randomness except a seeded generator: the same inputs give the
//!   same outputs.
//! - [`Broker`]: a thin async shell over any `AsyncRead + AsyncWrite` stream
//!   (turmoil's or tokio's TCP, `tokio::io::duplex`), with time from
//!   `tokio::time` so that turmoil and paused-clock tests drive it.
//!
//! Faults ([`fault::Fault`]) are switched at runtime for one client id or for
//! all; [`standalone`] serves the broker on real TCP with a line-based control
//! port.

pub mod broker;
pub mod config;
pub mod control;
pub mod core;
pub mod fault;
pub mod log;
pub mod standalone;
pub mod state;
pub mod topic;
pub mod v5;

mod connection;
#[doc(hidden)]
pub mod isolation;
mod rng;

pub use broker::{Broker, ConnectionEnd};
pub use config::{BrokerConfig, ConfigError};
pub use core::{ConnId, Stats};
pub use fault::{Fault, FaultTarget};
pub use log::{BrokerEvent, Direction, DisconnectReason, EventEntry, LogRecord, PacketLogEntry};
pub use state::{BrokerState, Message, SessionState};
