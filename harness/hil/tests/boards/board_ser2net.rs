//! Boards in another room, for real: Debian's ser2net, started by the test
//! on loopback, exports the virtual board's PTY (`hil-vboard --pty-link`)
//! over TCP in both modes (RFC 2217 and raw), and `hil run --backend
//! board` runs qualification scenarios through it. Then ser2net is killed
//! mid-run and restarted within the profile's timeout (the run survives,
//! the gap is in `board.json`), and killed for good (an infrastructure
//! error, exit 3, never a device failure).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hil::board::link::BoardLink;
use hil::board::remote_serial::{Mode, TcpLink};
use hil::cli;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn s(x: impl AsRef<std::ffi::OsStr>) -> String {
    x.as_ref().to_string_lossy().into_owned()
}

pub fn hil(args: &[String]) -> (i32, String, String) {
    std::env::set_var("HIL_VBOARD", env!("CARGO_BIN_EXE_hil-vboard"));
    crate::support::cli::hil(args).parts()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The virtual board on a PTY whose path is kept at `dir/tty`.
pub fn vboard(dir: &Path) -> (Proc, PathBuf) {
    let link = dir.join("tty");
    let child = Command::new(env!("CARGO_BIN_EXE_hil-vboard"))
        .arg("--pty-link")
        .arg(&link)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start hil-vboard");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !link.exists() {
        assert!(Instant::now() < deadline, "hil-vboard made no PTY");
        std::thread::sleep(Duration::from_millis(10));
    }
    (Proc(child), link)
}

/// ser2net's path (Debian puts it in /usr/sbin).
pub fn ser2net_bin() -> PathBuf {
    for p in ["/usr/sbin/ser2net", "/usr/bin/ser2net"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("ser2net is not installed: apt-get install -y ser2net (./ci/test.sh installs it)");
}

/// ser2net exporting `tty` on loopback: RFC 2217 on `rfc`, raw on `raw`.
pub struct Ser2net {
    config: PathBuf,
    pub rfc: u16,
    pub raw: u16,
    proc: Option<Proc>,
}

impl Ser2net {
    pub fn start(dir: &Path, tty: &Path) -> Ser2net {
        let (rfc, raw) = (free_port(), free_port());
        let config = dir.join("ser2net.yaml");
        std::fs::write(
            &config,
            format!(
                "connection: &board-rfc2217\n  accepter: telnet(rfc2217),tcp,127.0.0.1,{rfc}\n  connector: serialdev,{tty},115200n81,local\n  options:\n    kickolduser: true\n\
                 connection: &board-raw\n  accepter: tcp,127.0.0.1,{raw}\n  connector: serialdev,{tty},115200n81,local\n  options:\n    kickolduser: true\n",
                tty = tty.display()
            ),
        )
        .unwrap();
        let mut s = Ser2net {
            config,
            rfc,
            raw,
            proc: None,
        };
        s.restart();
        s
    }

    /// Starts ser2net (again), in the foreground, and waits until it listens.
    pub fn restart(&mut self) {
        let child = Command::new(ser2net_bin())
            .arg("-n")
            .arg("-d")
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ser2net");
        self.proc = Some(Proc(child));
        let deadline = Instant::now() + Duration::from_secs(10);
        // Listening shows as the port being taken.
        while TcpListener::bind(("127.0.0.1", self.raw)).is_ok()
            || TcpListener::bind(("127.0.0.1", self.rfc)).is_ok()
        {
            assert!(Instant::now() < deadline, "ser2net does not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        self.proc = None;
    }
}

pub fn profile(dir: &Path, kind: &str, port: u16, timeout: &str) -> PathBuf {
    let p = dir.join(format!("{kind}.toml"));
    std::fs::write(
        &p,
        format!(
            "name = \"remote-{kind}\"\nagent = \"rust\"\n[transport]\nkind = \"{kind}\"\nurl = \"{kind}://127.0.0.1:{port}\"\n\
             [reset]\nmethod = \"agent\"\ntimeout = \"{timeout}\"\nhello_timeout = \"10s\"\n"
        ),
    )
    .unwrap();
    p
}

fn run(profile: &Path, out: &Path, scenarios: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "run".into(),
        "--backend".into(),
        "board".into(),
        "--board".into(),
        s(profile),
        "--out".into(),
        s(out),
        "--no-progress".into(),
    ];
    for sc in scenarios {
        args.push(s(root().join("scenarios/qualification").join(sc)));
    }
    hil(&args)
}

fn board_json(out: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join(name).join("1/board.json")).unwrap())
        .unwrap()
}

#[test]
fn qualification_scenarios_run_through_ser2net_in_both_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let (_vb, tty) = vboard(tmp.path());
    let ser2net = Ser2net::start(tmp.path(), &tty);
    // RFC 2217: a clean run, and a reboot (the PTY vanishes; ser2net drops
    // the connection; the harness connects again and ser2net reopens the
    // new PTY through the link).
    let rfc = profile(tmp.path(), "rfc2217", ser2net.rfc, "10s");
    let out = tmp.path().join("rfc");
    let (code, o, e) = run(&rfc, &out, &["lost-puback.toml", "reboot-mid-publish.toml"]);
    assert_eq!(code, 0, "{o}\n{e}");
    assert!(o.contains("PASS  qual-lost-puback"), "{o}");
    assert!(o.contains("PASS  qual-reboot-mid-publish"), "{o}");
    let b = board_json(&out, "qual-reboot-mid-publish");
    assert_eq!(b["boots"], 2, "{b}");
    assert!(b["reopens"].as_u64().unwrap() >= 1, "{b}");
    assert!(
        b["link_gaps"][0]["link"]
            .as_str()
            .unwrap()
            .starts_with("rfc2217://127.0.0.1:"),
        "{b}"
    );
    let trace = std::fs::read_to_string(out.join("qual-lost-puback/1/trace.jsonl")).unwrap();
    assert!(trace.contains(r#""backend":"board/remote-rfc2217""#));
    // Raw mode.
    let raw = profile(tmp.path(), "tcp", ser2net.raw, "10s");
    let out = tmp.path().join("raw");
    let (code, o, e) = run(&raw, &out, &["lost-puback.toml"]);
    assert_eq!(code, 0, "{o}\n{e}");
    assert!(o.contains("PASS  qual-lost-puback"), "{o}");
}

#[test]
fn rfc2217_sets_the_ptys_baud_rate_through_ser2net() {
    let tmp = tempfile::tempdir().unwrap();
    let (_vb, tty) = vboard(tmp.path());
    let ser2net = Ser2net::start(tmp.path(), &tty);
    let speed = |tty: &Path| {
        let out = Command::new("stty")
            .arg("-F")
            .arg(tty)
            .arg("speed")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    for baud in [9600u32, 57_600] {
        let mut link =
            TcpLink::open(&format!("127.0.0.1:{}", ser2net.rfc), Mode::Rfc2217, baud).unwrap();
        assert_eq!(link.server_baud(), Some(baud));
        assert_eq!(speed(&tty), baud.to_string());
        // The agent answers through the exporter.
        link.write_all(hil_agent::msg::Command::Hello.to_line().as_bytes())
            .unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !String::from_utf8_lossy(&got).contains("hil-vboard") {
            assert!(
                Instant::now() < deadline,
                "{}",
                String::from_utf8_lossy(&got)
            );
            let mut buf = [0u8; 512];
            let n = link.read(&mut buf, Duration::from_millis(50)).unwrap();
            got.extend(&buf[..n]);
        }
    }
}

/// Runs lost-puback (12 s of wall time) on `profile` in a thread while
/// `meddle` does what it does to ser2net.
fn run_while(profile: PathBuf, out: PathBuf, meddle: impl FnOnce()) -> (i32, String, String) {
    let t = std::thread::spawn(move || run(&profile, &out, &["lost-puback.toml"]));
    meddle();
    t.join().unwrap()
}

#[test]
fn ser2net_killed_and_restarted_within_the_timeout_the_run_survives() {
    let tmp = tempfile::tempdir().unwrap();
    let (_vb, tty) = vboard(tmp.path());
    let mut ser2net = Ser2net::start(tmp.path(), &tty);
    let p = profile(tmp.path(), "rfc2217", ser2net.rfc, "8s");
    let out = tmp.path().join("o");
    let (code, o, e) = run_while(p, out.clone(), || {
        // After the lost PUBACK's resend (15 s + response time, scenario
        // time, at scale 0.2): a stalled board link must not hold a
        // publish past its oracle's bound.
        std::thread::sleep(Duration::from_secs(7));
        ser2net.kill();
        std::thread::sleep(Duration::from_millis(1200));
        ser2net.restart();
    });
    assert_eq!(code, 0, "{o}\n{e}");
    assert!(o.contains("PASS  qual-lost-puback"), "{o}");
    let b = board_json(&out, "qual-lost-puback");
    // One board boot: the gap was the exporter's, not a reset.
    assert_eq!(b["boots"], 1, "{b}");
    let gaps = b["link_gaps"].as_array().unwrap();
    assert!(!gaps.is_empty(), "{b}");
    assert!(gaps.iter().all(|g| g["came_back"] == true), "{b}");
    let total: u64 = gaps.iter().map(|g| g["gap_ms"].as_u64().unwrap()).sum();
    assert!(total >= 1000, "{b}");
}

#[test]
fn ser2net_that_stays_dead_is_an_infrastructure_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (_vb, tty) = vboard(tmp.path());
    let mut ser2net = Ser2net::start(tmp.path(), &tty);
    let p = profile(tmp.path(), "rfc2217", ser2net.rfc, "2s");
    let out = tmp.path().join("o");
    let started = Instant::now();
    let (code, o, e) = run_while(p, out.clone(), || {
        std::thread::sleep(Duration::from_secs(4));
        ser2net.kill();
    });
    assert_eq!(code, cli::EXIT_INFRA, "{o}\n{e}");
    assert!(!o.contains("FAIL  qual-lost-puback"), "{o}");
    assert!(
        format!("{o}{e}").contains("did not come back within 2.0 s"),
        "{o}\n{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    let b = board_json(&out, "qual-lost-puback");
    let gaps = b["link_gaps"].as_array().unwrap();
    assert_eq!(gaps.last().unwrap()["came_back"], false, "{b}");
}
