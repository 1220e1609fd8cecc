//! The board as the real-time executor's device under test ([`BoardDut`],
//! a [`RealtimeDut`]): it opens the board's link, and a pump thread speaks the
//! agent protocol: on every `hello` it syncs the clock and sends
//! `configure` + `start`; it turns the board's trace lines into trace
//! events at host time; it carries out resets (agent, DTR/RTS) and reopens
//! a port that vanished. A port that does not come back, a board that
//! never says `hello`, or a protocol major version it does not speak are
//! infrastructure failures ([`RealtimeDut::failure`]), kept apart from the
//! DUT's own behaviour (which only the oracles judge).
//!
//! A MicroPython board (profile `agent = "micropython"`) gets its agent
//! script (the profile's `firmware`) over the raw REPL and has it started
//! ([`super::raw_repl`]) before the harness waits for `hello`, and again
//! after every reset.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hil_agent::msg::{Command, HelloMsg};
use serde::Serialize;

use super::clock::BoardClock;
use super::link::{BoardLink, SerialLink};
use super::profile::{AgentKind, PortSelect, Profile, Reset, Transport};
use super::protocol::{BoardMsg, ProtocolReader, ProtocolStats};
use crate::backend::Artifact;
use crate::realtime::{RealWorld, RealtimeDut};
use crate::scenario::types::Secret;
use crate::trace::Event;

/// What the board told us during one run (for reports and `hil qualify`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct BoardRunInfo {
    /// The last `hello`.
    pub hello: Option<HelloMsg>,
    /// How many times the board said `hello` and was configured.
    pub boots: u32,
    /// `(scenario ms, free bytes)` from `heap` lines and `hello.heap`.
    pub heap: Vec<(u64, u64)>,
    pub protocol: ProtocolStats,
    /// The last protocol problems (at most 20).
    pub problems: Vec<String>,
    /// `error` lines from the agent.
    pub agent_errors: Vec<String>,
    /// The smallest ping round trip, ms.
    pub best_rtt_ms: Option<f64>,
    /// Times the link was reopened after it vanished.
    pub reopens: u32,
    /// Each time the link was gone: when (scenario ms), for how long, and
    /// whether it came back (a remote exporter that dropped, a port that
    /// vanished during a reset).
    pub link_gaps: Vec<LinkGap>,
    /// MicroPython: times the agent was started over the raw REPL, and
    /// bytes of script written before the run (0 when the board had it
    /// already, or with `--no-upload`).
    pub agent_starts: u32,
    pub agent_uploaded_bytes: u64,
    #[serde(skip)]
    pub console: Vec<u8>,
}

/// A time the board's link was gone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkGap {
    /// Scenario time it went, ms.
    pub at_ms: u64,
    /// How long it was gone, ms.
    pub gap_ms: u64,
    pub came_back: bool,
    /// What the link was (`rfc2217://host:port`, `/dev/ttyACM0`).
    pub link: String,
}

#[derive(Default)]
pub(super) struct Shared {
    pub(super) failure: Mutex<Option<String>>,
    pub(super) info: Mutex<BoardRunInfo>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

enum Ctl {
    Send(Command),
    Reboot,
    /// The power is off (`dut_power_cycle`): expect nothing from the board
    /// until [`Ctl::PowerOn`]; acknowledged before the power goes.
    PowerOff(Sender<()>),
    /// The power is back: reopen the port, wait for `hello`.
    PowerOn,
    Stop,
}

/// A board under test for one run.
pub struct BoardDut {
    profile: Profile,
    shared: Arc<Shared>,
    tx: Option<Sender<Ctl>>,
    thread: Option<JoinHandle<()>>,
    vboard: Option<VirtualBoard>,
    /// Where the run's board info goes when it ends (shared with the backend).
    sink: Arc<Mutex<Option<BoardRunInfo>>>,
    /// Bytes of agent script written before the run.
    uploaded: u64,
    /// The profile's `[lab]` hooks.
    lab: crate::lab::LabRunner,
}

impl BoardDut {
    /// A board for one run; its info goes to `sink` when it stops;
    /// `uploaded` bytes of agent script were written before the run.
    pub fn new(profile: Profile, sink: Arc<Mutex<Option<BoardRunInfo>>>, uploaded: u64) -> Self {
        BoardDut {
            shared: Arc::default(),
            tx: None,
            thread: None,
            vboard: None,
            sink,
            uploaded,
            lab: crate::lab::LabRunner::new(profile.lab.clone()),
            profile,
        }
    }

    fn send(&self, c: Ctl) -> Result<(), String> {
        match &self.tx {
            Some(tx) => tx
                .send(c)
                .map_err(|_| "the board's link thread has stopped".to_string()),
            None => Err("the board was not booted".into()),
        }
    }
}

/// The virtual board process and its PTY's stable path.
pub(super) struct VirtualBoard {
    child: Child,
    dir: PathBuf,
    /// The arguments it was started with beyond the PTY and board name
    /// (the no-agent firmware's), given again at power on.
    extra: Vec<String>,
}

impl Drop for VirtualBoard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where `hil-vboard` is: `$HIL_VBOARD`, else next to this executable
/// (or one folder up, for test binaries in `target/*/deps`).
pub fn vboard_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("HIL_VBOARD") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    for _ in 0..2 {
        let c = dir.join("hil-vboard");
        if c.exists() {
            return Ok(c);
        }
        dir.pop();
    }
    Err(format!(
        "the virtual board binary `hil-vboard` is not next to {} (build it: cargo build -p hil --bin hil-vboard, or set HIL_VBOARD)",
        exe.display()
    ))
}

/// Starts `hil-vboard` for `profile` (with `extra` arguments: the
/// no-agent firmware's) on a PTY; the PTY's stable path.
pub(super) fn start_virtual(
    profile: &Profile,
    extra: &[String],
) -> Result<(VirtualBoard, PathBuf), String> {
    let dir = std::env::temp_dir().join(format!(
        "hil-vboard-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let link = dir.join("tty");
    let child = spawn_virtual(profile, &link, extra)?;
    let mut vb = VirtualBoard {
        child,
        dir,
        extra: extra.to_vec(),
    };
    let deadline = Instant::now() + profile.hello_timeout.to_std();
    while !link.exists() {
        if let Ok(Some(st)) = vb.child.try_wait() {
            return Err(format!("the virtual board exited at start ({st})"));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the virtual board did not open its PTY within {}",
                profile.hello_timeout
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((vb, link))
}

fn spawn_virtual(
    profile: &Profile,
    link: &std::path::Path,
    extra: &[String],
) -> Result<Child, String> {
    let bin = vboard_binary()?;
    Process::new(&bin)
        .arg("--pty-link")
        .arg(link)
        .arg("--board")
        .arg(&profile.name)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))
}

impl VirtualBoard {
    /// The virtual board's power model: off = SIGKILL (its sockets close,
    /// into the executor's blackhole; its PTY goes); on = a new process on
    /// the same PTY path.
    pub(super) fn power(&mut self, profile: &Profile, on: bool) -> Result<(), String> {
        let link = self.dir.join("tty");
        if on {
            let _ = std::fs::remove_file(&link);
            self.child = spawn_virtual(profile, &link, &self.extra)?;
        } else {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        Ok(())
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(super) fn open_link(
    profile: &Profile,
    vlink: Option<PathBuf>,
) -> Result<Box<dyn BoardLink>, String> {
    match (&profile.transport, vlink) {
        (Transport::Virtual { baud }, Some(path)) => {
            Ok(Box::new(SerialLink::open(PortSelect::Path(path), *baud)?))
        }
        (Transport::Serial { select, baud }, _) => {
            Ok(Box::new(SerialLink::open(select.clone(), *baud)?))
        }
        #[cfg(feature = "probe")]
        (Transport::Probe { .. }, _) => super::probe::open(profile),
        #[cfg(not(feature = "probe"))]
        (Transport::Probe { .. }, _) => Err(super::probe_unavailable()),
        (Transport::Virtual { .. }, None) => Err("the virtual board has no PTY".into()),
        (Transport::Remote { addr, mode, baud }, _) => Ok(Box::new(
            super::remote_serial::TcpLink::open(addr, *mode, *baud)?,
        )),
        (Transport::None, _) => Err(format!(
            "board profile `{}` has no link (transport kind `none`)",
            profile.name
        )),
    }
}

/// What starts a MicroPython agent (its script is on the board:
/// [`install_agent`]): `import hil_agent` + `hil_agent.main(env=...,
/// wifi=...)`, which holds the secrets' values and is never shown.
struct MicroPython {
    start: String,
}

/// The agent script a MicroPython profile names: its name on the board
/// (`hil_agent.py`) and where it is here. `None` for other agents.
fn agent_script(profile: &Profile) -> Result<Option<(String, PathBuf)>, String> {
    if profile.agent != AgentKind::Micropython
        || matches!(profile.transport, Transport::Virtual { .. })
    {
        return Ok(None);
    }
    let Some(path) = &profile.firmware else {
        return Err(format!(
            "board profile `{}` runs the MicroPython agent but names no `firmware` (the agent script, fixtures/agents/micropython/hil_agent.py)",
            profile.name
        ));
    };
    let remote = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hil_agent.py".into());
    Ok(Some((remote, path.clone())))
}

/// Copies a MicroPython profile's agent script onto the board over the raw
/// REPL (unless the board has it already), before a run: the time it takes
/// is not the scenario's. `None` for other agents.
pub fn install_agent(profile: &Profile) -> Result<Option<super::raw_repl::Installed>, String> {
    let Some((remote, path)) = agent_script(profile)? else {
        return Ok(None);
    };
    let data = std::fs::read(&path)
        .map_err(|e| format!("cannot read the MicroPython agent {}: {e}", path.display()))?;
    let mut link = open_link(profile, None)?;
    super::raw_repl::install(
        link.as_mut(),
        &remote,
        &data,
        profile.hello_timeout.to_std(),
    )
    .map(Some)
    .map_err(|e| {
        format!(
            "cannot copy the MicroPython agent onto the board at {}: {e}",
            link.describe()
        )
    })
}

/// The host environment's value of `var`, as a MicroPython literal.
fn py_env(var: Option<&String>) -> String {
    match var.and_then(|v| std::env::var(v).ok()) {
        Some(v) => super::raw_repl::py_str(&v),
        None => "None".into(),
    }
}

fn micropython(profile: &Profile, world: &RealWorld) -> Result<Option<MicroPython>, String> {
    let Some((remote, _)) = agent_script(profile)? else {
        return Ok(None);
    };
    let module = remote.strip_suffix(".py").unwrap_or(&remote).to_string();
    let mut env = Vec::new();
    if let Some(Secret::Env(v)) = &world.scenario.dut.password {
        env.push(format!(
            "{}: {}",
            super::raw_repl::py_str(v),
            py_env(Some(v))
        ));
    }
    let start = format!(
        "import {module}\n{module}.main(env={{{}}}, wifi=({}, {}))",
        env.join(", "),
        py_env(profile.wifi_ssid_env.as_ref()),
        py_env(profile.wifi_password_env.as_ref()),
    );
    Ok(Some(MicroPython { start }))
}

/// How starting the MicroPython agent went.
enum Started {
    Yes,
    /// The link vanished meanwhile (the board is resetting).
    Gone,
    Failed,
}

/// The `configure` and `start` commands for this run.
fn run_commands(world: &RealWorld, broker: String) -> Result<(Command, Command), String> {
    let sc = &world.scenario;
    let mut dut = sc.dut.clone();
    dut.client_id = Some(world.dut_client_id.to_string());
    let password_env = match dut.password.take() {
        None => None,
        Some(Secret::Env(v)) => Some(v),
        Some(Secret::Inline(_)) => {
            return Err(
                "a board gets its MQTT password from its environment: write password = { env = \"VAR\" } in the scenario"
                    .into(),
            )
        }
    };
    let mut dut_json = serde_json::to_value(&dut).map_err(|e| e.to_string())?;
    if let (Some(v), Some(obj)) = (password_env, dut_json.as_object_mut()) {
        obj.insert("password_env".into(), v.into());
    }
    let workload = serde_json::to_value(&sc.workload).map_err(|e| e.to_string())?;
    Ok((
        Command::Configure {
            broker,
            seed: world.seed,
            link_integrity_ms: Some(
                (resilient_mqtt::session::Config::default()
                    .link_integrity
                    .as_millis() as f64
                    * world.scale()) as u64,
            ),
            dut: dut_json,
        },
        Command::Start { workload },
    ))
}

impl RealtimeDut for BoardDut {
    fn boot(&mut self, world: &RealWorld, broker: SocketAddr) -> Result<(), String> {
        let broker = format!("{}:{}", self.profile.broker_host, broker.port());
        let (configure, start) = run_commands(world, broker)?;
        let micropython = micropython(&self.profile, world)?;
        let vlink = match self.profile.transport {
            Transport::Virtual { .. } => {
                let (vb, link) = start_virtual(&self.profile, &[])?;
                self.vboard = Some(vb);
                Some(link)
            }
            _ => None,
        };
        let link = open_link(&self.profile, vlink)?;
        let (tx, rx) = mpsc::channel();
        let mut pump = Pump {
            profile: self.profile.clone(),
            world: world.clone(),
            link,
            rx,
            shared: self.shared.clone(),
            reader: ProtocolReader::new(),
            clock: BoardClock::new(Instant::now()),
            configure,
            start,
            configured: false,
            last_board_ms: 0,
            pings: BTreeMap::new(),
            next_ping: 0,
            next_ping_at: Instant::now(),
            hello_deadline: Some(Instant::now() + self.profile.hello_timeout.to_std()),
            micropython,
            powered_off: false,
        };
        self.thread = Some(
            std::thread::Builder::new()
                .name("board-link".into())
                .spawn(move || pump.run())
                .map_err(|e| format!("cannot start the board's link thread: {e}"))?,
        );
        self.tx = Some(tx);
        Ok(())
    }

    /// `[reset] method = "power"`: power off, 1 s, power on; else the
    /// profile's reset.
    fn reboot(&mut self, world: &RealWorld, broker: SocketAddr) -> Result<(), String> {
        if self.profile.reset == Reset::Power {
            self.power(world, broker, false)?;
            std::thread::sleep(crate::lab::REBOOT_OFF_FOR);
            return self.power(world, broker, true);
        }
        self.send(Ctl::Reboot)
    }

    /// The profile's `[lab]` WiFi hook when it has them (the AP goes
    /// away), else the agent's `wifi` command.
    fn wifi(&mut self, world: &RealWorld, up: bool) -> Result<(), String> {
        if self.profile.lab.has_wifi() {
            let h = if up {
                crate::lab::HookName::WifiUp
            } else {
                crate::lab::HookName::WifiDown
            };
            return self.lab.run_traced(h, world).map(|_| ());
        }
        self.send(Ctl::Send(if up {
            Command::WifiOn
        } else {
            Command::WifiOff { for_ms: None }
        }))
    }

    /// The profile's `[lab] power_off` / `power_on` (and, for the virtual
    /// board, its process killed / started again); after power on the
    /// board is waited for as after a reset (port, `hello`).
    fn power(&mut self, world: &RealWorld, _broker: SocketAddr, on: bool) -> Result<(), String> {
        use crate::lab::HookName;
        if on {
            self.lab.run_traced(HookName::PowerOn, world)?;
            if let Some(vb) = &mut self.vboard {
                vb.power(&self.profile, true)?;
            }
            self.send(Ctl::PowerOn)
        } else {
            let (ack, acked) = mpsc::channel();
            self.send(Ctl::PowerOff(ack))?;
            acked
                .recv_timeout(Duration::from_secs(5))
                .map_err(|_| "the board's link thread did not take the power off".to_string())?;
            let r = self.lab.run_traced(HookName::PowerOff, world);
            if let Some(vb) = &mut self.vboard {
                vb.power(&self.profile, false)?;
            }
            r.map(|_| ())
        }
    }

    fn supports(&self, action: &crate::scenario::fault::Action) -> Result<(), String> {
        super::supports(&self.profile, action, "")
    }

    fn failure(&mut self) -> Option<String> {
        lock(&self.shared.failure).clone()
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Ctl::Stop);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.vboard = None;
        let mut info = lock(&self.shared.info).clone();
        info.agent_uploaded_bytes = self.uploaded;
        *lock(&self.sink) = Some(info);
    }

    /// `board.json` (what the board reported) and `console.log` (its
    /// console output besides the agent protocol).
    fn artifacts(&mut self) -> Vec<Artifact> {
        let Some(info) = lock(&self.sink).clone() else {
            return Vec::new();
        };
        let mut files = vec![Artifact::new("console.log", info.console.clone())];
        if let Ok(j) = serde_json::to_string_pretty(&info) {
            files.push(Artifact::new("board.json", j + "\n"));
        }
        files.extend(self.lab.artifact());
        files
    }
}

impl Drop for BoardDut {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The link thread's state.
struct Pump {
    profile: Profile,
    world: RealWorld,
    link: Box<dyn BoardLink>,
    rx: Receiver<Ctl>,
    shared: Arc<Shared>,
    reader: ProtocolReader,
    clock: BoardClock,
    configure: Command,
    start: Command,
    /// `configure` + `start` were sent since the board's last boot.
    configured: bool,
    last_board_ms: u64,
    pings: BTreeMap<u64, Instant>,
    next_ping: u64,
    next_ping_at: Instant,
    /// A `hello` is due by then.
    hello_deadline: Option<Instant>,
    /// The MicroPython agent to start over the raw REPL, if it is one.
    micropython: Option<MicroPython>,
    /// `dut_power_cycle`: the board's power is off.
    powered_off: bool,
}

impl Pump {
    fn fail(&self, m: String) {
        let mut f = lock(&self.shared.failure);
        if f.is_none() {
            *f = Some(m);
        }
    }

    fn write(&mut self, c: &Command) -> Result<(), ()> {
        match self.link.write_all(c.to_line().as_bytes()) {
            Ok(()) => Ok(()),
            Err(_) => self.link_gone(),
        }
    }

    fn publish_info(&mut self) {
        let mut i = lock(&self.shared.info);
        i.protocol = self.reader.stats();
        i.problems = self.reader.recent_problems.clone();
        i.console = self.reader.console().to_vec();
        i.best_rtt_ms = self.clock.best_rtt().map(|d| d.as_secs_f64() * 1000.0);
    }

    /// The port vanished: wait for it to come back (a reset), or fail.
    fn link_gone(&mut self) -> Result<(), ()> {
        self.reader.end_of_stream();
        // Whether the board restarted meanwhile (a reset that made the
        // port vanish) or only the link dropped (a remote exporter that
        // went away) shows in its next `hello`: a restarted board's clock
        // starts again ([`Pump::handle`]); until then its clock and its
        // configuration still hold.
        let timeout = self.profile.reopen_timeout.to_std();
        let (at_ms, went) = (self.world.now_ms(), Instant::now());
        let reopened = self.link.reopen(timeout);
        lock(&self.shared.info).link_gaps.push(LinkGap {
            at_ms,
            gap_ms: went.elapsed().as_millis() as u64,
            came_back: reopened.is_ok(),
            link: self.link.describe(),
        });
        match reopened {
            Ok(()) => {
                lock(&self.shared.info).reopens += 1;
                match self.start_agent() {
                    Started::Yes => {}
                    Started::Gone => {
                        self.fail(format!(
                            "the board's port vanished again while its MicroPython agent was being started ({})",
                            self.link.describe()
                        ));
                        return Err(());
                    }
                    Started::Failed => return Err(()),
                }
                self.hello_deadline = Some(Instant::now() + self.profile.hello_timeout.to_std());
                // A board that already said hello says it again.
                let _ = self.link.write_all(Command::Hello.to_line().as_bytes());
                Ok(())
            }
            Err(m) => {
                self.fail(format!("{} ({})", m, self.link.describe()));
                Err(())
            }
        }
    }

    /// Starts the MicroPython agent (already on the board); a no-op for
    /// other agents.
    fn start_agent(&mut self) -> Started {
        let Some(mp) = &self.micropython else {
            return Started::Yes;
        };
        let timeout = self.profile.hello_timeout.to_std();
        match super::raw_repl::install_and_start(self.link.as_mut(), None, &mp.start, timeout) {
            Ok(done) => {
                lock(&self.shared.info).agent_starts += 1;
                let now = Instant::now();
                for m in self.reader.push(&done.after_ok) {
                    if self.handle(m, now).is_err() {
                        return Started::Failed;
                    }
                }
                Started::Yes
            }
            Err(super::raw_repl::ReplError::Link(_)) => Started::Gone,
            Err(e) => {
                self.fail(format!(
                    "cannot start the MicroPython agent on {}: {e}",
                    self.link.describe()
                ));
                Started::Failed
            }
        }
    }

    fn run(&mut self) {
        let mut buf = [0u8; 4096];
        match self.start_agent() {
            Started::Yes => {}
            Started::Gone => {
                if self.link_gone().is_err() {
                    self.publish_info();
                    return;
                }
            }
            Started::Failed => {
                self.publish_info();
                return;
            }
        }
        // Ask in case the board said hello before we opened the port.
        if self.write(&Command::Hello).is_err() {
            return;
        }
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(Ctl::Send(c)) => {
                        if self.write(&c).is_err() {
                            return;
                        }
                    }
                    Ok(Ctl::Reboot) => {
                        if self.reboot().is_err() {
                            return;
                        }
                    }
                    Ok(Ctl::PowerOff(ack)) => {
                        self.powered_off = true;
                        self.reader.end_of_stream();
                        self.configured = false;
                        self.clock.reset();
                        self.hello_deadline = None;
                        let _ = ack.send(());
                    }
                    Ok(Ctl::PowerOn) => {
                        self.powered_off = false;
                        if self.link_gone().is_err() {
                            self.publish_info();
                            return;
                        }
                    }
                    Ok(Ctl::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                        let _ = self.link.write_all(Command::Stop.to_line().as_bytes());
                        self.publish_info();
                        return;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            if self.powered_off {
                // Its port may be gone; nothing is due until power on.
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            match self.link.read(&mut buf, Duration::from_millis(20)) {
                Ok(0) => {}
                Ok(n) => {
                    let now = Instant::now();
                    for m in self.reader.push(&buf[..n]) {
                        if self.handle(m, now).is_err() {
                            self.publish_info();
                            return;
                        }
                    }
                    self.publish_info();
                }
                Err(_) => {
                    if self.link_gone().is_err() {
                        self.publish_info();
                        return;
                    }
                }
            }
            let now = Instant::now();
            if let Some(d) = self.hello_deadline {
                if now > d {
                    self.fail(format!(
                        "the board said no `hello` on {} within {} (is the agent running? is the baud rate right?)",
                        self.link.describe(),
                        self.profile.hello_timeout
                    ));
                    self.publish_info();
                    return;
                }
            }
            if self.configured && now >= self.next_ping_at {
                self.ping(now);
            }
        }
    }

    fn ping(&mut self, now: Instant) {
        self.next_ping += 1;
        self.pings.insert(self.next_ping, now);
        while self.pings.len() > 16 {
            self.pings.pop_first();
        }
        self.next_ping_at = now + Duration::from_millis(1000);
        let _ = self.write(&Command::Ping { id: self.next_ping });
    }

    fn reboot(&mut self) -> Result<(), ()> {
        match &self.profile.reset {
            Reset::Agent => self.write(&Command::Reboot)?,
            Reset::DtrRts(steps) => {
                let steps = steps.clone();
                if let Err(e) = self.link.line_reset(&steps) {
                    self.fail(format!(
                        "DTR/RTS reset on {} failed: {e}",
                        self.link.describe()
                    ));
                    return Err(());
                }
            }
            Reset::Probe => {
                if let Err(e) = self.link.probe_reset() {
                    self.fail(format!(
                        "probe reset on {} failed: {e}",
                        self.link.describe()
                    ));
                    return Err(());
                }
            }
            Reset::Power => {
                self.fail("reset method `power` is done by the harness, not the link".into());
                return Err(());
            }
            Reset::Console(line) => {
                let bytes = format!("{line}\r\n");
                if self.link.write_all(bytes.as_bytes()).is_err() {
                    return self.link_gone();
                }
            }
            Reset::None => {
                self.fail(format!(
                    "board profile `{}` has reset method `none`: it cannot reboot the board",
                    self.profile.name
                ));
                return Err(());
            }
        }
        self.configured = false;
        self.clock.reset();
        self.hello_deadline = Some(
            Instant::now()
                + self.profile.reopen_timeout.to_std()
                + self.profile.hello_timeout.to_std(),
        );
        if self.micropython.is_some() {
            // A MicroPython board boots into its REPL: start the agent
            // again (over the reopened port if this one vanishes).
            std::thread::sleep(Duration::from_millis(500));
            match self.start_agent() {
                Started::Yes => {}
                Started::Gone => self.link_gone()?,
                Started::Failed => return Err(()),
            }
        }
        Ok(())
    }

    fn rescale(&self, e: Event) -> Event {
        match e {
            Event::Connected {
                session_present,
                keepalive_s,
            } => Event::Connected {
                session_present,
                keepalive_s: (keepalive_s as f64 / self.world.scale()).round() as u16,
            },
            e => e,
        }
    }

    fn handle(&mut self, m: BoardMsg, now: Instant) -> Result<(), ()> {
        match m {
            BoardMsg::Hello { ms, hello } => {
                if let Err(e) = hello.check_version() {
                    self.fail(e);
                    return Err(());
                }
                if self.configured && ms >= self.last_board_ms {
                    // The answer to our `hello` request: nothing restarted.
                    self.hello_deadline = None;
                    return Ok(());
                }
                self.clock.reset();
                self.clock.seen(now, ms);
                self.last_board_ms = ms;
                {
                    let mut i = lock(&self.shared.info);
                    if let Some(h) = hello.heap {
                        i.heap.push((self.world.now_ms(), h));
                    }
                    i.hello = Some(hello);
                    i.boots += 1;
                }
                self.ping(now);
                let (c, s) = (self.configure.clone(), self.start.clone());
                self.write(&c)?;
                self.write(&s)?;
                self.configured = true;
                self.hello_deadline = None;
            }
            BoardMsg::Pong { ms, id } => {
                if let Some(sent) = self.pings.remove(&id) {
                    self.clock.pong(sent, now, ms);
                }
                self.last_board_ms = self.last_board_ms.max(ms);
            }
            BoardMsg::Heap { ms, free } => {
                self.last_board_ms = self.last_board_ms.max(ms);
                lock(&self.shared.info)
                    .heap
                    .push((self.world.now_ms(), free));
            }
            BoardMsg::AgentError { message, .. } => {
                lock(&self.shared.info).agent_errors.push(message);
            }
            BoardMsg::Trace { ms, actor, event } => {
                self.last_board_ms = self.last_board_ms.max(ms);
                self.clock.seen(now, ms);
                let at = self.clock.host(ms).unwrap_or(now);
                let event = self.rescale(event);
                self.world.emit_at(at, actor, event);
            }
        }
        Ok(())
    }
}
