//! VOPR-style fuzzing: `hil fuzz SCENARIO --seeds A..B` runs the scenario
//! once per seed with a random fault schedule on top of its own timeline,
//! picked within the bounds of its `[fuzz]` table ([`spec`]) by an RNG
//! seeded from the seed alone ([`rng`]).
//!
//! Each seed's schedule is written out as ordinary `[[timeline]]` entries
//! appended to the scenario's text, under a new name
//! (`<name>-fuzz-<seed>`); that text is what runs, and a failing run's text
//! is saved as a scenario file, so `hil run <saved file> --seed N` replays
//! it without the fuzzer.
//!
//! The scenario parser does not know `[fuzz]`: [`load`] blanks the table's
//! lines (line numbers stay right) before parsing, then checks the table
//! itself, so `hil check`, `hil list` and `hil run` accept and check it.

pub mod rng;
pub mod spec;

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use self::rng::Rng;
use self::spec::FuzzSpec;
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::fault::{DurRange, Fault, Fuzz, Picks};
use crate::scenario::{self, LoadError, Loaded, Scenario};

/// A scenario file with its `[fuzz]` bounds, if any.
#[derive(Debug)]
pub struct FuzzLoaded {
    pub loaded: Loaded,
    pub fuzz: Option<FuzzSpec>,
}

/// Reads and checks a scenario file, `[fuzz]` table included.
pub fn load(path: &Path) -> Result<FuzzLoaded, LoadError> {
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        // The scenario loader words the error.
        Err(_) => return scenario::load(path).map(|loaded| FuzzLoaded { loaded, fuzz: None }),
    };
    parse_source(path, source)
}

/// [`load`] on text already read.
pub fn parse_source(path: &Path, source: String) -> Result<FuzzLoaded, LoadError> {
    let err = |source: String, diagnostics: Vec<Diagnostic>| LoadError {
        path: path.to_path_buf(),
        source,
        diagnostics,
    };
    match scenario::parse(&spec::strip(&source)) {
        Ok((scenario, warnings)) => match spec::parse(&source, scenario.duration) {
            Ok(fuzz) => Ok(FuzzLoaded {
                loaded: Loaded {
                    path: path.to_path_buf(),
                    source,
                    scenario,
                    warnings,
                },
                fuzz,
            }),
            Err(d) => Err(err(source, d)),
        },
        Err(mut d) => {
            if let Ok(dur) = scenario_duration(&source) {
                if let Err(more) = spec::parse(&source, dur) {
                    d.extend(more);
                }
            }
            Err(err(source, d))
        }
    }
}

fn scenario_duration(src: &str) -> Result<Dur, ()> {
    #[derive(Deserialize)]
    struct D {
        duration: Dur,
    }
    toml::from_str::<D>(src).map(|d| d.duration).map_err(|_| ())
}

/// One picked fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    pub at: Dur,
    pub kind: String,
    /// How long it lasts (0 for an instant, [`Fuzz::Instant`]).
    pub length: Dur,
    /// The timeline entries it writes (offsets from `at`), from the kind's
    /// [`Fuzz`].
    pub entries: Picks,
}

/// Gap kept between picked faults.
const GAP_MS: u64 = 1_000;

/// `ms` rounded down to 100 ms.
fn round(ms: u64) -> u64 {
    ms / 100 * 100
}

/// Draws a kind from `spec` and its length (0 for an instant).
fn draw_kind(spec: &FuzzSpec, rng: &mut Rng) -> Option<(String, Fuzz, u64)> {
    let kind = spec.kinds[rng.range(0, spec.kinds.len() as u64 - 1) as usize].clone();
    // `spec::parse` admits only kinds the fuzzer can pick.
    let how = Fault::fuzz(&kind);
    let length = match how {
        Fuzz::No => return None,
        Fuzz::Instant(_) => 0,
        Fuzz::Lasting(_) => {
            round(rng.range(spec.min_duration.as_millis(), spec.max_duration.as_millis())).max(100)
        }
    };
    Some((kind, how, length))
}

/// The fault drawn by [`draw_kind`] placed at `at`, its entries written by
/// its kind (an instant draws its parameters now).
fn place(kind: String, how: Fuzz, at: u64, length: u64, rng: &mut Rng) -> Option<Picked> {
    let length = Dur::from_millis(length);
    let entries = match how {
        Fuzz::Lasting(write) => write(length),
        Fuzz::Instant(write) => write(rng),
        Fuzz::No => return None,
    };
    Some(Picked {
        at: Dur::from_millis(at),
        kind,
        length,
        entries,
    })
}

/// Picks a schedule: `count` faults within `spec`, not overlapping each
/// other, times rounded to 100 ms. `None` when they do not fit this time.
fn pick(spec: &FuzzSpec, rng: &mut Rng, count: u64) -> Option<Vec<Picked>> {
    let (from, until) = (spec.from.as_millis(), spec.until.as_millis());
    let mut v = Vec::new();
    for _ in 0..count {
        let (kind, how, length) = draw_kind(spec, rng)?;
        let latest = until.saturating_sub(length);
        let at = round(rng.range(from, latest)).max(from);
        v.push(place(kind, how, at, length, rng)?);
    }
    v.sort_by_key(|p| p.at);
    for w in v.windows(2) {
        if w[0].at.as_millis() + w[0].length.as_millis() + GAP_MS > w[1].at.as_millis() {
            return None;
        }
    }
    Some(v)
}

/// Picks a soak (`every`): from `from`, gap, fault, gap, fault... until
/// `until`, each gap drawn from `every`, each fault's kind and length as
/// [`pick`] draws them; a fault that would not end by `until` ends the
/// soak. Always fits (faults never overlap); `None` only past
/// [`spec::MAX_SOAK_FAULTS`].
fn pick_soak(spec: &FuzzSpec, every: DurRange, rng: &mut Rng) -> Option<Vec<Picked>> {
    let until = spec.until.as_millis();
    let mut t = spec.from.as_millis();
    let mut v = Vec::new();
    loop {
        let gap = round(rng.range(every.min.as_millis(), every.max.as_millis())).max(GAP_MS);
        let (kind, how, length) = draw_kind(spec, rng)?;
        let at = t + gap;
        if at + length > until {
            return Some(v);
        }
        if v.len() as u64 >= spec::MAX_SOAK_FAULTS {
            return None;
        }
        v.push(place(kind, how, at, length, rng)?);
        t = at + length;
    }
}

/// The picked faults as `[[timeline]]` entries, each written by its kind
/// ([`Fault::toml`]).
pub fn render_entries(picked: &[Picked]) -> String {
    let mut t = String::new();
    for p in picked {
        for (offset, fault) in &p.entries {
            let at = Dur::from_millis(p.at.as_millis() + offset.as_millis());
            t.push_str(&format!(
                "\n[[timeline]]\nat = \"{at}\"\nkind = \"{}\"\n{}",
                fault.kind(),
                fault.toml()
            ));
        }
    }
    t
}

/// The name of seed `seed`'s fuzzed scenario.
pub fn fuzzed_name(name: &str, seed: u64) -> String {
    let suffix = format!("-fuzz-{seed}");
    let keep = 100usize.saturating_sub(suffix.len()).min(name.len());
    format!("{}{suffix}", &name[..keep])
}

/// `src` renamed to `name` with `entries` appended.
fn rewrite(src: &str, name: &str, seed: u64, entries: &str) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Head {
        name: Spanned<String>,
    }
    let head: Head = toml::from_str(src).map_err(|e| e.message().to_string())?;
    let span = head.name.span();
    let quoted = toml::Value::String(name.to_string()).to_string();
    let mut out = String::with_capacity(src.len() + entries.len() + 200);
    out.push_str(&src[..span.start]);
    out.push_str(&quoted);
    out.push_str(&src[span.end..]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "\n# ---- fault schedule picked by `hil fuzz` for seed {seed} (scenario `{}`) ----\n# Replay: hil run <this file> --seed {seed}\n",
        head.name.get_ref()
    ));
    out.push_str(entries);
    Ok(out)
}

/// A fuzzed scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Fuzzed {
    /// The scenario file's text (the original plus the picked schedule).
    pub text: String,
    pub scenario: Scenario,
    pub picked: Vec<Picked>,
}

/// Attempts at a schedule that fits and that the scenario accepts.
const ATTEMPTS: u32 = 200;

/// Seed `seed`'s fuzzed version of `loaded`.
pub fn instantiate(loaded: &Loaded, spec: &FuzzSpec, seed: u64) -> Result<Fuzzed, String> {
    let mut rng = Rng::new(seed);
    let count = rng.range(spec.min_faults, spec.max_faults);
    let name = fuzzed_name(&loaded.scenario.name, seed);
    let mut last = String::from("the faults did not fit in the window");
    for attempt in 0..ATTEMPTS {
        // Fewer faults as attempts fail, never below min_faults.
        let n = count
            .saturating_sub(u64::from(attempt / 40))
            .max(spec.min_faults);
        let picked = match spec.every {
            Some(every) => pick_soak(spec, every, &mut rng),
            None => pick(spec, &mut rng, n),
        };
        let Some(picked) = picked else {
            continue;
        };
        let text = rewrite(&loaded.source, &name, seed, &render_entries(&picked))?;
        match scenario::parse(&spec::strip(&text)) {
            Ok((scenario, _)) => {
                return Ok(Fuzzed {
                    text,
                    scenario,
                    picked,
                })
            }
            Err(d) => {
                last = d
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        }
    }
    Err(format!(
        "seed {seed}: no fault schedule within the [fuzz] bounds fits the scenario after {ATTEMPTS} attempts (last problem: {last})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"name = "fz"
duration = "60s"

[workload]
heartbeat = "1s"

[[expect]]
oracle = "never_stalls"
ms = 1500

[fuzz]
kinds = ["wifi_down", "broker_drop", "broker_crash"]
min_faults = 1
max_faults = 4
min_duration = "2s"
max_duration = "10s"
from = "5s"
until = "50s"
"#;

    fn loaded() -> FuzzLoaded {
        parse_source(Path::new("fz.toml"), SRC.to_string()).unwrap()
    }

    #[test]
    fn the_table_is_read_and_stripped_keeping_lines() {
        let l = loaded();
        let spec = l.fuzz.unwrap();
        assert_eq!(spec.kinds, vec!["wifi_down", "broker_drop", "broker_crash"]);
        assert_eq!((spec.min_faults, spec.max_faults), (1, 4));
        assert_eq!(spec.until, Dur::from_millis(50_000));
        let stripped = spec::strip(SRC);
        assert_eq!(stripped.lines().count(), SRC.lines().count());
        assert!(!stripped.contains("fuzz"));
    }

    #[test]
    fn a_seed_always_picks_the_same_schedule_within_bounds() {
        let l = loaded();
        let spec = l.fuzz.clone().unwrap();
        let mut distinct = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let a = instantiate(&l.loaded, &spec, seed).unwrap();
            let b = instantiate(&l.loaded, &spec, seed).unwrap();
            assert_eq!(a.text, b.text);
            assert!((1..=4).contains(&a.picked.len()));
            for p in &a.picked {
                assert!(p.at.as_millis() >= 5_000);
                assert!(p.at.as_millis() + p.length.as_millis() <= 50_000);
                match Fault::fuzz(&p.kind) {
                    Fuzz::Lasting(_) => {
                        assert!((2_000..=10_000).contains(&p.length.as_millis()), "{p:?}")
                    }
                    Fuzz::Instant(_) => assert!(p.length.is_zero(), "{p:?}"),
                    Fuzz::No => panic!("picked a kind the fuzzer cannot pick: {p:?}"),
                }
            }
            assert_eq!(a.scenario.name, format!("fz-fuzz-{seed}"));
            // The picked faults are in the compiled timeline.
            assert!(a.scenario.timeline.len() >= a.picked.len());
            distinct.insert(a.text);
        }
        assert!(distinct.len() > 30, "{}", distinct.len());
    }

    #[test]
    fn the_fuzzed_text_parses_on_its_own() {
        let l = loaded();
        let f = instantiate(&l.loaded, l.fuzz.as_ref().unwrap(), 7).unwrap();
        let again = parse_source(Path::new("saved.toml"), f.text.clone()).unwrap();
        assert_eq!(again.loaded.scenario, f.scenario);
        assert!(f.text.contains("hil run <this file> --seed 7"));
    }

    fn errors(src: &str) -> String {
        let e = parse_source(Path::new("x.toml"), src.to_string()).unwrap_err();
        e.to_string()
    }

    #[test]
    fn bad_tables_are_errors_with_places() {
        let base = "name = \"x\"\nduration = \"60s\"\n\n[fuzz]\n";
        let e = errors(&format!("{base}kinds = [\"wifi_down\"]\nbogus = 1\n"));
        assert!(
            e.contains("unknown field `bogus`") && e.contains("x.toml:6"),
            "{e}"
        );
        let e = errors(&format!("{base}kinds = [\"dut_reboot\"]\n"));
        assert!(
            e.contains("cannot pick `dut_reboot`") && e.contains("x.toml:5"),
            "{e}"
        );
        let e = errors(&format!("{base}max_faults = 2\n"));
        assert!(e.contains("needs `kinds`"), "{e}");
        let e = errors(&format!(
            "{base}kinds = [\"wifi_down\"]\nmin_faults = 5\nmax_faults = 2\n"
        ));
        assert!(e.contains("min_faults (5) is above max_faults (2)"), "{e}");
        let e = errors(&format!("{base}kinds = [\"wifi_down\"]\nuntil = \"2m\"\n"));
        assert!(e.contains("past the end"), "{e}");
        let e = errors(&format!(
            "{base}kinds = [\"wifi_down\"]\nmax_duration = \"1m\"\nfrom = \"10s\"\n"
        ));
        assert!(e.contains("does not fit"), "{e}");
        let e = errors(&format!(
            "{base}kinds = [\"wifi_down\"]\nmin_duration = 3\n"
        ));
        assert!(e.contains("must be a duration string"), "{e}");
        let e = errors(&format!(
            "{base}kinds = [\"wifi_down\"]\nmin_duration = \"3 parsecs\"\n"
        ));
        assert!(e.contains("invalid duration"), "{e}");
    }

    #[test]
    fn a_multiline_kinds_array_is_one_table() {
        let src = "name = \"x\"\nduration = \"60s\"\n\n[fuzz]\nkinds = [\n  \"wifi_down\",\n]\n\n[[expect]]\noracle = \"conformance\"\n";
        assert_eq!(spec::table_lines(src), Some(3..8));
        let l = parse_source(Path::new("x.toml"), src.to_string()).unwrap();
        assert_eq!(l.loaded.scenario.expect.len(), 1);
    }

    /// What each fuzzable kind writes (the text `hil fuzz --save` keeps).
    #[test]
    fn picked_faults_are_written_as_timeline_entries() {
        let kinds = [
            "wifi_down",
            "link_blackhole",
            "link_hold",
            "broker_hang",
            "broker_crash",
            "broker_drop",
        ];
        let mut rng = Rng::new(1);
        let length = Dur::from_millis(2_500);
        let picked: Vec<Picked> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| Picked {
                at: Dur::from_millis(10_000 * (i as u64 + 1)),
                kind: k.to_string(),
                length,
                entries: match Fault::fuzz(k) {
                    Fuzz::Lasting(write) => write(length),
                    Fuzz::Instant(write) => write(&mut rng),
                    Fuzz::No => panic!("{k} is fuzzable"),
                },
            })
            .collect();
        let packet = ["puback", "pingresp"][Rng::new(1).range(0, 1) as usize];
        let mut want = String::new();
        for (at, k) in [
            ("10s", "wifi_down"),
            ("20s", "link_blackhole"),
            ("30s", "link_hold"),
            ("40s", "broker_hang"),
        ] {
            want.push_str(&format!(
                "\n[[timeline]]\nat = \"{at}\"\nkind = \"{k}\"\nfor = \"2s500ms\"\n"
            ));
        }
        want.push_str("\n[[timeline]]\nat = \"50s\"\nkind = \"broker_crash\"\n");
        want.push_str(
            "\n[[timeline]]\nat = \"52s500ms\"\nkind = \"broker_restart\"\npersist = true\n",
        );
        want.push_str(&format!("\n[[timeline]]\nat = \"1m\"\nkind = \"broker_drop\"\npacket = \"{packet}\"\ncount = 1\n"));
        assert_eq!(render_entries(&picked), want);
    }

    /// "A blip of 1-60 s every 10-120 min for 7 days": a soak spec reads,
    /// and each seed expands it the same way every time, every gap and
    /// blip within its bounds, different seeds differently.
    #[test]
    fn a_seven_day_soak_expands_deterministically_within_its_bounds() {
        let src = r#"name = "soak"
duration = "168h"

[[workload.publish]]
topic = "dut/soak"
qos = 1
interval = "1m"

[[expect]]
oracle = "qos1_no_loss"

[fuzz]
kinds = ["wifi_down"]
min_duration = "1s"
max_duration = "60s"
every = "10m..120m"
"#;
        let l = parse_source(Path::new("soak.toml"), src.to_string()).unwrap();
        let spec = l.fuzz.clone().unwrap();
        assert_eq!(
            spec.every,
            Some(DurRange {
                min: Dur::from_millis(600_000),
                max: Dur::from_millis(7_200_000)
            })
        );
        let week = 168 * 3_600_000;
        let mut schedules = std::collections::BTreeSet::new();
        for seed in 1..=4 {
            let a = instantiate(&l.loaded, &spec, seed).unwrap();
            assert_eq!(a.text, instantiate(&l.loaded, &spec, seed).unwrap().text);
            let n = a.picked.len() as u64;
            // 7 days of gaps of 10-120 min: between 84 and 1008 blips.
            assert!((week / 7_260_000..=week / 600_000).contains(&n), "{n}");
            let mut end = 0;
            for p in &a.picked {
                let gap = p.at.as_millis() - end;
                assert!((600_000..=7_200_000).contains(&gap), "gap {gap}");
                assert!((1_000..=60_000).contains(&p.length.as_millis()), "{p:?}");
                end = p.at.as_millis() + p.length.as_millis();
            }
            assert!(end <= week);
            assert_eq!(a.scenario.timeline.len() as u64, n);
            schedules.insert(a.text);
        }
        assert_eq!(schedules.len(), 4);
    }

    #[test]
    fn a_soak_takes_no_fault_counts() {
        let src = "name = \"s\"\nduration = \"1h\"\n[[expect]]\noracle = \"qos1_no_loss\"\n[workload]\npublish = [{ topic = \"t\", qos = 1, interval = \"1s\" }]\n\n[fuzz]\nkinds = [\"wifi_down\"]\nmax_faults = 3\nevery = \"1m..5m\"\n";
        let e = parse_source(Path::new("s.toml"), src.to_string()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("max_faults does not go with `every`"),
            "{text}"
        );
        assert!(text.contains("s.toml:10:"), "{text}");
    }
}
