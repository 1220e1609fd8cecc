//! MQTT 5 codec tests, one file per kind, beside the code they test:
//!
//! - [`roundtrip`]: property tests; every packet type, with generated
//!   properties valid for it, encodes and decodes back to itself; short
//!   forms; every property in every packet it may appear in.
//! - [`vectors`]: hand-computed bytes (the specification's CONNECT variable
//!   header example, PUBLISH with a topic alias and user properties, SUBACK
//!   with several reason codes, DISCONNECT 0x8B...).
//! - [`malformed`]: each rejection with its exact typed error.
//! - [`corpus`]: the `decode_v5` fuzz target's seed files and a replay of
//!   the kept corpus through [`invariant`].
//! - [`invariant`]: what holds for any input; shared with the fuzz target.

extern crate std;

// `invariant` names the codec `super::codec`, here and in the fuzz target.
use crate::codec::v5 as codec;

mod corpus;
mod invariant;
mod malformed;
mod roundtrip;
mod vectors;

use std::vec::Vec;

use super::*;

/// Encodes `p` into a vector of exactly `encoded_len` bytes.
fn encode(p: &Packet<'_>) -> Vec<u8> {
    let n = p.encoded_len().expect("encoded_len");
    let mut buf = std::vec![0u8; n];
    let written = p.encode(&mut buf).expect("encode");
    assert_eq!(written, n, "encode wrote other than encoded_len");
    buf
}

/// Decodes `bytes`, which must hold exactly one whole packet.
fn decode_whole(bytes: &[u8]) -> Packet<'_> {
    match decode(bytes, DEFAULT_MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet, len }) => {
            assert_eq!(len, bytes.len(), "packet shorter than its bytes");
            packet
        }
        other => panic!("expected a whole packet, got {other:?}"),
    }
}

/// Decodes `bytes` expecting an error.
fn decode_err(bytes: &[u8]) -> DecodeError {
    match decode(bytes, DEFAULT_MAX_PACKET_SIZE) {
        Err(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}
