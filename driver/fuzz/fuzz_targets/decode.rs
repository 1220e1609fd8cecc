//! Fuzz target `decode`: arbitrary bytes read as a stream of MQTT 3.1.1
//! packets. The invariants (no panic; every limit enforced from the fixed
//! header; every prefix of a packet is "incomplete"; each decoded packet
//! re-encodes to the same bytes and decodes back to itself) live in
//! `src/codec/tests/invariant.rs`, shared with the unit tests that replay
//! the kept corpus and the crash regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resilient_mqtt::codec;

#[path = "../../src/codec/tests/invariant.rs"]
mod invariant;

fuzz_target!(|data: &[u8]| {
    invariant::decode_invariants(data);
});
