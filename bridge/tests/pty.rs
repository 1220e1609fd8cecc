//! The two ends as real processes (`bridge-host`, `bridge-gateway`) over a
//! real PTY cable, with a real mosquitto on a free port and a real
//! observer (`mosquitto_sub`): host publishes reach the observer, messages
//! reach the host, and killing and restarting the gateway process, or
//! pulling the cable for a while, loses no QoS 1 message.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt_bridge::serial::Cable;

/// A child process whose stdout lines arrive on a channel.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Proc {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for a line matching `f`, keeping every line seen.
    fn wait_for(&mut self, within: Duration, f: impl Fn(&str) -> bool) -> bool {
        if self.seen.iter().any(|l| f(l)) {
            return true;
        }
        let end = Instant::now() + within;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = f(&l);
                    self.seen.push(l);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Reads lines until the process closes its stdout (it ended) or
    /// `within` passes; true when it ended.
    fn wait_exit(&mut self, within: Duration) -> bool {
        let end = Instant::now() + within;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(mpsc::RecvTimeoutError::Disconnected) => return true,
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
            }
        }
        false
    }

    fn count(&self, f: impl Fn(&str) -> bool) -> usize {
        self.seen.iter().filter(|l| f(l)).count()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gateway(cable: &Cable, broker: &Mosquitto) -> Proc {
    Proc::spawn(Command::new(env!("CARGO_BIN_EXE_bridge-gateway")).args([
        "--port",
        cable.gateway_path(),
        "--broker",
        &broker.addr(),
    ]))
}

fn host(cable: &Cable, id: &str, count: u32, interval_ms: u32) -> Proc {
    Proc::spawn(Command::new(env!("CARGO_BIN_EXE_bridge-host")).args([
        "--port",
        cable.host_path(),
        "--id",
        id,
        "--count",
        &count.to_string(),
        "--interval-ms",
        &interval_ms.to_string(),
        "--subscribe",
        &format!("cmd/{id}"),
    ]))
}

fn observer(broker: &Mosquitto, filter: &str) -> Proc {
    let port = broker.port().to_string();
    // stdbuf: mosquitto_sub block-buffers a piped stdout.
    let mut sub = Proc::spawn(Command::new("stdbuf").args(["-oL", "mosquitto_sub"]).args([
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-q",
        "1",
        "-v",
        "-t",
        filter,
        "-i",
        "bridge-observer",
        "-d",
    ]));
    assert!(
        sub.wait_for(Duration::from_secs(10), |l| l.contains("SUBACK")),
        "observer subscribed"
    );
    sub
}

/// Payloads of `peers/<id>/seq` the observer got, with their counts.
fn received(obs: &mut Proc, id: &str) -> BTreeMap<u32, usize> {
    obs.wait_for(Duration::from_millis(500), |_| false);
    let prefix = format!("peers/{id}/seq ");
    let mut m = BTreeMap::new();
    for l in &obs.seen {
        if let Some(n) = l.strip_prefix(&prefix).and_then(|v| v.trim().parse().ok()) {
            *m.entry(n).or_insert(0) += 1;
        }
    }
    m
}

fn broker() -> Mosquitto {
    Mosquitto::start(Options {
        die_with_parent: true,
        ..Options::default()
    })
    .expect("mosquitto (ci/test.sh installs it)")
}

fn done(l: &str) -> bool {
    l.starts_with("done ")
}

#[test]
fn publishes_reach_the_observer_and_messages_reach_the_host() {
    let broker = broker();
    let cable = Cable::new(Some(115_200)).unwrap();
    let mut obs = observer(&broker, "peers/#");
    let _gw = gateway(&cable, &broker);
    let mut h = host(&cable, "pty1", 10, 100);
    assert!(
        h.wait_for(Duration::from_secs(20), |l| l
            .starts_with("subscribed cmd/pty1")),
        "{:?}",
        h.seen
    );
    let st = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port().to_string(),
            "-q",
            "1",
            "-t",
            "cmd/pty1",
            "-m",
            "hello host",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        h.wait_for(Duration::from_secs(10), |l| l
            == "message cmd/pty1 hello host"),
        "{:?}",
        h.seen
    );
    assert!(h.wait_exit(Duration::from_secs(30)), "{:?}", h.seen);
    assert_eq!(h.count(done), 10, "{:?}", h.seen);
    let got = received(&mut obs, "pty1");
    assert_eq!(
        got.keys().copied().collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
}

#[test]
fn killing_and_restarting_the_gateway_process_loses_no_qos1_message() {
    let broker = broker();
    let cable = Cable::new(Some(115_200)).unwrap();
    let mut obs = observer(&broker, "peers/#");
    let mut gw = gateway(&cable, &broker);
    let mut h = host(&cable, "pty2", 40, 100);
    assert!(
        h.wait_for(Duration::from_secs(20), |l| l == "done 5"),
        "{:?}",
        h.seen
    );
    // SIGKILL: whatever the gateway held (publishes in flight to the
    // broker) dies with it.
    let _ = gw.child.kill();
    let _ = gw.child.wait();
    thread::sleep(Duration::from_secs(2));
    let _gw = gateway(&cable, &broker);
    drop(gw);
    assert!(h.wait_exit(Duration::from_secs(90)), "{:?}", h.seen);
    assert_eq!(h.count(done), 40, "{:?}", h.seen);
    assert!(h.count(|l| l == "gateway_down") >= 1, "{:?}", h.seen);
    assert!(h.count(|l| l == "gateway_up") >= 2, "{:?}", h.seen);
    let got = received(&mut obs, "pty2");
    for n in 0..40 {
        assert!(got.contains_key(&n), "{n} lost; got {got:?}");
    }
    // Publishes the killed gateway had handed to the broker but not yet
    // reported are sent again by the host: at most its queue (16).
    let dups: usize = got.values().map(|c| c - 1).sum();
    assert!(dups <= 16, "{dups} duplicates: {got:?}\n{:?}", h.seen);
}

#[test]
fn a_cable_pulled_for_5_s_loses_no_qos1_message() {
    let broker = broker();
    let cable = Cable::new(Some(115_200)).unwrap();
    let mut obs = observer(&broker, "peers/#");
    let _gw = gateway(&cable, &broker);
    let mut h = host(&cable, "pty3", 30, 200);
    assert!(
        h.wait_for(Duration::from_secs(20), |l| l == "done 3"),
        "{:?}",
        h.seen
    );
    cable.pull();
    assert!(
        h.wait_for(Duration::from_secs(10), |l| l == "gateway_down"),
        "{:?}",
        h.seen
    );
    thread::sleep(Duration::from_secs(3));
    cable.plug();
    assert!(h.wait_exit(Duration::from_secs(60)), "{:?}", h.seen);
    assert_eq!(h.count(done), 30, "{:?}", h.seen);
    let got = received(&mut obs, "pty3");
    assert!((0..30).all(|n| got.contains_key(&n)), "{got:?}");
}
