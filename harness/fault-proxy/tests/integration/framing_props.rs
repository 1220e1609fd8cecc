//! The sans-IO core across arbitrary segmentation (the slicer's view of
//! the world) and on garbage: packet faults hit exactly the packets they
//! name, bytes are otherwise forwarded unchanged, nothing panics.

use fault_proxy::fault::Dir;
use fault_proxy::pipe::{Out, Pipe};
use fault_proxy::{RuleSet, RuleSpec};
use proptest::prelude::*;

fn remaining_len(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

/// (is_puback, bytes) for one packet of a few kinds, some large.
fn packet() -> impl Strategy<Value = (bool, Vec<u8>)> {
    prop_oneof![
        any::<u16>().prop_map(|p| (true, vec![0x40, 2, (p >> 8) as u8, p as u8])),
        Just((false, vec![0xd0, 0])),
        Just((false, vec![0x20, 2, 0, 0])),
        (any::<u16>(), 0usize..400).prop_map(|(p, n)| {
            let mut v = vec![0x32];
            let body_len = 2 + 1 + 2 + n;
            remaining_len(body_len, &mut v);
            v.extend([0, 1, b't', (p >> 8) as u8, p as u8]);
            v.extend(std::iter::repeat_n(0xab, n));
            (false, v)
        }),
        (0usize..20_000).prop_map(|n| {
            let mut v = vec![0x30];
            remaining_len(3 + n, &mut v);
            v.extend([0, 1, b'x']);
            v.extend(std::iter::repeat_n(0x5a, n));
            (false, v)
        }),
    ]
}

fn run(pipe: &mut Pipe, rules: &mut RuleSet, input: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    points.push(input.len());
    for p in points {
        for o in pipe.input(0, &input[pos..p], rules, &mut |_| {}) {
            if let Out::Data { bytes, .. } = o {
                out.extend(bytes);
            }
        }
        pos = p;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn drops_exactly_the_first_n_pubacks_under_any_segmentation(
        packets in proptest::collection::vec(packet(), 1..30),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
        n in 0u32..4,
    ) {
        let input: Vec<u8> = packets.iter().flat_map(|(_, b)| b.clone()).collect();
        let mut left = n;
        let expected: Vec<u8> = packets
            .iter()
            .filter(|(ack, _)| {
                if *ack && left > 0 {
                    left -= 1;
                    false
                } else {
                    true
                }
            })
            .flat_map(|(_, b)| b.clone())
            .collect();
        let mut rules = RuleSet::default();
        if n > 0 {
            rules.add(RuleSpec::parse(&format!("drop puback {n}")).unwrap(), 0);
        }
        let mut pipe = Pipe::new(Dir::Down, 1, 3);
        let got = run(&mut pipe, &mut rules, &input, &cuts);
        prop_assert!(pipe.framed());
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn garbage_never_panics_and_passes_unchanged_without_rules(
        input in proptest::collection::vec(any::<u8>(), 0..2000),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut rules = RuleSet::default();
        let mut pipe = Pipe::new(Dir::Up, 1, 0);
        prop_assert_eq!(run(&mut pipe, &mut rules, &input, &cuts), input.clone());
        // With every packet fault on, still no panic.
        let mut rules = RuleSet::default();
        for l in ["both drop publish 3", "both duplicate pingresp 2", "both connack-code 5",
                  "both close-after suback 2", "both delay puback 10ms", "both slicer 7 1ms",
                  "both limit-data 1500", "both latency 5ms jitter 5ms", "both bandwidth 100000"] {
            rules.add(RuleSpec::parse(l).unwrap(), 0);
        }
        let mut pipe = Pipe::new(Dir::Down, 2, 9);
        let _ = run(&mut pipe, &mut rules, &input, &cuts);
    }

    #[test]
    fn rule_lines_never_panic(line in "\\PC{0,80}") {
        let _ = RuleSpec::parse(&line);
        let _ = fault_proxy::control::parse(&line);
    }

    #[test]
    fn slicer_output_reassembles_to_the_input(
        packets in proptest::collection::vec(packet(), 1..10),
        size in 1usize..50,
    ) {
        let input: Vec<u8> = packets.iter().flat_map(|(_, b)| b.clone()).collect();
        let mut rules = RuleSet::default();
        rules.add(RuleSpec::parse(&format!("slicer {size} 1ms")).unwrap(), 0);
        let mut pipe = Pipe::new(Dir::Up, 1, 0);
        let outs = pipe.input(0, &input, &mut rules, &mut |_| {});
        let mut last = 0;
        let mut got = Vec::new();
        for o in outs {
            if let Out::Data { at, bytes } = o {
                prop_assert!(bytes.len() <= size);
                prop_assert!(at >= last);
                last = at;
                got.extend(bytes);
            }
        }
        prop_assert_eq!(got, input);
    }
}
