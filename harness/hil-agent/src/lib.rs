//! The hil agent protocol v1, board side and shared framing
//! (`fixtures/agents/PROTOCOL.md` is the specification).
//!
//! A board that runs a device under test prints *agent lines* on whatever
//! byte stream it has (UART, USB CDC, RTT, a PTY), mixed with its ordinary
//! console output:
//!
//! ```text
//! @hil {"ms":1234,"actor":"dut","event":"connected","session_present":false,"keepalive_s":60}*5c1f09e2
//! ```
//!
//! The marker `@hil `, one JSON object, `*`, the CRC-32 (ISO-HDLC, the
//! zlib / `binascii.crc32` one) of the JSON bytes as 8 lowercase hex digits,
//! and a newline. The harness sends commands the same way.
//!
//! - [`frame`]: the CRC, [`frame::LineWriter`] (streams one line out
//!   through any `embedded_io::Write`, no buffer, no allocation) and
//!   [`frame::Decoder`] (splits a byte stream into console output, good
//!   lines and counted framing errors; fixed buffer, never panics).
//! - [`agent`]: what firmware calls: `hello`, trace events, `heap`, `pong`.
//! - [`msg`]: the JSON messages both ways as serde types (needs `alloc`):
//!   [`msg::Command`] (harness to board) and [`msg::Inbound`] (board to
//!   harness).
//!
//! `#![no_std]`; the message types need a global allocator (`alloc`), the
//! framing and the emitting side do not.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod agent;
pub mod frame;
pub mod msg;

/// The protocol version this crate speaks (`hello.proto`).
pub const PROTOCOL_VERSION: &str = "1.0";

/// The major version: a peer with another major is refused.
pub const PROTOCOL_MAJOR: u32 = 1;

/// The line marker.
pub const MARKER: &[u8] = b"@hil ";

/// The longest protocol line (marker, JSON, checksum and newline included)
/// a receiver must accept; longer ones are counted as overlong and dropped.
pub const MAX_LINE: usize = 1024;
