//! MQTT 5 vs 3.1.1 codec overhead: encode + decode of one PUBLISH, timed
//! over many iterations, for a small and a 1 KiB payload, in three forms:
//! 3.1.1, v5 without properties, and v5 with typical properties (topic
//! alias, content type, two user properties). Prints bytes on the wire,
//! nanoseconds per encode+decode and the ratio to 3.1.1.
//!
//! `cargo bench -p resilient-mqtt --bench v5_overhead`

use std::hint::black_box;
use std::time::Instant;

use resilient_mqtt::codec::{self, v5};

const ITERATIONS: u32 = 1_000_000;

/// Best of five runs of `ITERATIONS` calls, in nanoseconds per call.
fn time(mut f: impl FnMut() -> usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut sink = 0usize;
        for _ in 0..ITERATIONS {
            sink = sink.wrapping_add(f());
        }
        black_box(sink);
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS));
    }
    best
}

fn v311_round(p: &codec::Packet<'_>, buf: &mut [u8]) -> usize {
    let n = black_box(p).encode(buf).unwrap();
    match codec::decode(black_box(&buf[..n]), codec::DEFAULT_MAX_PACKET_SIZE) {
        Ok(codec::Decoded::Packet {
            packet: codec::Packet::Publish(p),
            len,
        }) => len + p.payload.len(),
        other => panic!("{other:?}"),
    }
}

fn v5_round(p: &v5::Packet<'_>, buf: &mut [u8]) -> usize {
    let n = black_box(p).encode(buf).unwrap();
    match v5::decode(black_box(&buf[..n]), v5::DEFAULT_MAX_PACKET_SIZE) {
        // Walk the properties, as a receiver looking for its alias would.
        Ok(v5::Decoded::Packet {
            packet: v5::Packet::Publish(p),
            len,
        }) => len + p.payload.len() + p.properties.iter().count(),
        other => panic!("{other:?}"),
    }
}

fn main() {
    let pid = codec::Pid::new(1).unwrap();
    let props = [
        v5::Property::TopicAlias(1),
        v5::Property::ContentType("application/json"),
        v5::Property::UserProperty("device", "pump-17"),
        v5::Property::UserProperty("fw", "1.4.2"),
    ];
    let mut buf = vec![0u8; 4096];
    println!("PUBLISH QoS 1 to \"plant/pump-17/status\", encode + decode ({ITERATIONS} iterations, best of 5)");
    println!(
        "{:<8} {:<28} {:>6} {:>10} {:>8}",
        "payload", "form", "bytes", "ns/op", "ratio"
    );
    for payload_len in [16usize, 1024] {
        let payload = vec![0x5Au8; payload_len];
        let topic = "plant/pump-17/status";
        let old = codec::Packet::Publish(codec::Publish {
            dup: false,
            qospid: codec::QosPid::AtLeastOnce(pid),
            retain: false,
            topic,
            payload: &payload,
        });
        let v5_packet = |properties| {
            v5::Packet::Publish(v5::Publish {
                dup: false,
                qospid: codec::QosPid::AtLeastOnce(pid),
                retain: false,
                topic,
                properties,
                payload: &payload,
            })
        };
        let bare = v5_packet(v5::Properties::EMPTY);
        let rich = v5_packet(v5::Properties::new(&props));

        let base = time(|| v311_round(&old, &mut buf));
        let rows = [
            ("3.1.1", old.encoded_len().unwrap(), base),
            (
                "v5, no properties",
                bare.encoded_len().unwrap(),
                time(|| v5_round(&bare, &mut buf)),
            ),
            (
                "v5, alias + type + 2 user",
                rich.encoded_len().unwrap(),
                time(|| v5_round(&rich, &mut buf)),
            ),
        ];
        for (form, bytes, ns) in rows {
            println!(
                "{:<8} {:<28} {:>6} {:>10.1} {:>8.2}",
                payload_len,
                form,
                bytes,
                ns,
                ns / base
            );
        }
    }
}
