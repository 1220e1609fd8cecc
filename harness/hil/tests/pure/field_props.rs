//! Property tests for `hil import`'s readers: no input makes them panic,
//! whatever its format claims to be; errors name a file and a place. The
//! inputs are random bytes, random text, real lines cut and recombined,
//! and the committed fixture captures with bytes flipped.

use hil::field::evidence::Loc;
use hil::field::input::{self, mosquitto, mqtt, pcap, trace};
use proptest::prelude::*;

const LINES: &[&str] = &[
    "1795618752: mosquitto version 2.0.11 starting",
    "1795618752: New client connected from 127.0.0.1:49654 as subx (p2, c1, k5).",
    "1795618752: Will message specified (3 bytes) (r0, q1).",
    "1795618752: \tw/x",
    "1795618752: Sending CONNACK to subx (0, 0)",
    "1795618752: Received SUBSCRIBE from subx",
    "1795618752: \ta/# (QoS 1)",
    "1795618753: Received PUBLISH from pubx (d1, q1, r0, m7, 'a/b', ... (5 bytes))",
    "1795618753: Sending PUBACK to pubx (m7, rc0)",
    "1795618753: Received PUBACK from subx (Mid: 1, RC:0)",
    "1795618760: Client subx has exceeded timeout, disconnecting.",
    "1795618760: Socket error on client subx, disconnecting.",
    "1795618760: Sending PUBLISH to watcher (d0, q1, r0, m2, 'w/x', ... (3 bytes))",
    "{\"t_ms\":0,\"actor\":\"dut\",\"event\":\"connecting\",\"attempt\":1}",
    "@hil {\"t_ms\":5,\"actor\":\"dut\",\"event\":\"publish_sent\",\"pid\":1,\"qos\":1,\"dup\":false,\"topic\":\"t\",\"msg\":\"dut-0:1\"}",
    "{\"t_ms\":9,\"actor\":\"dut\",\"event\":\"connection_lost\",\"reason\":\"ping timeout\"}",
];

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/field")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn check(r: input::ReadResult) {
    match r {
        Ok((s, ev)) => {
            assert!(s.unknown <= s.units + 1, "{s:?}");
            assert_eq!(s.observations, ev.len());
        }
        Err(e) => {
            assert_eq!(e.file, "in");
            assert!(!e.message.is_empty());
            if let Some(Loc::Line(n) | Loc::Packet(n)) = e.loc {
                assert!(n >= 1);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_reader_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(input::read("in", &b));
        check(mosquitto::read("in", &b));
        check(trace::read("in", &b));
        check(pcap::read("in", &b));
    }

    #[test]
    fn recombined_real_lines_read_or_fail_cleanly(
        picks in proptest::collection::vec((0..LINES.len(), 0usize..120, any::<bool>()), 1..30)
    ) {
        let mut text = String::new();
        for (i, cut, whole) in picks {
            let l = LINES[i];
            let cut = cut.min(l.len());
            let cut = (0..=cut).rev().find(|c| l.is_char_boundary(*c)).unwrap_or(0);
            text.push_str(if whole { l } else { &l[..cut] });
            text.push('\n');
        }
        check(input::read("in", text.as_bytes()));
        check(mosquitto::read("in", text.as_bytes()));
        check(trace::read("in", text.as_bytes()));
        let _ = hil::field::import(&[("in".to_string(), text.into_bytes())], &Default::default());
    }

    #[test]
    fn mqtt_packets_never_overrun(b in proptest::collection::vec(any::<u8>(), 0..300), level in 3u8..6) {
        if let Ok((_, used)) = mqtt::read_packet(&b, level) {
            prop_assert!(used >= 2 && used <= b.len());
        }
    }

    #[test]
    fn damaged_captures_read_or_fail_cleanly(
        which in 0usize..2,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..40),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = fixture(["lost-puback.device.pcap", "lost-puback.device.pcapng"][which]);
        for (at, v) in flips {
            let i = at.index(b.len());
            b[i] = v;
        }
        let keep = cut.index(b.len() + 1);
        b.truncate(keep.max(1));
        check(pcap::read("in", &b));
        let _ = hil::field::import(&[("in".to_string(), b)], &Default::default());
    }
}
