//! The virtual board (`hil-vboard`): `resilient-mqtt` and the workload
//! application (the one every in-process DUT runs, [`crate::app`], here
//! through [`crate::realtime::run_app`]) as a host
//! process that speaks the agent protocol through the `hil-agent` crate,
//! exactly as firmware would, on
//!
//! - one end of a real PTY (`--pty-link PATH`: the other end's path is
//!   kept as a symlink at PATH, which the harness opens with `serialport`
//!   like a USB board); a reboot closes the PTY, removes the symlink,
//!   "boots" for `--boot-ms`, and opens a new PTY, like a USB port that
//!   disappears and comes back;
//! - or stdin/stdout (`--stdio`), so that a user can run the same device
//!   under their own tools (`socat`, a network namespace...).
//!
//! Its network is the broker address the harness configures (the fault
//! proxy). Its clock (`ms` in every line) starts at each boot. It exits
//! when its parent process does.
//!
//! With `--no-agent --broker HOST:PORT [--client-id ID]` it is instead a
//! board with its own firmware ([`super::virtual_firmware`]): no agent
//! protocol, only console lines; the console line `reboot` resets it (the
//! PTY vanishes and comes back as above).
//!
//! Its heap figure (`hello.heap`, and a `heap` line every `--heap-ms`,
//! default 2000) is [`VBOARD_HEAP`] less the bytes the process has
//! allocated and not freed, counted by [`CountingAlloc`] (the
//! `hil-vboard` binary's global allocator): a leak in the driver shows as a
//! falling line in the qualification report's heap trend.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hil_agent::agent::{Agent, Field, Hello};
use hil_agent::frame::{Decoder, Item};
use hil_agent::msg::Command;
use hil_agent::MAX_LINE;

use crate::duration::Dur;
use crate::realtime::RealWorld;
use crate::scenario::dut::DutConfig;
use crate::scenario::schedule::Schedule;
use crate::scenario::types::Secret;
use crate::scenario::workload::Workload;
use crate::scenario::Scenario;
use crate::trace::Record;

const USAGE: &str =
    "usage: hil-vboard (--pty-link PATH | --stdio) [--board NAME] [--boot-ms N] [--heap-ms N]
       hil-vboard (--pty-link PATH | --stdio) --no-agent --broker HOST:PORT [--client-id ID] [--interval-ms N]

The virtual board: resilient-mqtt + the hil agent (protocol v1, see
fixtures/agents/PROTOCOL.md) on a PTY (the other end's path is kept as a
symlink at PATH) or on stdin/stdout. With --no-agent: its own firmware
instead (a QoS 1 sequence number every --interval-ms, default 1000, to
peers/<client id>/seq on the broker it is built for), printing console
lines only; the console line `reboot` resets it.";

/// The heap the virtual board says it has (bytes); free = this less the
/// bytes live in the process.
pub const VBOARD_HEAP: u64 = 64 * 1024 * 1024;

static LIVE_BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The system allocator, counting the bytes allocated and not yet freed
/// (`hil-vboard` installs it as its global allocator).
pub struct CountingAlloc;

// SAFETY: every call is passed on to the system allocator unchanged; only
// a counter is updated besides.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = unsafe { std::alloc::System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        let p = unsafe { std::alloc::System.realloc(ptr, layout, new) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new as u64, std::sync::atomic::Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        p
    }
}

/// The free heap the virtual board reports: `None` when [`CountingAlloc`]
/// is not the global allocator (nothing was counted).
pub fn free_heap() -> Option<u64> {
    match LIVE_BYTES.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        live => Some(VBOARD_HEAP.saturating_sub(live)),
    }
}

/// `embedded_io::Write` over a `std::io::Write` (what firmware has is a
/// UART or RTT channel; here a PTY or stdout).
pub struct IoWrite<W: Write>(pub W);

impl<W: Write> embedded_io::ErrorType for IoWrite<W> {
    type Error = embedded_io::ErrorKind;
}

impl<W: Write> embedded_io::Write for IoWrite<W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, embedded_io::ErrorKind> {
        self.0.write(buf).map_err(|_| embedded_io::ErrorKind::Other)
    }

    fn flush(&mut self) -> Result<(), embedded_io::ErrorKind> {
        self.0.flush().map_err(|_| embedded_io::ErrorKind::Other)
    }
}

#[derive(Debug)]
struct Args {
    pty_link: Option<PathBuf>,
    board: String,
    boot: Duration,
    /// How often a `heap` line goes out.
    heap_every: Duration,
    /// `--no-agent`: its own firmware, built with these.
    firmware: Option<super::virtual_firmware::Firmware>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        pty_link: None,
        board: "virtual".into(),
        boot: Duration::from_millis(300),
        heap_every: Duration::from_millis(2000),
        firmware: None,
    };
    let mut stdio = false;
    let (mut no_agent, mut broker, mut client_id) = (false, None, "vboard".to_string());
    let mut interval = Duration::from_millis(1000);
    let mut i = 0;
    while i < args.len() {
        let val = |i: usize| {
            args.get(i + 1)
                .cloned()
                .ok_or_else(|| format!("{} needs a value", args[i]))
        };
        match args[i].as_str() {
            "--pty-link" => {
                a.pty_link = Some(val(i)?.into());
                i += 1;
            }
            "--stdio" => stdio = true,
            "--board" => {
                a.board = val(i)?;
                i += 1;
            }
            "--boot-ms" => {
                a.boot = Duration::from_millis(
                    val(i)?
                        .parse()
                        .map_err(|_| "--boot-ms needs milliseconds".to_string())?,
                );
                i += 1;
            }
            "--heap-ms" => {
                a.heap_every = Duration::from_millis(
                    val(i)?
                        .parse::<u64>()
                        .ok()
                        .filter(|&m| m > 0)
                        .ok_or_else(|| "--heap-ms needs milliseconds (more than 0)".to_string())?,
                );
                i += 1;
            }
            "--no-agent" => no_agent = true,
            "--broker" => {
                broker = Some(val(i)?);
                i += 1;
            }
            "--client-id" => {
                client_id = val(i)?;
                i += 1;
            }
            "--interval-ms" => {
                interval = Duration::from_millis(
                    val(i)?
                        .parse::<u64>()
                        .ok()
                        .filter(|&m| m > 0)
                        .ok_or_else(|| {
                            "--interval-ms needs milliseconds (more than 0)".to_string()
                        })?,
                );
                i += 1;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
        i += 1;
    }
    if stdio == a.pty_link.is_some() {
        return Err("give exactly one of --pty-link PATH and --stdio".into());
    }
    match (no_agent, broker) {
        (true, Some(broker)) => {
            if broker.parse::<std::net::SocketAddr>().is_err() {
                return Err(format!(
                    "--broker {broker} is not an IP address and port (HOST:PORT)"
                ));
            }
            a.firmware = Some(super::virtual_firmware::Firmware {
                broker,
                client_id,
                interval,
            });
        }
        (true, None) => {
            return Err(
                "--no-agent needs --broker HOST:PORT (the broker the firmware is built for)".into(),
            )
        }
        (false, Some(_)) => {
            return Err("--broker is for --no-agent (an agent is configured by the harness)".into())
        }
        (false, None) => {}
    }
    Ok(a)
}

/// The `hil-vboard` entry point; the exit code.
pub fn main(args: &[String]) -> i32 {
    let a = match parse_args(args) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("hil-vboard: {e}\n{USAGE}");
            return 2;
        }
    };
    let parent = std::os::unix::process::parent_id();
    let r = match &a.pty_link {
        Some(link) => run_pty(&a, link, parent),
        None => run_stdio(&a, parent),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("hil-vboard: {e}");
            1
        }
    }
}

/// Bytes from the harness, by a reader thread (stdin) or a timed read (PTY).
trait Input {
    /// Reads with a short timeout: `Ok(0)` = nothing yet.
    fn poll(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

struct PtyIn(serialport::TTYPort);

impl Input for PtyIn {
    fn poll(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(0),
            Err(e) => Err(e),
        }
    }
}

struct ChanIn(mpsc::Receiver<Vec<u8>>, Vec<u8>);

impl Input for ChanIn {
    fn poll(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.1.is_empty() {
            match self.0.recv_timeout(Duration::from_millis(10)) {
                Ok(b) => self.1 = b,
                Err(mpsc::RecvTimeoutError::Timeout) => return Ok(0),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stdin closed"))
                }
            }
        }
        let n = self.1.len().min(buf.len());
        buf[..n].copy_from_slice(&self.1[..n]);
        self.1.drain(..n);
        Ok(n)
    }
}

/// How a boot ended.
enum BootEnd {
    Reboot,
    /// The harness end went away (stdin closed) or the parent died.
    Exit,
}

/// A PTY pair whose descriptors are not inherited by child processes
/// (`TTYPort::pair` opens them without `O_CLOEXEC`; the clones have it):
/// an inherited master would keep the port alive after a "reboot".
pub fn cloexec_pair() -> Result<(serialport::TTYPort, serialport::TTYPort), String> {
    let (m, s) = serialport::TTYPort::pair().map_err(|e| format!("cannot open a PTY: {e}"))?;
    let clone = |p: &serialport::TTYPort| p.try_clone_native().map_err(|e| e.to_string());
    Ok((clone(&m)?, clone(&s)?))
}

fn run_pty(a: &Args, link: &Path, parent: u32) -> Result<(), String> {
    loop {
        let (mut master, slave) = cloexec_pair()?;
        serialport::SerialPort::set_timeout(&mut master, Duration::from_millis(10))
            .map_err(|e| e.to_string())?;
        let slave_path = serialport::SerialPort::name(&slave)
            .ok_or_else(|| "the PTY has no name".to_string())?;
        // Atomic: the harness never sees a half-made link.
        let tmp = link.with_extension("new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&slave_path, &tmp)
            .and_then(|()| std::fs::rename(&tmp, link))
            .map_err(|e| format!("cannot link {} to {slave_path}: {e}", link.display()))?;
        let out = master.try_clone_native().map_err(|e| e.to_string())?;
        let end = match &a.firmware {
            Some(fw) => boot_no_agent(fw, &mut PtyIn(master), out, parent),
            None => boot(a, &mut PtyIn(master), IoWrite(out), parent),
        };
        // The port vanishes: the link first, then the PTY.
        let _ = std::fs::remove_file(link);
        drop(slave);
        match end {
            BootEnd::Reboot => std::thread::sleep(a.boot),
            BootEnd::Exit => return Ok(()),
        }
    }
}

fn run_stdio(a: &Args, parent: u32) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdin = io::stdin();
        let mut buf = [0u8; 1024];
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut input = ChanIn(rx, Vec::new());
    loop {
        let end = match &a.firmware {
            Some(fw) => boot_no_agent(fw, &mut input, io::stdout(), parent),
            None => boot(a, &mut input, IoWrite(io::stdout()), parent),
        };
        match end {
            BootEnd::Reboot => std::thread::sleep(a.boot),
            BootEnd::Exit => return Ok(()),
        }
    }
}

/// What `configure` said.
struct Config {
    broker: String,
    seed: u64,
    link_integrity: Duration,
    dut: DutConfig,
}

fn configure(
    broker: String,
    seed: u64,
    link_integrity_ms: Option<u64>,
    mut dut: serde_json::Value,
) -> Result<Config, String> {
    let env = dut
        .as_object_mut()
        .and_then(|o| o.remove("password_env"))
        .and_then(|v| v.as_str().map(String::from));
    let mut dut: DutConfig =
        serde_json::from_value(dut).map_err(|e| format!("configure: bad dut config: {e}"))?;
    dut.password = env.map(Secret::Env);
    Ok(Config {
        broker,
        seed,
        link_integrity: link_integrity_ms.map_or(
            resilient_mqtt::session::Config::default().link_integrity,
            Duration::from_millis,
        ),
        dut,
    })
}

/// The scenario the device application reads: this configuration and
/// workload.
fn scenario_of(dut: DutConfig, workload: Workload) -> Scenario {
    Scenario {
        name: "virtual-board".into(),
        description: String::new(),
        tags: Vec::new(),
        seed: 1,
        duration: Dur::from_secs(100 * 365 * 24 * 3600),
        tick: crate::scenario::DEFAULT_TICK,
        live_time_scale: 1.0,
        dut,
        network: Default::default(),
        broker: Default::default(),
        sim: Default::default(),
        tls: None,
        bridge: None,
        workload,
        timeline: Vec::new(),
        schedule: Schedule::default(),
        expect: Vec::new(),
    }
}

/// One running application.
struct Running {
    rt: tokio::runtime::Runtime,
    world: RealWorld,
    /// Board ms at the world's start.
    started_ms: u64,
}

fn write_record<W: embedded_io::Write>(agent: &mut Agent<W>, ms: u64, r: &Record) -> bool {
    let v = match serde_json::to_value(r) {
        Ok(serde_json::Value::Object(o)) => o,
        _ => return true,
    };
    let mut fields: Vec<(&str, Field<'_>)> = Vec::new();
    let mut nums: Vec<(&str, u64)> = Vec::new();
    for (k, val) in &v {
        if matches!(k.as_str(), "t_ms" | "actor" | "event") {
            continue;
        }
        match val {
            serde_json::Value::String(s) => fields.push((k, Field::Str(s))),
            serde_json::Value::Bool(b) => fields.push((k, Field::Bool(*b))),
            serde_json::Value::Number(n) => nums.push((k, n.as_u64().unwrap_or(0))),
            _ => {}
        }
    }
    fields.extend(nums.into_iter().map(|(k, n)| (k, Field::U64(n))));
    let event = r.event.name();
    agent.event(ms, r.actor.as_str(), event, &fields).is_ok()
}

/// One boot of the board: hello, then commands until reboot or exit.
fn boot<W: Write>(a: &Args, input: &mut dyn Input, out: IoWrite<W>, parent: u32) -> BootEnd {
    let t0 = Instant::now();
    let ms = || t0.elapsed().as_millis() as u64;
    let mut agent = Agent::new(out);
    let driver_version = crate::report::Versions::current().resilient_mqtt;
    let hello = |agent: &mut Agent<IoWrite<W>>| {
        let _ = agent.hello(
            ms(),
            &Hello {
                firmware: concat!("hil-vboard ", env!("CARGO_PKG_VERSION")),
                driver: "resilient-mqtt",
                driver_version: &driver_version,
                board: &a.board,
                heap: free_heap(),
            },
        );
    };
    hello(&mut agent);
    let mut decoder: Box<Decoder<{ MAX_LINE + 1 }>> = Box::default();
    let mut config: Option<Config> = None;
    let mut running: Option<Running> = None;
    let mut wifi_back: Option<Instant> = None;
    let mut buf = [0u8; 1024];
    let mut last_parent_check = Instant::now();
    let mut next_heap = Instant::now() + a.heap_every;
    loop {
        let n = match input.poll(&mut buf) {
            Ok(n) => n,
            Err(_) => return BootEnd::Exit,
        };
        let mut cmds = Vec::new();
        decoder.push(&buf[..n], &mut |i| {
            if let Item::Line(l) = i {
                cmds.push(Command::parse(l));
            }
        });
        for c in cmds {
            let c = match c {
                Ok(c) => c,
                Err(e) => {
                    let _ = agent.error(ms(), &format!("bad command: {e}"));
                    continue;
                }
            };
            match c {
                Command::Hello => hello(&mut agent),
                Command::Ping { id } => {
                    let _ = agent.pong(ms(), id);
                }
                Command::Configure {
                    broker,
                    seed,
                    link_integrity_ms,
                    dut,
                } => match configure(broker, seed, link_integrity_ms, dut) {
                    Ok(c) => config = Some(c),
                    Err(e) => {
                        let _ = agent.error(ms(), &e);
                    }
                },
                Command::Start { workload } => {
                    let (Some(c), None) = (&config, &running) else {
                        let _ = agent.error(ms(), "start: configure first, once per boot");
                        continue;
                    };
                    let workload: Workload = match serde_json::from_value(workload) {
                        Ok(w) => w,
                        Err(e) => {
                            let _ = agent.error(ms(), &format!("start: bad workload: {e}"));
                            continue;
                        }
                    };
                    match start(c, workload, ms()) {
                        Ok(r) => running = Some(r),
                        Err(e) => {
                            let _ = agent.error(ms(), &e);
                        }
                    }
                }
                Command::WifiOff { for_ms } => {
                    if let Some(r) = &running {
                        r.world.dut.wifi.set_available(false);
                    }
                    wifi_back = for_ms.map(|f| Instant::now() + Duration::from_millis(f));
                }
                Command::WifiOn => {
                    if let Some(r) = &running {
                        r.world.dut.wifi.set_available(true);
                    }
                    wifi_back = None;
                }
                Command::Disconnect => {
                    let _ = agent.error(
                        ms(),
                        "disconnect: the virtual board's application disconnects at workload.disconnect_at only",
                    );
                }
                Command::Reboot => {
                    if let Some(r) = running.take() {
                        r.rt.shutdown_background();
                    }
                    return BootEnd::Reboot;
                }
                Command::Stop => {
                    if let Some(r) = running.take() {
                        flush(&mut agent, &r);
                        r.rt.shutdown_background();
                    }
                }
            }
        }
        if wifi_back.is_some_and(|t| Instant::now() >= t) {
            wifi_back = None;
            if let Some(r) = &running {
                r.world.dut.wifi.set_available(true);
            }
        }
        if let Some(r) = &running {
            if !flush(&mut agent, r) {
                return BootEnd::Exit;
            }
        }
        if Instant::now() >= next_heap {
            next_heap += a.heap_every;
            if let Some(free) = free_heap() {
                if agent.heap(ms(), free).is_err() {
                    return BootEnd::Exit;
                }
            }
        }
        if last_parent_check.elapsed() > Duration::from_millis(250) {
            last_parent_check = Instant::now();
            if std::os::unix::process::parent_id() != parent {
                return BootEnd::Exit;
            }
        }
    }
}

/// One boot of the board with its own firmware: console lines out, until
/// the console line `reboot`, the harness end going away, or the parent
/// dying.
fn boot_no_agent<W: Write>(
    fw: &super::virtual_firmware::Firmware,
    input: &mut dyn Input,
    mut out: W,
    parent: u32,
) -> BootEnd {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("vboard-fw")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(out, "cannot start the runtime: {e}");
            return BootEnd::Exit;
        }
    };
    let (tx, rx) = mpsc::channel();
    let _ = tx.send(format!(
        "boot: own firmware, broker {}, client id {}",
        fw.broker, fw.client_id
    ));
    rt.spawn(super::virtual_firmware::run(fw.clone(), tx));
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    let mut last_parent_check = Instant::now();
    let end = loop {
        let n = match input.poll(&mut buf) {
            Ok(n) => n,
            Err(_) => break BootEnd::Exit,
        };
        let mut reboot = false;
        for &b in &buf[..n] {
            if b != b'\n' && b != b'\r' {
                line.push(b);
                continue;
            }
            match String::from_utf8_lossy(&line).trim() {
                "" => {}
                "reboot" => reboot = true,
                other => {
                    let _ = writeln!(out, "unknown command: {other}");
                }
            }
            line.clear();
        }
        if reboot {
            let _ = writeln!(out, "rebooting");
            let _ = out.flush();
            break BootEnd::Reboot;
        }
        let mut broken = false;
        while let Ok(l) = rx.try_recv() {
            broken |= writeln!(out, "{l}").and_then(|()| out.flush()).is_err();
        }
        if broken {
            break BootEnd::Exit;
        }
        if last_parent_check.elapsed() > Duration::from_millis(250) {
            last_parent_check = Instant::now();
            if std::os::unix::process::parent_id() != parent {
                break BootEnd::Exit;
            }
        }
    };
    // The firmware stops at the reset: its driver sends nothing more.
    rt.shutdown_timeout(Duration::from_millis(200));
    if matches!(end, BootEnd::Reboot) {
        // A real board's UART has sent the `rebooting` line before the
        // reset; a PTY that vanishes at once takes unread output with it
        // (the harness's console.log then lacks the line).
        std::thread::sleep(Duration::from_millis(200));
    }
    end
}

/// Sends what the application and driver emitted; false if the link broke.
fn flush<W: embedded_io::Write>(agent: &mut Agent<W>, r: &Running) -> bool {
    for rec in r.world.take_records() {
        if !write_record(agent, r.started_ms + rec.t_ms, &rec) {
            return false;
        }
    }
    true
}

fn start(c: &Config, workload: Workload, now_ms: u64) -> Result<Running, String> {
    let sc = Arc::new(scenario_of(c.dut.clone(), workload));
    let client_id = c.dut.client_id.clone().unwrap_or_default();
    let world = RealWorld::new(sc, c.seed, 1.0, client_id);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("vboard-dut")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (w, seed, broker, integrity) = (world.clone(), c.seed, c.broker.clone(), c.link_integrity);
    rt.spawn(async move {
        if let Err(e) = crate::realtime::run_app(w.clone(), seed, broker, integrity).await {
            w.emit(
                crate::trace::Actor::App,
                crate::trace::Event::AppConnectDone {
                    ok: false,
                    error: Some(e),
                },
            );
        }
    });
    Ok(Running {
        rt,
        world,
        started_ms: now_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked() {
        let a = |s: &[&str]| parse_args(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert!(a(&["--stdio"]).is_ok());
        assert!(a(&["--pty-link", "/tmp/x", "--boot-ms", "5"]).is_ok());
        assert!(a(&[]).unwrap_err().contains("exactly one"));
        assert!(a(&["--stdio", "--pty-link", "x"])
            .unwrap_err()
            .contains("exactly one"));
        assert!(a(&["--boot-ms", "x", "--stdio"])
            .unwrap_err()
            .contains("milliseconds"));
        assert_eq!(
            a(&["--stdio", "--heap-ms", "500"]).unwrap().heap_every,
            Duration::from_millis(500)
        );
        assert!(a(&["--stdio", "--heap-ms", "0"])
            .unwrap_err()
            .contains("more than 0"));
        let fw = a(&[
            "--stdio",
            "--no-agent",
            "--broker",
            "127.0.0.1:1883",
            "--client-id",
            "dut-x",
        ])
        .unwrap()
        .firmware
        .unwrap();
        assert_eq!(fw.topic(), "peers/dut-x/seq");
        assert_eq!(fw.interval, Duration::from_secs(1));
        assert!(a(&["--stdio", "--no-agent"])
            .unwrap_err()
            .contains("needs --broker"));
        assert!(a(&["--stdio", "--broker", "127.0.0.1:1"])
            .unwrap_err()
            .contains("is for --no-agent"));
        assert!(a(&["--stdio", "--no-agent", "--broker", "nowhere"])
            .unwrap_err()
            .contains("not an IP address and port"));
    }
}
