//! Codec tests: round trips, specification vectors, malformed input.

use super::*;

fn roundtrip(p: &Packet<'_>) {
    let mut buf = [0u8; 512];
    let n = p.encode(&mut buf).expect("encode");
    assert_eq!(n, p.encoded_len().unwrap());
    match decode(&buf[..n], DEFAULT_MAX_PACKET_SIZE).expect("decode") {
        Decoded::Packet { packet, len } => {
            assert_eq!(len, n);
            assert_eq!(&packet, p);
        }
        other => panic!("incomplete: {other:?}"),
    }
}

#[test]
fn ping_roundtrip() {
    roundtrip(&Packet::PingReq);
    roundtrip(&Packet::PingResp);
    roundtrip(&Packet::Disconnect);
}
