//! Ctrl-C during a live run leaves nothing behind: once, the harness
//! finishes the run in flight and stops its broker; twice, it stops at once
//! and still removes its containers and takes its mosquitto with it. Run
//! against a mosquitto process and against mosquitto in a container (the
//! image is built locally by `ci/mosquitto-image.sh`; the container part
//! prints a SKIP line where no Docker engine answers).

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::proc::{alive, children_named};

const SCENARIO: &str = r#"
name = "live-interrupt"
duration = "60s"
live_time_scale = 0.25

[dut]
client_id = "dut-live-interrupt"

[workload]
heartbeat = "500ms"

[[workload.publish]]
topic = "dut/live/interrupt"
qos = 1
interval = "1s"

[[expect]]
oracle = "qos1_no_loss"
"#;

fn sigint(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Ids of the containers (running or not) labelled as owned by `pid`.
fn containers_of(pid: u32) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=hil.owner={pid}"),
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("hil did not exit within {timeout:?} of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `hil run --backend live --broker BROKER` on the scenario.
fn start(dir: &Path, broker: &str) -> Child {
    let file = dir.join("live-interrupt.toml");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(SCENARIO.as_bytes())
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_hil"))
        .args(["run", "--backend", "live", "--broker", broker])
        .args(["--no-progress", "--out"])
        .arg(dir.join("out"))
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The mosquitto `hil` started, once it has.
fn its_mosquitto(hil: &Child) -> u32 {
    let mut broker = 0;
    wait_until("hil starts mosquitto", Duration::from_secs(20), || {
        broker = children_named(hil.id(), "mosquitto")
            .first()
            .copied()
            .unwrap_or(0);
        broker != 0
    });
    broker
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
    }
    s
}

#[test]
fn ctrl_c_stops_a_live_run_on_mosquitto_and_its_broker_with_it() {
    // Once: the run in flight finishes (15 s of wall time), then everything
    // stops.
    let dir = tempfile::tempdir().unwrap();
    let mut hil = start(dir.path(), "mosquitto");
    let broker = its_mosquitto(&hil);
    std::thread::sleep(Duration::from_secs(2));
    sigint(&hil);
    let status = wait_exit(&mut hil, Duration::from_secs(60));
    let err = stderr_of(&mut hil);
    assert!(err.contains("interrupted"), "{status}: {err}");
    wait_until("mosquitto stops", Duration::from_secs(3), || !alive(broker));
    // The interrupted run still wrote its trace.
    assert!(
        walk_has(dir.path(), "trace.jsonl"),
        "no trace.jsonl under {}",
        dir.path().display()
    );

    // Twice: stop now; mosquitto goes with the harness.
    let dir = tempfile::tempdir().unwrap();
    let mut hil = start(dir.path(), "mosquitto");
    let broker = its_mosquitto(&hil);
    sigint(&hil);
    std::thread::sleep(Duration::from_millis(300));
    sigint(&hil);
    let status = wait_exit(&mut hil, Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{}", stderr_of(&mut hil));
    wait_until("mosquitto stops", Duration::from_secs(3), || !alive(broker));
}

fn walk_has(dir: &Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            if p.is_dir() {
                walk_has(&p, name)
            } else {
                p.file_name().is_some_and(|n| n == name)
            }
        })
}

#[test]
fn ctrl_c_stops_a_live_run_in_a_container_and_removes_the_container() {
    if let Err(e) = hil::live::container::engine_available() {
        println!("SKIP live container interrupt test: {e}");
        eprintln!("SKIP live container interrupt test: {e}");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ci/mosquitto-image.sh");
    let status = Command::new(&script)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    assert!(status.success(), "{} failed", script.display());

    for presses in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let mut hil = start(dir.path(), "container");
        let pid = hil.id();
        wait_until("hil starts its container", Duration::from_secs(60), || {
            !containers_of(pid).is_empty()
        });
        std::thread::sleep(Duration::from_secs(2));
        sigint(&hil);
        if presses == 2 {
            std::thread::sleep(Duration::from_millis(300));
            sigint(&hil);
        }
        let status = wait_exit(&mut hil, Duration::from_secs(90));
        let err = stderr_of(&mut hil);
        if presses == 2 {
            assert_eq!(status.code(), Some(130), "{err}");
        } else {
            assert!(err.contains("interrupted"), "{status}: {err}");
        }
        wait_until("the container is removed", Duration::from_secs(20), || {
            containers_of(pid).is_empty()
        });
    }
}
