//! What holds for any bytes read from the serial line; shared by the fuzz
//! target `frame_decoder` (bridge/fuzz) and the tests that replay its kept
//! corpus (tests/props.rs).
//!
//! - The frame decoder never panics, and every frame it returns encodes
//!   back to a frame that decodes to the same header and body.
//! - Every frame body given to the message decoder gives a message or an
//!   error; a message encodes back to bytes that decode to itself.
//! - A valid frame placed after the bytes always decodes: the decoder is
//!   back in step after any garbage.
//! - Host and gateway cores take the bytes without panicking, both as
//!   they are and re-framed as well-formed frames (valid CRC, any header,
//!   any body), so that everything behind the CRC check is reached too.

use resilient_mqtt_bridge::caps::{MAX_BODY, MAX_ENCODED};
use resilient_mqtt_bridge::frame::{encode, Decoder, Header, Kind};
use resilient_mqtt_bridge::wire::Msg;
use resilient_mqtt_bridge::{Gateway, GatewayConfig, Host, HostConfig, Instant};

pub fn frame_invariants(data: &[u8]) {
    let mut d = Decoder::new();
    for &b in data {
        if let Some(Ok(f)) = d.push(b) {
            let (h, body) = (f.header, f.body.to_vec());
            let mut out = [0u8; MAX_ENCODED];
            let n = encode(&h, &body, &mut out).expect("a decoded frame re-encodes");
            let mut d2 = Decoder::new();
            let mut again = None;
            for &b in &out[..n] {
                if let Some(r) = d2.push(b) {
                    again = Some(r.map(|f| (f.header, f.body.to_vec())));
                }
            }
            assert_eq!(again, Some(Ok((h, body.clone()))));
            if let Ok(m) = Msg::decode(&body) {
                let mut b2 = [0u8; MAX_BODY];
                let k = m.encode(&mut b2).expect("a decoded message re-encodes");
                assert_eq!(Msg::decode(&b2[..k]), Ok(m));
            }
        }
    }
    // Resynchronisation: a good frame after the garbage gets through.
    let h = Header {
        kind: Kind::Ping,
        seq: 1,
        ack: 2,
        win: 3,
    };
    let mut out = [0u8; MAX_ENCODED];
    let n = encode(&h, b"resync", &mut out).unwrap();
    let mut last = None;
    for &b in &out[..n] {
        if let Some(r) = d.push(b) {
            last = Some(r.map(|f| (f.header, f.body.to_vec())));
        }
    }
    assert_eq!(last, Some(Ok((h, b"resync".to_vec()))));

    feed_cores(data);
    feed_cores(&reframed(data));
}

/// `data` read as `kind seq ack win len body..` records, each encoded as a
/// well-formed frame.
fn reframed(data: &[u8]) -> Vec<u8> {
    const KINDS: [Kind; 6] = [
        Kind::Hello,
        Kind::Data,
        Kind::Ack,
        Kind::Reset,
        Kind::Ping,
        Kind::Nak,
    ];
    let mut wire = Vec::new();
    let mut rest = data;
    while rest.len() >= 5 {
        let len = (rest[4] as usize).min(rest.len() - 5).min(MAX_BODY);
        let h = Header {
            kind: KINDS[rest[0] as usize % KINDS.len()],
            seq: rest[1],
            ack: rest[2],
            win: rest[3],
        };
        let mut out = [0u8; MAX_ENCODED];
        let n = encode(&h, &rest[5..5 + len], &mut out).unwrap();
        wire.extend_from_slice(&out[..n]);
        rest = &rest[5 + len..];
    }
    wire
}

/// A fresh host and gateway (nonces 1 and 2, so inputs can name them)
/// take the bytes in chunks, one millisecond apart, with everything they
/// want to send and report drained.
fn feed_cores(data: &[u8]) {
    let mut host = Host::new(HostConfig::new("fuzz", 1).unwrap());
    let mut gw = Gateway::new(GatewayConfig::new(2));
    let _ = host.publish(
        Instant(0),
        "t",
        b"p",
        resilient_mqtt_bridge::QoS::AtLeastOnce,
        false,
    );
    let _ = host.subscribe(Instant(0), "s/#", resilient_mqtt_bridge::QoS::ExactlyOnce);
    let mut sink = [0u8; 4096];
    for (i, chunk) in data.chunks(97).enumerate() {
        let now = Instant(i as u64);
        host.handle_input(now, chunk);
        gw.handle_input(now, chunk);
        while host.poll_transmit(now, &mut sink) > 0 {}
        while gw.poll_transmit(now, &mut sink) > 0 {}
        while host.poll_event().is_some() {}
        while gw.poll_mqtt().is_some() {}
        host.handle_timeout(now);
        gw.handle_timeout(now);
    }
}
