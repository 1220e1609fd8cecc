//! Black-box DUTs: devices the harness did not build and knows only from
//! the wire. `--dut exec:'CMD ARGS'` (or `--dut PROFILE`, a DUT profile:
//! [`profile`]) runs a host process as the device under test on the live
//! backend ([`ExecDut`], a [`RealtimeDut`]): the harness starts it with
//! the broker address of its fault proxy, stops it, restarts it on
//! `dut_reboot`, and keeps its stdout and stderr as `console.log`. Its side
//! of the trace is what the proxy sees ([`wire`]); its messages are
//! told apart by the sequence numbers in their payloads ([`seq`]). The
//! oracles that need the application's own events are `unsupported` for
//! it (see `crate::oracle::Evidence`).
//!
//! The command runs with `sh -c` in its own process group (the profile's
//! folder, or the current directory for `exec:`); `{host}`, `{port}` and
//! `{client_id}` in it are replaced, and the same values are in
//! `HIL_BROKER_HOST`, `HIL_BROKER_PORT` and `HIL_CLIENT_ID` (the
//! scenario's DUT client id). `HIL_PUBLISH_INTERVAL` (seconds, in wall
//! time) and `HIL_PUBLISH_WAIT` (`1`: each publish completes before the
//! interval starts, as the scenario's own application does by default;
//! `0`: on schedule, without waiting) are the scenario's workload (its
//! first publish stream): a device that can follow them (the apps in
//! `fixtures/duts/` do) is judged against bounds written for the workload
//! it runs; one that cannot keeps its own. `wifi_down` / `wifi_up` are the proxy's link
//! cut, plus the profile's hooks (a signal to the process group, a
//! command, the `[lab]` WiFi hooks). `dut_power_cycle` runs the profile's
//! `[lab] power_off`, SIGKILLs the process group, and after `off_for` runs
//! `power_on` and starts the command again (see `crate::lab`). The
//! harness's own folder comes first on the command's `PATH`
//! ([`dut_path`]), so `hil-peer` (our driver as a process) is found.

pub mod profile;
pub mod seq;
pub mod wire;
#[cfg(test)]
mod wire_judged;

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::backend::Artifact;
use crate::lab::{HookName, LabRunner};
use crate::oracle::Evidence;
use crate::realtime::{RealWorld, RealtimeDut};
use profile::{DutProfile, Hook};
use seq::SeqRule;
use wire::WireView;

/// `--dut`: which device is under test.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DutArg {
    /// `driver`: our own driver and application (the default).
    #[default]
    Driver,
    /// `exec:CMD ARGS`: a host process.
    Exec(String),
    /// A DUT profile: a file, or a name in `fixtures/duts/`.
    Profile(String),
}

impl FromStr for DutArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "driver" => Ok(DutArg::Driver),
            "" => Err("an empty --dut: give driver, exec:'COMMAND' or a DUT profile".into()),
            _ => match s.strip_prefix("exec:") {
                Some(cmd) if cmd.trim().is_empty() => Err(
                    "--dut exec: needs a command, e.g. exec:'python3 fixtures/duts/paho/app.py'"
                        .into(),
                ),
                Some(cmd) => Ok(DutArg::Exec(cmd.to_string())),
                None => Ok(DutArg::Profile(s.to_string())),
            },
        }
    }
}

impl DutArg {
    /// The `--dut` value that chooses it again.
    pub fn to_arg(&self) -> String {
        match self {
            DutArg::Driver => "driver".into(),
            DutArg::Exec(c) => format!("exec:{c}"),
            DutArg::Profile(p) => p.clone(),
        }
    }

    /// The short name in a backend's name (`exec`, the profile's name as
    /// given).
    pub fn label(&self) -> String {
        match self {
            DutArg::Driver => "driver".into(),
            DutArg::Exec(_) => "exec".into(),
            DutArg::Profile(p) => p.clone(),
        }
    }

    /// The black-box DUT it names (a profile is read and checked here);
    /// `None` for our driver.
    pub fn exec_spec(&self) -> Result<Option<ExecSpec>, String> {
        Ok(match self {
            DutArg::Driver => None,
            DutArg::Exec(cmd) => Some(ExecSpec {
                command: cmd.clone(),
                dir: PathBuf::from("."),
                seq: Some(SeqRule::default_for_exec()),
                wifi_down: vec![],
                wifi_up: vec![],
                lab: crate::lab::LabHooks::default(),
            }),
            DutArg::Profile(p) => Some(ExecSpec::from(
                profile::load(p).map_err(|e| format!("bad DUT profile:\n{e}"))?,
            )),
        })
    }
}

impl fmt::Display for DutArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_arg())
    }
}

/// `--dut` on the command line.
pub fn parse_dut(s: &str) -> Result<DutArg, String> {
    s.parse()
}

/// How to run a black-box DUT.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecSpec {
    pub command: String,
    /// Where it runs.
    pub dir: PathBuf,
    pub seq: Option<SeqRule>,
    pub wifi_down: Vec<Hook>,
    pub wifi_up: Vec<Hook>,
    /// The profile's `[lab]` hooks.
    pub lab: crate::lab::LabHooks,
}

impl From<DutProfile> for ExecSpec {
    fn from(p: DutProfile) -> ExecSpec {
        ExecSpec {
            command: p.command,
            dir: p.dir,
            seq: p.seq,
            wifi_down: p.wifi_down,
            wifi_up: p.wifi_up,
            lab: p.lab,
        }
    }
}

impl ExecSpec {
    /// What its trace can show (the QoS oracles need its `seq`).
    pub fn evidence(&self) -> &'static [Evidence] {
        evidence(self.seq.as_ref())
    }

    /// The command with `{host}`, `{port}` and `{client_id}` replaced.
    pub fn command_for(&self, broker: std::net::SocketAddr, client_id: &str) -> String {
        self.command
            .replace("{host}", &broker.ip().to_string())
            .replace("{port}", &broker.port().to_string())
            .replace("{client_id}", client_id)
    }
}

/// What the trace of a device seen only from the wire can show: the wire,
/// and its messages if a `seq` rule tells them apart (the QoS oracles need
/// them). Black-box processes and boards with their own firmware.
pub fn evidence(seq: Option<&SeqRule>) -> &'static [Evidence] {
    if seq.is_some() {
        &[Evidence::Wire, Evidence::Messages]
    } else {
        &[Evidence::Wire]
    }
}

/// A new wire view for a run ([`RealtimeDut::wire_view`]), kept in `slot`
/// so that the DUT can tell it of its reboots ([`WireView::rebooted`]).
pub fn new_wire_view(
    slot: &mut Option<Arc<WireView>>,
    seq: Option<SeqRule>,
    scale: f64,
) -> Arc<WireView> {
    let view = Arc::new(WireView::new(seq, scale));
    *slot = Some(view.clone());
    view
}

/// How long a hook command may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// A host process as the device under test.
pub struct ExecDut {
    spec: ExecSpec,
    view: Option<Arc<WireView>>,
    child: Option<Child>,
    boots: u64,
    console: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    failure: Option<String>,
    lab: LabRunner,
}

impl ExecDut {
    pub fn new(spec: ExecSpec) -> ExecDut {
        ExecDut {
            lab: LabRunner::new(spec.lab.clone()),
            spec,
            view: None,
            child: None,
            boots: 0,
            console: Arc::default(),
            readers: Vec::new(),
            failure: None,
        }
    }

    fn note(&self, line: &str) {
        let mut c = self.console.lock().unwrap_or_else(|e| e.into_inner());
        c.extend_from_slice(format!("--- {line} ---\n").as_bytes());
    }

    fn keep<R: Read + Send + 'static>(&mut self, src: R, tag: &'static str) {
        let console = self.console.clone();
        self.readers.push(std::thread::spawn(move || {
            for line in BufReader::new(src).split(b'\n') {
                let Ok(line) = line else { return };
                let mut c = console.lock().unwrap_or_else(|e| e.into_inner());
                c.extend_from_slice(tag.as_bytes());
                c.extend_from_slice(&line);
                c.push(b'\n');
            }
        }));
    }

    /// Sends `signal` (a name `kill -s` takes) to the process group.
    fn signal(&self, signal: &str) -> Result<(), String> {
        let Some(child) = &self.child else {
            return Ok(());
        };
        let status = Command::new("kill")
            .args(["-s", signal, "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "kill -s {signal} of the DUT's process group failed ({status})"
            ))
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id();
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{pid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let status = child.wait();
            self.note(&format!("stopped by the harness ({status:?})"));
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    /// A new boot of the process is coming (after a stop).
    fn restarted(&mut self) {
        self.boots += 1;
        if let Some(v) = &self.view {
            v.rebooted();
        }
    }

    fn run_hooks(&self, hooks: &[Hook]) -> Result<(), String> {
        for h in hooks {
            match h {
                Hook::Signal(s) => self.signal(s)?,
                Hook::Command(c) => {
                    self.note(&format!("hook: {c}"));
                    let out = run_with_timeout(c, &self.spec.dir, HOOK_TIMEOUT)?;
                    self.console
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&out);
                }
            }
        }
        Ok(())
    }
}

/// Runs a hook command; its output, or why it failed.
fn run_with_timeout(
    cmd: &str,
    dir: &std::path::Path,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start `{cmd}`: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{cmd}` did not finish within {timeout:?}"));
            }
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("`{cmd}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{cmd}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut all = out.stdout;
    all.extend_from_slice(&out.stderr);
    Ok(all)
}

/// The DUT command's `PATH`: the folder of the harness's own executable
/// first (and its parent when that is cargo's `deps/`, as for a test
/// binary), so that helper binaries built with `hil` (`hil-peer`) are
/// found, then the harness's own `PATH`.
pub fn dut_path() -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(PathBuf::from))
    {
        if dir.file_name().is_some_and(|n| n == "deps") {
            if let Some(up) = dir.parent() {
                dirs.push(up.to_path_buf());
            }
        }
        dirs.insert(0, dir);
    }
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
}

/// `HIL_PUBLISH_INTERVAL` (the scenario's first publish stream's interval
/// in wall-time seconds, at the run's time scale) and `HIL_PUBLISH_WAIT`,
/// if the scenario publishes.
fn publish_env(world: &RealWorld) -> Vec<(&'static str, String)> {
    let Some(first) = world.scenario.workload.publish.first() else {
        return Vec::new();
    };
    let secs = first.interval.as_millis() as f64 * world.scale() / 1000.0;
    vec![
        ("HIL_PUBLISH_INTERVAL", format!("{secs}")),
        (
            "HIL_PUBLISH_WAIT",
            if first.wait { "1" } else { "0" }.into(),
        ),
    ]
}

impl RealtimeDut for ExecDut {
    fn boot(&mut self, world: &RealWorld, broker: std::net::SocketAddr) -> Result<(), String> {
        let cmd = self.spec.command_for(broker, &world.dut_client_id);
        self.note(&format!("boot {}: {cmd}", self.boots));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .current_dir(&self.spec.dir)
            .env("HIL_BROKER_HOST", broker.ip().to_string())
            .env("HIL_BROKER_PORT", broker.port().to_string())
            .env("HIL_CLIENT_ID", world.dut_client_id.as_ref())
            .envs(publish_env(world))
            .env("PYTHONUNBUFFERED", "1")
            .env("PATH", dut_path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the DUT `{cmd}`: {e}"))?;
        if let Some(out) = child.stdout.take() {
            self.keep(out, "");
        }
        if let Some(err) = child.stderr.take() {
            self.keep(err, "[stderr] ");
        }
        self.child = Some(child);
        Ok(())
    }

    /// With `[lab] reboot = "power"`: power_off, 1 s, power_on around the
    /// restart; else the process is killed and started again.
    fn reboot(&mut self, world: &RealWorld, broker: std::net::SocketAddr) -> Result<(), String> {
        if self.spec.lab.reboot_by_power {
            self.power(world, broker, false)?;
            std::thread::sleep(crate::lab::REBOOT_OFF_FOR);
            return self.power(world, broker, true);
        }
        self.stop();
        self.restarted();
        self.boot(world, broker)
    }

    /// The profile's `[wifi]` hooks, then its `[lab]` wifi hook.
    fn wifi(&mut self, world: &RealWorld, up: bool) -> Result<(), String> {
        let hooks = if up {
            self.spec.wifi_up.clone()
        } else {
            self.spec.wifi_down.clone()
        };
        self.run_hooks(&hooks)?;
        let h = if up {
            HookName::WifiUp
        } else {
            HookName::WifiDown
        };
        self.lab.run_traced(h, world).map(|_| ())
    }

    /// Off: the profile's `[lab] power_off` (if any), then SIGKILL to the
    /// process group. On: its `power_on` (if any), then the command starts
    /// again.
    fn power(
        &mut self,
        world: &RealWorld,
        broker: std::net::SocketAddr,
        on: bool,
    ) -> Result<(), String> {
        if on {
            self.lab.run_traced(HookName::PowerOn, world)?;
            self.restarted();
            self.boot(world, broker)
        } else {
            let r = self.lab.run_traced(HookName::PowerOff, world);
            self.stop();
            r.map(|_| ())
        }
    }

    /// A command the shell could not run (exit 126 or 127) is the
    /// harness's problem; any other exit is the device's behaviour (its
    /// trace shows it), noted in `console.log`.
    fn failure(&mut self) -> Option<String> {
        if self.failure.is_some() {
            return self.failure.clone();
        }
        let child = self.child.as_mut()?;
        let status = child.try_wait().ok()??;
        self.child = None;
        self.note(&format!("exited on its own: {status}"));
        if matches!(status.code(), Some(126 | 127)) {
            let console = self.console.lock().unwrap_or_else(|e| e.into_inner());
            let tail = String::from_utf8_lossy(&console);
            let last = tail
                .lines()
                .rev()
                .find(|l| !l.starts_with("---"))
                .unwrap_or("");
            self.failure = Some(format!("the DUT command could not run ({status}): {last}"));
        }
        self.failure.clone()
    }

    fn shutdown(&mut self) {
        self.stop();
    }

    /// `console.log`, and `lab.log` when a lab hook ran.
    fn artifacts(&mut self) -> Vec<Artifact> {
        let console = self.console.lock().unwrap_or_else(|e| e.into_inner());
        let mut files = vec![Artifact::new("console.log", console.clone())];
        files.extend(self.lab.artifact());
        files
    }

    fn wire_view(&mut self, scale: f64) -> Option<Arc<WireView>> {
        Some(new_wire_view(&mut self.view, self.spec.seq.clone(), scale))
    }

    fn own_timers(&self) -> bool {
        true
    }
}

impl Drop for ExecDut {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dut_args_read_back() {
        for a in [
            "driver",
            "exec:python3 app.py {host} {port}",
            "paho",
            "x/y.toml",
        ] {
            let d: DutArg = a.parse().unwrap();
            assert_eq!(d.to_arg(), a);
        }
        assert_eq!("exec:a b".parse::<DutArg>(), Ok(DutArg::Exec("a b".into())));
        assert!("exec: "
            .parse::<DutArg>()
            .unwrap_err()
            .contains("needs a command"));
        assert!("".parse::<DutArg>().is_err());
    }

    #[test]
    fn placeholders_are_replaced() {
        let spec = DutArg::Exec("app --host {host} --port {port} --id {client_id}".into())
            .exec_spec()
            .unwrap()
            .unwrap();
        assert_eq!(
            spec.command_for("127.0.0.1:4242".parse().unwrap(), "dut-q"),
            "app --host 127.0.0.1 --port 4242 --id dut-q"
        );
        assert_eq!(spec.evidence(), &[Evidence::Wire, Evidence::Messages]);
    }

    #[test]
    fn the_harness_folder_comes_first_on_the_dut_path() {
        let exe = std::env::current_exe().unwrap();
        let first = std::env::split_paths(&dut_path()).next().unwrap();
        assert_eq!(first, exe.parent().unwrap());
    }

    #[test]
    fn a_missing_profile_is_a_clear_error() {
        let e = DutArg::Profile("no-such-dut".into())
            .exec_spec()
            .unwrap_err();
        assert!(e.contains("cannot read the DUT profile"), "{e}");
        assert!(e.contains("fixtures/duts/no-such-dut.toml"), "{e}");
    }

    #[test]
    fn a_failing_hook_is_an_error_with_its_output() {
        let e = run_with_timeout(
            "echo nope >&2; exit 3",
            std::path::Path::new("."),
            HOOK_TIMEOUT,
        )
        .unwrap_err();
        assert!(e.contains("nope") && e.contains("3"), "{e}");
        let e = run_with_timeout(
            "sleep 5",
            std::path::Path::new("."),
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(e.contains("did not finish"), "{e}");
        assert_eq!(
            run_with_timeout("echo ok", std::path::Path::new("."), HOOK_TIMEOUT).unwrap(),
            b"ok\n"
        );
    }
}
