//! Fuzz target `frame_decoder`: arbitrary bytes as they would come from
//! the serial line, through the frame decoder, the message decoder and
//! both cores. The invariants live in `tests/support/invariant.rs`, shared
//! with the tests that replay the kept corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/invariant.rs"]
mod invariant;

fuzz_target!(|data: &[u8]| {
    invariant::frame_invariants(data);
});
