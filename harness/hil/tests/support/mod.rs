//! What hil's integration tests share: one copy, included by each test
//! binary (`tests/pure`, `tests/live`, `tests/boards`, `tests/live_cleanup.rs`).
#![allow(dead_code)]

pub mod cli;
pub mod proc;
