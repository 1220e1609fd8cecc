//! The fuzz target's kept inputs. The seed files in
//! `driver/fuzz/corpus/decode/seed-*` are generated here (one valid encoding
//! per packet type, and a few variants) and checked to be up to date;
//! `UPDATE_FUZZ_SEEDS=1` rewrites them. Every file in the corpus and in
//! `driver/fuzz/regressions/decode/` (crash inputs the fuzzer once found) is
//! replayed through the same invariants the fuzz target checks.

// The crate is no_std; `std` comes from `extern crate std` in tests/mod.rs.
use super::std;

use std::path::{Path, PathBuf};
use std::string::String;
use std::vec::Vec;
use std::{env, format, fs, panic};

use super::super::*;
use super::{encode, invariant};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The seeds: a name and the bytes.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let pid = Pid::new(10).unwrap();
    let topics = [
        SubscribeTopic {
            filter: "a/b",
            qos: QoS::AtMostOnce,
        },
        SubscribeTopic {
            filter: "sport/+/player1",
            qos: QoS::AtLeastOnce,
        },
        SubscribeTopic {
            filter: "dev/#",
            qos: QoS::ExactlyOnce,
        },
    ];
    let codes = [
        SubAckCode::Granted(QoS::AtMostOnce),
        SubAckCode::Granted(QoS::AtLeastOnce),
        SubAckCode::Granted(QoS::ExactlyOnce),
        SubAckCode::Failure,
    ];
    let filters = ["a/b", "+/x/#"];
    let publish = |qospid, dup, retain, payload| {
        Packet::Publish(Publish {
            dup,
            qospid,
            retain,
            topic: "dev/1/temp",
            payload,
        })
    };
    let long_payload = [0x5Au8; 200];
    let connack = |session_present, code| {
        Packet::ConnAck(ConnAck {
            session_present,
            code,
        })
    };

    let mut seeds: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let mut add = |name, p: Packet<'_>| seeds.push((name, encode(&p)));
    add(
        "connect-minimal",
        Packet::Connect(Connect {
            client_id: "",
            keep_alive: 0,
            clean_session: true,
            will: None,
            username: None,
            password: None,
        }),
    );
    add(
        "connect-full",
        Packet::Connect(Connect {
            client_id: "dev-1",
            keep_alive: 60,
            clean_session: false,
            will: Some(Will {
                topic: "dev/1/status",
                message: b"offline",
                qos: QoS::AtLeastOnce,
                retain: true,
            }),
            username: Some("user"),
            password: Some(b"pw"),
        }),
    );
    add(
        "connack-session-present",
        connack(true, ConnectReturnCode::Accepted),
    );
    add(
        "connack-not-authorized",
        connack(false, ConnectReturnCode::NotAuthorized),
    );
    add(
        "publish-qos0",
        publish(QosPid::AtMostOnce, false, false, b"21.5"),
    );
    add(
        "publish-qos1-dup-retain",
        publish(QosPid::AtLeastOnce(pid), true, true, b"21.5"),
    );
    add(
        "publish-qos2",
        publish(QosPid::ExactlyOnce(pid), false, false, b""),
    );
    add(
        "publish-two-length-bytes",
        publish(QosPid::AtLeastOnce(pid), false, false, &long_payload),
    );
    add("puback", Packet::PubAck(PubAck(pid)));
    add("pubrec", Packet::PubRec(PubRec(pid)));
    add("pubrel", Packet::PubRel(PubRel(pid)));
    add("pubcomp", Packet::PubComp(PubComp(pid)));
    add(
        "subscribe",
        Packet::Subscribe(Subscribe {
            pid,
            topics: List::new(&topics),
        }),
    );
    add(
        "suback",
        Packet::SubAck(SubAck {
            pid,
            codes: List::new(&codes),
        }),
    );
    add(
        "unsubscribe",
        Packet::Unsubscribe(Unsubscribe {
            pid,
            topics: List::new(&filters),
        }),
    );
    add("unsuback", Packet::UnsubAck(UnsubAck(pid)));
    add("pingreq", Packet::PingReq);
    add("pingresp", Packet::PingResp);
    add("disconnect", Packet::Disconnect);

    // A stream: what a client reads after connecting.
    let mut stream = Vec::new();
    for (name, bytes) in &seeds {
        if [
            "connack-session-present",
            "suback",
            "publish-qos1-dup-retain",
            "pingresp",
        ]
        .contains(name)
        {
            stream.extend_from_slice(bytes);
        }
    }
    seeds.push(("stream", stream));
    seeds
}

/// The committed seeds are exactly what [`seeds`] generates, and every seed
/// decodes. `UPDATE_FUZZ_SEEDS=1 cargo test -p resilient-mqtt --lib
/// codec::tests::corpus` rewrites them.
#[test]
fn seed_files_are_up_to_date() {
    let seeds = seeds();
    check_seed_files("decode", &seeds, invariant::decode_invariants);
    // Every packet type has a seed.
    let mut types = Vec::new();
    for (_, bytes) in &seeds {
        let mut rest = &bytes[..];
        while let Ok(Decoded::Packet { packet, len }) = decode(rest, DEFAULT_MAX_PACKET_SIZE) {
            types.push(packet.packet_type());
            rest = &rest[len..];
        }
    }
    for nibble in 1..=14 {
        let t = PacketType::from_nibble(nibble).unwrap();
        assert!(types.contains(&t), "no seed for {}", t.name());
    }
}

/// Every kept input (seeds, and whatever a local fuzzing run added) and
/// every crash regression satisfies the fuzz target's invariants.
#[test]
fn kept_corpus_and_crash_regressions_replay() {
    let replayed = replay_kept_inputs("decode", invariant::decode_invariants);
    assert!(replayed >= seeds().len(), "only {replayed} inputs found");
}

/// Checks the seed files `fuzz/corpus/<target>/seed-*` against `seeds`
/// (each must hold at least one packet by `invariants`), or rewrites them
/// with `UPDATE_FUZZ_SEEDS` set; a seed file no longer listed is an error.
/// Shared by the 3.1.1 and the MQTT 5 codec's corpus tests.
pub(crate) fn check_seed_files(
    target: &str,
    seeds: &[(&'static str, Vec<u8>)],
    invariants: fn(&[u8]) -> usize,
) {
    let dir = fuzz_dir().join("corpus").join(target);
    let update = env::var_os("UPDATE_FUZZ_SEEDS").is_some();
    if update {
        fs::create_dir_all(&dir).unwrap();
    }
    for (name, bytes) in seeds {
        let packets = invariants(bytes);
        assert!(packets >= 1, "seed {name} decodes to nothing");
        let path = dir.join(format!("seed-{name}"));
        if update {
            fs::write(&path, bytes).unwrap();
        } else {
            let kept = fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; regenerate the seeds with UPDATE_FUZZ_SEEDS=1",
                    path.display()
                )
            });
            assert_eq!(
                &kept,
                bytes,
                "{} is stale; regenerate with UPDATE_FUZZ_SEEDS=1",
                path.display()
            );
        }
    }
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(seed) = name.strip_prefix("seed-") {
            assert!(
                seeds.iter().any(|(n, _)| *n == seed),
                "stale seed file {name}: delete it"
            );
        }
    }
}

/// Replays every file in `fuzz/corpus/<target>/` and
/// `fuzz/regressions/<target>/` through `invariants`; returns how many.
pub(crate) fn replay_kept_inputs(target: &str, invariants: fn(&[u8]) -> usize) -> usize {
    let mut replayed = 0;
    for dir in [
        fuzz_dir().join("corpus").join(target),
        fuzz_dir().join("regressions").join(target),
    ] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            // A fuzzer running on the corpus replaces files as it shrinks them.
            let Ok(data) = fs::read(&path) else {
                continue;
            };
            if panic::catch_unwind(|| invariants(&data)).is_err() {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                panic!("{} breaks an invariant; bytes: {hex}", path.display());
            }
            replayed += 1;
        }
    }
    replayed
}
