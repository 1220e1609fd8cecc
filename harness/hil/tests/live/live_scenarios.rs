//! The live suite: every scenario in `scenarios/` tagged `live` runs on the
//! live backend (through the fault proxy) at its `live_time_scale`, once
//! per broker kind: a mosquitto process, mosquitto in a container (through
//! testcontainers; the image is built locally by `ci/mosquitto-image.sh`,
//! and the test prints a SKIP line where no Docker engine answers), and our
//! chaos broker. Every oracle of the scenario must pass, and the order of
//! states is snapshot-checked once per broker kind (the counts, which vary
//! with the wall clock, are left to the oracles; each run's full transcript
//! with counts is `transcript.txt` in its run directory). (~4 min of wall
//! time per broker kind, split into two tests of about two minutes each
//! ([`hil::partition::Partition`] over the sorted live-tagged list), so
//! that the six pack beside the other live tests.)

use std::path::Path;
use std::process::Command;

use hil::backend::Backend;
use hil::live::{BrokerKind, ContainerSpec, LiveBackend};
use hil::oracle::{Outcome, Trace};
use hil::partition::Partition;
use hil::trace::sink::VecSink;

/// Broker kind and scenario whose order of states is not snapshot-checked,
/// and why: the oracles still judge them.
const UNSTABLE_ORDER: &[(&str, &str, &str)] = &[
    (
        "chaos",
        "field-hung-broker",
        "when the chaos broker's hang ends it also answers the CONNECTs the DUT \
         gave up on during the hang, and whether one of them takes over the \
         DUT's new session (one more connection_lost/reconnect cycle) depends on \
         timing; reconnect_attempts_at_most and recovers_within judge it",
    ),
    ("mosquitto", "field-half-open-link", HELD_ATTEMPT),
    ("container", "field-half-open-link", HELD_ATTEMPT),
    ("chaos", "field-half-open-link", HELD_ATTEMPT),
];

/// Why `field-half-open-link`'s order varies: the connection the DUT opens
/// during the blackhole is held by the proxy until the blackhole ends
/// (and never reaches the broker if the DUT gives up on it first). Whether
/// the DUT's connect timeout runs out before the end (a second
/// `reconnecting` after `fault_end`) or not (the held attempt connects)
/// depends on timing under load: seen once in a full suite run with six
/// live tests at a time. Both are right; detects_outage_within,
/// recovers_within and reconnect_attempts_at_most judge it.
const HELD_ATTEMPT: &str = "the DUT's attempt opened during the blackhole either outlives \
     it (it connects when the blackhole ends) or times out first (one more reconnecting \
     after fault_end), depending on timing; the oracles judge it";

/// The broker kind in a snapshot's name.
fn kind_slug(broker: &BrokerKind) -> &'static str {
    match broker {
        BrokerKind::Mosquitto => "mosquitto",
        BrokerKind::Chaos => "chaos",
        BrokerKind::Container(_) => "container",
        _ => "external",
    }
}

/// Runs every live-tagged scenario on `broker`: its oracles must pass and
/// its state transcript ([`hil::board::state_transcript`]: the order of the
/// DUT's, application's and fault executor's state changes, without times
/// or counts) must match the snapshot `live-<kind>__<scenario>`. Only the
/// scenarios in `part` of the sorted live-tagged list run; every core
/// scenario must be tagged live.
fn live_suite(broker: BrokerKind, part: &str) {
    let part: Partition = part.parse().expect("a partition");
    let live = live_scenarios();
    let names: Vec<&str> = live.iter().map(|s| s.name.as_str()).collect();
    assert_core(&names);
    let mut failures = Vec::new();
    for s in part.select(live) {
        assert!(
            s.duration.as_millis() as f64 * s.live_time_scale <= 60_000.0,
            "{}: a live scenario must take at most 60 s of wall time",
            s.name
        );
        let mut sink = VecSink::default();
        LiveBackend::new(broker.clone())
            .run(&s, s.seed, &mut sink)
            .unwrap_or_else(|e| panic!("{} on {}: {e}", s.name, broker.name()));
        let trace = Trace::new(&sink.records);
        // `never_stalls` is judged on the simulator only: on the wall clock
        // (scaled by live_time_scale) it measures this machine's scheduler
        // under load, not the DUT (a loaded 2-core CI host stalls a task
        // for a second now and then).
        for e in s
            .expect
            .iter()
            .filter(|e| e.oracle.name() != "never_stalls")
        {
            if let Outcome::Fail(f) = e.oracle.check(&trace) {
                failures.push(format!(
                    "{} on {}: {}: {:?}",
                    s.name,
                    broker.name(),
                    e.oracle.name(),
                    f
                ));
            }
        }
        // The order of states, per broker kind (counts, which vary with
        // the wall clock, are judged by the oracles above).
        if let Some((_, _, why)) = UNSTABLE_ORDER
            .iter()
            .find(|(k, n, _)| *k == kind_slug(&broker) && *n == s.name)
        {
            println!(
                "{} on {}: order not snapshot-checked: {why}",
                s.name,
                broker.name()
            );
            continue;
        }
        let transcript = hil::board::state_transcript(&sink.records);
        let name = format!("live-{}__{}", kind_slug(&broker), s.name);
        if let Err(e) = std::panic::catch_unwind(|| {
            insta::assert_snapshot!(name, transcript);
        }) {
            let what = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!(
                "{} on {}: the transcript differs from its snapshot: {what}",
                s.name,
                broker.name()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every scenario in `scenarios/` tagged `live`, in path order.
fn live_scenarios() -> Vec<hil::scenario::Scenario> {
    repo_scenarios()
        .into_iter()
        .filter(|s| s.tags.iter().any(|t| t == "live"))
        .collect()
}

/// Every scenario in `scenarios/`, in path order.
pub fn repo_scenarios() -> Vec<hil::scenario::Scenario> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let files = hil::discover::scenario_files(&[root]).expect("scenarios/ is readable");
    files
        .iter()
        .map(|f| {
            hil::scenario::load(f)
                .unwrap_or_else(|e| panic!("{e}"))
                .scenario
        })
        .collect()
}

/// The core scenarios the live suite must hold (issue: WiFi outage, broker
/// restart with and without persistence, half-open link, lost PUBACK, lost
/// PINGRESP, hung broker).
pub const CORE: [&str; 7] = [
    "field-ap-power-cycle-90s",
    "field-broker-restart-30s-persistent",
    "field-broker-restart-30s-clean",
    "field-half-open-link",
    "field-one-puback-lost",
    "field-lost-pingresp",
    "field-hung-broker",
];

fn assert_core(live: &[&str]) {
    for name in CORE {
        assert!(live.contains(&name), "{name} is not tagged live: {live:?}");
    }
}

#[test]
fn every_live_tagged_scenario_passes_its_oracles_against_mosquitto_1_of_2() {
    live_suite(BrokerKind::Mosquitto, "1/2");
}

#[test]
fn every_live_tagged_scenario_passes_its_oracles_against_mosquitto_2_of_2() {
    live_suite(BrokerKind::Mosquitto, "2/2");
}

#[test]
fn every_live_tagged_scenario_passes_its_oracles_against_the_chaos_broker_1_of_2() {
    live_suite(BrokerKind::Chaos, "1/2");
}

#[test]
fn every_live_tagged_scenario_passes_its_oracles_against_the_chaos_broker_2_of_2() {
    live_suite(BrokerKind::Chaos, "2/2");
}

#[test]
fn every_live_tagged_scenario_passes_its_oracles_against_mosquitto_in_a_container_1_of_2() {
    in_a_container("1/2");
}

#[test]
fn every_live_tagged_scenario_passes_its_oracles_against_mosquitto_in_a_container_2_of_2() {
    in_a_container("2/2");
}

/// The live suite's `part` against mosquitto in a container (SKIP without
/// a Docker engine); no container of this process is left behind.
fn in_a_container(part: &str) {
    if let Err(e) = hil::live::container::engine_available() {
        // Visible in the test output (cargo test prints stdout of passing
        // tests only with --nocapture, so also on stderr).
        println!("SKIP live container suite: {e}");
        eprintln!("SKIP live container suite: {e}");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ci/mosquitto-image.sh");
    let status = Command::new(&script)
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    assert!(status.success(), "{} failed", script.display());
    live_suite(
        BrokerKind::Container(ContainerSpec::new(ContainerSpec::DEFAULT_IMAGE)),
        part,
    );
    // Nothing left behind: no container of this process, running or not.
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=hil.owner={}", std::process::id()),
        ])
        .output()
        .expect("docker ps");
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "containers left behind: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
