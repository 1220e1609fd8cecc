//! `hil shrink`: the smallest scenario that still fails the same way.
//!
//! Works on the scenario file as a TOML value. A candidate is kept when it
//! is a valid scenario and a simulator run with the given seed shows the
//! case's failure ([`FailureSpec`]: same oracle, same message kind);
//! candidates are tried in a fixed order and every run is deterministic, so
//! the same input gives the same output. Steps, in order:
//!
//! 1. keep only the oracle of the failure;
//! 2. delta debugging (ddmin) over the timeline's entries;
//! 3. shorten each remaining `for` (bisection, 100 ms steps), then the
//!    scenario's `duration`;
//! 4. the workload: ddmin over `publish`, `subscribe` and `observer`
//!    entries, then fewer messages per stream (`count`, bisection);
//! 5. parameters towards defaults: each `[dut]` key, `[network]`, each
//!    optional workload key removed.
//!
//! Steps 2-5 repeat while they remove something (and runs are left). Texts
//! already judged are not run again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use toml::Value;

use super::failure::{message_kind, FailureSpec};
use super::reproduce::{judge, matches};
use crate::backend::Backend;
use crate::duration::Dur;
use crate::oracle::Status;
use crate::scenario::{self, Scenario};

/// Runs allowed by default.
pub const DEFAULT_MAX_RUNS: usize = 400;

/// A shrunk scenario.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The minimal scenario's file text (with its header).
    pub text: String,
    pub scenario: Scenario,
    pub failure: FailureSpec,
    /// The failure message in the minimal scenario's run.
    pub message: String,
    /// Simulator runs made.
    pub runs: usize,
    pub elapsed: Duration,
    /// What was removed or shortened, in order.
    pub removed: Vec<String>,
    /// Trace records of the original run and of the minimal one.
    pub records_before: usize,
    pub records_after: usize,
    /// True when the run budget ran out before the last step finished.
    pub budget_exhausted: bool,
}

struct Judge<'a> {
    backend: &'a dyn Backend,
    seed: u64,
    failure: FailureSpec,
    cache: BTreeMap<String, bool>,
    runs: usize,
    max_runs: usize,
}

impl Judge<'_> {
    /// Whether `v` is a valid scenario that fails like the case.
    fn fails(&mut self, v: &Value) -> bool {
        let Ok(text) = toml::to_string(v) else {
            return false;
        };
        if let Some(r) = self.cache.get(&text) {
            return *r;
        }
        if self.runs >= self.max_runs {
            return false;
        }
        let result = match scenario::parse(&text) {
            Err(_) => false,
            Ok((s, _)) => {
                self.runs += 1;
                match judge(self.backend, &s, self.seed) {
                    Ok((verdicts, _)) => matches(Some(&self.failure), &verdicts).is_some(),
                    Err(_) => false,
                }
            }
        };
        self.cache.insert(text, result);
        result
    }
}

fn arr<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Vec<Value>> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_array()
}

fn with_array(v: &Value, path: &[&str], items: Vec<Value>) -> Value {
    let mut out = v.clone();
    let mut cur = &mut out;
    for p in &path[..path.len() - 1] {
        cur = cur.get_mut(p).expect("path exists");
    }
    let table = cur.as_table_mut().expect("a table");
    if items.is_empty() {
        table.remove(path[path.len() - 1]);
    } else {
        table.insert(path[path.len() - 1].to_string(), Value::Array(items));
    }
    out
}

/// Delta debugging (Zeller's ddmin, complements first) over the array at
/// `path`: the smallest subset that still fails.
fn ddmin(j: &mut Judge<'_>, v: &mut Value, path: &[&str], what: &str, removed: &mut Vec<String>) {
    let Some(items) = arr(v, path).cloned() else {
        return;
    };
    let describe = |x: &Value| -> String {
        let t = x.as_table();
        let get = |k: &str| {
            t.and_then(|t| t.get(k))
                .map(|v| v.to_string().trim_matches('"').to_string())
        };
        match (get("kind"), get("at"), get("topic")) {
            (Some(k), Some(a), _) => format!("{k} at {a}"),
            (_, _, Some(tp)) => format!("topic {tp}"),
            _ => x.to_string(),
        }
    };
    let mut keep: Vec<usize> = (0..items.len()).collect();
    let mut n = 2usize;
    while keep.len() >= 2 || (keep.len() == 1 && n == 2) {
        let chunk = keep.len().div_ceil(n).max(1);
        let mut reduced = false;
        // Try removing each chunk (keeping its complement).
        for start in (0..keep.len()).step_by(chunk) {
            let candidate: Vec<usize> = keep
                .iter()
                .enumerate()
                .filter(|(i, _)| *i < start || *i >= start + chunk)
                .map(|(_, x)| *x)
                .collect();
            let cv = with_array(
                v,
                path,
                candidate.iter().map(|i| items[*i].clone()).collect(),
            );
            if j.fails(&cv) {
                keep = candidate;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= keep.len() {
                break;
            }
            n = (n * 2).min(keep.len());
        }
        if keep.is_empty() {
            break;
        }
    }
    for (i, item) in items.iter().enumerate() {
        if !keep.contains(&i) {
            removed.push(format!("{what}[{i}] ({})", describe(item)));
        }
    }
    *v = with_array(v, path, keep.iter().map(|i| items[*i].clone()).collect());
}

fn dur_of(x: Option<&Value>) -> Option<u64> {
    x.and_then(|d| d.as_str())
        .and_then(|s| Dur::parse(s).ok())
        .map(|d| d.as_millis())
}

/// The latest time an `at` (with its tolerance, `"60s ± 2s"`) can pick.
fn latest_at(x: Option<&Value>) -> Option<u64> {
    x.and_then(|d| d.as_str())
        .and_then(|s| crate::scenario::at::At::parse(s).ok())
        .map(|a| a.latest().as_millis())
}

/// Bisects a duration down (100 ms steps); `set` writes a candidate.
fn bisect(
    j: &mut Judge<'_>,
    v: &mut Value,
    lo: u64,
    hi: u64,
    set: &dyn Fn(&Value, u64) -> Value,
) -> Option<u64> {
    let (mut lo, mut hi) = (lo.max(100), hi);
    if lo >= hi {
        return None;
    }
    let mut best = None;
    // Quick try: the smallest.
    let c = set(v, lo);
    if j.fails(&c) {
        *v = c;
        return Some(lo);
    }
    while hi - lo > 100.max(hi / 20) {
        let mid = (lo + hi) / 2 / 100 * 100;
        if mid <= lo || mid >= hi {
            break;
        }
        let c = set(v, mid);
        if j.fails(&c) {
            *v = c;
            hi = mid;
            best = Some(mid);
        } else {
            lo = mid;
        }
    }
    best
}

fn set_str(v: &Value, path: &[&str], value: Option<Value>) -> Value {
    let mut out = v.clone();
    let mut cur = &mut out;
    for p in &path[..path.len() - 1] {
        match cur.get_mut(p) {
            Some(c) => cur = c,
            None => return out,
        }
    }
    if let Some(t) = cur.as_table_mut() {
        match value {
            Some(x) => {
                t.insert(path[path.len() - 1].to_string(), x);
            }
            None => {
                t.remove(path[path.len() - 1]);
            }
        }
    }
    out
}

fn timeline_end(v: &Value) -> u64 {
    arr(v, &["timeline"])
        .map(|a| {
            a.iter()
                .map(|e| latest_at(e.get("at")).unwrap_or(0) + dur_of(e.get("for")).unwrap_or(0))
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

fn pass(j: &mut Judge<'_>, v: &mut Value, removed: &mut Vec<String>) {
    // 2. timeline
    ddmin(j, v, &["timeline"], "timeline", removed);
    // 3. `for`s, then the duration
    let n = arr(v, &["timeline"]).map(|a| a.len()).unwrap_or(0);
    for i in 0..n {
        let Some(cur) = arr(v, &["timeline"]).and_then(|a| dur_of(a[i].get("for"))) else {
            continue;
        };
        let set = |v: &Value, ms: u64| {
            let mut items = arr(v, &["timeline"]).cloned().unwrap_or_default();
            if let Some(t) = items[i].as_table_mut() {
                t.insert(
                    "for".into(),
                    Value::String(Dur::from_millis(ms).to_string()),
                );
            }
            with_array(v, &["timeline"], items)
        };
        if let Some(ms) = bisect(j, v, 100, cur, &set) {
            removed.push(format!(
                "timeline[{i}].for {} -> {}",
                Dur::from_millis(cur),
                Dur::from_millis(ms)
            ));
        }
    }
    if let Some(cur) = dur_of(v.get("duration")) {
        let lo = (timeline_end(v) + 1_000).max(1_000);
        let set = |v: &Value, ms: u64| {
            set_str(
                v,
                &["duration"],
                Some(Value::String(Dur::from_millis(ms).to_string())),
            )
        };
        if let Some(ms) = bisect(j, v, lo, cur, &set) {
            removed.push(format!(
                "duration {} -> {}",
                Dur::from_millis(cur),
                Dur::from_millis(ms)
            ));
        }
    }
    // 4. workload
    for list in ["publish", "subscribe", "observer"] {
        ddmin(
            j,
            v,
            &["workload", list],
            &format!("workload.{list}"),
            removed,
        );
    }
    let duration = dur_of(v.get("duration")).unwrap_or(0);
    for list in ["publish", "observer"] {
        let n = arr(v, &["workload", list]).map(|a| a.len()).unwrap_or(0);
        for i in 0..n {
            let e = &arr(v, &["workload", list]).expect("exists")[i];
            let interval = dur_of(e.get("interval")).unwrap_or(1_000).max(1);
            let start = dur_of(e.get("start")).unwrap_or(0);
            let cur = e
                .get("count")
                .and_then(|c| c.as_integer())
                .map(|c| c as u64)
                .unwrap_or(duration.saturating_sub(start) / interval + 1);
            // Bisect on count (as "milliseconds" x 100 to reuse bisect's steps).
            let set = |v: &Value, hundreds: u64| {
                let mut items = arr(v, &["workload", list]).cloned().unwrap_or_default();
                if let Some(t) = items[i].as_table_mut() {
                    t.insert(
                        "count".into(),
                        Value::Integer((hundreds / 100).max(1) as i64),
                    );
                }
                with_array(v, &["workload", list], items)
            };
            if let Some(c) = bisect(j, v, 100, cur * 100, &set) {
                removed.push(format!("workload.{list}[{i}].count {cur} -> {}", c / 100));
            }
        }
    }
    // 5. parameters towards defaults
    let keys = |v: &Value, t: &str| -> Vec<String> {
        v.get(t)
            .and_then(|x| x.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    };
    for k in keys(v, "dut") {
        let c = set_str(v, &["dut", &k], None);
        if j.fails(&c) {
            *v = c;
            removed.push(format!("dut.{k} (default)"));
        }
    }
    if v.get("network").is_some() {
        let c = set_str(v, &["network"], None);
        if j.fails(&c) {
            *v = c;
            removed.push("[network] (defaults)".into());
        }
    }
    for k in keys(v, "workload") {
        if ["publish", "subscribe", "observer"].contains(&k.as_str()) {
            continue;
        }
        let c = set_str(v, &["workload", &k], None);
        if j.fails(&c) {
            *v = c;
            removed.push(format!("workload.{k} (default)"));
        }
    }
}

/// Shrinks scenario text `source` (its file `path` names the output) with
/// `seed` on `backend`.
pub fn shrink(
    source: &str,
    path_name: &str,
    seed: u64,
    failure: Option<FailureSpec>,
    backend: &dyn Backend,
    max_runs: usize,
) -> Result<Shrunk, String> {
    let started = Instant::now();
    let stripped = crate::fuzz::spec::strip(source);
    let (original, _) = scenario::parse(&stripped).map_err(|d| {
        d.iter()
            .map(|d| crate::diag::render(path_name, &stripped, d))
            .collect::<String>()
    })?;
    let (verdicts, records_before) = judge(backend, &original, seed)?;
    let failure = match failure.or_else(|| FailureSpec::from_header(source)) {
        Some(f) => f,
        None => {
            let v = verdicts.iter().find(|v| v.status == Status::Fail).ok_or_else(|| {
                format!("{path_name} passes with seed {seed}: nothing to shrink (find a failing seed with `hil reproduce`)")
            })?;
            FailureSpec {
                oracle: v.oracle.clone(),
                kind: v.failures.first().map(|f| message_kind(&f.message)),
            }
        }
    };
    if matches(Some(&failure), &verdicts).is_none() {
        return Err(format!(
            "{path_name} does not fail `{failure}` with seed {seed}: nothing to shrink (find a failing seed with `hil reproduce`)"
        ));
    }
    let mut v: Value = toml::from_str(&stripped).map_err(|e| e.to_string())?;
    if let Some(t) = v.as_table_mut() {
        t.remove("fuzz");
    }
    let mut j = Judge {
        backend,
        seed,
        failure: failure.clone(),
        cache: BTreeMap::new(),
        runs: 1,
        max_runs,
    };
    let mut removed = Vec::new();
    // 1. only the failing oracle
    if let Some(ex) = arr(&v, &["expect"]).cloned() {
        let only: Vec<Value> = ex
            .iter()
            .filter(|e| e.get("oracle").and_then(|o| o.as_str()) == Some(failure.oracle.as_str()))
            .cloned()
            .collect();
        if only.len() < ex.len() {
            let c = with_array(&v, &["expect"], only);
            if j.fails(&c) {
                removed.push(format!(
                    "{} other oracle(s)",
                    ex.len() - arr(&c, &["expect"]).map(|a| a.len()).unwrap_or(0)
                ));
                v = c;
            }
        }
    }
    for _ in 0..3 {
        let before = removed.len();
        pass(&mut j, &mut v, &mut removed);
        if removed.len() == before || j.runs >= j.max_runs {
            break;
        }
    }
    // The final text: renamed, with a header.
    let name = original.name.clone();
    let min_name = format!("{}-min", &name[..name.len().min(95)]);
    if let Some(t) = v.as_table_mut() {
        t.insert("name".into(), Value::String(min_name));
    }
    let body = toml::to_string(&v).map_err(|e| e.to_string())?;
    // The minimal scenario, run once more for its exact message and size.
    let (min_scenario, _) = scenario::parse(&body).map_err(|d| {
        d.iter()
            .map(|d| crate::diag::render("<shrunk>", &body, d))
            .collect::<String>()
    })?;
    let (verdicts, records_after) = judge(backend, &min_scenario, seed)?;
    j.runs += 1;
    let message = matches(Some(&failure), &verdicts).ok_or_else(|| {
        format!(
            "the shrunk scenario no longer fails `{failure}` (a nondeterministic run?):\n{body}"
        )
    })?;
    let mut text = format!(
        "# Shrunk by `hil shrink {path_name} --seed {seed}` in {} simulator runs{}.\n{}\n# Still fails: {}\n# Replay: hil run <this file> --seed {seed}\n# Removed or shortened:\n",
        j.runs,
        if j.runs >= j.max_runs { " (run budget used up: may not be minimal)" } else { "" },
        failure.header_line(),
        message.lines().next().unwrap_or(""),
    );
    if removed.is_empty() {
        text.push_str("#   nothing (the scenario is already minimal)\n");
    }
    for r in &removed {
        text.push_str(&format!("#   {r}\n"));
    }
    text.push('\n');
    text.push_str(&body);
    let scenario = min_scenario;
    Ok(Shrunk {
        text,
        scenario,
        failure,
        message,
        runs: j.runs,
        elapsed: started.elapsed(),
        removed,
        records_before,
        records_after,
        budget_exhausted: j.runs >= j.max_runs,
    })
}
