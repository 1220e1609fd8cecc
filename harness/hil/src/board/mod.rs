//! The board backend: scenarios on a board that runs firmware speaking the
//! agent protocol (`fixtures/agents/PROTOCOL.md`), over a serial port, a
//! debug probe (crate `hil-probe`, with the cargo feature `probe`), or the virtual
//! board on a PTY (`hil-vboard`, for CI).
//!
//! `hil run --backend board --board PROFILE SCENARIOS...`. A DUT kind of
//! the real-time run ([`crate::realtime::run_with`]), as the live backend
//! is: a real mosquitto, the fault proxies, the observer, the same trace,
//! oracles and reports; only the device under test differs
//! ([`dut::BoardDut`], a [`crate::realtime::RealtimeDut`]). Board profiles:
//! [`profile`]. Faults:
//!
//! | fault | board |
//! |---|---|
//! | network faults, `broker_*` | the fault proxy / the managed broker, as on live |
//! | `wifi_down` / `wifi_up` | the agent's `wifi_off` / `wifi_on`, and the proxy blackholes the board's traffic |
//! | `dut_reboot` | the profile's reset: the agent's `reboot`, a DTR/RTS sequence, or the probe; the port is reopened if it vanishes |
//!
//! A board with its own firmware (profile `agent = "none"`) speaks no
//! agent protocol: [`noagent::NoAgentDut`], judged from the fault proxy's
//! wire view like a black-box process.
//!
//! What the board reported besides the trace (its `hello`, heap reports,
//! protocol error counts, console output) comes back with the run as the
//! artifacts `board.json` and `console.log`, which the harness writes next
//! to the run's trace.

pub mod clock;
pub mod dut;
pub mod labgrid;
pub mod link;
pub mod noagent;
#[cfg(feature = "probe")]
pub mod probe;
pub mod profile;
pub mod protocol;
pub mod qualify;
pub mod raw_repl;
pub mod remote_serial;
pub mod rfc2217;
pub mod virtual_board;
pub mod virtual_firmware;

use std::sync::{Arc, Mutex};

use crate::backend::{Backend, BackendError, RunOutcome};
use crate::realtime::{BrokerKind, Rig};
use crate::scenario::Scenario;
use crate::trace::sink::TraceSink;
use dut::{BoardDut, BoardRunInfo};
use profile::Profile;

/// The probes a probe-rs build would look for, and how to list them.
pub fn probe_unavailable() -> String {
    "the probe transport needs the probe-rs support (crate harness/hil-probe, cargo feature `probe`), \
     which is not built into this `hil`; it looks for CMSIS-DAP, ST-Link, J-Link, FTDI and ESP USB-JTAG \
     (303a:1001) probes: list them with `probe-rs list`, or use a serial transport"
        .into()
}

/// Runs scenarios on the board a profile describes.
pub struct BoardBackend {
    profile: Profile,
    name: String,
    /// How the profile was named on the command line (for replay commands).
    profile_arg: String,
    /// MicroPython: check and write the agent script before starting it.
    upload: bool,
    last: Arc<Mutex<Option<BoardRunInfo>>>,
    /// `--board labgrid:PLACE`: the place, held as long as the backend.
    lease: Option<Arc<labgrid::Lease>>,
}

impl BoardBackend {
    pub fn new(profile: Profile) -> BoardBackend {
        let name = format!("board/{}", profile.name);
        BoardBackend {
            profile_arg: profile.name.clone(),
            upload: true,
            profile,
            name,
            last: Arc::default(),
            lease: None,
        }
    }

    /// Keeps a labgrid place acquired as long as this backend lives.
    pub fn with_lease(mut self, lease: Arc<labgrid::Lease>) -> Self {
        self.lease = Some(lease);
        self
    }

    /// The profile as the command line named it (a file, or a name in
    /// fixtures/boards/): replay commands repeat it.
    pub fn with_profile_arg(mut self, arg: &str) -> Self {
        self.profile_arg = arg.to_string();
        self
    }

    /// `false`: a MicroPython board has the agent script already; it is
    /// started without being checked or written (`--no-upload`).
    pub fn with_upload(mut self, upload: bool) -> Self {
        self.upload = upload;
        self
    }

    /// What the board reported in the last run.
    pub fn last_info(&self) -> Option<BoardRunInfo> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The labgrid place this backend holds, if any.
    pub fn lease(&self) -> Option<Arc<labgrid::Lease>> {
        self.lease.clone()
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }
}

/// The backend for `--backend board --board PROFILE [--no-upload]`:
/// `profile` is a file, or a name in fixtures/boards/; or `labgrid:PLACE`,
/// the place acquired (waiting up to `wait_place` while someone else holds
/// it) and held as long as the backend.
pub fn backend_waiting(
    profile: &str,
    upload: bool,
    wait_place: Option<crate::duration::Dur>,
) -> Result<BoardBackend, BackendError> {
    if let Some(place) = profile.strip_prefix(labgrid::PREFIX) {
        crate::sweep::install_ctrlc();
        let lease = labgrid::acquire(place, wait_place).map_err(BackendError::Infrastructure)?;
        let p = labgrid::profile_for(&lease).map_err(BackendError::Infrastructure)?;
        return Ok(BoardBackend::new(p)
            .with_profile_arg(profile)
            .with_upload(upload)
            .with_lease(Arc::new(lease)));
    }
    let (_, p) = profile::load(profile)
        .map_err(|e| BackendError::Infrastructure(format!("bad board profile:\n{e}")))?;
    Ok(BoardBackend::new(p)
        .with_profile_arg(profile)
        .with_upload(upload))
}

impl Backend for BoardBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn replay_args(&self) -> String {
        let board = format!(" --board {}", crate::backend::shell_word(&self.profile_arg));
        if self.upload {
            board
        } else {
            board + " --no-upload"
        }
    }

    /// A board with its own firmware is seen from the wire only.
    fn evidence(&self) -> &[crate::oracle::Evidence] {
        match self.profile.agent {
            profile::AgentKind::None => crate::blackbox::evidence(self.profile.seq.as_ref()),
            _ => crate::oracle::Evidence::ALL,
        }
    }

    fn run(
        &self,
        scenario: &Scenario,
        seed: u64,
        sink: &mut dyn TraceSink,
    ) -> Result<RunOutcome, BackendError> {
        #[cfg(not(feature = "probe"))]
        if let profile::Transport::Probe { .. } = self.profile.transport {
            return Err(BackendError::Infrastructure(probe_unavailable()));
        }
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let rig = Rig {
            name: self.name.clone(),
            broker: BrokerKind::Mosquitto,
            dut_listen: self.profile.proxy_listen,
        };
        if self.profile.agent == profile::AgentKind::None {
            let dut = noagent::NoAgentDut::new(self.profile.clone(), self.last.clone());
            return crate::realtime::run_with(&rig, Box::new(dut), scenario, seed, sink);
        }
        let uploaded = if self.upload {
            dut::install_agent(&self.profile)
                .map_err(BackendError::Infrastructure)?
                .map_or(0, |i| if i.skipped { 0 } else { i.bytes })
        } else {
            0
        };
        let dut = BoardDut::new(self.profile.clone(), self.last.clone(), uploaded);
        crate::realtime::run_with(&rig, Box::new(dut), scenario, seed, sink)
    }
}

/// The transcript a board run is snapshot-checked with: the order of the
/// DUT's and the fault executor's state changes ([`Transcript::render_live`]
/// of those actors), with each run of reconnection attempts folded into one
/// `reconnecting` line and identical neighbours folded. What varies with
/// timing on real hardware (how many attempts, publishes, pings, the
/// broker's and observer's interleaving) is left to the oracles, and so are
/// `render_live`'s `counts:` lines (a stray ack, say: a resend that a late
/// PUBACK overtook, which a loaded machine makes now and then; a scenario
/// that forbids it says so with `no_stray_acks`).
///
/// [`Transcript::render_live`]: crate::transcript::Transcript::render_live
pub fn state_transcript(records: &[crate::trace::Record]) -> String {
    use crate::trace::{Actor, Event};
    let kept: Vec<crate::trace::Record> = records
        .iter()
        .filter(|r| {
            matches!(
                r.actor,
                Actor::Harness | Actor::Faults | Actor::Dut | Actor::App
            )
        })
        // What render_live counts (publishes, acks, pings...) becomes
        // `counts:` lines, dropped below; these are not counted but are no
        // states either.
        .filter(|r| {
            !matches!(
                r.event,
                Event::SessionUncertain | Event::AppPublishFailed { .. }
            )
        })
        .cloned()
        .collect();
    let text = crate::transcript::Transcript::render_live(&kept);
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"counts:") {
            continue;
        }
        let line = match words.as_slice() {
            [who @ ("dut" | "dut@wire"), "connecting" | "connect_failed", ..] => {
                format!("{who:<8} reconnecting")
            }
            _ => line.split(" (x").next().unwrap_or(line).to_string(),
        };
        if out.last() != Some(&line) {
            out.push(line);
        }
    }
    out.join("\n") + "\n"
}

/// Which fault steps a board (with or without our agent) can take:
/// `dut_reboot` needs a reset method (`no_reset_hint` follows the error),
/// `dut_power_cycle` the profile's `[lab] power_off` / `power_on`.
fn supports(
    profile: &profile::Profile,
    action: &crate::scenario::fault::Action,
    no_reset_hint: &str,
) -> Result<(), String> {
    use crate::scenario::fault::Action;
    match (action, &profile.reset) {
        (Action::DutReboot, profile::Reset::None) => Err(format!(
            "board profile `{}` has no reset method{no_reset_hint}",
            profile.name
        )),
        (Action::DutPowerOff | Action::DutPowerOn, _) if !profile.lab.has_power() => Err(format!(
            "the board profile `{}` has no [lab] power_off/power_on",
            profile.name
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendKind;

    #[test]
    fn a_board_runs_replay_command_names_the_profile() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/boards/virtual.toml"
        );
        let (_, profile) = profile::load(path).unwrap();
        let b = BoardBackend::new(profile.clone());
        let scenario = std::path::Path::new("scenarios/x.toml");
        assert_eq!(
            crate::run::replay_command(scenario, 3, BackendKind::Board, &b),
            "hil run scenarios/x.toml --seed 3 --backend board --board virtual"
        );
        let b = BoardBackend::new(profile).with_profile_arg("/tmp/my board's.toml");
        assert_eq!(b.replay_args(), " --board '/tmp/my board'\\''s.toml'");
    }

    #[test]
    fn the_state_transcript_keeps_states_in_order_and_leaves_counts_to_the_oracles() {
        use crate::trace::{Actor, Event, Record};
        let connected = || Event::Connected {
            session_present: true,
            keepalive_s: 60,
        };
        let rs = [
            Record::new(0, Actor::Dut, Event::Connecting { attempt: 1 }),
            Record::new(5, Actor::Dut, connected()),
            Record::new(6, Actor::Dut, Event::Up),
            Record::new(10, Actor::Dut, Event::PingSent),
            Record::new(
                20,
                Actor::Dut,
                Event::ConnectionLost {
                    reason: "reset".into(),
                },
            ),
            Record::new(21, Actor::Dut, Event::Connecting { attempt: 1 }),
            Record::new(
                22,
                Actor::Dut,
                Event::ConnectFailed {
                    reason: "refused".into(),
                },
            ),
            Record::new(23, Actor::Dut, Event::Connecting { attempt: 2 }),
            Record::new(30, Actor::Dut, connected()),
            Record::new(31, Actor::Dut, Event::Up),
            // A resend overtaken by a late PUBACK: a count, not a state.
            Record::new(40, Actor::Dut, Event::StrayAck { pid: 7 }),
        ];
        assert_eq!(
            state_transcript(&rs),
            "dut      reconnecting\n\
             dut      connected keepalive_s=60 session_present=true\n\
             dut      up\n\
             dut      connection_lost\n\
             dut      reconnecting\n\
             dut      connected keepalive_s=60 session_present=true\n\
             dut      up\n"
        );
    }
}
