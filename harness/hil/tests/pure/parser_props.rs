//! The scenario parser never panics: not on arbitrary text, not on
//! mutations of the real scenario files (bytes deleted, inserted, lines
//! duplicated or swapped), and every error it reports has a span inside the
//! file that renders.

use std::path::PathBuf;

use hil::diag::render;
use hil::scenario;
use proptest::prelude::*;

fn library() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let files = hil::discover::scenario_files(&[root]).expect("the scenario library exists");
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

fn check(src: &str) {
    match scenario::parse(src) {
        Ok(_) => {}
        Err(diags) => {
            assert!(!diags.is_empty());
            for d in &diags {
                if let Some(s) = &d.span {
                    assert!(
                        s.start <= s.end && s.end <= src.len(),
                        "span {s:?} outside {} bytes",
                        src.len()
                    );
                }
                let _ = render("x.toml", src, d);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    ReplaceValue(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let words = prop::sample::select(vec![
        "\"\"",
        "\"0s\"",
        "\"-1s\"",
        "\"99999999999h\"",
        "0",
        "-1",
        "3",
        "1e400",
        "true",
        "[]",
        "{}",
        "\"wifi_up\"",
        "\"broker_restart\"",
        "\"qos1_no_loss\"",
        "\"a/#/b\"",
        "\"ms\"",
        "nan",
        "inf",
        "\"60s ± 2s\"",
        "\"1s +- 5s\"",
        "\"10s ±\"",
        "\"± 1s\"",
    ]);
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), "\\PC{0,12}").prop_map(|(a, s)| Mutation::Insert(a, s)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), words).prop_map(|(a, w)| Mutation::ReplaceValue(a, w.to_string())),
    ]
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(src: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = src.lines().collect();
    match m {
        Mutation::Delete(a, n) => {
            let a = floor_char(src, a % (src.len() + 1));
            let b = floor_char(src, a + n);
            format!("{}{}", &src[..a], &src[b..])
        }
        Mutation::Insert(a, s) => {
            let a = floor_char(src, a % (src.len() + 1));
            format!("{}{}{}", &src[..a], s, &src[a..])
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let i = i % lines.len();
            lines.insert(i, lines[i]);
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            let (a, b) = (a % lines.len(), b % lines.len());
            lines.swap(a, b);
            lines.join("\n")
        }
        Mutation::ReplaceValue(i, w) if !lines.is_empty() => {
            let i = i % lines.len();
            let line = match lines[i].split_once('=') {
                Some((k, _)) => format!("{k}= {w}"),
                None => lines[i].to_string(),
            };
            let mut owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            owned[i] = line;
            owned.join("\n")
        }
        _ => src.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        check(&s);
    }

    #[test]
    fn tomlish_text_never_panics(s in "(\\[\\[timeline\\]\\]\n|\\[\\[expect\\]\\]\n|\\[dut\\]\n|\\[broker\\]\n|(at|kind|for|oracle|seconds|name|duration|qos|link|persist|max_packet_size) = (\"[a-z0-9_ ]{0,8}\"|[0-9]{1,3}|true)\n){0,20}") {
        check(&s);
    }

    #[test]
    fn broker_max_packet_size_is_checked_with_its_place(n in 0u64..300_000_000) {
        let src = format!("name = \"b\"\nduration = \"1m\"\n[broker]\nmax_packet_size = {n}\n");
        let ok = (14..=268_435_460).contains(&n);
        match scenario::parse(&src) {
            Ok((s, _)) => {
                prop_assert!(ok, "{n} accepted");
                prop_assert_eq!(s.broker.max_packet_size, Some(n));
            }
            Err(diags) => {
                prop_assert!(!ok, "{n} refused: {diags:?}");
                let text = render("b.toml", &src, &diags[0]);
                prop_assert!(text.contains("b.toml:4:"), "{text}");
                prop_assert!(text.contains("between 14"), "{text}");
            }
        }
    }

    /// `[bridge]` (issue 20): the baud rate and a serial fault's rate are
    /// checked and a refusal points at the line.
    #[test]
    fn bridge_baud_and_serial_rate_are_checked_with_their_place(baud in 0u32..5_000_000, rate in -0.5f64..1.5) {
        let src = format!(
            "name = \"b\"\nduration = \"1m\"\n[bridge]\nbaud = {baud}\n[[timeline]]\nat = \"1s\"\nkind = \"serial_noise\"\nrate = {rate:?}\n"
        );
        let ok = (300..=4_000_000).contains(&baud) && rate > 0.0 && rate <= 1.0;
        match scenario::parse(&src) {
            Ok((s, _)) => {
                prop_assert!(ok, "{baud} {rate} accepted");
                prop_assert_eq!(s.bridge.map(|b| b.baud), Some(baud));
            }
            Err(diags) => {
                prop_assert!(!ok, "{baud} {rate} refused: {diags:?}");
                let text = render("b.toml", &src, &diags[0]);
                let line = if rate > 0.0 && rate <= 1.0 { "b.toml:4:" } else { "b.toml:8:" };
                prop_assert!(text.contains(line), "{text}");
            }
        }
    }

    #[test]
    fn mutated_library_files_never_panic(file in any::<prop::sample::Index>(), muts in prop::collection::vec(mutation(), 1..4)) {
        let lib = library();
        let mut src = lib[file.index(lib.len())].clone();
        for m in &muts {
            src = apply(&src, m);
        }
        check(&src);
    }
}

/// A random timeline of paired and self-ending faults with random
/// tolerances (`at = "Ns ± Ms"`).
fn tolerant_timeline() -> impl Strategy<Value = String> {
    let entry = (
        prop::sample::select(vec![
            "kind = \"wifi_down\"\nfor = \"20s\"",
            "kind = \"wifi_down\"",
            "kind = \"wifi_up\"",
            "kind = \"link_blackhole\"\nfor = \"15s\"",
            "kind = \"broker_crash\"",
            "kind = \"broker_restart\"",
            "kind = \"broker_hang\"\nfor = \"10s\"",
            "kind = \"broker_drop\"\npacket = \"puback\"",
            "kind = \"latency\"\nmin = \"1s\"\nmax = \"2s\"\nfor = \"30s\"",
        ]),
        1u64..280,
        0u64..8,
    );
    prop::collection::vec(entry, 1..8).prop_map(|es| {
        let mut t = String::from("name = \"t\"\nduration = \"5m\"\n");
        for (kind, at, tol) in es {
            let at = if tol == 0 {
                format!("{at}s")
            } else {
                format!("{at}s ± {tol}s")
            };
            t.push_str(&format!("[[timeline]]\nat = \"{at}\"\n{kind}\n"));
        }
        t
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// No seed can make a checked timeline invalid: the times a seed picks,
    /// written as an exact timeline, pass the same check, and give the
    /// seed's schedule.
    #[test]
    fn no_seed_breaks_a_timeline_with_tolerances(src in tolerant_timeline(), seed: u64) {
        check(&src);
        if let Ok((s, _)) = scenario::parse(&src) {
            let x = s.schedule.for_seed(seed);
            let mut exact = s.timeline.clone();
            for e in &mut exact {
                let i = exact_index(&s, e);
                let first = x.steps.iter().find(|st| st.entry == i).expect("every entry has a step");
                let nominal = s.schedule.steps.iter().find(|st| st.entry == i).unwrap();
                let moved = first.at.as_millis() as i64 - nominal.at.as_millis() as i64;
                e.at = hil::duration::Dur::from_millis((e.at.as_millis() as i64 + moved) as u64);
                e.tolerance = hil::duration::Dur::ZERO;
            }
            let rebuilt = hil::scenario::schedule::Schedule::build(&exact, s.duration, s.seed);
            prop_assert!(rebuilt.is_ok(), "seed {seed}: {:?}\n{src}", rebuilt.err());
            let times = |sch: &hil::scenario::schedule::Schedule| {
                let mut v: Vec<(u64, usize)> = sch.steps.iter().map(|st| (st.at.as_millis(), st.entry)).collect();
                v.sort();
                v
            };
            prop_assert_eq!(times(&rebuilt.unwrap()), times(&x));
        }
    }
}

fn exact_index(s: &hil::scenario::Scenario, e: &hil::scenario::fault::FaultEntry) -> usize {
    s.timeline
        .iter()
        .position(|x| x.span == e.span)
        .expect("the entry is in the timeline")
}

#[test]
fn every_library_file_parses_unmutated() {
    for src in library() {
        assert!(scenario::parse(&src).is_ok());
    }
}
