//! Real time: what the live and board backends share. A run here has the
//! wall clock (scaled by the scenario's `live_time_scale`, see [`scale`]),
//! a real broker ([`BrokerKind`]: a mosquitto process, the chaos broker on
//! real TCP, or a container), the MQTT-aware fault proxies in front of it
//! (one for the DUT, one for the observer), the observer ([`observer`]),
//! and the fault executor ([`run_with`]) that applies the schedule to them
//! and to the device under test.
//!
//! The device under test is a [`RealtimeDut`]: `resilient-mqtt` and the
//! workload application in-process (`crate::live`), a board speaking
//! the agent protocol (`crate::board`), or a black-box host process seen
//! only from the wire (`crate::blackbox`: its side of the trace comes from
//! the DUT's fault proxy, [`RealtimeDut::wire_view`]). The trace has the simulator's
//! events, actors and payload ids; `t_ms` is wall time since the start,
//! divided by `live_time_scale`, so thresholds stay in scenario time.
//!
//! How faults map (one place: `Executor::apply`):
//!
//! | fault | real time |
//! |---|---|
//! | `wifi_down` / `wifi_up` | the DUT's WiFi drops ([`RealtimeDut::wifi`]) and its proxy blackholes both ways; then restored |
//! | `link_blackhole` / `link_restore` | proxy `blackhole` on that link's proxy (sockets stay open, packets vanish) |
//! | `link_hold` / `link_release` | proxy `hold` (delivered in order at the release) |
//! | `latency` | proxy `latency MIN jitter MAX-MIN` (scaled) |
//! | `broker_crash` | mosquitto: SIGKILL; chaos: every connection dropped |
//! | `broker_power_loss` | both proxies blackhole first (no FIN reaches anyone), then the crash |
//! | `broker_restart {persist}` | restart on the same port with the autosave (1 s), or with it deleted; announced in the trace once the broker is back |
//! | `broker_hang` / end | mosquitto: SIGSTOP / SIGCONT; chaos: its `hang` fault |
//! | `broker_refuse {code}` | the DUT's proxy rewrites every CONNACK to `code` |
//! | `broker_drop {packet, count, for}` | the DUT's proxy drops the next `count` packets of that type (its count survives broker restarts); with `for`, every one (or the next `count`) until the rule is removed at its end |
//! | `broker_delay`, `broker_close_after`, `broker_duplicate`, `broker_forget_sessions`, `broker_close_after_bytes`, `broker_delay_connack`, `broker_reuse_pid` | the chaos broker's own faults on the DUT's client id (`--broker chaos`; other brokers: `unsupported`); a restarted chaos broker gets them back as the stopped one had them |
//! | `wifi_associating` | the DUT's WiFi drops (proxy blackhole), then reports up while the proxy still blackholes (connects hang) or also refuses (connects fail), until IP works |
//! | `link_reset` | the link's proxy resets every open connection (`reset-peer` for 200 ms) |
//! | `latency {direction}` | an `up` / `down` proxy latency rule, on top of the link's |
//! | `dut_reboot` | [`RealtimeDut::reboot`] |
//! | `dut_power_cycle {off_for}` | the DUT's proxy blackholes both ways, [`RealtimeDut::power`] off (the in-process DUT's runtime dropped; a black-box process SIGKILLed; the profile's `[lab] power_off`); after `off_for` the blackhole ends and it powers on (boots) |
//!
//! `[network] loss` is not supported (no netem on this kernel). Every
//! process and socket the run starts is stopped when it ends, fails or
//! panics; mosquitto also dies with the harness (Ctrl-C, SIGKILL).
//!
//! # Adding a DUT kind
//!
//! Implement [`RealtimeDut`] (boot, reboot, WiFi, what it cannot do, its
//! infrastructure failures, shutdown, and the files it leaves:
//! [`RealtimeDut::artifacts`]; for a device known only from the wire,
//! [`RealtimeDut::wire_view`]) in the DUT kind's own module, give it a
//! [`crate::backend::Backend`] that calls [`run_with`] (and says which
//! trace evidence it produces: `Backend::evidence`), and add its variant
//! to `crate::backends::BackendSpec` and its arm to `crate::backends::create`.
//! A kind that runs against the live backend's brokers can instead be a
//! `--dut` choice of the live backend, as the black-box process is
//! (`crate::blackbox::DutArg`).

mod broker;
pub mod broker_profile;
pub mod container;
pub mod external;
mod observer;
pub mod scale;
mod tls_bridge;
mod world;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fault_proxy::{Proxy, ProxyConfig, RuleSpec};
use resilient_mqtt::session::Session;
use tokio::runtime::Runtime;

use resilient_mqtt::client::TcpTransport;

use crate::backend::{Artifact, BackendError, RunOutcome};
use crate::chaos_faults::{chaos_action, ChaosAction};
use crate::scenario::fault::Action;
use crate::scenario::network::Link;
use crate::scenario::Scenario;
use crate::trace::sink::TraceSink;
use crate::trace::{Actor, Event};
pub use broker::LiveBroker;
use chaos_broker::FaultTarget;
pub use container::ContainerSpec;
pub use external::{parse_broker_cmd, CmdKind, ExternalOpts};
pub use observer::{OBSERVER_PASSWORD, OBSERVER_USER};
pub use world::RealWorld;

/// Which broker a live run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerKind {
    /// A mosquitto process (`mosquitto-rig`), the default.
    Mosquitto,
    /// Our chaos broker on real TCP.
    Chaos,
    /// A container (testcontainers) of IMAGE (default `eclipse-mosquitto:2`),
    /// see [`container`].
    Container(ContainerSpec),
    /// `tcp://HOST:PORT` or `tls://HOST:PORT`: a broker that is already
    /// running, which the harness does not start ([`external`]).
    Tcp {
        host: String,
        port: u16,
        tls: bool,
        opts: ExternalOpts,
    },
    /// `exec:COMMAND`: a broker process the harness starts on a port it
    /// picks (`{port}`), see [`external`].
    Exec { cmd: String, opts: ExternalOpts },
    /// A broker profile (a file, or a name in `fixtures/brokers/`): an
    /// exec broker with a name, a ready check and what it supports
    /// ([`broker_profile`]).
    Profile { name: String, opts: ExternalOpts },
}

impl BrokerKind {
    pub fn name(&self) -> String {
        match self {
            BrokerKind::Mosquitto => "mosquitto".into(),
            BrokerKind::Chaos => "chaos".into(),
            BrokerKind::Container(c) => format!("container:{}", c.image),
            BrokerKind::Tcp {
                host, port, tls, ..
            } => format!("{}://{host}:{port}", if *tls { "tls" } else { "tcp" }),
            BrokerKind::Exec { .. } => "exec".into(),
            BrokerKind::Profile { name, .. } => name.clone(),
        }
    }

    /// The options of a broker the harness did not build (`--broker-cmd`,
    /// `--broker-user`...); `None` for the brokers it starts itself.
    pub fn opts(&self) -> Option<&ExternalOpts> {
        match self {
            BrokerKind::Tcp { opts, .. }
            | BrokerKind::Exec { opts, .. }
            | BrokerKind::Profile { opts, .. } => Some(opts),
            _ => None,
        }
    }

    /// This broker with `opts` (empty options fit every broker; others
    /// only those the harness did not build, `--broker-cmd` only
    /// `tcp://` and `tls://`, `--broker-ca` only `tls://`).
    pub fn with_opts(mut self, new: ExternalOpts) -> Result<BrokerKind, String> {
        if new.is_empty() {
            return Ok(self);
        }
        let name = self.name();
        let is_tls = matches!(self, BrokerKind::Tcp { tls: true, .. });
        let is_tcp = matches!(self, BrokerKind::Tcp { .. });
        let Some(opts) = (match &mut self {
            BrokerKind::Tcp { opts, .. }
            | BrokerKind::Exec { opts, .. }
            | BrokerKind::Profile { opts, .. } => Some(opts),
            _ => None,
        }) else {
            return Err(format!(
                "--broker-cmd, --broker-user, --broker-password-env and --broker-ca are for brokers the harness does not configure (tcp://, tls://, exec:, a broker profile), not {name}"
            ));
        };
        if !new.cmds.is_empty() && !is_tcp {
            return Err(format!(
                "--broker-cmd is for tcp:// and tls:// brokers: the harness runs {name} itself (crash = SIGKILL, restart = start again, hang = SIGSTOP)"
            ));
        }
        if new.ca.is_some() && !is_tls {
            return Err(format!(
                "--broker-ca needs --broker tls://HOST:PORT (not {name})"
            ));
        }
        if new.password_env.is_some() && new.user.is_none() {
            return Err("--broker-password-env needs --broker-user".into());
        }
        *opts = new;
        Ok(self)
    }

    /// `--broker VALUE` and the options that go with it, for a command
    /// line that chooses this broker again.
    pub fn args(&self) -> String {
        format!(
            " --broker {}{}",
            crate::backend::shell_word(&self.to_arg()),
            self.opts().map(ExternalOpts::to_args).unwrap_or_default()
        )
    }

    /// The `--broker` argument that chooses this broker again (every
    /// container option that differs from the image's defaults included):
    /// `arg.parse()` gives back an equal value.
    pub fn to_arg(&self) -> String {
        let c = match self {
            BrokerKind::Container(c) => c,
            BrokerKind::Exec { cmd, .. } => return format!("exec:{cmd}"),
            _ => return self.name(),
        };
        let defaults = ContainerSpec::new(&c.image);
        let mut a = format!("container:{}", c.image);
        if c.port != defaults.port {
            a.push_str(&format!(",port={}", c.port));
        }
        for (host, path) in &c.mounts {
            a.push_str(&format!(",mount={host}:{path}"));
        }
        for (k, v) in &c.env {
            a.push_str(&format!(",env={k}={v}"));
        }
        if c.data != defaults.data {
            if let Some(d) = &c.data {
                a.push_str(&format!(",data={d}"));
            }
        }
        a
    }
}

impl FromStr for BrokerKind {
    type Err = String;

    /// `mosquitto`, `chaos`, `container`, or
    /// `container:IMAGE[,port=P][,mount=HOST:PATH]...[,env=K=V]...[,data=PATH]`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mosquitto" => Ok(BrokerKind::Mosquitto),
            "chaos" => Ok(BrokerKind::Chaos),
            "container" => Ok(BrokerKind::Container(ContainerSpec::new(
                ContainerSpec::DEFAULT_IMAGE,
            ))),
            other => {
                if let Some(rest) = other.strip_prefix("container:") {
                    return parse_container(rest).map(BrokerKind::Container);
                }
                for (scheme, tls) in [("tcp://", false), ("tls://", true)] {
                    if let Some(rest) = other.strip_prefix(scheme) {
                        let (host, port) =
                            parse_host_port(rest).map_err(|e| format!("--broker {other}: {e}"))?;
                        return Ok(BrokerKind::Tcp {
                            host,
                            port,
                            tls,
                            opts: ExternalOpts::default(),
                        });
                    }
                }
                if let Some(cmd) = other.strip_prefix("exec:") {
                    if !cmd.contains("{port}") {
                        return Err(format!(
                            "--broker exec:{cmd}: the command must listen on {{port}} (the port the harness picks), e.g. exec:'amqtt -c conf.yaml' with the port written as {{port}} in it"
                        ));
                    }
                    return Ok(BrokerKind::Exec {
                        cmd: cmd.to_string(),
                        opts: ExternalOpts::default(),
                    });
                }
                if !other.is_empty() && broker_profile::exists(other) {
                    broker_profile::load(other).map_err(|e| format!("bad broker profile:\n{e}"))?;
                    return Ok(BrokerKind::Profile {
                        name: other.to_string(),
                        opts: ExternalOpts::default(),
                    });
                }
                Err(format!(
                    "unknown broker `{other}`: expected mosquitto, chaos, container, container:IMAGE[,port=P][,mount=HOST:PATH][,env=K=V][,data=PATH], tcp://HOST:PORT, tls://HOST:PORT, exec:'COMMAND {{port}}', or a broker profile (a file, or a name in {}/)",
                    broker_profile::PROFILE_DIR
                ))
            }
        }
    }
}

/// `HOST:PORT` of `tcp://` and `tls://`.
fn parse_host_port(s: &str) -> Result<(String, u16), String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or("expected HOST:PORT (e.g. tcp://127.0.0.1:1883)")?;
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return Err(format!("`{host}` is not a host name or address"));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("`{port}` is not a port (1-65535)"))?;
    Ok((host.to_string(), port))
}

/// `IMAGE[,port=P][,mount=HOST:PATH]...[,env=K=V]...[,data=PATH]`.
fn parse_container(s: &str) -> Result<ContainerSpec, String> {
    let mut parts = s.split(',');
    let image = parts.next().unwrap_or_default();
    if image.is_empty() || image.contains(char::is_whitespace) {
        return Err(format!(
            "container:{s}: expected an image name after `container:` (eclipse-mosquitto:2, emqx/emqx:5...)"
        ));
    }
    let mut spec = ContainerSpec::new(image);
    for opt in parts {
        let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
        match k {
            "port" => {
                spec.port = v
                    .parse()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("container:{s}: `port={v}` is not a port (1-65535)"))?
            }
            "mount" => spec
                .mounts
                .push(container::parse_mount(v).map_err(|e| format!("container:{s}: mount {e}"))?),
            "env" => spec
                .env
                .push(container::parse_env(v).map_err(|e| format!("container:{s}: env {e}"))?),
            "data" if v.starts_with('/') => spec.data = Some(v.to_string()),
            "data" => {
                return Err(format!(
                    "container:{s}: `data={v}` must be an absolute path inside the container"
                ))
            }
            _ => {
                return Err(format!(
                    "container:{s}: unknown option `{opt}`; expected port=P, mount=HOST:PATH, env=K=V or data=PATH"
                ))
            }
        }
    }
    Ok(spec)
}

/// Why a step could not be applied.
enum ApplyError {
    /// This backend cannot do it.
    Unsupported(String),
    /// It should have worked: the harness's own failure.
    Infra(String),
}

/// The device under test as the fault executor drives it: in-process
/// here ([`InProcessDut`]), or a board (`crate::board`). The executor owns
/// the proxies; the DUT owns what runs the firmware.
pub trait RealtimeDut: Send {
    /// Boots the device; its broker is `broker` (the DUT's fault proxy).
    fn boot(&mut self, world: &RealWorld, broker: std::net::SocketAddr) -> Result<(), String>;
    /// `dut_reboot`: the device restarts (and boots again).
    fn reboot(&mut self, world: &RealWorld, broker: std::net::SocketAddr) -> Result<(), String>;
    /// `wifi_down` / `wifi_up` (the executor also blackholes the proxy).
    fn wifi(&mut self, world: &RealWorld, up: bool) -> Result<(), String>;
    /// `dut_power_cycle`: the power goes off (`on = false`: the device
    /// stops at once, sending nothing more; the executor blackholes its
    /// proxy first, so its connections die without a FIN reaching the
    /// broker) or comes back (it boots on `broker`).
    fn power(
        &mut self,
        world: &RealWorld,
        broker: std::net::SocketAddr,
        on: bool,
    ) -> Result<(), String>;
    /// An infrastructure failure found since the run started (a port that
    /// did not come back...): the run stops with it.
    fn failure(&mut self) -> Option<String> {
        None
    }
    /// Why it cannot apply `action` (the step is then `unsupported`).
    fn supports(&self, _action: &Action) -> Result<(), String> {
        Ok(())
    }
    /// Stops everything it started.
    fn shutdown(&mut self);
    /// The files it leaves for the run directory (asked after
    /// [`RealtimeDut::shutdown`]): a board's `board.json`, `console.log`.
    fn artifacts(&mut self) -> Vec<Artifact> {
        Vec::new()
    }
    /// A black-box DUT's wire view (asked once, before the DUT's proxy
    /// accepts anything; `scale` is the live time scale): the DUT's side of
    /// the trace is then what its fault proxy sees
    /// ([`crate::blackbox::wire`]). `None` (the default): the DUT reports
    /// its own events.
    fn wire_view(&mut self, _scale: f64) -> Option<Arc<crate::blackbox::wire::WireView>> {
        None
    }
    /// True for a device whose timers are its own (a black-box process, a
    /// board's own firmware): the harness cannot scale its keepalive and
    /// retry timers, so it runs in real time ([`effective_scale`]).
    fn own_timers(&self) -> bool {
        false
    }
}

/// `HIL_LIVE_TIME_SCALE`: overrides the live time scale of every run (a
/// number, 0.01-10, or `scenario`: each scenario's `live_time_scale`).
pub const TIME_SCALE_ENV: &str = "HIL_LIVE_TIME_SCALE";

/// The live time scale a run uses: the scenario's `live_time_scale` for
/// our own driver (its timers are scaled with it), but 1 (real time) for a
/// device whose timers are its own: a black box keeps its 60 s keepalive
/// whatever the scale, so at `live_time_scale = 0.2` it would be judged as
/// if its keepalive were 300 s, and blamed for the harness's speed-up.
/// [`TIME_SCALE_ENV`] overrides this for every DUT (quick smoke runs, the
/// test suite's short runs; timing verdicts on a black box are then not
/// fair to it).
pub fn effective_scale(scenario_scale: f64, own_timers: bool) -> Result<f64, String> {
    scale_for(
        std::env::var(TIME_SCALE_ENV).ok().as_deref(),
        scenario_scale,
        own_timers,
    )
}

/// [`effective_scale`] with the override given.
fn scale_for(over: Option<&str>, scenario_scale: f64, own_timers: bool) -> Result<f64, String> {
    match over.map(str::trim) {
        None | Some("") => Ok(if own_timers { 1.0 } else { scenario_scale }),
        Some("scenario") => Ok(scenario_scale),
        Some(v) => match v.parse::<f64>() {
            Ok(k) if (0.01..=10.0).contains(&k) => Ok(k),
            _ => Err(format!(
                "{TIME_SCALE_ENV}={v}: expected a number from 0.01 to 10, or `scenario`"
            )),
        },
    }
}

/// Boots the device application ([`crate::app`]) in `world`: the driver
/// over tokio TCP to `broker` (the DUT's fault proxy), with a
/// `link_integrity` in wall time; the `connected` line's keepalive in
/// scenario time. Runs until its runtime is dropped (end of run,
/// `dut_reboot`). The live backend's in-process DUT and the virtual board
/// both run it.
pub async fn run_app(
    world: RealWorld,
    seed: u64,
    broker: String,
    link_integrity: Duration,
) -> Result<(), String> {
    let mut config = world.scenario.dut.to_driver(seed);
    config.link_integrity = link_integrity;
    // In scenario time, like every time in the trace.
    let keepalive_s = (config.keepalive.as_secs_f64() / world.scale()).round() as u16;
    crate::app::run(world, config, keepalive_s, TcpTransport::new(broker))
        .await
        .map_err(|e| format!("the DUT config is not valid for the driver: {e}"))
}

/// The fault executor's handles and the rules it installed.
struct Executor {
    world: RealWorld,
    rt: Arc<Runtime>,
    scale: f64,
    broker: LiveBroker,
    dut_proxy: Proxy,
    obs_proxy: Proxy,
    dut: Box<dyn RealtimeDut>,
    dut_broker_addr: std::net::SocketAddr,
    wifi_rule: Option<u64>,
    blackhole: [Option<u64>; 2],
    hold: [Option<u64>; 2],
    latency: [Option<u64>; 2],
    refuse: Option<u64>,
    power_loss: Vec<(usize, u64)>,
    /// `broker_drop` rules in force, by packet type.
    drop_rules: std::collections::BTreeMap<crate::scenario::fault::Packet, u64>,
    /// `wifi_associating` with failing connects: the proxy's `refuse`.
    no_ip_rule: Option<u64>,
    /// One-way extra latency rules: [up, down].
    extra: [Option<u64>; 2],
    /// Who the observer logs in as.
    observer_login: observer::Login,
    /// `dut_power_cycle`: the blackhole while the DUT's power is off.
    power_off_rule: Option<u64>,
}

fn li(link: Link) -> usize {
    match link {
        Link::Dut => 0,
        Link::Observer => 1,
    }
}

fn rule(line: &str) -> Result<RuleSpec, ApplyError> {
    RuleSpec::parse(line).map_err(|e| ApplyError::Infra(format!("proxy rule `{line}`: {e}")))
}

impl Executor {
    fn proxy(&self, link: Link) -> &Proxy {
        match link {
            Link::Dut => &self.dut_proxy,
            Link::Observer => &self.obs_proxy,
        }
    }

    fn add(&self, link: Link, line: &str) -> Result<u64, ApplyError> {
        Ok(self.proxy(link).add(rule(line)?))
    }

    fn remove(&self, link: Link, id: Option<u64>) {
        if let Some(id) = id {
            self.proxy(link).remove(id);
        }
    }

    fn latency_line(&self, min: crate::duration::Dur, max: crate::duration::Dur) -> String {
        let min = scale::dur(min, self.scale).as_millis();
        let max = scale::dur(max, self.scale).as_millis().max(min);
        format!("latency {min}ms jitter {}ms", max - min)
    }

    fn set_network_latency(&mut self, link: Link) -> Result<(), ApplyError> {
        let l = self.world.scenario.network.link(link).latency;
        // The world's scenario is already scaled.
        let (min, max) = (l.min.as_millis(), l.max.as_millis().max(l.min.as_millis()));
        let old = self.latency[li(link)].take();
        self.remove(link, old);
        if max > 0 {
            self.latency[li(link)] =
                Some(self.add(link, &format!("latency {min}ms jitter {}ms", max - min))?);
        }
        Ok(())
    }

    fn boot_dut(&mut self) -> Result<(), ApplyError> {
        self.dut
            .boot(&self.world, self.dut_broker_addr)
            .map_err(ApplyError::Infra)
    }

    fn apply(&mut self, action: &Action) -> Result<(), ApplyError> {
        self.dut.supports(action).map_err(ApplyError::Unsupported)?;
        self.broker
            .supports(action)
            .map_err(ApplyError::Unsupported)?;
        match *action {
            Action::WifiDown => {
                self.dut
                    .wifi(&self.world, false)
                    .map_err(ApplyError::Infra)?;
                self.wifi_rule = Some(self.add(Link::Dut, "both blackhole")?);
            }
            Action::WifiUp => {
                let id = self.wifi_rule.take();
                self.remove(Link::Dut, id);
                self.dut
                    .wifi(&self.world, true)
                    .map_err(ApplyError::Infra)?;
            }
            Action::Blackhole(l) => self.blackhole[li(l)] = Some(self.add(l, "both blackhole")?),
            Action::Restore(l) => {
                let id = self.blackhole[li(l)].take();
                self.remove(l, id)
            }
            Action::Hold(l) => self.hold[li(l)] = Some(self.add(l, "both hold")?),
            Action::Release(l) => {
                let id = self.hold[li(l)].take();
                self.remove(l, id)
            }
            Action::SetLatency { link, min, max } => {
                let id = self.latency[li(link)].take();
                self.remove(link, id);
                let line = format!("both {}", self.latency_line(min, max));
                self.latency[li(link)] = Some(self.add(link, &line)?);
            }
            Action::ResetLatency(link) => self.set_network_latency(link)?,
            Action::BrokerCrash => self.broker.crash().map_err(ApplyError::Infra)?,
            Action::BrokerPowerLoss => {
                for l in [Link::Dut, Link::Observer] {
                    let id = self.add(l, "both blackhole")?;
                    self.power_loss.push((li(l), id));
                }
                self.broker.crash().map_err(ApplyError::Infra)?;
            }
            Action::BrokerRestart { persist } => {
                // Until the broker answers, new connections are refused, as
                // by a broker process that is not listening yet (a
                // container's port forwarder would accept them and queue
                // their CONNECTs).
                let refuse = [
                    self.add(Link::Dut, "refuse")?,
                    self.add(Link::Observer, "refuse")?,
                ];
                let restarted = self.broker.restart(persist);
                self.remove(Link::Dut, Some(refuse[0]));
                self.remove(Link::Observer, Some(refuse[1]));
                restarted.map_err(ApplyError::Infra)?;
                for (l, id) in std::mem::take(&mut self.power_loss) {
                    let link = if l == 0 { Link::Dut } else { Link::Observer };
                    self.remove(link, Some(id));
                }
            }
            Action::BrokerHang => self.broker.hang().map_err(ApplyError::Infra)?,
            Action::BrokerResume => self.broker.resume().map_err(ApplyError::Infra)?,
            Action::BrokerRefuse { code } => {
                if !(1..=5).contains(&code) {
                    return Err(ApplyError::Unsupported(format!(
                        "refusal code {code} is not 1-5"
                    )));
                }
                self.refuse = Some(self.add(Link::Dut, &format!("down connack-code {code}"))?);
            }
            Action::BrokerAccept => {
                let id = self.refuse.take();
                self.remove(Link::Dut, id)
            }
            Action::BrokerDrop { packet, count } => {
                // The proxy names packets as the scenario does. Its count
                // is the rule's and survives broker restarts; `None` (a
                // window) drops every one until the rule is removed.
                let n = count.unwrap_or(u32::MAX);
                let old = self.drop_rules.remove(&packet);
                self.remove(Link::Dut, old);
                let id = self.add(Link::Dut, &format!("down drop {packet} {n}"))?;
                self.drop_rules.insert(packet, id);
            }
            Action::BrokerDropEnd(packet) => {
                let id = self.drop_rules.remove(&packet);
                self.remove(Link::Dut, id);
            }
            Action::BrokerDelay { .. }
            | Action::BrokerDelayEnd(_)
            | Action::BrokerCloseAfter { .. }
            | Action::BrokerDisconnect { .. }
            | Action::BrokerFlood { .. }
            | Action::BrokerDuplicate { .. }
            | Action::BrokerForgetSessions
            | Action::BrokerCloseAfterBytes { .. }
            | Action::BrokerCloseAfterBytesEnd
            | Action::BrokerDelayConnack { .. }
            | Action::BrokerDelayConnackEnd
            | Action::BrokerReusePid { .. } => {
                // The fault proxy has no counted delay or close-after, and
                // the rest needs the broker's own state: the chaos broker
                // injects them.
                let c = chaos_action(action, self.scale)
                    .ok_or_else(|| {
                        ApplyError::Infra(format!("{action:?} is not a chaos-broker fault"))
                    })?
                    .map_err(ApplyError::Unsupported)?;
                let target = FaultTarget::Client(self.world.dut_client_id.to_string());
                let broker = self
                    .broker
                    .chaos_faults()
                    .map_err(ApplyError::Unsupported)?;
                match c {
                    ChaosAction::Set(f) | ChaosAction::Once(f) => broker.set_fault(target, f),
                    ChaosAction::Clear(pred) => broker.clear_where(pred),
                }
            }
            Action::WifiUpNoIp { hang } => {
                // The link is up for the DUT; its proxy still blackholes
                // (connects accepted, then nothing: they hang) or refuses
                // new connections (they fail).
                if !hang {
                    let id = self.add(Link::Dut, "refuse")?;
                    self.no_ip_rule = Some(id);
                }
                self.dut
                    .wifi(&self.world, true)
                    .map_err(ApplyError::Infra)?;
            }
            Action::IpUp => {
                let id = self.wifi_rule.take();
                self.remove(Link::Dut, id);
                let id = self.no_ip_rule.take();
                self.remove(Link::Dut, id);
            }
            Action::LinkReset(l) => {
                // The proxy resets every connection while the rule is in
                // force; a moment is enough to reach the open ones.
                self.add(l, "reset-peer for 200ms")?;
            }
            Action::SetExtraLatency { up, min, max } => {
                let dir = if up { "up" } else { "down" };
                let i = usize::from(!up);
                let id = self.extra[i].take();
                self.remove(Link::Dut, id);
                let line = format!("{dir} {}", self.latency_line(min, max));
                self.extra[i] = Some(self.add(Link::Dut, &line)?);
            }
            Action::ResetExtraLatency { up } => {
                let id = self.extra[usize::from(!up)].take();
                self.remove(Link::Dut, id);
            }
            Action::TlsStall | Action::TlsUnstall | Action::TlsCert(_) => {
                return Err(ApplyError::Unsupported(
                    "TLS faults (the live brokers have no TLS listener yet; [tls] scenarios run on the simulator)"
                        .into(),
                ));
            }
            Action::DutReboot => self
                .dut
                .reboot(&self.world, self.dut_broker_addr)
                .map_err(ApplyError::Infra)?,
            Action::SerialCut
            | Action::SerialRestore
            | Action::SerialNoise { .. }
            | Action::SerialDrop { .. }
            | Action::GatewayReboot => {
                return Err(ApplyError::Unsupported(
                    "serial bridge faults (`[bridge]` scenarios run on the simulator only)".into(),
                ));
            }
            Action::DutPowerOff => {
                // Silent first: what the dying device's sockets send (a
                // FIN, a RST) is held until the power is back.
                self.power_off_rule = Some(self.add(Link::Dut, "both blackhole")?);
                self.dut
                    .power(&self.world, self.dut_broker_addr, false)
                    .map_err(ApplyError::Infra)?;
            }
            Action::DutPowerOn => {
                let id = self.power_off_rule.take();
                self.remove(Link::Dut, id);
                self.dut
                    .power(&self.world, self.dut_broker_addr, true)
                    .map_err(ApplyError::Infra)?;
            }
        }
        Ok(())
    }

    /// Stops everything this run started; the files the DUT left.
    fn shutdown(mut self) -> Vec<Artifact> {
        self.dut.shutdown();
        let mut artifacts = self.dut.artifacts();
        self.broker.shutdown();
        artifacts.extend(self.broker.artifacts());
        drop(self.dut_proxy);
        drop(self.obs_proxy);
        artifacts
    }
}

/// The DUT's client id: configured, or generated from the seed (C1).
fn dut_client_id(scenario: &Scenario, seed: u64) -> Result<String, BackendError> {
    Session::new(scenario.dut.to_driver(seed))
        .map(|s| s.client_id().to_string())
        .map_err(|e| {
            BackendError::Infrastructure(format!(
                "the scenario's DUT config is not valid for the driver: {e}"
            ))
        })
}

/// What a real-time run needs besides the DUT: the backend's name, the
/// broker it starts, and where the DUT's fault proxy listens (a board
/// reaches it over the network, so its profile can fix the address).
pub struct Rig {
    pub name: String,
    pub broker: BrokerKind,
    pub dut_listen: std::net::SocketAddr,
}

/// Runs `scenario` in real time with `dut` as the device under test (the
/// live backend with the in-process DUT, the board backend with a board).
pub fn run_with(
    rig: &Rig,
    dut: Box<dyn RealtimeDut>,
    scenario: &Scenario,
    seed: u64,
    sink: &mut dyn TraceSink,
) -> Result<RunOutcome, BackendError> {
    let backend = rig;
    let name = backend.name.clone();
    // The tolerances (`at = "60s ± 2s"`) resolved for this seed.
    let seeded = scenario.for_seed(seed);
    let scenario = &seeded;
    if scenario.tls.is_some() {
        return Err(BackendError::NotBuilt {
            backend: "live/board",
            detail: "[tls] scenarios run on the simulator only: the live brokers have no TLS listener yet",
        });
    }
    if scenario.bridge.is_some() {
        return Err(BackendError::NotBuilt {
            backend: "live/board",
            detail: "[bridge] scenarios (the serial MQTT bridge) run on the simulator only: the live path over a PTY pair is not built",
        });
    }
    if scenario.dut.mqtt == 5 {
        return Err(BackendError::NotBuilt {
            backend: "live/board",
            detail: "`mqtt = 5` scenarios run on the simulator only: the live path (the fault proxy's packet faults, the board firmware) has not been made or checked to work with MQTT 5",
        });
    }
    for (n, link) in [
        ("dut", &scenario.network.dut),
        ("observer", &scenario.network.observer),
    ] {
        if link.loss > 0.0 {
            return Err(BackendError::Unsupported {
                kind: format!("network.{n}.loss"),
                backend: name,
                at: crate::duration::Dur::ZERO,
            });
        }
    }
    let k = effective_scale(scenario.live_time_scale, dut.own_timers())
        .map_err(BackendError::Infrastructure)?;
    let scaled = Arc::new(scale::scaled(scenario, k));
    let mut dut = dut;
    let mut world = RealWorld::new(scaled.clone(), seed, k, dut_client_id(scenario, seed)?);
    let wire = dut.wire_view(k);
    if let Some(view) = &wire {
        world = world.with_wire(view.clone());
    }
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("live")
            .enable_all()
            .build()
            .map_err(|e| BackendError::Infrastructure(format!("cannot start a runtime: {e}")))?,
    );
    let infra = |what: &str, e: String| {
        BackendError::Infrastructure(format!("live/{}: {what}: {e}", backend.broker.name()))
    };
    let broker = match backend.broker {
        BrokerKind::Mosquitto => {
            LiveBroker::mosquitto(&scaled).map_err(|e| infra("mosquitto", e))?
        }
        BrokerKind::Container(ref spec) => {
            LiveBroker::container(&scaled, spec.clone(), rt.handle())
                .map_err(|e| infra("container", e))?
        }
        BrokerKind::Chaos => {
            LiveBroker::chaos(&scaled, &world, rt.handle()).map_err(|e| infra("chaos broker", e))?
        }
        BrokerKind::Tcp {
            ref host,
            port,
            tls,
            ref opts,
        } => external::ExternalBroker::tcp(&scaled, host, port, tls, opts, rt.handle())
            .map(|b| LiveBroker::External(Box::new(b)))
            .map_err(|e| infra("external broker", e))?,
        BrokerKind::Exec { ref cmd, ref opts } => {
            external::ExternalBroker::exec(cmd, None, opts, &scaled)
                .map(|b| LiveBroker::External(Box::new(b)))
                .map_err(|e| infra("exec broker", e))?
        }
        BrokerKind::Profile { ref name, ref opts } => {
            let p =
                broker_profile::load(name).map_err(|e| infra("broker profile", e.to_string()))?;
            external::ExternalBroker::exec(&p.command.clone(), Some(p), opts, &scaled)
                .map(|b| LiveBroker::External(Box::new(b)))
                .map_err(|e| infra("broker", e))?
        }
    };
    let observer_login = match &broker {
        LiveBroker::External(e) => {
            observer::Login::Given(e.login().map_err(|e| infra("observer login", e))?)
        }
        _ => observer::Login::Scenario,
    };
    let proxy = |salt: u64, listen: std::net::SocketAddr| {
        rt.block_on(Proxy::start(ProxyConfig {
            listen,
            upstream: broker.addr(),
            seed: seed ^ salt,
            rules: vec![],
            log_file: None,
        }))
        .map_err(|e| infra("fault proxy", e.to_string()))
    };
    let dut_proxy = proxy(0x0d07, backend.dut_listen)?;
    if let Some(view) = wire {
        let w = world.clone();
        dut_proxy.set_wire_tap(Arc::new(move |ev| {
            for (actor, event) in view.feed(ev) {
                w.emit_wire(actor, event);
            }
        }));
    }
    let obs_proxy = proxy(0x0b5e, "127.0.0.1:0".parse().expect("a literal address"))?;
    let dut_broker_addr = dut_proxy.addr();
    let obs_addr = obs_proxy.addr().to_string();
    let mut ex = Executor {
        world: world.clone(),
        rt: rt.clone(),
        scale: k,
        broker,
        dut_proxy,
        obs_proxy,
        dut,
        dut_broker_addr,
        wifi_rule: None,
        blackhole: [None; 2],
        hold: [None; 2],
        latency: [None; 2],
        refuse: None,
        power_loss: Vec::new(),
        drop_rules: Default::default(),
        no_ip_rule: None,
        extra: [None; 2],
        observer_login,
        power_off_rule: None,
    };
    let result = drive(&mut ex, &name, scenario, obs_addr, sink);
    let rt = ex.rt.clone();
    let artifacts = ex.shutdown();
    if let Ok(rt) = Arc::try_unwrap(rt) {
        rt.shutdown_timeout(Duration::from_secs(2));
    }
    match result {
        Ok(mut o) => {
            o.artifacts = artifacts;
            Ok(o)
        }
        Err(e) => Err(e.with_artifacts(artifacts)),
    }
}

/// How long the observer may take to subscribe before a black-box DUT boots.
const OBSERVER_READY: Duration = Duration::from_secs(10);

/// Waits until the observer is subscribed ([`RealWorld::observer_ready`]).
fn wait_for_observer(world: &RealWorld) -> Result<(), String> {
    let deadline = std::time::Instant::now() + OBSERVER_READY;
    while !world.observer_ready() {
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "the observer was not subscribed within {OBSERVER_READY:?}; the DUT was not started"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// The step loop: boots the observer and the DUT, applies the schedule at
/// its (scaled) times, streams the trace.
fn drive(
    ex: &mut Executor,
    name: &str,
    scenario: &Scenario,
    obs_addr: String,
    sink: &mut dyn TraceSink,
) -> Result<RunOutcome, BackendError> {
    let world = ex.world.clone();
    let flush = |sink: &mut dyn TraceSink| -> Result<(), BackendError> {
        for r in world.take_records() {
            sink.emit(r)?;
        }
        Ok(())
    };
    let as_backend = |e: ApplyError, kind: &str, at| match e {
        ApplyError::Infra(m) => BackendError::Infrastructure(format!("{name}: {kind}: {m}")),
        ApplyError::Unsupported(why) => BackendError::Unsupported {
            kind: kind.to_string(),
            backend: format!("{name} ({why})"),
            at,
        },
    };
    for link in [Link::Dut, Link::Observer] {
        ex.set_network_latency(link)
            .map_err(|e| as_backend(e, "network latency", crate::duration::Dur::ZERO))?;
    }
    let w = world.clone();
    let login = ex.observer_login.clone();
    ex.rt.spawn(async move {
        if let Err(e) = observer::host(w, obs_addr, login).await {
            eprintln!("live observer failed: {e}");
        }
    });
    let schedule = scenario
        .schedule_for(ex.world.seed)
        .map_err(|e| BackendError::Infrastructure(format!("{name}: {e}")))?;
    let steps = &schedule.steps;
    let end_ms = scenario.duration.as_millis();
    let mut next = 0;
    let mut skipped: Vec<usize> = Vec::new();
    let mut booted = false;
    loop {
        let now = world.now_ms();
        while let Some(step) = steps.get(next).filter(|s| s.at.as_millis() <= now) {
            next += 1;
            if skipped.contains(&step.entry) {
                continue;
            }
            // A restart is announced once it is done: the broker is back
            // when it answers, and a container takes a second or two to
            // get there (time of our infrastructure, not of the DUT's
            // recovery). Every other step is announced, then applied.
            let restart = matches!(step.action, Action::BrokerRestart { .. });
            let announce = || {
                for e in &step.announce {
                    world.emit(Actor::Faults, e.clone());
                }
            };
            if !restart {
                announce();
            }
            let applied = ex.apply(&step.action);
            if restart {
                announce();
            }
            if let Err(e) = applied {
                match e {
                    ApplyError::Unsupported(why) if step.optional => {
                        world.emit(
                            Actor::Faults,
                            Event::Unsupported {
                                kind: step.kind.to_string(),
                                backend: format!("{name} ({why})"),
                            },
                        );
                        skipped.push(step.entry);
                    }
                    e => {
                        flush(sink)?;
                        return Err(as_backend(e, step.kind, step.at));
                    }
                }
            }
        }
        // Steps at time 0 come before the DUT boots.
        if !booted {
            booted = true;
            // A black-box DUT publishes as soon as it is connected (our
            // application waits for the link's integrity period): the
            // observer must be subscribed first, or its first messages
            // are routed to nobody and judged lost by the DUT.
            if world.wire.is_some() {
                wait_for_observer(&world)
                    .map_err(|e| BackendError::Infrastructure(format!("{name}: {e}")))?;
            }
            ex.boot_dut()
                .map_err(|e| as_backend(e, "dut boot", crate::duration::Dur::ZERO))?;
        }
        flush(sink)?;
        if let Some(m) = ex.dut.failure() {
            return Err(BackendError::Infrastructure(format!("{name}: {m}")));
        }
        if now >= end_ms {
            break;
        }
        let next_at = steps
            .get(next)
            .map_or(end_ms, |s| s.at.as_millis())
            .min(end_ms);
        let wake = world.wall_at(next_at);
        let tick = Instant::now() + Duration::from_millis(50);
        std::thread::sleep(wake.min(tick).saturating_duration_since(Instant::now()));
    }
    flush(sink)?;
    // Later than every record written (the harness's `run_end` must not go
    // back in time).
    Ok(RunOutcome {
        end_ms: world.now_ms().max(end_ms),
        artifacts: Vec::new(),
    })
}

/// `--broker` on the command line.
pub fn parse_broker(s: &str) -> Result<BrokerKind, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn word() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9._-]{0,8}"
    }

    proptest! {
        /// What `to_arg` writes, `--broker` reads back unchanged.
        #[test]
        fn broker_args_round_trip(
            image in "[a-z][a-z0-9-]{0,8}(/[a-z][a-z0-9-]{0,8})?(:[a-z0-9.]{1,5})?",
            port in 1u16..,
            mounts in proptest::collection::vec((word(), word()), 0..3),
            env in proptest::collection::vec((word(), "[a-zA-Z0-9 ._:/-]{0,8}"), 0..3),
            data in proptest::option::of(word()),
        ) {
            let spec = ContainerSpec {
                image: image.clone(),
                port,
                mounts: mounts.into_iter().map(|(h, c)| (h, format!("/{c}"))).collect(),
                env,
                data: data.map(|d| format!("/{d}")).or(ContainerSpec::new(&image).data),
            };
            let kind = BrokerKind::Container(spec);
            prop_assert_eq!(kind.to_arg().parse::<BrokerKind>(), Ok(kind.clone()));
            for simple in [BrokerKind::Mosquitto, BrokerKind::Chaos] {
                prop_assert_eq!(simple.to_arg().parse::<BrokerKind>(), Ok(simple.clone()));
            }
        }

        /// The same for brokers the harness did not build (their options
        /// are written apart: `ExternalOpts::to_args`).
        #[test]
        fn external_broker_args_round_trip(
            host in "[a-z0-9][a-z0-9.-]{0,12}",
            port in 1u16..,
            tls in any::<bool>(),
            cmd in "[a-z][a-z0-9 ./'\"=-]{0,16}",
        ) {
            let tcp = BrokerKind::Tcp { host, port, tls, opts: ExternalOpts::default() };
            prop_assert_eq!(tcp.to_arg().parse::<BrokerKind>(), Ok(tcp.clone()));
            let exec = BrokerKind::Exec { cmd: format!("{cmd} {{port}}"), opts: ExternalOpts::default() };
            prop_assert_eq!(exec.to_arg().parse::<BrokerKind>(), Ok(exec.clone()));
        }

        /// Whatever follows `tcp://`, `tls://` or `exec:` is a broker or a
        /// clear error, never a panic.
        #[test]
        fn broker_values_never_panic(scheme in "tcp://|tls://|exec:|", rest in "\\PC{0,24}") {
            if let Err(e) = format!("{scheme}{rest}").parse::<BrokerKind>() {
                prop_assert!(!e.is_empty());
            }
        }
    }
}

#[cfg(test)]
mod scale_tests {
    use super::scale_for;

    #[test]
    fn a_device_with_its_own_timers_runs_in_real_time_unless_overridden() {
        assert_eq!(scale_for(None, 0.2, false), Ok(0.2));
        assert_eq!(scale_for(None, 0.2, true), Ok(1.0));
        assert_eq!(scale_for(Some(""), 0.2, true), Ok(1.0));
        assert_eq!(scale_for(Some("scenario"), 0.2, true), Ok(0.2));
        assert_eq!(scale_for(Some(" 0.5 "), 0.2, true), Ok(0.5));
        assert_eq!(scale_for(Some("0.5"), 0.2, false), Ok(0.5));
        for bad in ["0", "11", "fast", "NaN"] {
            let e = scale_for(Some(bad), 0.2, true).unwrap_err();
            assert!(e.contains("HIL_LIVE_TIME_SCALE") && e.contains(bad), "{e}");
        }
    }
}
