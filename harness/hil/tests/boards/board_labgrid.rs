//! `--board labgrid:PLACE`, for real: the test starts a labgrid
//! coordinator and an exporter on loopback (the exporter exports ser2net's
//! RFC 2217 port for the virtual board, and a `simplerest` power port
//! served by the test, which stops and starts the virtual board), creates
//! a place, and `hil qualify --board labgrid:PLACE` passes; the place is
//! released afterwards on every exit path (normal end, a place that cannot
//! be used, Ctrl-C once and twice), which the test checks with
//! `labgrid-client`. A place held by someone else is an error naming the
//! holder, or a wait (`--wait-place`). Skipped, with a visible SKIP line,
//! only when labgrid is not installed (`./ci/test.sh` installs it).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::board_ser2net::{free_port, hil, root, s, vboard, Proc, Ser2net};

fn labgrid_installed() -> bool {
    Command::new("labgrid-client")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

macro_rules! need_labgrid {
    () => {
        if !labgrid_installed() {
            println!("SKIP labgrid test: labgrid is not installed (pip install labgrid; ./ci/test.sh installs it)");
            eprintln!("SKIP labgrid test: labgrid is not installed (pip install labgrid; ./ci/test.sh installs it)");
            return;
        }
    };
}

/// `labgrid-client ARGS` against the test's coordinator, as `user`.
fn lg(coord: &str, user: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("labgrid-client")
        .args(args)
        .env("LG_COORDINATOR", coord)
        .env("LG_USERNAME", user)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn holder(coord: &str, place: &str) -> String {
    let (_, out) = lg(coord, "root", &["-p", place, "show"]);
    out.lines()
        .find_map(|l| l.trim().strip_prefix("acquired: "))
        .unwrap_or("?")
        .to_string()
}

/// A power port for labgrid's `simplerest` model: `GET /outlet/0/0`
/// stops the virtual board, `GET /outlet/0/1` starts it again on the same
/// PTY link; each call is recorded.
fn power_server(dir: PathBuf, board: Arc<Mutex<Option<Proc>>>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c = calls.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 2048];
            let n = conn.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
            match path.as_str() {
                "/outlet/0/0" => {
                    // Power off: the board's process dies and its PTY
                    // with it; the link to it goes too (a SIGKILLed
                    // board cannot remove it), so that "on" waits for
                    // the new board's own link.
                    *board.lock().unwrap() = None;
                    let _ = std::fs::remove_file(dir.join("tty"));
                }
                "/outlet/0/1" => {
                    let mut b = board.lock().unwrap();
                    if b.is_none() {
                        *b = Some(vboard(&dir).0);
                    }
                }
                _ => {}
            }
            c.lock().unwrap().push(path);
            let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n1");
        }
    });
    (port, calls)
}

/// A coordinator, an exporter and a place `PLACE` with the board's serial
/// port (and a power port) on loopback.
struct Lab {
    coord: String,
    _coordinator: Proc,
    _exporter: Proc,
    _ser2net: Ser2net,
    board: Arc<Mutex<Option<Proc>>>,
    power_calls: Arc<Mutex<Vec<String>>>,
}

fn lab(dir: &Path, place: &str) -> Lab {
    let (vb, tty) = vboard(dir);
    let board = Arc::new(Mutex::new(Some(vb)));
    let ser2net = Ser2net::start(dir, &tty);
    let (power, power_calls) = power_server(dir.to_path_buf(), board.clone());
    let coord = format!("127.0.0.1:{}", free_port());
    let coordinator = Proc(
        Command::new("labgrid-coordinator")
            .args(["-l", &coord])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = dir.join("exporter.yaml");
    std::fs::write(
        &config,
        format!(
            "bench:\n  NetworkSerialPort:\n    host: 127.0.0.1\n    port: {}\n    speed: 115200\n    protocol: rfc2217\n  \
             NetworkPowerPort:\n    model: simplerest\n    host: 'http://127.0.0.1:{power}/outlet/{{index}}/{{value}}'\n    index: 0\n",
            ser2net.rfc
        ),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lg(&coord, "root", &["places"]).0 {
        assert!(Instant::now() < deadline, "the coordinator does not answer");
        std::thread::sleep(Duration::from_millis(200));
    }
    let exporter = Proc(
        Command::new("labgrid-exporter")
            .args(["-c", &coord, "-n", "hilexp", "--hostname", "127.0.0.1"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    while !lg(&coord, "root", &["resources"])
        .1
        .contains("NetworkSerialPort")
    {
        assert!(
            Instant::now() < deadline,
            "the exporter's resources do not show"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for args in [
        vec!["-p", place, "create"],
        vec!["-p", place, "add-match", "hilexp/bench/*"],
        vec!["-p", "bare", "create"],
    ] {
        let (ok, out) = lg(&coord, "root", &args);
        assert!(ok, "{args:?}: {out}");
    }
    std::env::set_var("LG_COORDINATOR", &coord);
    Lab {
        coord,
        _coordinator: coordinator,
        _exporter: exporter,
        _ser2net: ser2net,
        board,
        power_calls,
    }
}

#[test]
fn hil_qualify_on_a_labgrid_place_passes_and_releases_it() {
    need_labgrid!();
    let tmp = tempfile::tempdir().unwrap();
    let lab = lab(tmp.path(), "vbench");
    // `hil boards --labgrid` lists the places and who holds them.
    let (ok, out) = lg(&lab.coord, "alice", &["-p", "vbench", "acquire"]);
    assert!(ok, "{out}");
    let (code, o, e) = hil(&["boards".into(), "--labgrid".into()]);
    assert_eq!(code, 0, "{o}{e}");
    assert!(
        o.contains("vbench") && o.contains("held by") && o.contains("/alice"),
        "{o}"
    );
    assert!(o.contains("bare") && o.contains("free"), "{o}");
    // Held by someone else: an error naming the holder.
    let report = tmp.path().join("q");
    let qualify = |extra: &[&str]| {
        let mut a: Vec<String> = vec![
            "qualify".into(),
            "--board".into(),
            "labgrid:vbench".into(),
            "--report".into(),
            s(&report),
        ];
        a.extend(extra.iter().map(|x| x.to_string()));
        a.push(s(root().join("scenarios/qualification/lost-puback.toml")));
        hil(&a)
    };
    let (code, o, e) = qualify(&[]);
    assert_eq!(code, hil::cli::EXIT_INFRA, "{o}{e}");
    assert!(
        e.contains("held by") && e.contains("/alice") && e.contains("--wait-place"),
        "{e}"
    );
    // With --wait-place: it waits until alice releases it, then runs.
    let coord = lab.coord.clone();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        lg(&coord, "alice", &["-p", "vbench", "release"])
    });
    let (code, o, e) = qualify(&["--wait-place", "1m"]);
    assert!(releaser.join().unwrap().0);
    assert_eq!(code, 0, "{o}\n{e}");
    assert!(
        o.contains("labgrid place vbench acquired: 127.0.0.1:"),
        "{o}"
    );
    assert!(o.contains("QUALIFIED board/vbench"), "{o}");
    assert_eq!(holder(&lab.coord, "vbench"), "None");
    // The place's power port is the board's `[lab]` power hooks
    // (`labgrid-client -p vbench power off|on`): `dut_reboot` (reset
    // method `power`) and `dut_power_cycle` both go through it, the
    // board boots again on the same port and both runs pass. `hil run`
    // waits for the place too (`--wait-place`) and holds it for all its
    // scenarios.
    let (ok, out) = lg(&lab.coord, "alice", &["-p", "vbench", "acquire"]);
    assert!(ok, "{out}");
    let coord = lab.coord.clone();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        lg(&coord, "alice", &["-p", "vbench", "release"])
    });
    let cycle = crate::board_lab::scenario(
        tmp.path(),
        "place-power-cycle",
        "kind = \"dut_power_cycle\"\noff_for = \"3s\"",
    );
    let out = tmp.path().join("r");
    let (code, o, e) = hil(&[
        "run".into(),
        "--backend".into(),
        "board".into(),
        "--board".into(),
        "labgrid:vbench".into(),
        "--wait-place".into(),
        "1m".into(),
        "--out".into(),
        s(&out),
        "--no-progress".into(),
        s(root().join("scenarios/qualification/reboot-mid-publish.toml")),
        s(&cycle),
    ]);
    assert!(releaser.join().unwrap().0);
    assert_eq!(code, 0, "{o}\n{e}");
    assert!(o.contains("PASS  qual-reboot-mid-publish"), "{o}");
    assert!(o.contains("PASS  place-power-cycle"), "{o}");
    assert_eq!(
        *lab.power_calls.lock().unwrap(),
        ["/outlet/0/0", "/outlet/0/1", "/outlet/0/0", "/outlet/0/1"]
    );
    for dir in ["qual-reboot-mid-publish/1", "place-power-cycle/1"] {
        let log = std::fs::read_to_string(out.join(dir).join("lab.log")).unwrap();
        assert!(
            log.contains("=== power_off `labgrid-client -p vbench power off`: exit 0")
                && log.contains("=== power_on `labgrid-client -p vbench power on`: exit 0"),
            "{dir}: {log}"
        );
        let board: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(dir).join("board.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(board["boots"], 2, "{dir}: {board}");
    }
    // Released afterwards.
    assert_eq!(holder(&lab.coord, "vbench"), "None");
    assert!(lab.board.lock().unwrap().is_some());
}

#[test]
fn a_labgrid_place_is_released_on_failure_and_on_ctrl_c() {
    need_labgrid!();
    let tmp = tempfile::tempdir().unwrap();
    let lab = lab(tmp.path(), "cbench");
    // A place without a serial port: an error, and released.
    let (code, _, e) = hil(&[
        "qualify".into(),
        "--board".into(),
        "labgrid:bare".into(),
        s(root().join("scenarios/qualification/lost-puback.toml")),
    ]);
    assert_eq!(code, hil::cli::EXIT_INFRA, "{e}");
    assert!(e.contains("has no NetworkSerialPort"), "{e}");
    assert_eq!(holder(&lab.coord, "bare"), "None");
    // Ctrl-C once (the run in flight finishes) and twice (stop now): the
    // place is released both times.
    for presses in [1, 2] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hil"))
            .args(["qualify", "--board", "labgrid:cbench", "--report"])
            .arg(tmp.path().join(format!("c{presses}")))
            .arg(root().join("scenarios/qualification/lost-puback.toml"))
            .env("LG_COORDINATOR", &lab.coord)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while holder(&lab.coord, "cbench") == "None" {
            assert!(Instant::now() < deadline, "hil did not acquire the place");
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(2));
        for _ in 0..presses {
            let ok = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok);
            std::thread::sleep(Duration::from_millis(300));
        }
        let deadline = Instant::now() + Duration::from_secs(40);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            assert!(Instant::now() < deadline, "hil did not exit after Ctrl-C");
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(130), "{presses}: {err}");
        assert_eq!(holder(&lab.coord, "cbench"), "None", "{presses}: {err}");
    }
}
