//! Property tests of the framing: whatever bytes arrive, the decoder never
//! panics, accounts for every byte, and a good line survives any console
//! noise around it; a corrupted line is never accepted.

use hil_agent::agent::{Agent, Field};
use hil_agent::frame::{encode, Decoder, Item};
use proptest::prelude::*;

fn decode_all(chunks: &[Vec<u8>]) -> (Vec<String>, hil_agent::frame::Stats) {
    let mut d: Decoder = Decoder::new();
    let mut lines = Vec::new();
    for c in chunks {
        d.push(c, &mut |i| {
            if let Item::Line(l) = i {
                lines.push(l.to_string())
            }
        });
    }
    d.flush(&mut |i| {
        if let Item::Line(l) = i {
            lines.push(l.to_string())
        }
    });
    (lines, d.stats())
}

fn chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    for &c in cuts {
        let c = c % (bytes.len() + 1);
        if c > start {
            out.push(bytes[start..c].to_vec());
            start = c;
        }
    }
    out.push(bytes[start..].to_vec());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096),
                                   cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let (_, stats) = decode_all(&chunked(&data, &cuts));
        // Every byte is console output or part of some counted line.
        prop_assert!(stats.console_bytes <= data.len() as u64);
    }

    #[test]
    fn good_lines_survive_console_noise_and_chunking(
        texts in proptest::collection::vec("[ -~]{0,40}", 1..6),
        noise in proptest::collection::vec("[a-zA-Z0-9 :.=]{0,80}", 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            stream.extend_from_slice(noise[i % noise.len()].as_bytes());
            stream.push(b'\n');
            let mut out = Vec::new();
            Agent::new(&mut out).event(i as u64, "dut", "message", &[("msg", Field::Str(t))]).unwrap();
            want.push(String::from_utf8(out[5..out.len() - 10].to_vec()).unwrap());
            stream.extend_from_slice(&out);
        }
        let (lines, stats) = decode_all(&chunked(&stream, &cuts));
        prop_assert_eq!(&lines, &want);
        prop_assert_eq!(stats.partial + stats.bad_checksum + stats.overlong, 0);
        for l in &lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            prop_assert!(v.is_object());
        }
    }

    #[test]
    fn a_corrupted_line_is_never_accepted(json in "\\{\"[a-z]{1,8}\":[0-9]{1,6}\\}",
                                          pos in any::<usize>(), flip in 1u8..=255) {
        let mut line = encode(&json).into_bytes();
        // Corrupt one byte of the JSON or the checksum (not the marker or newline).
        let i = 5 + pos % (line.len() - 6);
        line[i] ^= flip;
        let (lines, stats) = decode_all(&[line.clone()]);
        // A flip makes the line console text (marker damaged) or a bad
        // line; never an accepted one (CRC-32 catches every 1-byte error;
        // the hex trailer is lowercase only, so a case flip fails too).
        prop_assert!(lines.is_empty(), "accepted {:?} from {:?}", lines, String::from_utf8_lossy(&line));
        prop_assert!(stats.console_bytes + stats.partial + stats.bad_checksum > 0);
    }

    #[test]
    fn truncated_lines_are_counted_not_accepted(json in "\\{\"[a-z]{1,8}\":\"[ -~]{0,30}\"\\}", cut in any::<usize>()) {
        let full = encode(&json).into_bytes();
        let cut = 6 + cut % (full.len() - 7);
        let mut stream = full[..cut].to_vec();
        stream.extend_from_slice(&full);
        let (lines, stats) = decode_all(&[stream]);
        prop_assert_eq!(lines, vec![json]);
        prop_assert_eq!(stats.partial + stats.bad_checksum, 1);
    }
}
