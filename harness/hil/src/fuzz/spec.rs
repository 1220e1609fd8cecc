//! The `[fuzz]` table of a scenario: the bounds within which `hil fuzz`
//! picks random faults (documented in scenarios/README.md).
//!
//! ```toml
//! [fuzz]
//! kinds = ["wifi_down", "link_blackhole", "broker_drop"]   # required
//! min_faults = 1          # default 1
//! max_faults = 3          # default 3 (at most 50)
//! min_duration = "1s"     # default 1s: shortest fault
//! max_duration = "30s"    # default 30s: longest fault
//! from = "5s"             # default 0s: no fault starts earlier
//! until = "2m"            # default: the scenario's duration; every fault ends by then
//! every = "10m..2h"       # instead of min/max_faults: faults one after another,
//!                         # each starting a time drawn from this range after the
//!                         # previous one ended (long soaks)
//! ```
//!
//! It must be written as a `[fuzz]` table header (not an inline table).
//! Errors point at the key, with file, line and column, like the rest of
//! the format.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::fault::{self, DurRange};

const KEYS: &[&str] = &[
    "kinds",
    "min_faults",
    "max_faults",
    "min_duration",
    "max_duration",
    "from",
    "until",
    "every",
];

/// Most faults one schedule may hold (`min_faults` / `max_faults`).
pub const MAX_FAULTS: u64 = 50;

/// Most faults a soak (`every`) may place: a week with a fault every
/// minute.
pub const MAX_SOAK_FAULTS: u64 = 10_080;

/// The checked bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzSpec {
    pub kinds: Vec<String>,
    pub min_faults: u64,
    pub max_faults: u64,
    pub min_duration: Dur,
    pub max_duration: Dur,
    pub from: Dur,
    pub until: Dur,
    /// A soak: faults one after another, each starting a time drawn from
    /// this range after the previous one ended (`min_faults` and
    /// `max_faults` do not apply).
    pub every: Option<DurRange>,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    fuzz: Option<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
}

fn help() -> String {
    "the [fuzz] table is described in scenarios/README.md".to_string()
}

/// Reads the `[fuzz]` table of `src` (a scenario whose `duration` is
/// `duration`). `Ok(None)`: there is none.
pub fn parse(src: &str, duration: Dur) -> Result<Option<FuzzSpec>, Vec<Diagnostic>> {
    let doc: Doc = match toml::from_str(src) {
        Ok(d) => d,
        // Syntax errors are reported by the scenario parser.
        Err(_) => return Ok(None),
    };
    let Some(table) = doc.fuzz else {
        return Ok(None);
    };
    let table_span = table.span();
    // The kinds the fuzzer can pick: the catalogue's (`FaultSpec::FUZZ`).
    let fuzz_kinds = fault::fuzz_kinds();
    let mut errors = Vec::new();
    let mut spec = FuzzSpec {
        kinds: Vec::new(),
        min_faults: 1,
        max_faults: 3,
        min_duration: Dur::from_millis(1_000),
        max_duration: Dur::from_millis(30_000),
        from: Dur::from_millis(0),
        until: duration,
        every: None,
    };
    let mut spans: BTreeMap<&str, Range<usize>> = BTreeMap::new();
    let table = table.into_inner();
    for (key, value) in &table {
        let k = key.get_ref().as_str();
        let span = value.span();
        let Some(&known) = KEYS.iter().find(|x| **x == k) else {
            errors.push(
                Diagnostic::error(format!("[fuzz] unknown field `{k}`"), Some(key.span()))
                    .with_help(format!("expected one of: {}", KEYS.join(", "))),
            );
            continue;
        };
        spans.insert(known, span.clone());
        match known {
            "kinds" => match value.get_ref() {
                toml::Value::Array(items) if items.iter().all(|v| v.is_str()) => {
                    for v in items {
                        let s = v.as_str().unwrap_or_default();
                        if !fuzz_kinds.contains(&s) {
                            errors.push(
                                Diagnostic::error(
                                    format!("[fuzz] kinds: the fuzzer cannot pick `{s}`"),
                                    Some(span.clone()),
                                )
                                .with_help(format!("expected some of: {}", fuzz_kinds.join(", "))),
                            );
                        } else if !spec.kinds.iter().any(|k| k == s) {
                            spec.kinds.push(s.to_string());
                        }
                    }
                }
                _ => errors.push(
                    Diagnostic::error("[fuzz] kinds must be an array of fault kinds", Some(span))
                        .with_help(format!(
                            "e.g. kinds = [\"wifi_down\", \"broker_drop\"]; the kinds: {}",
                            fuzz_kinds.join(", ")
                        )),
                ),
            },
            "min_faults" | "max_faults" => match value.get_ref() {
                toml::Value::Integer(n) if (0..=MAX_FAULTS as i64).contains(n) => {
                    if known == "min_faults" {
                        spec.min_faults = *n as u64;
                    } else {
                        spec.max_faults = *n as u64;
                    }
                }
                _ => errors.push(Diagnostic::error(
                    format!("[fuzz] {known} must be a whole number from 0 to {MAX_FAULTS}"),
                    Some(span),
                )),
            },
            "every" => match value.get_ref() {
                toml::Value::String(s) => match DurRange::parse(s) {
                    Ok(r) if r.min.is_zero() => errors.push(Diagnostic::error(
                        "[fuzz] every: the gap must be greater than zero",
                        Some(span),
                    )),
                    Ok(r) => spec.every = Some(r),
                    Err(e) => errors.push(
                        Diagnostic::error(format!("[fuzz] every: {e}"), Some(span))
                            .with_help("e.g. every = \"10m..2h\""),
                    ),
                },
                _ => errors.push(
                    Diagnostic::error("[fuzz] every must be a range of durations", Some(span))
                        .with_help("e.g. every = \"10m..2h\""),
                ),
            },
            _ => match value.get_ref() {
                toml::Value::String(s) => match Dur::parse(s) {
                    Ok(d) => match known {
                        "min_duration" => spec.min_duration = d,
                        "max_duration" => spec.max_duration = d,
                        "from" => spec.from = d,
                        _ => spec.until = d,
                    },
                    Err(e) => errors.push(Diagnostic::error(
                        format!("[fuzz] {known}: {e}"),
                        Some(span),
                    )),
                },
                _ => errors.push(
                    Diagnostic::error(
                        format!("[fuzz] {known} must be a duration string"),
                        Some(span),
                    )
                    .with_help("e.g. \"30s\", \"1m30s\", \"500ms\""),
                ),
            },
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let at = |k: &str| Some(spans.get(k).cloned().unwrap_or(table_span.clone()));
    if !spans.contains_key("kinds") || spec.kinds.is_empty() {
        errors.push(
            Diagnostic::error(
                "[fuzz] needs `kinds`: the fault kinds to pick from",
                at("kinds"),
            )
            .with_help(format!(
                "e.g. kinds = [\"wifi_down\"]; the kinds: {}",
                fuzz_kinds.join(", ")
            )),
        );
    }
    if spec.every.is_some() {
        for k in ["min_faults", "max_faults"] {
            if spans.contains_key(k) {
                errors.push(
                    Diagnostic::error(
                        format!("[fuzz] {k} does not go with `every`: the gaps decide how many faults a soak has"),
                        at(k),
                    )
                    .with_help(help()),
                );
            }
        }
    }
    if spec.min_faults > spec.max_faults {
        errors.push(Diagnostic::error(
            format!(
                "[fuzz] min_faults ({}) is above max_faults ({})",
                spec.min_faults, spec.max_faults
            ),
            at("min_faults"),
        ));
    }
    if spec.min_duration.is_zero() {
        errors.push(Diagnostic::error(
            "[fuzz] min_duration must be greater than zero",
            at("min_duration"),
        ));
    }
    if spec.min_duration > spec.max_duration {
        errors.push(Diagnostic::error(
            format!(
                "[fuzz] min_duration ({}) is above max_duration ({})",
                spec.min_duration, spec.max_duration
            ),
            at("min_duration"),
        ));
    }
    if spec.until > duration {
        errors.push(Diagnostic::error(
            format!(
                "[fuzz] until ({}) is past the end of the scenario ({duration})",
                spec.until
            ),
            at("until"),
        ));
    } else if spec.from >= spec.until {
        errors.push(Diagnostic::error(
            format!(
                "[fuzz] from ({}) must be before until ({})",
                spec.from, spec.until
            ),
            at("from"),
        ));
    } else if spec.max_duration.as_millis() > spec.until.as_millis() - spec.from.as_millis() {
        errors.push(
            Diagnostic::error(
                format!(
                    "[fuzz] max_duration ({}) does not fit in the window from {} until {}",
                    spec.max_duration, spec.from, spec.until
                ),
                at("max_duration"),
            )
            .with_help(help()),
        );
    }
    if errors.is_empty() {
        Ok(Some(spec))
    } else {
        Err(errors)
    }
}

/// The line range (0-based, end excluded) of a `[fuzz]` table written
/// with a table header, up to the next table header.
pub fn table_lines(src: &str) -> Option<Range<usize>> {
    let lines: Vec<&str> = src.lines().collect();
    let is_header = |l: &str| {
        let t = l.trim_start();
        t.starts_with('[')
    };
    let start = lines.iter().position(|l| {
        let t = l.trim();
        let t = t.split('#').next().unwrap_or("").trim();
        t == "[fuzz]"
    })?;
    let end = (start + 1..lines.len())
        .find(|&i| is_header(lines[i]) && !continues_array(&lines[start + 1..i]))
        .unwrap_or(lines.len());
    Some(start..end)
}

/// Whether an array value is still open at the end of `lines` (so a line
/// starting with `[` belongs to it).
fn continues_array(lines: &[&str]) -> bool {
    let mut depth: i64 = 0;
    for l in lines {
        let mut in_str = false;
        for c in l.chars() {
            match c {
                '"' => in_str = !in_str,
                '#' if !in_str => break,
                '[' if !in_str => depth += 1,
                ']' if !in_str => depth -= 1,
                _ => {}
            }
        }
    }
    depth > 0
}

/// `src` with the `[fuzz]` table's lines blanked (line numbers unchanged),
/// for the scenario parser, which does not know the table.
pub fn strip(src: &str) -> String {
    let Some(range) = table_lines(src) else {
        return src.to_string();
    };
    let mut out = String::with_capacity(src.len());
    for (i, line) in src.split_inclusive('\n').enumerate() {
        if range.contains(&i) {
            if line.ends_with("\r\n") {
                out.push_str("\r\n");
            } else if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}
