//! What must hold for the decoder on ANY input, written once and used twice:
//! by the fuzz target (`driver/fuzz/fuzz_targets/decode.rs` includes this
//! file with `#[path]`) and by the unit tests (random bytes, the kept fuzz
//! corpus, crash regressions). Every check panics with a message when it
//! fails; a panic is what the fuzzer reports as a crash.
//!
//! The includer must have the codec in scope as `codec` in the parent module.

extern crate alloc;

use alloc::format;
use alloc::vec;

use super::codec::{
    check, decode, valid_topic_filter, valid_topic_name, DecodeError, Decoded, EncodeError,
    FrameHeader, Packet, DEFAULT_MAX_PACKET_SIZE,
};

/// Smaller packet-size limits every input is also decoded with: each must
/// give the same answer as the protocol's full range, except that a frame
/// whose header announces more than the limit is `PacketTooLarge`.
pub const LIMITS: [usize; 8] = [0, 1, 2, 5, 16, 127, 300, 16_384];

/// Checks every invariant for `data`, read as a stream of packets: each one
/// decoded, re-encoded and decoded again, until the stream ends, is
/// incomplete, or holds an error. Returns how many packets were decoded.
pub fn decode_invariants(data: &[u8]) -> usize {
    let mut rest = data;
    let mut packets = 0;
    while let Some(len) = step(rest) {
        packets += 1;
        rest = &rest[len..];
    }
    packets
}

/// One frame at the start of `buf`; `Some(len)` when it was a packet.
fn step(buf: &[u8]) -> Option<usize> {
    let result = decode(buf, DEFAULT_MAX_PACKET_SIZE);
    let header = check(buf, DEFAULT_MAX_PACKET_SIZE);

    for max in LIMITS {
        check_limit(buf, max, &header, &result);
    }

    match result {
        Err(e) => {
            // A header error is the same from both phases.
            if let Err(h) = header {
                assert_eq!(e, h, "check and decode disagree on a header error");
            }
            assert!(!format!("{e}").is_empty());
            None
        }
        Ok(Decoded::Incomplete { needed: None }) => {
            assert_eq!(
                header,
                Ok(None),
                "Incomplete without size needs a partial header"
            );
            // The type byte and at most three length bytes.
            assert!(buf.len() <= 4, "{} bytes and still no header", buf.len());
            None
        }
        Ok(Decoded::Incomplete { needed: Some(n) }) => {
            let h = header
                .ok()
                .flatten()
                .expect("Incomplete with a size needs a header");
            assert_eq!(h.total_len(), n);
            assert!(
                n > buf.len(),
                "Incomplete but {} of {n} bytes are here",
                buf.len()
            );
            None
        }
        Ok(Decoded::Packet { packet, len }) => {
            let h = header.ok().flatten().expect("a packet needs a header");
            assert_eq!(h.total_len(), len);
            assert!(len <= buf.len() && len >= 2);
            assert_eq!(packet.packet_type(), h.packet_type);
            assert_semantics(&packet);
            assert_prefixes_incomplete(&buf[..len], &h);
            assert_reencodes(&packet, &buf[..len], &h);
            Some(len)
        }
    }
}

/// The limit is enforced from the fixed header alone and changes nothing else.
fn check_limit(
    buf: &[u8],
    max: usize,
    header: &Result<Option<FrameHeader>, DecodeError>,
    full: &Result<Decoded<'_>, DecodeError>,
) {
    let limited = decode(buf, max);
    match header {
        Ok(Some(h)) if h.total_len() > max => {
            let too_large = Err(DecodeError::PacketTooLarge {
                size: h.total_len(),
                max,
            });
            assert_eq!(limited, too_large, "limit {max} not enforced");
            // From the header alone: the body is not needed to know.
            assert_eq!(decode(&buf[..h.header_len], max), too_large);
        }
        _ => assert_eq!(&limited, full, "limit {max} changed the result"),
    }
}

/// What the decoder returns is valid by construction.
fn assert_semantics(packet: &Packet<'_>) {
    // Debug walks borrowed lists; it must not panic either.
    assert!(!format!("{packet:?}").is_empty());
    match packet {
        Packet::Connect(c) => {
            if let Some(w) = &c.will {
                assert!(valid_topic_name(w.topic));
            }
            assert!(c.password.is_none() || c.username.is_some());
        }
        Packet::Publish(p) => {
            assert!(valid_topic_name(p.topic));
            assert!(!(p.dup && p.qospid.pid().is_none()));
        }
        Packet::Subscribe(s) => {
            assert!(!s.topics.is_empty() && s.topics.iter().next().is_some());
            assert!(s.topics.iter().all(|t| valid_topic_filter(t.filter)));
        }
        Packet::Unsubscribe(u) => {
            assert!(!u.topics.is_empty() && u.topics.iter().next().is_some());
            assert!(u.topics.iter().all(valid_topic_filter));
        }
        Packet::SubAck(s) => assert!(!s.codes.is_empty() && s.codes.iter().next().is_some()),
        _ => {}
    }
}

/// Every proper prefix of a frame is "read more", never an error.
fn assert_prefixes_incomplete(frame: &[u8], h: &FrameHeader) {
    for end in 0..frame.len() {
        let expected = if end < h.header_len {
            Decoded::Incomplete { needed: None }
        } else {
            Decoded::Incomplete {
                needed: Some(frame.len()),
            }
        };
        assert_eq!(
            decode(&frame[..end], DEFAULT_MAX_PACKET_SIZE),
            Ok(expected),
            "prefix of {end} bytes"
        );
    }
}

/// The packet encodes back to the same bytes (when the input used the
/// shortest remaining-length encoding; the encoder always does), and those
/// decode to the same packet.
fn assert_reencodes(packet: &Packet<'_>, frame: &[u8], h: &FrameHeader) {
    let n = packet
        .encoded_len()
        .unwrap_or_else(|e| panic!("a decoded packet has no encoded length: {e}"));
    let mut out = vec![0u8; n];
    let written = packet
        .encode(&mut out)
        .unwrap_or_else(|e| panic!("a decoded packet does not encode: {e}"));
    assert_eq!(written, n, "encode wrote other than encoded_len");
    if h.header_len == 1 + minimal_length_bytes(h.remaining_len) {
        assert_eq!(&out[..], frame, "re-encoding changed the bytes");
    } else {
        // A non-minimal length encoding is accepted; ours is shorter.
        assert_eq!(
            &out[1 + minimal_length_bytes(h.remaining_len)..],
            &frame[h.header_len..]
        );
        assert!(n < frame.len());
    }
    match decode(&out, DEFAULT_MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet: again, len }) => {
            assert_eq!(&again, packet, "decode(encode(p)) != p");
            assert_eq!(len, n);
        }
        other => panic!("re-encoded packet does not decode: {other:?}"),
    }
    // One byte short: a typed error, not a panic or a partial packet.
    assert_eq!(
        packet.encode(&mut out[..n - 1]),
        Err(EncodeError::BufferTooSmall {
            needed: n,
            available: n - 1
        })
    );
}

/// Length bytes of the shortest encoding of a remaining length.
fn minimal_length_bytes(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}
