//! The `decode_v5` fuzz target's kept inputs. The seed files in
//! `driver/fuzz/corpus/decode_v5/seed-*` are the byte vectors of
//! [`vectors`](super::vectors) (one or more per packet type) and a stream
//! of what a client reads; this test checks they are up to date
//! (`UPDATE_FUZZ_SEEDS=1` rewrites them). Every file in that corpus and in
//! `driver/fuzz/regressions/decode_v5/` is replayed through the same
//! invariants the fuzz target checks.

use super::std;

use std::vec::Vec;

use super::super::*;
use super::invariant;
use super::vectors::*;
use crate::codec::tests::corpus::{check_seed_files, replay_kept_inputs};

/// The seeds: a name and the bytes.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds: Vec<(&'static str, Vec<u8>)> = [
        ("connect-properties-will", CONNECT_WITH_PROPERTIES),
        ("connect-password-only", CONNECT_PASSWORD_ONLY),
        ("connack-properties", CONNACK_WITH_PROPERTIES),
        (
            "publish-alias-user-properties",
            PUBLISH_ALIAS_USER_PROPERTIES,
        ),
        ("publish-by-alias", PUBLISH_BY_ALIAS),
        ("publish-message-properties", PUBLISH_MESSAGE_PROPERTIES),
        ("puback-no-subscribers", PUBACK_NO_SUBSCRIBERS),
        ("pubrec-no-subscribers", PUBREC_NO_SUBSCRIBERS),
        ("pubrel", PUBREL_SUCCESS),
        ("pubcomp-reason-string", PUBCOMP_WITH_REASON_STRING),
        ("subscribe-options", SUBSCRIBE_WITH_OPTIONS),
        ("suback-codes", SUBACK_SEVERAL_CODES),
        ("unsubscribe", UNSUBSCRIBE),
        ("unsuback", UNSUBACK),
        ("pingreq", PINGREQ),
        ("pingresp", PINGRESP),
        ("disconnect-shutting-down", DISCONNECT_SHUTTING_DOWN),
        (
            "disconnect-shutting-down-reason",
            DISCONNECT_SHUTTING_DOWN_WITH_REASON,
        ),
        ("auth-continue", AUTH_CONTINUE),
    ]
    .iter()
    .map(|(n, b)| (*n, b.to_vec()))
    .collect();
    // A stream: what a client reads after connecting.
    let mut stream = Vec::new();
    for part in [
        CONNACK_WITH_PROPERTIES,
        SUBACK_SEVERAL_CODES,
        PUBLISH_ALIAS_USER_PROPERTIES,
        PUBLISH_BY_ALIAS,
        PINGRESP,
        DISCONNECT_SHUTTING_DOWN,
    ] {
        stream.extend_from_slice(part);
    }
    seeds.push(("stream", stream));
    seeds
}

/// The committed seeds are exactly what [`seeds`] lists, each decodes, and
/// every packet type has one. `UPDATE_FUZZ_SEEDS=1 cargo test -p
/// resilient-mqtt --lib codec::v5::tests::corpus` rewrites them.
#[test]
fn seed_files_are_up_to_date() {
    let seeds = seeds();
    check_seed_files("decode_v5", &seeds, invariant::decode_invariants);
    let mut types = Vec::new();
    for (_, bytes) in &seeds {
        let mut rest = &bytes[..];
        while let Ok(Decoded::Packet { packet, len }) = decode(rest, DEFAULT_MAX_PACKET_SIZE) {
            types.push(packet.packet_type());
            rest = &rest[len..];
        }
    }
    for nibble in 1..=15 {
        let t = PacketType::from_nibble(nibble).unwrap();
        assert!(types.contains(&t), "no seed for {}", t.name());
    }
}

/// Every kept input and crash regression satisfies the invariants.
#[test]
fn kept_corpus_and_crash_regressions_replay() {
    let replayed = replay_kept_inputs("decode_v5", invariant::decode_invariants);
    assert!(replayed >= seeds().len(), "only {replayed} inputs found");
}
