//! Property tests of the framing and the messages, and a replay of the
//! fuzz target's kept corpus (fuzz/corpus/frame_decoder/seed-*).

mod support {
    pub mod invariant;
}

use proptest::prelude::*;
use resilient_mqtt_bridge::caps::{MAX_BODY, MAX_ENCODED, MAX_PAYLOAD};
use resilient_mqtt_bridge::frame::{encode, Decoder, FrameError, Header, Kind};
use resilient_mqtt_bridge::wire::Msg;
use resilient_mqtt_bridge::QoS;

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Hello),
        Just(Kind::Data),
        Just(Kind::Ack),
        Just(Kind::Reset),
        Just(Kind::Ping),
        Just(Kind::Nak)
    ]
}

fn frames(data: &[u8]) -> Vec<Result<(Header, Vec<u8>), FrameError>> {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for &b in data {
        if let Some(r) = d.push(b) {
            out.push(r.map(|f| (f.header, f.body.to_vec())));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_identity(
        k in kind(), seq: u8, ack: u8, win: u8,
        body in proptest::collection::vec(any::<u8>(), 0..=MAX_BODY),
    ) {
        let h = Header { kind: k, seq, ack, win };
        let mut out = [0u8; MAX_ENCODED];
        let n = encode(&h, &body, &mut out).unwrap();
        prop_assert!(n <= MAX_ENCODED);
        prop_assert_eq!(frames(&out[..n]), vec![Ok((h, body))]);
    }

    /// Garbage never panics, and the frame after it always decodes.
    #[test]
    fn garbage_then_a_frame_decodes_the_frame(
        garbage in proptest::collection::vec(any::<u8>(), 0..3000),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let h = Header { kind: Kind::Data, seq: 9, ack: 1, win: 4 };
        let mut wire = garbage.clone();
        let mut out = [0u8; MAX_ENCODED];
        let n = encode(&h, &body, &mut out).unwrap();
        wire.extend_from_slice(&out[..n]);
        let got = frames(&wire);
        prop_assert_eq!(got.last().cloned(), Some(Ok((h, body))));
    }

    /// One flipped or deleted byte in a stream of frames costs at most the
    /// frame it hit (resync within one frame); nothing wrong is accepted.
    #[test]
    fn one_damaged_byte_loses_at_most_its_frame(
        count in 2usize..8, at in any::<proptest::sample::Index>(), flip in 1u8..=255, delete: bool,
    ) {
        let mut wire = Vec::new();
        let mut bounds = Vec::new();
        for i in 0..count {
            let h = Header { kind: Kind::Data, seq: i as u8, ack: 0, win: 1 };
            let mut out = [0u8; MAX_ENCODED];
            let n = encode(&h, format!("frame number {i}").as_bytes(), &mut out).unwrap();
            bounds.push(wire.len()..wire.len() + n);
            wire.extend_from_slice(&out[..n]);
        }
        let pos = at.index(wire.len());
        if delete { wire.remove(pos); } else { wire[pos] ^= flip; }
        let good: Vec<u8> = frames(&wire).into_iter().filter_map(|r| r.ok()).map(|(h, _)| h.seq).collect();
        let hit = bounds.iter().position(|r| r.contains(&pos)).unwrap() as u8;
        let want: Vec<u8> = (0..count as u8).filter(|s| *s != hit).collect();
        // The damaged frame is gone (a CRC-16 could let a damaged frame
        // through with odds of 1 in 65536; a single-byte error never).
        // A damaged delimiter may cost nothing: each frame has one on
        // both sides.
        let all: Vec<u8> = (0..count as u8).collect();
        prop_assert!(good == want || good == all, "{:?} vs {:?}", good, want);
    }

    #[test]
    fn message_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
        if let Ok(m) = Msg::decode(&bytes) {
            let mut out = [0u8; MAX_BODY];
            let n = m.encode(&mut out).unwrap();
            prop_assert_eq!(Msg::decode(&out[..n]), Ok(m));
        }
    }

    #[test]
    fn publish_roundtrips(
        id: u16, q in 0u8..3, retain: bool, topic in "[a-z/]{1,128}",
        payload in proptest::collection::vec(any::<u8>(), 0..=MAX_PAYLOAD),
    ) {
        let m = Msg::Publish { id, qos: QoS::from_u8(q).unwrap(), retain, topic: &topic, payload: &payload };
        let mut out = [0u8; MAX_BODY];
        let n = m.encode(&mut out).unwrap();
        prop_assert_eq!(Msg::decode(&out[..n]), Ok(m));
    }

    #[test]
    fn the_invariants_hold_for_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        support::invariant::frame_invariants(&bytes);
    }
}

/// The fuzz target's seeds: one frame of each kind with real messages,
/// a stream of several, and damaged ones.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    use resilient_mqtt_bridge::wire::{Hello, Role, VERSION};
    let frame = |kind, seq, body: &[u8]| {
        let mut out = [0u8; MAX_ENCODED];
        let n = encode(
            &Header {
                kind,
                seq,
                ack: 3,
                win: 4,
            },
            body,
            &mut out,
        )
        .unwrap();
        out[..n].to_vec()
    };
    let msg = |m: Msg<'_>| {
        let mut out = [0u8; MAX_BODY];
        let n = m.encode(&mut out).unwrap();
        out[..n].to_vec()
    };
    let hello = Hello {
        version: VERSION,
        role: Role::Gateway,
        nonce: 5,
        peer: 0,
        session: 1,
    }
    .encode();
    let publish = msg(Msg::Publish {
        id: 1,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "a/b",
        payload: b"\x00\x01hello",
    });
    let status = msg(Msg::Status {
        mqtt_up: true,
        session_present: false,
        queued: 2,
        capacity: 32,
    });
    let message = msg(Msg::Message {
        qos: QoS::ExactlyOnce,
        retain: true,
        topic: "cmd/x",
        payload: &[0; 300],
    });
    let configure = msg(Msg::Configure {
        client_id: "sensor",
        keepalive_s: 60,
        clean_session: false,
    });
    let mut stream = frame(Kind::Hello, 0, &hello);
    stream.extend(frame(Kind::Data, 0, &status));
    stream.extend(frame(Kind::Data, 1, &message));
    stream.extend(frame(Kind::Ack, 0, &[]));
    let mut damaged = stream.clone();
    damaged[7] ^= 0x10;
    damaged.remove(20);
    vec![
        ("seed-hello", frame(Kind::Hello, 0, &hello)),
        ("seed-publish", frame(Kind::Data, 0, &publish)),
        ("seed-configure", frame(Kind::Data, 0, &configure)),
        ("seed-message", frame(Kind::Data, 2, &message)),
        (
            "seed-control",
            [
                frame(Kind::Ping, 0, &[]),
                frame(Kind::Nak, 0, &[]),
                frame(Kind::Reset, 0, &[]),
            ]
            .concat(),
        ),
        ("seed-stream", stream),
        ("seed-damaged", damaged),
    ]
}

/// The kept seeds are what [`seeds`] makes (`BRIDGE_WRITE_SEEDS=1`
/// rewrites them).
#[test]
fn the_fuzz_seeds_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/frame_decoder");
    let write = std::env::var_os("BRIDGE_WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, bytes) in seeds() {
        let path = dir.join(name);
        if write {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(
            std::fs::read(&path).ok(),
            Some(bytes),
            "{name}: run with BRIDGE_WRITE_SEEDS=1"
        );
    }
}

/// The fuzz target's kept corpus and any crash regressions, replayed.
#[test]
fn the_kept_fuzz_corpus_holds_the_invariants() {
    let mut n = 0;
    for dir in [
        "fuzz/corpus/frame_decoder",
        "fuzz/regressions/frame_decoder",
    ] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let bytes = std::fs::read(e.path()).unwrap();
            support::invariant::frame_invariants(&bytes);
            n += 1;
        }
    }
    assert!(n >= 5, "the kept seeds are there ({n})");
}
