//! Fuzz target `decode_v5`: arbitrary bytes read as a stream of MQTT 5.0
//! packets. The invariants (no panic; every limit enforced from the fixed
//! header; every prefix of a packet is "incomplete"; each decoded packet
//! encodes, decodes back to itself, and re-encodes to the same bytes:
//! decode-encode-decode is stable) live in
//! `src/codec/v5/tests/invariant.rs`, shared with the unit tests that
//! replay the kept corpus and the crash regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resilient_mqtt::codec::v5 as codec;

#[path = "../../src/codec/v5/tests/invariant.rs"]
mod invariant;

fuzz_target!(|data: &[u8]| {
    invariant::decode_invariants(data);
});
