//! Writes the imported scenario: a header naming the evidence (files,
//! what was read, how many lines or packets were not understood, the
//! device, where scenario time 0 is), `[dut]` and `[workload]` from what
//! the device did, `[network.dut]` when a latency was inferred, one
//! `[[timeline]]` entry per inferred fault, each under a comment naming
//! its rule, its evidence (file and line / packet) and why, and the
//! `[[expect]]` oracles: the failure the evidence shows (or the one given
//! with `--failure`) first, then the usual field checks.
//!
//! Scenario time: the DUT's first connection in the evidence is put at
//! 5 s, when the simulated DUT first connects (its 5 s WiFi integrity
//! check, `quick = false`); times are rounded to 100 ms.
//!
//! Each fault is written by its own kind ([`Fault::toml`]); what the
//! timeline needs to know of a kind (does it cut the DUT off, is it
//! silent, does it end another fault) comes from the fault catalogue
//! (`scenario::fault`). Faults our traces recorded are written back as
//! recorded and not weighed against inferred outages.

use super::evidence::{Evidence, Obs};
use super::failure::FailureSpec;
use super::rules::{recorded, Inferred};
use super::workload::Observed;
use crate::duration::Dur;
use crate::scenario::fault::{BrokerDrop, Fault, Packet};

/// When the simulated DUT first connects.
pub const LEAD_MS: u64 = 5_000;
/// Room after the last event for recovery oracles.
pub const TAIL_MS: u64 = 30_000;

/// What a scenario is rendered from.
pub struct Input<'a> {
    pub name: &'a str,
    pub evidence: &'a Evidence,
    pub dut: &'a str,
    pub inferred: &'a [Inferred],
    pub observed: &'a Observed,
    pub failure: Option<&'a FailureSpec>,
}

/// The rendered text and its time origin.
pub struct Rendered {
    pub text: String,
    /// Evidence time (ms) of scenario time 0.
    pub origin_ms: u64,
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn round100(ms: u64) -> u64 {
    (ms + 50) / 100 * 100
}

fn dur(ms: u64) -> String {
    q(&Dur::from_millis(ms).to_string())
}

/// The failure the inferred faults themselves show, if any: a lost PUBACK
/// means the broker got that message twice.
pub fn evidenced_failure(inferred: &[Inferred]) -> Option<FailureSpec> {
    inferred
        .iter()
        .any(|i| {
            i.recorded.is_none()
                && matches!(
                    i.fault,
                    Fault::BrokerDrop(BrokerDrop {
                        packet: Packet::Puback,
                        ..
                    })
                )
        })
        .then(|| FailureSpec {
            oracle: "duplicates_at_most".into(),
            kind: None,
        })
}

/// An `[[expect]]` entry with parameters that make the oracle strict.
fn oracle_entry(name: &str) -> String {
    let params = match name {
        "duplicates_at_most" | "retransmits_at_most" => "n = 0\n",
        "recovers_within" => "seconds = 20\n",
        "detects_outage_within" => "seconds = 26\n",
        "never_stalls" => "ms = 500\n",
        "reconnect_attempts_at_most" => "n = 4\nwindow = \"1m\"\n",
        "publish_completes_within" => "ms = 12000\n",
        "connect_returns_within" => "seconds = 15\n",
        "discards_counted" => "min = 1\n",
        "boot_session_present" => "present = false\n",
        _ => "",
    };
    format!("\n[[expect]]\noracle = \"{name}\"\n{params}")
}

/// One timeline entry: (scenario at, text).
fn entry(i: &Inferred, at: u64) -> String {
    let mut t = format!(
        "[[timeline]]\nat = {}\nkind = \"{}\"\n",
        dur(at),
        i.fault.kind()
    );
    match &i.recorded {
        Some(detail) => t.push_str(&recorded::toml(detail)),
        None => t.push_str(&i.fault.toml()),
    }
    t
}

fn comment(i: &Inferred) -> String {
    let ev: Vec<String> = i.evidence.iter().map(|s| s.to_string()).collect();
    format!(
        "# rule {}: {}\n# evidence: {}\n",
        i.rule,
        i.why,
        ev.join("; ")
    )
}

fn o_retrans(input: &Input<'_>) -> (usize, usize) {
    input.observed.retransmissions
}

/// Renders the scenario, dropping oracles the scenario cannot judge.
pub fn render(input: &Input<'_>) -> Rendered {
    let mut dropped: Vec<String> = Vec::new();
    loop {
        let r = render_once(input, &dropped);
        match crate::scenario::parse(&r.text) {
            Err(d) => {
                let bad: Vec<String> = d
                    .iter()
                    .filter_map(|d| {
                        let m = d.message.strip_prefix("oracle `")?;
                        Some(m[..m.find('`')?].to_string())
                    })
                    .filter(|o| !dropped.contains(o))
                    .collect();
                if bad.is_empty() {
                    return r;
                }
                dropped.extend(bad);
            }
            Ok(_) => return r,
        }
    }
}

fn render_once(input: &Input<'_>, dropped: &[String]) -> Rendered {
    let ev = input.evidence;
    let dut = input.dut;
    let first_dut = ev
        .of(dut)
        .find(|e| matches!(e.obs, Obs::Open))
        .or_else(|| ev.of(dut).next())
        .map(|e| e.t_ms)
        .unwrap_or(0);
    // Our traces are already in scenario time.
    let relative = ev
        .of(dut)
        .find(|e| matches!(e.obs, Obs::Open))
        .is_some_and(|e| {
            ev.inputs
                .iter()
                .any(|i| i.file == e.src.file && i.format == "trace")
        });
    let origin_ms = if relative {
        0
    } else {
        first_dut.saturating_sub(LEAD_MS)
    };
    let scn = |t: u64| round100(t.saturating_sub(origin_ms));
    let mut t = String::new();
    t.push_str("# Imported by `hil import` from:\n");
    for s in &ev.inputs {
        t.push_str(&format!(
            "#   {} ({}: {} {} read, {} not understood, {} observations)\n",
            s.file,
            s.format,
            s.units,
            if s.format.starts_with("pcap") {
                "packets"
            } else {
                "lines"
            },
            s.unknown,
            s.observations
        ));
    }
    let first_src = ev
        .of(dut)
        .find(|e| matches!(e.obs, Obs::Open))
        .map(|e| e.src.to_string())
        .unwrap_or_default();
    if relative {
        t.push_str(&format!("# Device under test: client `{dut}`. Times as in the trace (first connection: {first_src}).\n"));
    } else {
        t.push_str(&format!(
            "# Device under test: client `{dut}`. Scenario time 5s = its first connection in the evidence ({first_src}).\n"
        ));
    }
    if let Some(f) = input.failure {
        t.push_str(&f.header_line());
        t.push('\n');
    }
    if o_retrans(input) != (0, 0) {
        let (a, b) = o_retrans(input);
        t.push_str(&format!(
            "# TCP retransmissions seen: {a} towards the broker, {b} towards the device.\n"
        ));
    }
    t.push_str("# Replay, find a failing seed, shrink: hil run / hil reproduce / hil shrink (harness/hil/README.md).\n\n");

    // Timeline, with overlapping outages dropped (the first one wins).
    let mut entries: Vec<(u64, &Inferred)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut busy: Vec<(u64, u64)> = Vec::new();
    let mut latency: Option<&Inferred> = None;
    let mut last_t = ev.events.last().map(|e| scn(e.t_ms)).unwrap_or(0);
    // An outage without an end of its own (a broker crash) is open until
    // a fault that ends it (a restart): nothing else overlaps it.
    let mut outage_open = false;
    for i in input.inferred {
        let at = scn(i.at_ms);
        let kind = i.fault.kind();
        let inferred = i.recorded.is_none();
        let span = match &i.fault {
            Fault::Latency(_) if inferred => {
                latency = Some(i);
                continue;
            }
            // An outage that ends: it must not overlap another.
            f if inferred && Fault::cut(kind).cuts() => {
                f.ends_after().map(|d| (at, at + d.as_millis()))
            }
            _ => None,
        };
        if let Some((a, b)) = span {
            if busy.iter().any(|(x, y)| a < *y + 1_000 && *x < b + 1_000) || outage_open {
                notes.push(format!(
                    "# not used (overlaps another outage): {} at {} (rule {}, {})\n",
                    i.fault.kind(),
                    Dur::from_millis(at),
                    i.rule,
                    i.evidence
                        .first()
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                ));
                continue;
            }
            busy.push((a, b));
            last_t = last_t.max(b);
        }
        if inferred {
            if Fault::cut(kind).cuts() && i.fault.ends_after().is_none() {
                outage_open = true;
            } else if Fault::ends_fault(kind) {
                outage_open = false;
            }
        }
        entries.push((at, i));
    }
    let duration = (last_t + TAIL_MS).div_ceil(10_000) * 10_000;

    t.push_str(&format!("name = {}\n", q(input.name)));
    t.push_str(&format!(
        "description = {}\n",
        q(&format!(
            "Imported from {}",
            ev.inputs
                .iter()
                .map(|i| i.file.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    ));
    t.push_str("tags = [\"field\", \"imported\"]\nseed = 1\n");
    t.push_str(&format!("duration = {}\n", dur(duration)));

    let o = input.observed;
    t.push_str(&format!("\n[dut]\nclient_id = {}\n", q(dut)));
    if let Some((k, src)) = &o.keepalive_s {
        t.push_str(&format!("keepalive = \"{k}s\"   # CONNECT, {src}\n"));
    }
    if let (Some((ping, src)), Some((k, _))) = (&o.ping_interval, &o.keepalive_s) {
        // The driver's default is keepalive / 4: only a different cadence is written.
        let default = *k as u64 * 1000 / 4;
        if *k > 0 && ping.abs_diff(default) * 10 > default && *ping < *k as u64 * 1000 {
            t.push_str(&format!(
                "ping_interval = {}   # median PINGREQ cadence, first at {src}\n",
                dur(*ping)
            ));
        }
    }
    if let Some(c) = o.clean_init {
        t.push_str(&format!("clean_init = {c}\n"));
    }
    if let Some(c) = o.clean {
        t.push_str(&format!("clean = {c}\n"));
    }
    if let Some((w, src)) = &o.will_topic {
        t.push_str(&format!(
            "# will topic from {src}; its message, retain and qos are not in the evidence\nwill = {{ topic = {}, message = \"offline\", retain = true, qos = 1 }}\n",
            q(w)
        ));
    }
    if let Some(l) = latency {
        if let Fault::Latency(lat) = &l.fault {
            let (min_ms, max_ms) = (lat.min.as_millis(), lat.max.as_millis());
            t.push_str(&format!(
                "\n{}[network.dut]\nlatency = {{ min = {}, max = {} }}\n",
                comment(l),
                dur(min_ms.max(1)),
                dur(max_ms.max(min_ms).max(1))
            ));
        }
    }
    t.push_str("\n[workload]\nheartbeat = \"100ms\"\n");
    if o.publishes.is_empty() {
        t.push_str("\n# no publish of the device in the evidence: a default QoS 1 stream so that\n# message oracles have something to judge\n[[workload.publish]]\ntopic = \"dut/telemetry\"\nqos = 1\ninterval = \"1s\"\n");
    }
    for p in &o.publishes {
        t.push_str(&format!(
            "\n# {} publishes seen, first at {}\n[[workload.publish]]\ntopic = {}\nqos = {}\ninterval = {}\n",
            p.seen,
            p.src,
            q(&p.topic),
            p.qos,
            dur(p.interval_ms)
        ));
    }
    for (topic, qos, src) in &o.subscriptions {
        t.push_str(&format!(
            "\n# {src}\n[[workload.subscribe]]\ntopic = {}\nqos = {qos}\n",
            q(topic)
        ));
    }
    for p in &o.incoming {
        if !o
            .subscriptions
            .iter()
            .any(|s| crate::scenario::types::filter_matches(&s.0, &p.topic))
        {
            continue;
        }
        t.push_str(&format!(
            "\n# {} messages to the device, first at {}\n[[workload.observer]]\ntopic = {}\nqos = {}\ninterval = {}\n",
            p.seen,
            p.src,
            q(&p.topic),
            p.qos,
            dur(p.interval_ms)
        ));
    }
    for (at, i) in &entries {
        t.push('\n');
        t.push_str(&comment(i));
        t.push_str(&entry(i, *at));
    }
    for n in &notes {
        t.push('\n');
        t.push_str(n);
    }

    let mut oracles: Vec<&str> = Vec::new();
    if let Some(f) = input.failure {
        oracles.push(f.oracle.as_str());
    }
    oracles.push("qos1_no_loss");
    // Inferred outages the DUT must recover from, and silent ones it must
    // detect (recorded faults are the trace's own and add no oracle).
    let inferred = || entries.iter().filter(|(_, i)| i.recorded.is_none());
    if inferred().any(|(_, i)| Fault::cut(i.fault.kind()).cuts()) {
        oracles.push("recovers_within");
    }
    if inferred().any(|(_, i)| Fault::is_silent(i.fault.kind())) {
        oracles.push("detects_outage_within");
    }
    oracles.push("conformance");
    let mut seen: Vec<&str> = Vec::new();
    for name in oracles {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        if dropped.iter().any(|d| d == name) {
            t.push_str(&format!(
                "\n# oracle `{name}` left out: this scenario gives it nothing to judge\n"
            ));
            continue;
        }
        t.push_str(&oracle_entry(name));
    }
    Rendered { text: t, origin_ms }
}
