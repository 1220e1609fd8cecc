//! The `hil` board backend's debug-probe transport: a board reached through
//! a probe (CMSIS-DAP, ST-Link, J-Link, an ESP32-C3's built-in USB-JTAG,
//! FTDI) with probe-rs: flash an ELF, reset (running or halted, attach
//! normally or under reset), and the agent protocol over RTT (up channel 0
//! and down channel 0), with the firmware's defmt log decoded into the
//! console log.
//!
//! Without features this crate is what needs no probe-rs: probe selectors
//! ([`ProbeSelector`], `VID:PID[:SERIAL]`), the errors ([`ProbeError`],
//! e.g. which probes were looked for and how to list them), the firmware
//! checks ([`Firmware`]) and the console merge ([`Console`]). Feature
//! `probe-rs` adds [`ProbeLink`] and [`list_probes`]; feature `defmt` adds
//! the decoder ([`defmt`]) and the `hil-defmt` binary.

pub mod console;
#[cfg(feature = "defmt")]
pub mod defmt;
pub mod defmt_pipe;
pub mod error;
pub mod firmware;
#[cfg(feature = "probe-rs")]
pub mod link;
pub mod selector;

pub use console::Console;
pub use error::{ProbeError, ProbeInfo};
pub use firmware::Firmware;
#[cfg(feature = "probe-rs")]
pub use link::{list_probes, Attach, FlashStep, ProbeLink};
pub use selector::{ProbeSelector, SelectorError};
