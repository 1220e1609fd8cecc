//! What must hold for the MQTT 5 decoder on ANY input, written once and
//! used twice: by the fuzz target `decode_v5`
//! (`driver/fuzz/fuzz_targets/decode_v5.rs` includes this file with
//! `#[path]`) and by the unit tests (random bytes, the kept corpus). Every
//! check panics with a message when it fails; a panic is what the fuzzer
//! reports as a crash.
//!
//! The includer must have the v5 codec in scope as `codec` in the parent
//! module.

extern crate alloc;

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use super::codec::{
    check, decode, DecodeError, Decoded, EncodeError, FrameHeader, Packet, Properties, Property,
    PropertyId, DEFAULT_MAX_PACKET_SIZE,
};

/// Smaller packet-size limits every input is also decoded with: each must
/// give the same answer as the protocol's full range, except that a frame
/// whose header announces more than the limit is `PacketTooLarge`.
pub const LIMITS: [usize; 6] = [0, 2, 5, 127, 300, 16_384];

/// Checks every invariant for `data`, read as a stream of packets, until
/// the stream ends, is incomplete, or holds an error. Returns how many
/// packets were decoded.
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
            assert_reencodes(&packet, &buf[..len]);
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
            assert_eq!(decode(&buf[..h.header_len], max), too_large);
        }
        _ => assert_eq!(&limited, full, "limit {max} changed the result"),
    }
}

/// Walks a decoded property block: it yields something when not empty.
fn props<'a>(p: &Properties<'a>) -> Vec<Property<'a>> {
    let all: Vec<_> = p.iter().collect();
    assert_eq!(
        all.is_empty(),
        p.is_empty(),
        "a property block lost entries"
    );
    all
}

/// What the decoder returns is valid by construction: walking its
/// properties and lists finds every entry.
fn assert_semantics(packet: &Packet<'_>) {
    assert!(!format!("{packet:?}").is_empty());
    match packet {
        Packet::Connect(c) => {
            props(&c.properties);
            if let Some(w) = &c.will {
                props(&w.properties);
            }
        }
        Packet::Publish(p) => {
            let all = props(&p.properties);
            assert!(!(p.dup && p.qospid.pid().is_none()));
            if p.topic.is_empty() {
                assert!(all.iter().any(|x| x.id() == PropertyId::TopicAlias));
            }
        }
        Packet::Subscribe(s) => {
            props(&s.properties);
            assert!(!s.topics.is_empty() && s.topics.iter().next().is_some());
        }
        Packet::Unsubscribe(u) => assert!(u.topics.iter().next().is_some()),
        Packet::SubAck(s) => assert!(s.codes.iter().next().is_some()),
        Packet::UnsubAck(s) => assert!(s.codes.iter().next().is_some()),
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

/// decode-encode-decode is stable: the packet encodes (never longer than
/// its input; shorter only where a short form exists), decodes back to
/// itself, and re-encoding that gives the same bytes.
fn assert_reencodes(packet: &Packet<'_>, frame: &[u8]) {
    let n = packet
        .encoded_len()
        .unwrap_or_else(|e| panic!("a decoded packet has no encoded length: {e}"));
    let mut out = vec![0u8; n];
    let written = packet
        .encode(&mut out)
        .unwrap_or_else(|e| panic!("a decoded packet does not encode: {e}"));
    assert_eq!(written, n, "encode wrote other than encoded_len");
    assert!(n <= frame.len(), "re-encoding grew the packet");
    if n == frame.len() {
        assert_eq!(&out[..], frame, "re-encoding changed the bytes");
    } else {
        // Only the acks, DISCONNECT and AUTH have shorter forms.
        use super::codec::PacketType as T;
        assert!(
            matches!(
                packet.packet_type(),
                T::PubAck | T::PubRec | T::PubRel | T::PubComp | T::Disconnect | T::Auth
            ),
            "{} re-encoded shorter",
            packet.packet_type().name()
        );
    }
    match decode(&out, DEFAULT_MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet: again, len }) => {
            assert_eq!(&again, packet, "decode(encode(p)) != p");
            assert_eq!(len, n);
            let mut twice = vec![0u8; n];
            assert_eq!(again.encode(&mut twice), Ok(n));
            assert_eq!(twice, out, "encode(decode(encode(p))) != encode(p)");
        }
        other => panic!("re-encoded packet does not decode: {other:?}"),
    }
    assert_eq!(
        packet.encode(&mut out[..n - 1]),
        Err(EncodeError::BufferTooSmall {
            needed: n,
            available: n - 1
        })
    );
}
