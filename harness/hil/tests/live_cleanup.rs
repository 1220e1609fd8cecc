//! Live runs leave nothing behind: no mosquitto process and no socket after
//! a run, and none when the harness itself is killed mid-run (mosquitto is
//! started with PR_SET_PDEATHSIG). One test per binary, so no other test's
//! broker is counted.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hil::backend::Backend;
use hil::live::{BrokerKind, LiveBackend};
use hil::trace::sink::VecSink;

mod support;
use support::proc::{alive, children_named};

/// Pids of mosquitto processes whose parent is `parent`.
fn mosquitto_children(parent: u32) -> Vec<u32> {
    children_named(parent, "mosquitto")
}

fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path())
                .map(|l| l.to_string_lossy().starts_with("socket:"))
                .unwrap_or(false)
        })
        .count()
}

const SCENARIO: &str = r#"
name = "live-cleanup"
duration = "10s"
live_time_scale = 0.2

[dut]
client_id = "dut-live-cleanup"

[workload]
heartbeat = "500ms"

[[workload.publish]]
topic = "dut/live/cleanup"
qos = 1
interval = "1s"

[[timeline]]
at = "6s"
kind = "broker_crash"

[[timeline]]
at = "7s"
kind = "broker_restart"
persist = false

[[expect]]
oracle = "qos1_no_loss"
"#;

#[test]
fn nothing_is_left_behind_after_a_run_or_when_the_harness_is_killed() {
    let me = std::process::id();
    let (s, _) = hil::scenario::parse(SCENARIO).unwrap();
    // Tokio's signal driver keeps one process-wide socket pair for good:
    // create it before counting.
    drop(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    );
    let before = sockets();
    for broker in [BrokerKind::Mosquitto, BrokerKind::Chaos] {
        let mut sink = VecSink::default();
        LiveBackend::new(broker.clone())
            .run(&s, 1, &mut sink)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            sink.records.len() > 20,
            "{}: the run happened",
            broker.name()
        );
        assert_eq!(
            mosquitto_children(me),
            Vec::<u32>::new(),
            "{}",
            broker.name()
        );
        // Sockets close asynchronously on runtime shutdown: allow a moment.
        let deadline = Instant::now() + Duration::from_secs(3);
        while sockets() > before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(sockets(), before, "{}: sockets left open", broker.name());
    }

    // The harness killed mid-run (SIGKILL: no destructor runs) takes its
    // mosquitto with it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live-cleanup.toml");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(SCENARIO.replace("\"10s\"", "\"60s\"").as_bytes())
        .unwrap();
    let mut hil = Command::new(env!("CARGO_BIN_EXE_hil"))
        .args(["run", "--backend", "live", "--no-progress", "--out"])
        .arg(dir.path().join("out"))
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let broker = loop {
        if let Some(pid) = mosquitto_children(hil.id()).first() {
            break *pid;
        }
        assert!(Instant::now() < deadline, "hil never started mosquitto");
        std::thread::sleep(Duration::from_millis(20));
    };
    hil.kill().unwrap();
    hil.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive(broker) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(broker),
        "mosquitto {broker} outlived the killed harness"
    );
}
