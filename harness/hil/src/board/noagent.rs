//! A board with its own firmware (profile `agent = "none"`) as the
//! real-time executor's device under test ([`NoAgentDut`], a
//! [`RealtimeDut`]): the firmware is the board's, unchanged, and speaks no
//! agent protocol. Its side of the trace is what the DUT's fault proxy
//! sees ([`crate::blackbox::wire`], as for a black-box process); its
//! messages are told apart by the profile's `seq` rule; the oracles that
//! need the application's own events are `unsupported`.
//!
//! The fault proxy listens on the address the firmware is built for (the
//! profile's `[network] firmware_broker`). The virtual board
//! (`hil-vboard --no-agent`) is "built" when the harness starts it: with
//! the proxy's address and the scenario's DUT client id. A real board is
//! running already; if its profile has a reset method, the harness resets
//! it at the start of the run, so that the run starts from a boot.
//!
//! The serial console, if the profile has one, goes to `console.log` (with
//! `--- ... ---` lines for what the harness did); `board.json` has the
//! resets and port reopens. `dut_reboot` is the profile's reset: DTR/RTS,
//! a console line, or the probe (`method = "none"`: `unsupported`); the
//! port is reopened if it vanishes. `wifi_down` / `wifi_up` are the
//! proxy's link cut only (the firmware's WiFi is its own).

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::dut::{lock, open_link, start_virtual, BoardRunInfo, Shared, VirtualBoard};
use super::link::BoardLink;
use super::profile::{Profile, Reset, Transport};
use crate::backend::Artifact;
use crate::blackbox::wire::WireView;
use crate::realtime::{RealWorld, RealtimeDut};
use crate::scenario::fault::Action;

enum Ctl {
    Reset,
    Stop,
}

/// A board with its own firmware, for one run.
pub struct NoAgentDut {
    profile: Profile,
    view: Option<Arc<WireView>>,
    shared: Arc<Shared>,
    tx: Option<Sender<Ctl>>,
    thread: Option<JoinHandle<()>>,
    vboard: Option<VirtualBoard>,
    /// The profile's `[lab]` hooks (power, the access point).
    lab: crate::lab::LabRunner,
    /// Where the run's board info goes when it ends (shared with the backend).
    sink: Arc<Mutex<Option<BoardRunInfo>>>,
}

impl NoAgentDut {
    pub fn new(profile: Profile, sink: Arc<Mutex<Option<BoardRunInfo>>>) -> Self {
        NoAgentDut {
            lab: crate::lab::LabRunner::new(profile.lab.clone()),
            profile,
            view: None,
            shared: Arc::default(),
            tx: None,
            thread: None,
            vboard: None,
            sink,
        }
    }

    fn send(&self, c: Ctl) -> Result<(), String> {
        match &self.tx {
            Some(tx) => tx
                .send(c)
                .map_err(|_| "the board's console thread has stopped".to_string()),
            None => Err("the board was not booted".into()),
        }
    }
}

/// The `hil-vboard` arguments that "build" its own firmware for this run.
fn firmware_args(world: &RealWorld, broker: SocketAddr) -> Vec<String> {
    vec![
        "--no-agent".into(),
        "--broker".into(),
        broker.to_string(),
        "--client-id".into(),
        world.dut_client_id.to_string(),
    ]
}

impl RealtimeDut for NoAgentDut {
    fn boot(&mut self, world: &RealWorld, broker: SocketAddr) -> Result<(), String> {
        let mut reset_first = false;
        let link = match self.profile.transport {
            Transport::None => None,
            Transport::Virtual { .. } => {
                let (vb, path) = start_virtual(&self.profile, &firmware_args(world, broker))?;
                self.vboard = Some(vb);
                Some(open_link(&self.profile, Some(path))?)
            }
            _ => {
                reset_first = self.profile.reset != Reset::None;
                Some(open_link(&self.profile, None)?)
            }
        };
        lock(&self.shared.info).boots = 1;
        let (tx, rx) = mpsc::channel();
        let mut console = Console {
            profile: self.profile.clone(),
            link,
            rx,
            shared: self.shared.clone(),
        };
        if reset_first {
            console.note("reset at the start of the run");
            console.reset()?;
        }
        self.thread = Some(
            std::thread::Builder::new()
                .name("board-console".into())
                .spawn(move || console.run())
                .map_err(|e| format!("cannot start the board's console thread: {e}"))?,
        );
        self.tx = Some(tx);
        Ok(())
    }

    fn reboot(&mut self, world: &RealWorld, broker: SocketAddr) -> Result<(), String> {
        if self.profile.reset == Reset::Power {
            // `[reset] method = "power"`: the bench's power hooks.
            self.power(world, broker, false)?;
            std::thread::sleep(crate::lab::REBOOT_OFF_FOR);
            return self.power(world, broker, true);
        }
        if let Some(v) = &self.view {
            v.rebooted();
        }
        lock(&self.shared.info).boots += 1;
        self.send(Ctl::Reset)
    }

    /// The firmware's WiFi is its own: the proxy's link cut is the fault.
    /// The proxy cuts the link; the profile's `[lab]` WiFi hooks, when it
    /// has them, take the access point away too.
    fn wifi(&mut self, world: &RealWorld, up: bool) -> Result<(), String> {
        if !self.profile.lab.has_wifi() {
            return Ok(());
        }
        let h = if up {
            crate::lab::HookName::WifiUp
        } else {
            crate::lab::HookName::WifiDown
        };
        self.lab.run_traced(h, world).map(|_| ())
    }

    /// `dut_power_cycle`: the profile's `[lab] power_off` / `power_on` (and
    /// the virtual board's power model: its process killed, a new one on
    /// the same PTY path).
    fn power(&mut self, world: &RealWorld, _broker: SocketAddr, on: bool) -> Result<(), String> {
        use crate::lab::HookName;
        if let Some(v) = &self.view {
            if !on {
                v.rebooted();
            }
        }
        if on {
            self.lab.run_traced(HookName::PowerOn, world)?;
            lock(&self.shared.info).boots += 1;
            if let Some(vb) = &mut self.vboard {
                vb.power(&self.profile, true)?;
            }
            Ok(())
        } else {
            let r = self.lab.run_traced(HookName::PowerOff, world);
            if let Some(vb) = &mut self.vboard {
                vb.power(&self.profile, false)?;
            }
            r.map(|_| ())
        }
    }

    fn supports(&self, action: &Action) -> Result<(), String> {
        super::supports(
            &self.profile,
            action,
            " (its own firmware; [reset] method = \"dtr_rts\", \"console\" or \"probe\" would reboot it)",
        )
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
        *lock(&self.sink) = Some(lock(&self.shared.info).clone());
    }

    /// `console.log` (the board's console, if it has one) and `board.json`.
    fn artifacts(&mut self) -> Vec<Artifact> {
        let Some(info) = lock(&self.sink).clone() else {
            return Vec::new();
        };
        let mut files = vec![Artifact::new("console.log", info.console.clone())];
        files.extend(self.lab.artifact());
        if let Ok(j) = serde_json::to_string_pretty(&info) {
            files.push(Artifact::new("board.json", j + "\n"));
        }
        files
    }

    fn wire_view(&mut self, scale: f64) -> Option<Arc<WireView>> {
        Some(crate::blackbox::new_wire_view(
            &mut self.view,
            self.profile.seq.clone(),
            scale,
        ))
    }

    fn own_timers(&self) -> bool {
        true
    }
}

impl Drop for NoAgentDut {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The console thread: reads the board's console into `console.log`,
/// carries out resets, reopens a port that vanished.
struct Console {
    profile: Profile,
    link: Option<Box<dyn BoardLink>>,
    rx: Receiver<Ctl>,
    shared: Arc<Shared>,
}

impl Console {
    fn note(&self, what: &str) {
        lock(&self.shared.info)
            .console
            .extend_from_slice(format!("--- {what} ---\n").as_bytes());
    }

    fn fail(&self, m: String) {
        let mut f = lock(&self.shared.failure);
        if f.is_none() {
            *f = Some(m);
        }
    }

    fn reset(&mut self) -> Result<(), String> {
        let Some(link) = self.link.as_mut() else {
            return Err(format!(
                "board profile `{}` has no link to reset the board by",
                self.profile.name
            ));
        };
        let r = match &self.profile.reset {
            Reset::DtrRts(steps) => link.line_reset(steps).map_err(|e| e.to_string()),
            Reset::Probe => link.probe_reset().map_err(|e| e.to_string()),
            Reset::Console(line) => link
                .write_all(format!("{line}\r\n").as_bytes())
                .map_err(|e| e.to_string()),
            Reset::Power => Err(
                "reset method `power` is done by the harness's [lab] hooks, not the link".into(),
            ),
            Reset::Agent | Reset::None => Err("the profile has no reset method".into()),
        };
        r.map_err(|e| format!("resetting the board on {} failed: {e}", link.describe()))
    }

    /// The port vanished (a reset): wait for it to come back.
    fn reopen(&mut self) -> Result<(), String> {
        let timeout = self.profile.reopen_timeout.to_std();
        let link = self.link.as_mut().expect("only called with a link");
        link.reopen(timeout)
            .map_err(|m| format!("{m} ({})", link.describe()))?;
        lock(&self.shared.info).reopens += 1;
        self.note("port reopened");
        Ok(())
    }

    fn run(&mut self) {
        let mut buf = [0u8; 4096];
        loop {
            let ctl = match &self.link {
                Some(_) => self.rx.try_recv().map_err(|e| match e {
                    mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                    mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                }),
                None => self.rx.recv_timeout(Duration::from_millis(100)),
            };
            match ctl {
                Ok(Ctl::Reset) => {
                    self.note("reset");
                    if let Err(e) = self.reset() {
                        self.fail(e);
                        return;
                    }
                }
                Ok(Ctl::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            let Some(link) = self.link.as_mut() else {
                continue;
            };
            match link.read(&mut buf, Duration::from_millis(20)) {
                Ok(n) => lock(&self.shared.info).console.extend_from_slice(&buf[..n]),
                Err(_) => {
                    if let Err(e) = self.reopen() {
                        self.fail(e);
                        return;
                    }
                }
            }
        }
    }
}
