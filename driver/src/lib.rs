//! `resilient-mqtt`: an MQTT 3.1.1 client for devices on unreliable links,
//! the Rust counterpart of MicroPython's `mqtt_as`.
//!
//! Three layers, each usable alone:
//!
//! - [`codec`]: encode and decode every MQTT 3.1.1 packet. `no_std`, no
//!   allocation: decoded packets borrow from the input slice, encoding writes
//!   into a caller's slice.
//! - `session`: a sans-IO state machine holding all the resilience logic:
//!   keepalive, outage detection, QoS 1/2 retransmission, reconnect
//!   backoff. Bytes and time go in; bytes, events and the next deadline
//!   come out. It owns copies of the payloads it may have to resend, of
//!   the subscriptions it restores and of incoming messages: on the heap
//!   with the `alloc` feature, in fixed-capacity storage inside the session
//!   without it (`session::store`; no allocator needed, MQTT 3.1.1 only).
//! - `client` (feature `tokio`): a thin async shell over any transport and
//!   any link (WiFi) abstraction.
//! - `embedded` (feature `embedded`, `no_std`): the same session behind an
//!   async shell for firmware, over `embedded-io-async` sockets and
//!   `embedded-hal-async` delays, with bounded buffers.
//!
//! Without the `std` feature the crate is `#![no_std]`: codec, session and
//! embedded shell never use `std`, and without `alloc` not even `alloc`,
//! which the builds without default features check.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
// The session's unit tests build their expectations with Vec and String
// in both builds.
#[cfg(all(test, not(feature = "alloc")))]
extern crate alloc;
// The host adapters (tokio) need std even when the session does not.
#[cfg(all(feature = "embedded-tokio", not(feature = "std")))]
extern crate std;

#[cfg(feature = "tokio")]
pub mod client;
pub mod codec;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod session;
pub mod storage;
