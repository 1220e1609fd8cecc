//! Codec tests, one file per kind, beside the code they test (the rustls
//! habit):
//!
//! - [`roundtrip`]: property tests; every packet type encodes, decodes back
//!   to itself, and every prefix of its bytes is "incomplete"; remaining
//!   length at every boundary; the packet-size limit; random bytes.
//! - [`vectors`]: byte-exact examples from the MQTT 3.1.1 specification.
//! - [`malformed`]: every rejection, with its exact typed error, on both
//!   the decode and the encode side.
//! - [`corpus`]: the fuzz target's seed files (generated here) and a replay
//!   of the kept corpus and of crash regressions through [`invariant`].
//! - [`invariant`]: what holds for any input; shared with the fuzz target.

// The crate is no_std; the tests run on a host and use std (fs, Vec).
extern crate std;

// `invariant` names the codec `super::codec`, both here and in the fuzz target.
use crate::codec;

pub(crate) mod corpus;
mod invariant;
mod malformed;
pub(crate) mod roundtrip;
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
