//! `index.html`: one self-contained page (inline CSS and SVG, no scripts,
//! no external assets), readable offline from disk.
//!
//! Order: a header with counts and the plan; failures first (each with the
//! oracle messages, the replay command and the run's timeline); then one
//! timeline per scenario that had no failure (its first run); then a table
//! of every run. Timelines are kept for failing runs and for the first run
//! of each scenario only, so a sweep of thousands of seeds stays a page.

use std::fmt::Write;

use super::summary::State;
use super::svg::esc;
use super::{failure_text, status_word, Counts, Plan, RunEntry};
use crate::duration::Dur;
use crate::run::RunStatus;

const STYLE: &str = r#"
:root { --fg:#1d232a; --muted:#5b6672; --bg:#f6f7f9; --card:#fff; --line:#dde1e6;
  --pass:#2e8540; --fail:#c62828; --err:#b26a00; }
* { box-sizing:border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { background:#1d232a; color:#fff; padding:18px 28px; }
header h1 { margin:0 0 6px; font-size:20px; font-weight:600; }
header .meta { color:#c5ccd4; font-size:13px; }
header .meta span { margin-right:18px; }
main { padding:18px 28px 40px; max-width:1200px; }
.counts { display:flex; gap:12px; margin:0 0 18px; flex-wrap:wrap; }
.count { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 16px; min-width:120px; }
.count b { display:block; font-size:24px; }
.count.pass b { color:var(--pass); } .count.fail b { color:var(--fail); } .count.err b { color:var(--err); }
.banner { padding:10px 14px; border-radius:6px; margin-bottom:16px; background:#fff4e5; border:1px solid #f0c36d; }
h2 { font-size:16px; margin:26px 0 10px; }
.card { background:var(--card); border:1px solid var(--line); border-left:5px solid var(--line); border-radius:8px; padding:12px 16px; margin:0 0 14px; }
.card.fail { border-left-color:var(--fail); } .card.infrastructure_error { border-left-color:var(--err); } .card.pass { border-left-color:var(--pass); }
.card h3 { margin:0 0 6px; font-size:15px; }
.status { font-size:11px; font-weight:700; text-transform:uppercase; padding:2px 7px; border-radius:4px; color:#fff; margin-right:6px; }
.status.pass { background:var(--pass); } .status.fail { background:var(--fail); } .status.infrastructure_error { background:var(--err); }
pre.why { white-space:pre-wrap; margin:6px 0; font:12px/1.4 ui-monospace,Menlo,Consolas,monospace; background:#fbf3f3; padding:8px 10px; border-radius:6px; }
.replay { font:13px ui-monospace,Menlo,Consolas,monospace; background:#eef2f6; padding:6px 10px; border-radius:6px; display:block; margin:6px 0; user-select:all; }
.dir { color:var(--muted); font-size:12px; }
table { border-collapse:collapse; width:100%; background:var(--card); border:1px solid var(--line); }
th, td { text-align:left; padding:5px 10px; border-bottom:1px solid var(--line); font-size:13px; }
th { background:#eef1f4; }
.legend { font-size:12px; color:var(--muted); margin:4px 0 8px; }
.legend i { display:inline-block; width:12px; height:10px; margin:0 4px 0 12px; vertical-align:middle; border-radius:2px; }
svg.timeline { background:#fff; margin-top:6px; }
svg .grid { stroke:#eceff2; stroke-width:1; }
svg .tick { font-size:10px; fill:#7a8591; }
svg .lane { font-size:11px; fill:#38424d; }
svg .none, svg .fault-label { font-size:10px; fill:#5b6672; }
svg .band.link.up, i.link-up { fill:#7bc47f; background:#7bc47f; }
svg .band.link.down, i.link-down { fill:#e57373; background:#e57373; }
svg .band.connection.connected, i.conn-connected { fill:#4f9bd9; background:#4f9bd9; }
svg .band.connection.connecting, i.conn-connecting { fill:#f3c04f; background:#f3c04f; }
svg .band.connection.disconnected, i.conn-disconnected { fill:#c9ced4; background:#c9ced4; }
svg rect.fault, i.fault { fill:#8e5cc8; background:#8e5cc8; opacity:.85; }
svg .mark { stroke-width:1.6; }
svg .mark.publish, i.publish { stroke:#2f6db5; background:#2f6db5; }
svg .mark.ack, i.ack { stroke:#2e8540; background:#2e8540; }
svg .mark.retransmit, i.retransmit { stroke:#e0661b; background:#e0661b; stroke-width:2.4; }
svg .mark.delivered, i.delivered { stroke:#138a8a; background:#138a8a; }
"#;

const LEGEND: &str = r#"<div class="legend">link<i class="link-up"></i>up<i class="link-down"></i>down &nbsp; connection<i class="conn-connecting"></i>connecting<i class="conn-connected"></i>connected<i class="conn-disconnected"></i>disconnected &nbsp; <i class="fault"></i>fault &nbsp; marks<i class="publish"></i>publish<i class="ack"></i>ack<i class="retransmit"></i>retransmit<i class="delivered"></i>delivered</div>"#;

fn ms(ms: u64) -> String {
    Dur::from_millis(ms).secs_string()
}

/// ` (2 unsupported: never_stalls, publish_completes_within)`, or nothing.
fn unsupported_text(r: &crate::run::RunReport) -> String {
    let names: Vec<&str> = r
        .verdicts
        .iter()
        .filter(|v| v.status == crate::oracle::Status::Unsupported)
        .map(|v| v.oracle.as_str())
        .collect();
    if names.is_empty() {
        return String::new();
    }
    esc(&format!(
        " ({} unsupported by this DUT: {})",
        names.len(),
        names.join(", ")
    ))
}

fn card(h: &mut String, e: &RunEntry, timeline: Option<&str>, why: bool) {
    let r = &e.report;
    let st = status_word(r.status);
    let _ = writeln!(
        h,
        r#"<div class="card {st}" id="{id}"><h3><span class="status {st}">{word}</span>{name} <small>seed={seed} · {backend}</small></h3>"#,
        id = esc(&format!("{}-{}", r.scenario, r.seed)),
        word = match r.status {
            RunStatus::Pass => "pass",
            RunStatus::Fail => "fail",
            RunStatus::InfrastructureError => "error",
        },
        name = esc(&r.scenario),
        seed = r.seed,
        backend = esc(&r.backend),
    );
    if why {
        let text = failure_text(r);
        let reasons: String = text
            .lines()
            .filter(|l| !l.starts_with("replay: "))
            .map(|l| format!("{l}\n"))
            .collect();
        if !reasons.is_empty() {
            let _ = writeln!(h, r#"<pre class="why">{}</pre>"#, esc(reasons.trim_end()));
        }
        let _ = writeln!(h, r#"<code class="replay">{}</code>"#, esc(&r.replay));
    }
    let _ = writeln!(
        h,
        r#"<div class="dir">{path} · run directory {dir} · {n} oracle(s){unsupported} · simulated {end} · took {took}</div>"#,
        path = esc(&r.path),
        dir = esc(&r.dir.display().to_string()),
        n = r.verdicts.len(),
        unsupported = unsupported_text(r),
        end = r.end_ms.map(ms).unwrap_or_else(|| "-".into()),
        took = ms(e.elapsed_ms),
    );
    if let Some(svg) = timeline {
        h.push_str(svg);
    }
    h.push_str("</div>\n");
}

/// Renders the page. `timelines[i]` is the SVG of `runs[i]`, when kept.
pub fn render(
    plan: &Plan,
    counts: &Counts,
    runs: &[RunEntry],
    timelines: &[Option<String>],
    state: &State,
) -> String {
    let mut h = String::new();
    let state_word = match (state.finished, state.interrupted) {
        (_, true) => "interrupted",
        (true, false) => "finished",
        (false, false) => "running",
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>hil {cmd}: {p} passed, {f} failed, {e} errors</title><style>{STYLE}</style></head><body>\n",
        cmd = esc(&plan.command),
        p = counts.passed,
        f = counts.failed,
        e = counts.infrastructure_errors,
    );
    let _ = writeln!(
        h,
        "<header><h1>hil {cmd} report</h1><div class=\"meta\"><span>backend {b}</span><span>seeds {s}</span>{part}<span>{jobs} job(s)</span><span>hil {hv} · resilient-mqtt {dv}</span><span>{state_word} after {el}</span></div></header><main>",
        cmd = esc(&plan.command),
        b = esc(&plan.backend),
        s = esc(&plan.seeds),
        part = plan
            .partition
            .as_ref()
            .map(|p| format!("<span>partition {}</span>", esc(p)))
            .unwrap_or_default(),
        jobs = plan.jobs,
        hv = esc(&plan.versions.hil),
        dv = esc(&plan.versions.resilient_mqtt),
        el = ms(state.elapsed.as_millis() as u64),
    );
    if state.interrupted || !state.finished {
        let _ = writeln!(
            h,
            "<div class=\"banner\">{} {} of {} planned runs are in this report.</div>",
            if state.interrupted {
                "Interrupted:"
            } else {
                "Still running:"
            },
            counts.completed,
            counts.planned
        );
    }
    let _ = writeln!(
        h,
        "<div class=\"counts\"><div class=\"count\"><b>{}</b>runs of {}</div><div class=\"count pass\"><b>{}</b>passed</div><div class=\"count fail\"><b>{}</b>failed</div><div class=\"count err\"><b>{}</b>infrastructure errors</div></div>",
        counts.completed, counts.planned, counts.passed, counts.failed, counts.infrastructure_errors
    );
    let bad: Vec<usize> = (0..runs.len())
        .filter(|&i| runs[i].report.status != RunStatus::Pass)
        .collect();
    if !bad.is_empty() {
        let _ = writeln!(
            h,
            "<h2 id=\"failures\">Failures ({})</h2>{LEGEND}",
            bad.len()
        );
        // Device failures before infrastructure errors, each in plan order.
        let mut order = bad.clone();
        order.sort_by_key(|&i| (runs[i].report.status != RunStatus::Fail, i));
        for i in order {
            card(
                &mut h,
                &runs[i],
                timelines.get(i).and_then(|t| t.as_deref()),
                true,
            );
        }
    }
    let failing: Vec<&str> = bad
        .iter()
        .map(|&i| runs[i].report.scenario.as_str())
        .collect();
    let mut shown: Vec<&str> = Vec::new();
    let mut scen = String::new();
    for (i, e) in runs.iter().enumerate() {
        let name = e.report.scenario.as_str();
        if failing.contains(&name) || shown.contains(&name) {
            continue;
        }
        if let Some(Some(svg)) = timelines.get(i) {
            shown.push(name);
            card(&mut scen, e, Some(svg), false);
        }
    }
    if !scen.is_empty() {
        let _ = writeln!(
            h,
            "<h2 id=\"scenarios\">Scenarios without failures</h2>{LEGEND}"
        );
        h.push_str(&scen);
    }
    let _ = writeln!(
        h,
        "<h2 id=\"runs\">All runs ({})</h2><table><thead><tr><th>scenario</th><th>seed</th><th>status</th><th>oracles</th><th>took</th><th>run directory</th></tr></thead><tbody>",
        runs.len()
    );
    for e in runs {
        let r = &e.report;
        let st = status_word(r.status);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td><span class=\"status {st}\">{st}</span></td><td>{}</td><td>{}</td><td class=\"dir\">{}</td></tr>",
            esc(&r.scenario),
            r.seed,
            r.verdicts.len(),
            ms(e.elapsed_ms),
            esc(&r.dir.display().to_string())
        );
    }
    h.push_str("</tbody></table></main></body></html>\n");
    h
}
