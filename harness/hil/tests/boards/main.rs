//! hil's board tests: the board backend, the raw-REPL uploader and the probe transport over real pseudo-terminals (no hardware).
//!
//! One test binary (a module per file) so that hil is linked once for all of
//! them; `cargo nextest` still runs each test in its own process.

#[path = "../support/mod.rs"]
mod support;

mod board_lab;
mod board_labgrid;
mod board_noagent;
mod board_probe;
mod board_pty;
mod board_ser2net;
mod raw_repl_pty;
