//! The tokio client against a real mosquitto, in one binary (a module per
//! file): MQTT 3.1.1, the offline queue, MQTT 5 (client and codec) and TLS.
//! The tests that count heap bytes (`embedded_memory`, `tls_sim`) keep
//! binaries of their own: a global allocator is per binary.

#[path = "../support/mod.rs"]
mod support;

mod client;
mod offline_queue;
#[cfg(feature = "tls")]
mod tls;
mod v5;
mod v5_codec;
