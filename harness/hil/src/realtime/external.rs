//! Brokers the harness did not build (issue 18, "brokers we do not
//! start"), behind the same fault proxies and observer as the others:
//!
//! - `--broker tcp://HOST:PORT` / `tls://HOST:PORT`: a broker that is
//!   already running (a staging EMQX, the user's own). The harness cannot
//!   touch its process: `broker_crash`, `broker_power_loss`,
//!   `broker_restart`, `broker_hang` are `unsupported` unless the user
//!   gives a command for them (`--broker-cmd crash='...'`, `restart=`,
//!   `hang=` with `resume=`; `start=` runs once before the run). Faults the
//!   fault proxy makes (`broker_drop`, `broker_refuse`, link faults) work as
//!   with every broker. `tls://` goes through [`super::tls_bridge`].
//! - `--broker exec:'CMD {port}'` or a broker profile (`--broker amqtt`,
//!   [`super::broker_profile`]): any broker as a process the harness
//!   starts with `sh -c` in its own process group on a free port it picks
//!   (`{port}`, `{dir}`: a scratch directory for the run; also in
//!   `HIL_BROKER_PORT`, `HIL_BROKER_DIR`). Ready when the port accepts TCP
//!   (and its output shows the profile's `ready.log`); its stdout and
//!   stderr are `broker.log` in the run directory. `broker_crash` =
//!   SIGKILL of the group, `broker_restart` = start it again on the same
//!   port (without persistence, `{dir}` is emptied first; a profile that
//!   declares `persistence = false` cannot do a persistent restart:
//!   `unsupported`), `broker_hang` / its end = SIGSTOP / SIGCONT of the
//!   group.
//!
//! The observer logs in with `--broker-user` and the password in the
//! environment variable `--broker-password-env` names (never printed), or
//! anonymously. The DUT logs in with the scenario's `[dut] user` and
//! `password`: on a broker the harness does not configure, that account
//! must exist there already.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Seek};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::broker_profile::{self, Supports};
use super::tls_bridge::{self, TlsBridge};
use crate::backend::{shell_word, Artifact};
use crate::scenario::fault::Action;
use crate::scenario::Scenario;

/// A command given with `--broker-cmd KIND='CMD'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CmdKind {
    /// Run once before the run (then the harness waits for the port).
    Start,
    Crash,
    /// Gets `HIL_BROKER_PERSIST=1` or `0`; the harness then waits for the
    /// port.
    Restart,
    Hang,
    Resume,
}

impl CmdKind {
    pub const ALL: [CmdKind; 5] = [
        CmdKind::Start,
        CmdKind::Crash,
        CmdKind::Restart,
        CmdKind::Hang,
        CmdKind::Resume,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CmdKind::Start => "start",
            CmdKind::Crash => "crash",
            CmdKind::Restart => "restart",
            CmdKind::Hang => "hang",
            CmdKind::Resume => "resume",
        }
    }
}

/// `--broker-cmd KIND=CMD` on the command line.
pub fn parse_broker_cmd(s: &str) -> Result<(CmdKind, String), String> {
    let kinds = CmdKind::ALL.map(CmdKind::as_str).join(", ");
    let (k, cmd) = s.split_once('=').ok_or_else(|| {
        format!("--broker-cmd {s}: expected KIND='COMMAND' with KIND one of {kinds}")
    })?;
    let kind = CmdKind::ALL
        .into_iter()
        .find(|c| c.as_str() == k.trim())
        .ok_or_else(|| format!("--broker-cmd {s}: unknown kind `{k}`; expected one of {kinds}"))?;
    if cmd.trim().is_empty() {
        return Err(format!("--broker-cmd {k}=: the command is empty"));
    }
    Ok((kind, cmd.to_string()))
}

/// The observer's user name and password on a broker the harness does not
/// configure; `None`: anonymous.
pub type Credentials = Option<(String, Option<Vec<u8>>)>;

/// The options of a broker the harness did not build (`--broker-cmd`,
/// `--broker-user`, `--broker-password-env`, `--broker-ca`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalOpts {
    pub cmds: BTreeMap<CmdKind, String>,
    pub user: Option<String>,
    /// The name of the environment variable holding the observer's
    /// password (the password itself is never stored here).
    pub password_env: Option<String>,
    pub ca: Option<PathBuf>,
}

impl ExternalOpts {
    pub fn is_empty(&self) -> bool {
        *self == ExternalOpts::default()
    }

    /// The command-line options that give these again (after `--broker`).
    pub fn to_args(&self) -> String {
        let mut a = String::new();
        for (k, c) in &self.cmds {
            a.push_str(&format!(
                " --broker-cmd {}",
                shell_word(&format!("{}={c}", k.as_str()))
            ));
        }
        if let Some(u) = &self.user {
            a.push_str(&format!(" --broker-user {}", shell_word(u)));
        }
        if let Some(v) = &self.password_env {
            a.push_str(&format!(" --broker-password-env {}", shell_word(v)));
        }
        if let Some(c) = &self.ca {
            a.push_str(&format!(
                " --broker-ca {}",
                shell_word(&c.display().to_string())
            ));
        }
        a
    }

    /// The observer's login: `--broker-user` with the password from the
    /// environment, or none (anonymous).
    pub fn login(&self) -> Result<Credentials, String> {
        let Some(user) = &self.user else {
            return Ok(None);
        };
        let password = match &self.password_env {
            None => None,
            Some(var) => Some(
                std::env::var(var)
                    .map_err(|_| {
                        format!("--broker-password-env {var}: the environment variable {var} is not set")
                    })?
                    .into_bytes(),
            ),
        };
        Ok(Some((user.clone(), password)))
    }
}

/// How long a `--broker-cmd` command may run.
const CMD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a `tcp://` broker may take to accept TCP (at the start, after
/// `start=` and `restart=`).
const TCP_READY: Duration = Duration::from_secs(20);

/// Where the broker is and who runs it.
enum Target {
    /// Already running at `host:port`.
    Tcp {
        host: String,
        port: u16,
        bridge: Option<TlsBridge>,
    },
    /// A process of ours.
    Exec {
        command: String,
        cwd: PathBuf,
        ready_timeout: Duration,
        ready_log: Option<String>,
        port: u16,
        scratch: tempfile::TempDir,
        child: Option<Child>,
        stopped: bool,
    },
}

/// A broker the harness did not build, for one run.
pub struct ExternalBroker {
    /// `tcp://HOST:PORT`, `exec`, the profile's name: for messages.
    label: String,
    target: Target,
    opts: ExternalOpts,
    supports: Supports,
    log: Arc<Mutex<Vec<u8>>>,
}

fn lock(log: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a broker that has no process of ours cannot do without a command.
fn needs_cmd(label: &str, fault: &str, kind: CmdKind) -> String {
    format!(
        "{label} is a broker the harness does not start: `{fault}` needs --broker-cmd {}='COMMAND'",
        kind.as_str()
    )
}

impl ExternalBroker {
    /// `tcp://HOST:PORT` (`tls` through a bridge on `rt`): runs `start=`,
    /// then checks that it answers.
    pub fn tcp(
        scenario: &Scenario,
        host: &str,
        port: u16,
        tls: bool,
        opts: &ExternalOpts,
        rt: &Handle,
    ) -> Result<ExternalBroker, String> {
        let scheme = if tls { "tls" } else { "tcp" };
        no_packet_limit(scenario)?;
        let bridge = if tls {
            let t = tls_bridge::transport(host, port, opts.ca.as_deref())?;
            // One handshake now: a wrong CA is the harness's problem, not
            // a DUT that never connects.
            rt.block_on(async {
                use resilient_mqtt::client::Transport;
                tokio::time::timeout(TCP_READY, t.connect()).await
            })
            .map_err(|_| {
                format!("{scheme}://{host}:{port}: no TLS handshake within {TCP_READY:?}")
            })?
            .map_err(|e| format!("{scheme}://{host}:{port}: TLS handshake failed: {e}"))?;
            Some(TlsBridge::start(rt, t)?)
        } else {
            None
        };
        let mut b = ExternalBroker {
            label: format!("{scheme}://{host}:{port}"),
            target: Target::Tcp {
                host: host.to_string(),
                port,
                bridge,
            },
            opts: opts.clone(),
            // Whatever the user's commands do.
            supports: Supports::default(),
            log: Arc::default(),
        };
        if let Some(cmd) = opts.cmds.get(&CmdKind::Start).cloned() {
            b.run_cmd(CmdKind::Start, &cmd, &[])?;
        }
        b.wait_ready()?;
        Ok(b)
    }

    /// `exec:COMMAND` (run in the current directory) or a profile.
    pub fn exec(
        command: &str,
        profile: Option<broker_profile::BrokerProfile>,
        opts: &ExternalOpts,
        scenario: &Scenario,
    ) -> Result<ExternalBroker, String> {
        no_packet_limit(scenario)?;
        let (name, cwd, ready_timeout, ready_log, supports) = match profile {
            Some(p) => (
                Some(p.name),
                p.dir,
                p.ready_timeout,
                p.ready_log,
                p.supports,
            ),
            None => (
                None,
                PathBuf::from("."),
                broker_profile::READY_TIMEOUT,
                None,
                Supports::default(),
            ),
        };
        let scratch = tempfile::Builder::new()
            .prefix("hil-broker-")
            .tempdir()
            .map_err(|e| format!("cannot make the broker's scratch directory: {e}"))?;
        let mut b = ExternalBroker {
            label: name.unwrap_or_else(|| "exec".into()),
            target: Target::Exec {
                command: command.to_string(),
                cwd,
                ready_timeout,
                ready_log,
                port: 0,
                scratch,
                child: None,
                stopped: false,
            },
            opts: opts.clone(),
            supports,
            log: Arc::default(),
        };
        // A port found free can be taken before the broker binds it: try
        // another.
        let mut last = String::new();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port: {e}"))?
                .port();
            if let Target::Exec { port: p, .. } = &mut b.target {
                *p = port;
            }
            match b.spawn().and_then(|_| b.wait_ready()) {
                Ok(()) => return Ok(b),
                Err(e) => {
                    b.kill_group();
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// `127.0.0.1:PORT` (or the bridge, or `HOST:PORT`).
    pub fn addr(&self) -> String {
        match &self.target {
            Target::Tcp {
                bridge: Some(b), ..
            } => b.addr().to_string(),
            Target::Tcp { host, port, .. } => format!("{host}:{port}"),
            Target::Exec { port, .. } => format!("127.0.0.1:{port}"),
        }
    }

    /// For messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The observer's login.
    pub fn login(&self) -> Result<Credentials, String> {
        self.opts.login()
    }

    /// Why it cannot apply `action` (the step is then `unsupported`).
    pub fn supports(&self, action: &Action) -> Result<(), String> {
        let need = |fault: &str, kinds: &[CmdKind]| -> Result<(), String> {
            match (
                &self.target,
                kinds.iter().find(|k| !self.opts.cmds.contains_key(k)),
            ) {
                (Target::Tcp { .. }, Some(k)) => Err(needs_cmd(&self.label, fault, *k)),
                _ => Ok(()),
            }
        };
        match *action {
            Action::BrokerCrash => need("broker_crash", &[CmdKind::Crash]),
            Action::BrokerPowerLoss => need("broker_power_loss", &[CmdKind::Crash]),
            Action::BrokerRestart { persist } => {
                need("broker_restart", &[CmdKind::Restart])?;
                if persist && !self.supports.persistence {
                    return Err(format!(
                        "the broker profile `{}` declares no persistence ([supports] persistence = false): a restart that keeps the broker's state cannot be run",
                        self.label
                    ));
                }
                Ok(())
            }
            Action::BrokerHang | Action::BrokerResume => {
                need("broker_hang", &[CmdKind::Hang, CmdKind::Resume])
            }
            _ => Ok(()),
        }
    }

    /// `broker_crash`.
    pub fn crash(&mut self) -> Result<(), String> {
        match self.target {
            Target::Tcp { .. } => self.user_cmd(CmdKind::Crash, &[]),
            Target::Exec { .. } => {
                self.note("crash: SIGKILL of the process group");
                self.kill_group();
                Ok(())
            }
        }
    }

    /// `broker_restart`: back on the same port, with its state (`persist`)
    /// or without.
    pub fn restart(&mut self, persist: bool) -> Result<(), String> {
        match &self.target {
            Target::Tcp { .. } => {
                let p = if persist { "1" } else { "0" };
                self.user_cmd(CmdKind::Restart, &[("HIL_BROKER_PERSIST", p)])?;
            }
            Target::Exec { scratch, .. } => {
                let dir = scratch.path().to_path_buf();
                self.note(&format!("restart (persist = {persist})"));
                self.kill_group();
                if !persist {
                    empty_dir(&dir)?;
                }
                // The old socket may linger a moment: a broker that cannot
                // bind yet exits, and is started again.
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    match self.spawn().and_then(|_| self.wait_ready()) {
                        Ok(()) => break,
                        Err(_) if Instant::now() < deadline => {
                            self.kill_group();
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// `broker_hang`: SIGSTOP (or `hang=`).
    pub fn hang(&mut self) -> Result<(), String> {
        self.stop_or_continue(true)
    }

    /// The end of `broker_hang`: SIGCONT (or `resume=`).
    pub fn resume(&mut self) -> Result<(), String> {
        self.stop_or_continue(false)
    }

    fn stop_or_continue(&mut self, stop: bool) -> Result<(), String> {
        let kind = if stop { CmdKind::Hang } else { CmdKind::Resume };
        let pgid = match &mut self.target {
            Target::Tcp { .. } => return self.user_cmd(kind, &[]),
            Target::Exec { child, stopped, .. } => {
                *stopped = stop;
                child.as_ref().map(Child::id)
            }
        };
        let Some(pgid) = pgid else {
            return Err(format!(
                "{}: the broker is not running ({} failed)",
                self.label,
                kind.as_str()
            ));
        };
        let sig = if stop { libc::SIGSTOP } else { libc::SIGCONT };
        self.note(&format!(
            "{}: signal {sig} to the process group",
            kind.as_str()
        ));
        // SAFETY: kill(2) takes two integers and touches no memory of ours.
        if unsafe { libc::kill(-(pgid as i32), sig) } != 0 {
            return Err(format!(
                "{}: signal {sig} to the broker's process group failed: {}",
                self.label,
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// Stops what this run started (an exec broker; a `tcp://` broker is
    /// left as it is, resumed if a `hang=` stopped it).
    pub fn shutdown(&mut self) {
        match &self.target {
            Target::Tcp { .. } => {}
            Target::Exec { .. } => self.kill_group(),
        }
    }

    /// `broker.log`: the broker's output and the commands the harness ran.
    pub fn artifacts(&self) -> Vec<Artifact> {
        let log = lock(&self.log).clone();
        if log.is_empty() {
            return Vec::new();
        }
        vec![Artifact::new("broker.log", log)]
    }

    fn note(&self, line: &str) {
        lock(&self.log).extend_from_slice(format!("--- {line} ---\n").as_bytes());
    }

    /// The environment of the broker and of every command.
    fn env(&self) -> Vec<(&'static str, String)> {
        match &self.target {
            Target::Tcp { host, port, .. } => vec![
                ("HIL_BROKER_HOST", host.clone()),
                ("HIL_BROKER_PORT", port.to_string()),
            ],
            Target::Exec {
                port,
                scratch,
                child,
                ..
            } => {
                let mut e = vec![
                    ("HIL_BROKER_HOST", "127.0.0.1".to_string()),
                    ("HIL_BROKER_PORT", port.to_string()),
                    ("HIL_BROKER_DIR", scratch.path().display().to_string()),
                ];
                if let Some(c) = child {
                    e.push(("HIL_BROKER_PGID", c.id().to_string()));
                }
                e
            }
        }
    }

    /// Runs the `--broker-cmd` of `kind` (checked by [`Self::supports`]),
    /// then for `restart=` waits for the port.
    fn user_cmd(&mut self, kind: CmdKind, extra: &[(&str, &str)]) -> Result<(), String> {
        let cmd = self
            .opts
            .cmds
            .get(&kind)
            .cloned()
            .ok_or_else(|| needs_cmd(&self.label, kind.as_str(), kind))?;
        self.run_cmd(kind, &cmd, extra)?;
        if kind == CmdKind::Restart {
            self.wait_ready()?;
        }
        Ok(())
    }

    /// Runs `cmd` with `sh -c` (output into `broker.log`), within
    /// [`CMD_TIMEOUT`], checked for exit 0.
    fn run_cmd(&self, kind: CmdKind, cmd: &str, extra: &[(&str, &str)]) -> Result<(), String> {
        self.note(&format!("{}: {cmd}", kind.as_str()));
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(cmd)
            .envs(self.env())
            .envs(extra.iter().copied());
        // A file, not a pipe: a broker the command starts in the
        // background may keep its output open.
        let file = tempfile::tempfile().map_err(|e| e.to_string())?;
        let io = || file.try_clone().map(Stdio::from).map_err(|e| e.to_string());
        let mut child = c
            .stdin(Stdio::null())
            .stdout(io()?)
            .stderr(io()?)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("--broker-cmd {}: cannot start `{cmd}`: {e}", kind.as_str()))?;
        let deadline = Instant::now() + CMD_TIMEOUT;
        let status = loop {
            if let Ok(Some(s)) = child.try_wait() {
                break Ok(s);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!(
                    "--broker-cmd {}: `{cmd}` did not finish within {CMD_TIMEOUT:?}",
                    kind.as_str()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = Vec::new();
        let mut f = file;
        let _ = f.seek(std::io::SeekFrom::Start(0));
        let _ = f.read_to_end(&mut out);
        lock(&self.log).extend_from_slice(&out);
        let status = status?;
        if !status.success() {
            return Err(format!(
                "--broker-cmd {}: `{cmd}` failed ({status}): {}",
                kind.as_str(),
                tail(&out)
            ));
        }
        Ok(())
    }

    /// Starts the exec broker (not waiting for it).
    fn spawn(&mut self) -> Result<(), String> {
        let env = self.env();
        let Target::Exec {
            command,
            cwd,
            port,
            scratch,
            child,
            stopped,
            ..
        } = &mut self.target
        else {
            return Ok(());
        };
        let cmd = command
            .replace("{port}", &port.to_string())
            .replace("{dir}", &scratch.path().display().to_string());
        lock(&self.log).extend_from_slice(format!("--- start: {cmd} ---\n").as_bytes());
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(&cmd)
            .current_dir(&*cwd)
            .envs(env)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: prctl(2) is async-signal-safe and touches no memory of
        // ours; it runs in the child between fork and exec. The broker
        // dies with the harness's thread (Ctrl-C, SIGKILL).
        unsafe {
            c.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut ch = c
            .spawn()
            .map_err(|e| format!("cannot start the broker `{cmd}`: {e}"))?;
        for (src, tag) in [
            (
                ch.stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
                "",
            ),
            (
                ch.stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
                "[stderr] ",
            ),
        ] {
            let (Some(src), log) = (src, self.log.clone()) else {
                continue;
            };
            std::thread::spawn(move || {
                for line in BufReader::new(src).split(b'\n') {
                    let Ok(line) = line else { return };
                    let mut l = lock(&log);
                    l.extend_from_slice(tag.as_bytes());
                    l.extend_from_slice(&line);
                    l.push(b'\n');
                }
            });
        }
        *child = Some(ch);
        *stopped = false;
        Ok(())
    }

    /// SIGKILL to the exec broker's process group (resumed first if
    /// stopped), and its exit collected.
    fn kill_group(&mut self) {
        if let Target::Exec { child, stopped, .. } = &mut self.target {
            if let Some(mut c) = child.take() {
                let pgid = c.id() as i32;
                // SAFETY: kill(2) takes two integers and touches no memory of ours.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                    libc::kill(-pgid, libc::SIGCONT);
                }
                let _ = c.kill();
                let _ = c.wait();
            }
            *stopped = false;
        }
    }

    /// Waits until the broker accepts TCP (and, for a profile with
    /// `ready.log`, its output shows that text); the error has the tail
    /// of its output.
    fn wait_ready(&mut self) -> Result<(), String> {
        let (timeout, ready_log) = match &self.target {
            Target::Tcp { .. } => (TCP_READY, None),
            Target::Exec {
                ready_timeout,
                ready_log,
                ..
            } => (*ready_timeout, ready_log.clone()),
        };
        let (host, port) = match &self.target {
            Target::Tcp { host, port, .. } => (host.clone(), *port),
            Target::Exec { port, .. } => ("127.0.0.1".to_string(), *port),
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Target::Exec { child: Some(c), .. } = &mut self.target {
                if let Ok(Some(status)) = c.try_wait() {
                    // Give the reader threads a moment for the last lines.
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(format!(
                        "{}: the broker exited ({status}) before it accepted connections on port {port}; its output ends:\n{}",
                        self.label,
                        tail(&lock(&self.log))
                    ));
                }
            }
            // Any of its addresses (`localhost` may be ::1 and 127.0.0.1).
            let up = (host.as_str(), port)
                .to_socket_addrs()
                .is_ok_and(|mut addrs| {
                    addrs
                        .any(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
                });
            let logged = ready_log
                .as_ref()
                .is_none_or(|l| String::from_utf8_lossy(&lock(&self.log)).contains(l.as_str()));
            if up && logged {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{}: the broker did not accept connections on {host}:{port} within {timeout:?}{}; its output ends:\n{}",
                    self.label,
                    ready_log
                        .map(|l| format!(" (or did not log `{l}`)"))
                        .unwrap_or_default(),
                    tail(&lock(&self.log))
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ExternalBroker {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// `[broker] max_packet_size` needs a broker the harness configures.
fn no_packet_limit(scenario: &Scenario) -> Result<(), String> {
    match scenario.broker.max_packet_size {
        Some(_) => Err(
            "`[broker] max_packet_size` is not supported with a broker the harness does not configure; use --broker mosquitto or chaos"
                .into(),
        ),
        None => Ok(()),
    }
}

/// The last lines of `out`, for an error message.
fn tail(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Removes everything in `dir` (a restart without persistence).
fn empty_dir(dir: &Path) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
    for e in entries.flatten() {
        let p = e.path();
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.map_err(|e| format!("cannot remove {}: {e}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_cmds_parse_and_name_their_kind() {
        assert_eq!(
            parse_broker_cmd("restart=systemctl restart emqx"),
            Ok((CmdKind::Restart, "systemctl restart emqx".into()))
        );
        assert_eq!(
            parse_broker_cmd("hang=kill -STOP $(cat pid)"),
            Ok((CmdKind::Hang, "kill -STOP $(cat pid)".into()))
        );
        let e = parse_broker_cmd("reboot=x").unwrap_err();
        assert!(
            e.contains("unknown kind `reboot`") && e.contains("start, crash"),
            "{e}"
        );
        assert!(parse_broker_cmd("crash")
            .unwrap_err()
            .contains("KIND='COMMAND'"));
        assert!(parse_broker_cmd("crash= ").unwrap_err().contains("empty"));
    }

    #[test]
    fn options_are_written_back_without_the_password() {
        let mut o = ExternalOpts::default();
        o.cmds.insert(CmdKind::Restart, "sh ctl.sh restart".into());
        o.cmds.insert(CmdKind::Crash, "sh ctl.sh crash".into());
        o.user = Some("qa".into());
        o.password_env = Some("BROKER_PW".into());
        o.ca = Some("certs/ca.pem".into());
        assert_eq!(
            o.to_args(),
            " --broker-cmd 'crash=sh ctl.sh crash' --broker-cmd 'restart=sh ctl.sh restart' --broker-user qa --broker-password-env BROKER_PW --broker-ca certs/ca.pem"
        );
        std::env::set_var("HIL_TEST_BROKER_PW_1", "s3cret");
        o.password_env = Some("HIL_TEST_BROKER_PW_1".into());
        assert_eq!(o.login(), Ok(Some(("qa".into(), Some(b"s3cret".to_vec())))));
        o.password_env = Some("HIL_TEST_BROKER_PW_UNSET".into());
        let e = o.login().unwrap_err();
        assert!(e.contains("HIL_TEST_BROKER_PW_UNSET is not set"), "{e}");
    }
}
