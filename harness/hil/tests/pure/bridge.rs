//! The serial MQTT bridge in the simulator (`[bridge]`, issue 20): the
//! serial fault kinds act on the line as they say (and a run without them
//! shows none of their effects), the bridge runs are deterministic, a seed
//! sweep over `scenarios/bridge/` passes, and bad `[bridge]` input gets
//! file:line:column errors.

use std::path::Path;

use hil::diag::render;
use hil::oracle::Status;
use hil::scenario;
use hil::trace::{Actor, Event, Record};

use crate::support::sim_records as run;

/// A bridge scenario: QoS 1 host -> observer every second and observer ->
/// host every 2 s, with `timeline`.
fn scenario(name: &str, duration: &str, timeline: &str) -> String {
    format!(
        "name = \"{name}\"\nduration = \"{duration}\"\n\
         [bridge]\nbaud = 115200\n\
         [dut]\nclient_id = \"gw-1\"\nclean = false\n\
         [workload]\nheartbeat = \"100ms\"\n\
         [[workload.publish]]\ntopic = \"b/t\"\nqos = 1\ninterval = \"1s\"\nstart = \"3s\"\nwait = false\n\
         [[workload.subscribe]]\ntopic = \"b/c\"\nqos = 1\n\
         [[workload.observer]]\ntopic = \"b/c\"\nqos = 1\ninterval = \"2s\"\nstart = \"5s\"\n\
         {timeline}\n\
         [[expect]]\noracle = \"qos1_no_loss\"\n"
    )
}

fn count(records: &[Record], f: impl Fn(&Event) -> bool) -> usize {
    records.iter().filter(|r| f(&r.event)).count()
}

fn times(records: &[Record], f: impl Fn(&Record) -> bool) -> Vec<u64> {
    records.iter().filter(|r| f(r)).map(|r| r.t_ms).collect()
}

fn verdicts(text: &str, records: &[Record]) -> Vec<(String, Status)> {
    let (s, _) = scenario::parse(text).unwrap();
    s.expect
        .iter()
        .map(|e| {
            let v = e.oracle.verdict(records);
            (v.oracle, v.status)
        })
        .collect()
}

#[test]
fn a_clean_line_carries_qos1_both_ways_end_to_end() {
    let text = scenario("bridge-clean", "40s", "");
    let r = run(&text, 1);
    assert_eq!(
        times(&r, |r| r.event == Event::GatewayUp).len(),
        1,
        "one handshake"
    );
    let done = count(&r, |e| matches!(e, Event::AppPublishDone { .. }));
    let delivered = count(&r, |e| matches!(e, Event::Delivered { .. }));
    let received = count(&r, |e| matches!(e, Event::Message { .. }));
    assert!(done >= 30, "{done} publishes completed");
    assert!(delivered >= done, "{delivered} delivered, {done} done");
    assert!(received >= 14, "{received} commands reached the host");
    assert_eq!(count(&r, |e| matches!(e, Event::SerialResync { .. })), 0);
    assert!(count(&r, |e| matches!(e, Event::HostCall { .. })) >= 30);
    assert_eq!(verdicts(&text, &r), [("qos1_no_loss".into(), Status::Pass)]);
}

#[test]
fn serial_cut_takes_the_gateway_away_for_its_window() {
    let text = scenario(
        "bridge-cut",
        "80s",
        "[[timeline]]\nat = \"20s\"\nkind = \"serial_cut\"\nfor = \"20s\"\n",
    );
    let r = run(&text, 1);
    let down = times(&r, |r| r.event == Event::GatewayDown);
    let up = times(&r, |r| r.event == Event::GatewayUp);
    assert!(
        down.iter().any(|&t| (20_000..40_000).contains(&t)),
        "down {down:?}"
    );
    assert!(up.iter().any(|&t| t >= 40_000), "up again {up:?}");
    // Nothing the host published completed while the cable was out
    // (beyond the link's timeout to notice it).
    let done_in_cut = times(&r, |r| {
        matches!(r.event, Event::AppPublishDone { .. }) && (22_000..40_000).contains(&r.t_ms)
    });
    assert!(done_in_cut.is_empty(), "{done_in_cut:?}");
    assert_eq!(verdicts(&text, &r), [("qos1_no_loss".into(), Status::Pass)]);
}

#[test]
fn serial_noise_damages_frames_the_link_recovers_from() {
    let text = scenario(
        "bridge-noise",
        "90s",
        "[[timeline]]\nat = \"5s\"\nkind = \"serial_noise\"\nrate = 0.005\nfor = \"80s\"\n\
         [[expect]]\noracle = \"link_resyncs_within\"\nframes = 3\n",
    );
    let r = run(&text, 3);
    assert!(count(&r, |e| matches!(e, Event::SerialResync { .. })) > 0);
    for (oracle, status) in verdicts(&text, &r) {
        assert_eq!(status, Status::Pass, "{oracle}");
    }
    // Without the fault there is nothing to resynchronise.
    let quiet = scenario(
        "bridge-quiet",
        "90s",
        "[[expect]]\noracle = \"link_resyncs_within\"\nframes = 3\n",
    );
    let r = run(&quiet, 3);
    assert_eq!(count(&r, |e| matches!(e, Event::SerialResync { .. })), 0);
}

#[test]
fn serial_drop_of_every_byte_keeps_the_link_down() {
    let text = scenario(
        "bridge-drop",
        "60s",
        "[[timeline]]\nat = \"0s\"\nkind = \"serial_drop\"\nrate = 1.0\nfor = \"30s\"\n",
    );
    let r = run(&text, 1);
    let up = times(&r, |r| r.event == Event::GatewayUp);
    assert!(!up.is_empty() && up.iter().all(|&t| t >= 30_000), "{up:?}");
    // Every publish the host started completed after the line came back.
    assert!(count(&r, |e| matches!(e, Event::AppPublishDone { .. })) >= 20);
}

#[test]
fn gateway_reboot_restarts_the_gateway_and_the_host_notices() {
    let text = scenario(
        "bridge-reboot",
        "60s",
        "[[timeline]]\nat = \"20s\"\nkind = \"gateway_reboot\"\n",
    );
    let r = run(&text, 1);
    // The gateway's driver connects twice (boot, reboot); the host sees a
    // new gateway after the reboot.
    let connected = times(&r, |r| {
        r.actor == Actor::Dut && matches!(r.event, Event::Connected { .. })
    });
    assert_eq!(connected.len(), 2, "{connected:?}");
    assert!(connected[1] > 20_000);
    assert!(
        times(&r, |r| r.event == Event::GatewayUp)
            .iter()
            .any(|&t| t > 20_000),
        "the host's link came up with the new gateway"
    );
    assert_eq!(verdicts(&text, &r), [("qos1_no_loss".into(), Status::Pass)]);
}

#[test]
fn one_seed_gives_one_trace_and_seeds_differ() {
    let text = scenario(
        "bridge-det",
        "45s",
        "[[timeline]]\nat = \"10s\"\nkind = \"serial_noise\"\nrate = 0.01\nfor = \"20s\"\n",
    );
    let a = run(&text, 5);
    assert_eq!(a, run(&text, 5));
    assert_ne!(a, run(&text, 6));
}

/// Every scenario in `scenarios/bridge/` passes its oracles on 10 seeds
/// (the 10-minute noisy UART on 3).
#[test]
fn the_bridge_scenarios_pass_a_seed_sweep() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/bridge");
    let files = hil::discover::scenario_files(&[dir]).unwrap();
    assert_eq!(files.len(), 5, "{files:?}");
    let jobs: Vec<_> = files
        .iter()
        .flat_map(|p| {
            let s = scenario::load(p).unwrap().scenario;
            let seeds = if s.duration.as_millis() > 300_000 {
                3
            } else {
                10
            };
            (1..=seeds).map(move |seed| (s.clone(), seed))
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for _ in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((s, seed)) = jobs.get(i) else { return };
                use hil::backend::Backend;
                let mut sink = hil::trace::sink::VecSink::default();
                hil::sim::SimBackend::new()
                    .run(s, *seed, &mut sink)
                    .unwrap_or_else(|e| panic!("{} seed {seed}: {e}", s.name));
                for e in &s.expect {
                    let v = e.oracle.verdict(&sink.records);
                    if v.status == Status::Fail {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{} seed {seed}: {v:?}", s.name));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
}

fn errors(src: &str) -> String {
    match scenario::parse(src) {
        Ok(_) => panic!("expected errors for:\n{src}"),
        Err(diags) => diags
            .iter()
            .map(|d| render("scenarios/bad.toml", src, d))
            .collect(),
    }
}

#[test]
fn bad_bridge_input_is_pointed_at() {
    let head = "name = \"bad\"\nduration = \"5m\"\n";
    insta::assert_snapshot!(
        "bridge_errors",
        [
            errors(&format!("{head}[bridge]\nbaud = 12\n")),
            errors(&format!("{head}[bridge]\nbaud = 9600\nparity = \"even\"\n")),
            errors(&format!(
                "{head}[[timeline]]\nat = \"1m\"\nkind = \"serial_cut\"\nfor = \"10s\"\n"
            )),
            errors(&format!(
                "{head}[bridge]\n[[timeline]]\nat = \"1m\"\nkind = \"serial_noise\"\nrate = 2.0\n"
            )),
            errors(&format!(
                "{head}[bridge]\n[[timeline]]\nat = \"1m\"\nkind = \"serial_cut\"\n"
            )),
            errors(&format!(
                "{head}[[expect]]\noracle = \"host_never_blocked\"\nms = 50\n"
            )),
        ]
        .join("\n")
    );
}

#[test]
fn the_serial_faults_read_back_from_their_toml() {
    use hil::scenario::fault::Fault;
    for (kind, fields, detail) in [
        ("serial_cut", "for = \"30s\"\n", "for=30s"),
        (
            "serial_noise",
            "rate = 0.001\nfor = \"10m\"\n",
            "rate=0.001 for=10m",
        ),
        ("serial_drop", "rate = 1.0\n", "rate=1"),
        ("gateway_reboot", "", ""),
    ] {
        let f = Fault::from_toml(kind, fields).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.detail(), detail, "{kind}");
        assert_eq!(Fault::from_toml(kind, &f.toml()).as_ref(), Ok(&f), "{kind}");
    }
}
