//! Fuzz target `connection`: arbitrary bytes as one client's stream, in
//! arbitrary chunks and at arbitrary times, through the broker's sans-IO
//! core while a well-behaved client stays subscribed; the broker must not
//! panic and the well-behaved client must still get a probe message.
//!
//! Run on stable: `cargo fuzz run -s none connection corpus/connection`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = chaos_broker::isolation::check_isolation(data) {
        panic!("isolation broken: {e}");
    }
});
