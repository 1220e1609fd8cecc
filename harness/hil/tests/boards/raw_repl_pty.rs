//! The raw-REPL uploader (`hil::board::raw_repl`) against a peer on a real
//! PTY that plays a MicroPython board's raw REPL: Ctrl-A gives the prompt,
//! code runs at Ctrl-D and is answered `OK`, output, `\x04`, errors,
//! `\x04`, `>`. The peer understands the code the uploader sends (open,
//! `w(b'...')`, close, the CRC check, the start code), keeps the files it
//! was sent, and can be told to stay silent, raise, or babble.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hil::board::link::{BoardLink, SerialLink};
use hil::board::profile::PortSelect;
use hil::board::raw_repl::{self, ReplError};
use serialport::SerialPort;

/// How the fake board behaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// A working board.
    Good,
    /// Never says anything.
    Silent,
    /// Opening a file for writing raises (a full filesystem).
    Raises,
    /// Answers code with bytes that are not the framing.
    Garbage,
}

const TRACEBACK: &str = "Traceback (most recent call last):\r\n  File \"<stdin>\", line 1, in <module>\r\nOSError: [Errno 28] ENOSPC\r\n";

/// What the fake board saw.
#[derive(Default, Debug)]
struct Seen {
    files: BTreeMap<String, Vec<u8>>,
    /// Every piece of code it ran, in order.
    code: Vec<String>,
    /// Bytes that came after the agent was started.
    after_start: Vec<u8>,
    interrupts: usize,
}

/// Decodes the `b'...'` literal in `s` (the uploader's escapes only).
fn bytes_literal(s: &str) -> Vec<u8> {
    let inner = s
        .split_once("b'")
        .and_then(|(_, r)| r.rsplit_once('\''))
        .map(|(i, _)| i)
        .expect("a bytes literal");
    let b = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b[i + 1] {
                b'x' => {
                    out.push(u8::from_str_radix(&inner[i + 2..i + 4], 16).unwrap());
                    i += 4;
                }
                c => {
                    out.push(c);
                    i += 2;
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn quoted_name(code: &str) -> String {
    code.split('\'').nth(1).expect("a quoted name").to_string()
}

/// A fake board on the master end of a PTY; the link to use is the slave.
struct FakeBoard {
    seen: Arc<Mutex<Seen>>,
    thread: Option<JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    path: PathBuf,
    _slave: serialport::TTYPort,
}

impl FakeBoard {
    fn start(mode: Mode, files: BTreeMap<String, Vec<u8>>) -> FakeBoard {
        let (mut master, slave) = hil::board::virtual_board::cloexec_pair().unwrap();
        master.set_timeout(Duration::from_millis(10)).unwrap();
        let path = PathBuf::from(slave.name().unwrap());
        let seen = Arc::new(Mutex::new(Seen {
            files,
            ..Seen::default()
        }));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || play(mode, &mut master, &s2, &stop2));
        FakeBoard {
            seen,
            thread: Some(thread),
            stop,
            path,
            _slave: slave,
        }
    }

    fn link(&self) -> SerialLink {
        SerialLink::open(PortSelect::Path(self.path.clone()), 115_200).unwrap()
    }

    fn finish(mut self) -> Seen {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

fn play(
    mode: Mode,
    port: &mut serialport::TTYPort,
    seen: &Mutex<Seen>,
    stop: &std::sync::atomic::AtomicBool,
) {
    let mut buf = [0u8; 1024];
    let (mut raw, mut started) = (false, false);
    let mut code: Vec<u8> = Vec::new();
    // The friendly REPL's banner, as a board that just booted prints it.
    if mode != Mode::Silent {
        let _ = port.write_all(b"MicroPython v1.24.0 on 2024-10-25; fake with RP2040\r\n>>> ");
    }
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let n = match port.read(&mut buf) {
            Ok(n) => n,
            Err(_) => continue,
        };
        for &b in &buf[..n] {
            if mode == Mode::Silent {
                continue;
            }
            if started {
                if b == 0x03 {
                    seen.lock().unwrap().interrupts += 1;
                    started = false;
                    let _ = port.write_all(
                        b"\x04Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n\x04>",
                    );
                    continue;
                }
                let mut s = seen.lock().unwrap();
                s.after_start.push(b);
                // The agent answers `hello`.
                let line = s.after_start.rsplit(|&c| c == b'\n').nth(1).unwrap_or(&[]);
                if b == b'\n' && String::from_utf8_lossy(line).contains(r#""cmd":"hello""#) {
                    let _ = port.write_all(&agent_hello());
                }
                continue;
            }
            match b {
                0x03 => {
                    seen.lock().unwrap().interrupts += 1;
                    code.clear();
                }
                0x01 => {
                    raw = true;
                    code.clear();
                    let _ = port.write_all(b"\r\nraw REPL; CTRL-B to exit\r\n>");
                }
                0x02 => {
                    raw = false;
                    let _ = port.write_all(b"\r\n>>> ");
                }
                0x04 if raw => {
                    let text = String::from_utf8(std::mem::take(&mut code)).unwrap();
                    let answer = run(mode, &text, seen, &mut started);
                    let _ = port.write_all(&answer);
                }
                _ if raw => code.push(b),
                _ => {}
            }
        }
    }
}

/// Runs one piece of code: the bytes the board answers.
fn run(mode: Mode, code: &str, seen: &Mutex<Seen>, started: &mut bool) -> Vec<u8> {
    let mut s = seen.lock().unwrap();
    s.code.push(code.to_string());
    if mode == Mode::Garbage {
        return b"\xff\xfe?? rst:0x1 (POWERON)".to_vec();
    }
    let (mut out, mut err) = (String::new(), String::new());
    if code.starts_with("f=open(") {
        if mode == Mode::Raises {
            err.push_str(TRACEBACK);
        } else {
            let name = quoted_name(code);
            s.files.insert(name.clone(), Vec::new());
            s.files.insert("\0open".into(), name.into_bytes());
        }
    } else if code.starts_with("w(") {
        let open = String::from_utf8(s.files["\0open"].clone()).unwrap();
        let chunk = bytes_literal(code);
        s.files.get_mut(&open).unwrap().extend_from_slice(&chunk);
    } else if code == "f.close()" {
        s.files.remove("\0open");
    } else if code.contains("binascii.crc32") {
        match s.files.get(&quoted_name(code)) {
            Some(f) => out.push_str(&format!("{} {}\r\n", f.len(), hil_agent::frame::crc32(f))),
            None => out.push_str("none\r\n"),
        }
    } else if code.starts_with("import hil_agent") {
        *started = true;
        // The agent's first words come right after OK.
        return b"OK@hil {\"ms\":1}*00000000\n".to_vec();
    } else {
        err.push_str("Traceback (most recent call last):\r\nNameError: unknown code\r\n");
    }
    format!("OK{out}\x04{err}\x04>").into_bytes()
}

/// An agent's `hello` line.
fn agent_hello() -> Vec<u8> {
    let mut out = Vec::new();
    hil_agent::agent::Agent::new(&mut out)
        .hello(
            3,
            &hil_agent::agent::Hello {
                firmware: "hil_agent.py (fake)",
                driver: "mqtt_as",
                driver_version: "0.8.3",
                board: "rp2",
                heap: Some(150_000),
            },
        )
        .unwrap();
    out
}

const START: &str = "import hil_agent\nhil_agent.main(env={'HIL_WIFI_PASSWORD': 'hunter2'})";

/// Uploads `data` as `hil_agent.py` and starts it.
fn install(
    link: &mut SerialLink,
    data: &[u8],
    timeout: Duration,
) -> Result<raw_repl::Installed, ReplError> {
    raw_repl::install_and_start(link, Some(("hil_agent.py", data)), START, timeout)
}

/// A script with every byte value, not a multiple of the chunk size.
fn script() -> Vec<u8> {
    let mut s = b"# the agent\nprint('it\\'s \\\\ here')\n".to_vec();
    for i in 0..3000u32 {
        s.push((i * 7 % 256) as u8);
    }
    s
}

#[test]
fn the_script_is_uploaded_byte_for_byte_and_started() {
    let board = FakeBoard::start(Mode::Good, BTreeMap::new());
    let mut link = board.link();
    let data = script();
    let t0 = Instant::now();
    let done = install(&mut link, &data, Duration::from_secs(5)).unwrap();
    eprintln!(
        "uploaded {} bytes in {} executions, {:.2} s",
        data.len(),
        done.execs,
        t0.elapsed().as_secs_f64()
    );
    assert!(!done.skipped);
    // Check, open, 12 chunks of 256, close, start.
    assert_eq!(
        done.execs,
        1 + 1 + data.len().div_ceil(raw_repl::CHUNK) + 1 + 1
    );
    assert_eq!(done.after_ok, b"@hil {\"ms\":1}*00000000\n");
    // The agent has the link now.
    link.write_all(b"@hil {\"cmd\":\"hello\"}*00000000\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let seen = board.finish();
    assert_eq!(seen.files["hil_agent.py"], data);
    assert!(seen.interrupts >= 2, "Ctrl-C first: {seen:?}");
    assert_eq!(seen.code.last().unwrap(), START);
    assert_eq!(seen.after_start, b"@hil {\"cmd\":\"hello\"}*00000000\n");
}

#[test]
fn a_script_already_on_the_board_is_not_sent_again() {
    let data = script();
    let files = BTreeMap::from([("hil_agent.py".to_string(), data.clone())]);
    let board = FakeBoard::start(Mode::Good, files);
    let mut link = board.link();
    let done = install(&mut link, &data, Duration::from_secs(5)).unwrap();
    assert!(done.skipped);
    assert_eq!(done.execs, 2);
    let seen = board.finish();
    assert_eq!(seen.code.len(), 2, "{:?}", seen.code);
    assert!(!seen.code.iter().any(|c| c.starts_with("w(")));
}

#[test]
fn a_changed_script_is_sent_again_and_a_running_agent_is_interrupted() {
    let files = BTreeMap::from([("hil_agent.py".to_string(), b"old".to_vec())]);
    let board = FakeBoard::start(Mode::Good, files);
    let mut link = board.link();
    let data = script();
    for _ in 0..2 {
        // The second time the agent runs: Ctrl-C stops it.
        let done = install(&mut link, &data, Duration::from_secs(5)).unwrap();
        assert_eq!(done.after_ok, b"@hil {\"ms\":1}*00000000\n");
    }
    let seen = board.finish();
    assert_eq!(seen.files["hil_agent.py"], data);
    let starts = seen.code.iter().filter(|c| *c == START).count();
    assert_eq!(starts, 2);
}

#[test]
fn a_silent_board_is_a_timeout_that_names_the_prompt() {
    let board = FakeBoard::start(Mode::Silent, BTreeMap::new());
    let mut link = board.link();
    let t0 = Instant::now();
    let e = install(&mut link, b"x", Duration::from_millis(1500)).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    assert!(matches!(e, ReplError::Timeout { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("raw REPL; CTRL-B to exit") && text.contains("received: nothing"),
        "{text}"
    );
    board.finish();
}

#[test]
fn a_traceback_from_the_board_is_surfaced_verbatim() {
    let board = FakeBoard::start(Mode::Raises, BTreeMap::new());
    let mut link = board.link();
    let e = install(&mut link, b"x", Duration::from_secs(5)).unwrap_err();
    match &e {
        ReplError::Traceback {
            step, traceback, ..
        } => {
            assert_eq!(traceback, TRACEBACK);
            assert!(step.contains("hil_agent.py"), "{step}");
        }
        other => panic!("{other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains("OSError: [Errno 28] ENOSPC"), "{text}");
    // The agent was not started.
    let seen = board.finish();
    assert!(!seen.code.iter().any(|c| c == START));
}

#[test]
fn garbage_from_the_board_is_an_error_showing_it() {
    let board = FakeBoard::start(Mode::Garbage, BTreeMap::new());
    let mut link = board.link();
    let e = install(&mut link, b"x", Duration::from_secs(5)).unwrap_err();
    assert!(matches!(e, ReplError::Unexpected { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("expected `OK`") && text.contains(r"\xff\xfe?? rst:0x1"),
        "{text}"
    );
    board.finish();
}

#[test]
fn errors_never_show_the_code_sent() {
    // The start code carries the WiFi password; a board that babbles back
    // makes the error show what it received, never what was sent.
    let board = FakeBoard::start(Mode::Garbage, BTreeMap::new());
    let mut link = board.link();
    let e =
        raw_repl::install_and_start(&mut link, None, START, Duration::from_secs(5)).unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    board.finish();
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hil(args: &[String]) -> (i32, String, String) {
    crate::support::cli::hil(args).parts()
}

/// `hil run --backend board` with a MicroPython profile on the fake
/// board's PTY: a short scenario, WiFi credentials from the environment.
fn run_micropython(board: &FakeBoard, dir: &std::path::Path) -> (i32, String, String) {
    let profile = dir.join("upy.toml");
    std::fs::write(
        &profile,
        format!(
            "name = \"upy-pty\"\nagent = \"micropython\"\nfirmware = \"{}\"\n\
             [transport]\nkind = \"serial\"\nport = \"{}\"\n\
             [reset]\nmethod = \"agent\"\ntimeout = \"1s\"\nhello_timeout = \"3s\"\n\
             [wifi]\nssid_env = \"HIL_TEST_UPY_SSID\"\npassword_env = \"HIL_TEST_UPY_WIFI_PW\"\n",
            root()
                .join("fixtures/agents/micropython/hil_agent.py")
                .display(),
            board.path.display()
        ),
    )
    .unwrap();
    let scenario = dir.join("upy-smoke.toml");
    std::fs::write(
        &scenario,
        "name = \"upy-smoke\"\nduration = \"5s\"\nlive_time_scale = 0.2\n\
         [workload]\nheartbeat = \"500ms\"\n[[expect]]\noracle = \"conformance\"\n",
    )
    .unwrap();
    // Only this test sets them (to these values).
    std::env::set_var("HIL_TEST_UPY_SSID", "lab");
    std::env::set_var("HIL_TEST_UPY_WIFI_PW", "s3cret-wifi");
    hil(&[
        "run".into(),
        "--backend".into(),
        "board".into(),
        "--board".into(),
        profile.display().to_string(),
        "--out".into(),
        dir.join("out").display().to_string(),
        "--no-progress".into(),
        scenario.display().to_string(),
    ])
}

#[test]
fn hil_run_uploads_and_starts_the_micropython_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let board = FakeBoard::start(Mode::Good, BTreeMap::new());
    let (code, out, err) = run_micropython(&board, tmp.path());
    let seen = board.finish();
    // The agent was uploaded byte for byte and started with the secrets.
    let script = std::fs::read(root().join("fixtures/agents/micropython/hil_agent.py")).unwrap();
    assert_eq!(seen.files["hil_agent.py"], script, "{out}\n{err}");
    let start = seen
        .code
        .iter()
        .find(|c| c.starts_with("import hil_agent"))
        .unwrap();
    assert_eq!(
        start,
        "import hil_agent\nhil_agent.main(env={}, wifi=('lab', 's3cret-wifi'))"
    );
    // Then the harness spoke the agent protocol to it: hello, configure, start.
    let after = String::from_utf8_lossy(&seen.after_start);
    for cmd in [
        r#""cmd":"hello""#,
        r#""cmd":"configure""#,
        r#""cmd":"start""#,
    ] {
        assert!(after.contains(cmd), "{cmd} not in {after}\n{out}\n{err}");
    }
    // A judged run (the fake board does no MQTT, so oracles may fail), not
    // an infrastructure error.
    assert_ne!(code, hil::cli::EXIT_INFRA, "{out}\n{err}");
    let dir = tmp.path().join("out/upy-smoke/1");
    let board_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("board.json")).unwrap()).unwrap();
    assert_eq!(board_json["agent_starts"], 1, "{board_json}");
    assert_eq!(board_json["agent_uploaded_bytes"], script.len() as u64);
    assert_eq!(board_json["hello"]["driver"], "mqtt_as");
    let verdicts = std::fs::read_to_string(dir.join("verdicts.json")).unwrap();
    assert!(verdicts.contains("--backend board --board "), "{verdicts}");
    // The WiFi password went to the board only.
    for f in ["trace.jsonl", "console.log", "board.json", "verdicts.json"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(!text.contains("s3cret-wifi"), "{f}: {text}");
    }
    assert!(!out.contains("s3cret-wifi") && !err.contains("s3cret-wifi"));
}

#[test]
fn a_failed_upload_is_an_infrastructure_error_with_the_traceback() {
    let tmp = tempfile::tempdir().unwrap();
    let board = FakeBoard::start(Mode::Raises, BTreeMap::new());
    let (code, out, err) = run_micropython(&board, tmp.path());
    board.finish();
    assert_eq!(code, hil::cli::EXIT_INFRA, "{out}\n{err}");
    let all = format!("{out}\n{err}");
    assert!(
        all.contains("cannot copy the MicroPython agent onto the board")
            && all.contains("OSError: [Errno 28] ENOSPC"),
        "{all}"
    );
}
