//! The standalone broker on real TCP: the control port switches faults
//! while MQTT clients are served, answers `ok` / `error: ...`, and
//! `--persist` keeps sessions and retained messages across a restart.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::support::client::connect;
use crate::support::tcp_client;
use chaos_broker::standalone::{BrokerArgs, Standalone, StandaloneError};
use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: BrokerArgs,
}

fn args(extra: &[&str]) -> BrokerArgs {
    let mut argv = vec!["hil-broker", "--port", "0"];
    argv.extend_from_slice(extra);
    Cli::try_parse_from(argv).expect("valid flags").args
}

struct Running {
    mqtt: SocketAddr,
    control: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), StandaloneError>>,
}

async fn start(a: BrokerArgs) -> Running {
    let s = Standalone::bind(a).await.expect("bind");
    let mqtt = s.mqtt_addr().unwrap();
    let control = s.control_addr().unwrap();
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(s.run_until(async {
        let _ = rx.await;
    }));
    Running {
        mqtt,
        control,
        stop,
        task,
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("no panic").expect("clean stop");
    }
}

struct Control {
    rd: BufReader<tokio::net::tcp::OwnedReadHalf>,
    wr: tokio::net::tcp::OwnedWriteHalf,
}

impl Control {
    async fn open(addr: SocketAddr) -> Control {
        let (rd, wr) = TcpStream::connect(addr).await.unwrap().into_split();
        Control {
            rd: BufReader::new(rd),
            wr,
        }
    }

    /// Sends a line; returns the reply lines up to and including ok/error.
    async fn cmd(&mut self, line: &str) -> Vec<String> {
        self.wr
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        let mut out = Vec::new();
        loop {
            let mut l = String::new();
            let n = self.rd.read_line(&mut l).await.unwrap();
            assert!(n > 0, "control port closed after {out:?}");
            let l = l.trim_end().to_string();
            let last = l == "ok" || l.starts_with("error: ");
            out.push(l);
            if last {
                return out;
            }
        }
    }
}

#[tokio::test]
async fn control_port_switches_faults_while_serving() {
    let r = start(args(&[])).await;
    let mut ctl = Control::open(r.control).await;
    assert_eq!(ctl.cmd("fault client dev1 refuse 5").await, ["ok"]);
    assert_eq!(ctl.cmd("fault all drop puback 1").await, ["ok"]);
    assert_eq!(
        ctl.cmd("faults").await,
        ["client dev1 refuse 5", "all drop puback 1", "ok"]
    );
    let mut c = tcp_client(r.mqtt).await;
    assert_eq!(
        c.connect(connect("dev1", true, 60)).await,
        "CONNACK sp=0 rc=5"
    );
    c.expect_closed().await;
    let mut c = tcp_client(r.mqtt).await;
    assert_eq!(
        c.connect(connect("dev2", true, 60)).await,
        "CONNACK sp=0 rc=0"
    );
    c.publish("a", b"x", 1, 1, false).await;
    c.publish("a", b"x", 1, 2, false).await;
    c.expect("PUBACK pid=2").await;
    let log = ctl.cmd("log 2").await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log[0].ends_with("in  conn=2 client=dev2 PUBLISH pid=2 qos=1 dup=0 retain=0 topic=a len=1"),
        "{log:?}"
    );
    assert!(
        log[1].ends_with("out conn=2 client=dev2 PUBACK pid=2"),
        "{log:?}"
    );
    let events = ctl.cmd("events 50").await;
    assert!(
        events.iter().any(|e| e.contains("dropped PUBACK pid=1")),
        "{events:?}"
    );
    let stats = ctl.cmd("stats").await;
    assert!(
        stats.contains(&"publishes_received 2".to_string()),
        "{stats:?}"
    );
    assert_eq!(ctl.cmd("sessions").await, ["dev2 online", "ok"]);
    assert_eq!(ctl.cmd("clear client dev1").await, ["ok"]);
    assert_eq!(ctl.cmd("faults").await, ["ok"]);
    let mut c = tcp_client(r.mqtt).await;
    assert_eq!(
        c.connect(connect("dev1", true, 60)).await,
        "CONNACK sp=0 rc=0"
    );
    // Bad input: an error line, and the channel stays usable.
    let e = ctl.cmd("fault everyone hang").await;
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("error: unknown target `everyone`"),
        "{e:?}"
    );
    assert!(ctl.cmd("").await[0].starts_with("error: empty command"));
    let long = "x".repeat(10_000);
    assert_eq!(ctl.cmd(&long).await, ["error: line longer than 4096 bytes"]);
    assert!(ctl.cmd("help").await.len() > 5);
    assert_eq!(ctl.cmd("quit").await, ["ok"]);
    r.stop().await;
}

fn temp_state(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("chaos-broker-{name}-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[tokio::test]
async fn persist_keeps_sessions_and_retained_across_restart() {
    let state = temp_state("persist");
    let path = state.to_str().unwrap();
    let r = start(args(&["--persist", "--state-file", path])).await;
    let mut s = tcp_client(r.mqtt).await;
    assert_eq!(
        s.connect(connect("keeper", false, 60)).await,
        "CONNACK sp=0 rc=0"
    );
    s.subscribe(1, &[("k/#", 1)]).await;
    s.expect("SUBACK pid=1 codes=1").await;
    s.disconnect().await;
    s.expect_closed().await;
    let mut p = tcp_client(r.mqtt).await;
    p.connect(connect("p", true, 60)).await;
    p.publish("k/queued", b"q", 1, 1, false).await;
    p.expect("PUBACK pid=1").await;
    p.publish("k/ret", b"r", 0, 0, true).await;
    p.disconnect().await;
    p.expect_closed().await;
    r.stop().await;
    assert!(state.exists(), "state saved on shutdown");

    let r = start(args(&["--persist", "--state-file", path])).await;
    let mut s = tcp_client(r.mqtt).await;
    assert_eq!(
        s.connect(connect("keeper", false, 60)).await,
        "CONNACK sp=1 rc=0"
    );
    s.expect("PUBLISH pid=1 qos=1 dup=0 retain=0 topic=k/queued len=1")
        .await;
    s.puback(1).await;
    let mut n = tcp_client(r.mqtt).await;
    n.connect(connect("n", true, 60)).await;
    n.subscribe(1, &[("k/ret", 0)]).await;
    n.expect("SUBACK pid=1 codes=0").await;
    n.expect("PUBLISH qos=0 dup=0 retain=1 topic=k/ret len=1")
        .await;
    r.stop().await;
    let _ = std::fs::remove_file(&state);
}

#[tokio::test]
async fn startup_errors_are_clear() {
    let state = temp_state("corrupt");
    std::fs::write(&state, "{ not json").unwrap();
    let err = Standalone::bind(args(&[
        "--persist",
        "--state-file",
        state.to_str().unwrap(),
    ]))
    .await
    .err()
    .expect("a corrupt state file is refused");
    let msg = err.to_string();
    assert!(msg.contains("is not a chaos-broker state file"), "{msg}");
    let _ = std::fs::remove_file(&state);

    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let err = Standalone::bind(args(&["--control-port", &port]))
        .await
        .err()
        .expect("a taken port is refused");
    assert!(
        err.to_string()
            .starts_with("cannot listen for control commands on 127.0.0.1:"),
        "{err}"
    );

    let pw = temp_state("pw");
    std::fs::write(&pw, "alice:secret\nbroken-line-hunter2\n").unwrap();
    let err = Standalone::bind(args(&["--password-file", pw.to_str().unwrap()]))
        .await
        .err()
        .expect("a bad password file is refused");
    assert_eq!(
        err.to_string(),
        "password file line 2: expected `user:password`"
    );
    let _ = std::fs::remove_file(&pw);
}

#[test]
fn flags_parse_with_defaults() {
    let a = Cli::try_parse_from(["x"]).unwrap().args;
    assert_eq!(a.port, 1883);
    assert_eq!(a.bind.to_string(), "127.0.0.1");
    assert_eq!(a.control_port, None);
    assert!(!a.persist);
    let e = Cli::try_parse_from(["x", "--port", "70000"]).err().unwrap();
    assert!(e.to_string().contains("70000"), "{e}");
}

#[tokio::test]
async fn max_packet_size_flag_limits_what_a_client_may_send() {
    let r = start(args(&["--max-packet-size", "100"])).await;
    let mut c = tcp_client(r.mqtt).await;
    c.send(resilient_mqtt::codec::Packet::Connect(connect(
        "big", true, 60,
    )))
    .await;
    c.expect("CONNACK sp=0 rc=0").await;
    c.publish("t", &[b'x'; 200], 0, 0, false).await;
    c.expect_closed().await;
    r.stop().await;
    // Out of range: a clear error before anything is bound.
    for bad in ["5", "268435461"] {
        let e = Standalone::bind(args(&["--max-packet-size", bad]))
            .await
            .err()
            .expect("refused");
        assert!(e.to_string().contains("max_packet_size"), "{e}");
    }
}
