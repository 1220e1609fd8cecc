//! The simulator backend: a deterministic turmoil world with three hosts
//! (`broker`: the chaos broker; `dut`: `resilient-mqtt` and the workload
//! application; `observer`: a subscriber recording deliveries and a
//! publisher feeding the DUT), and a step loop that applies the scenario's
//! schedule at simulated times and streams the trace out after every step.
//!
//! Determinism: turmoil is seeded from the run's seed with a fixed epoch,
//! `--cfg tokio_unstable` (set in `.cargo/config.toml`) makes each host's
//! `select!` repeatable, every random choice in the driver, the broker and
//! the observer comes from the seed, and nothing reads the wall clock.
//!
//! What the seed explores (so that a sweep's seeds are different runs):
//! per-packet latency over several ticks (`[network]`, default 5-50 ms);
//! the order hosts run in each tick (`[sim] shuffle_hosts`, turmoil's
//! random order: who handles a simultaneous arrival first); the observer's
//! start and the DUT's boot (`[sim] observer_phase`, `boot_delay`; the
//! first boot waits for the observer's subscriptions, see `dut`); and the
//! times written with a tolerance (`at = "60s ± 2s"`, resolved by
//! `Scenario::for_seed` before anything runs).
//!
//! How faults map onto turmoil (one place: `Executor::apply`):
//!
//! | fault | world |
//! |---|---|
//! | `wifi_down` / `wifi_up` | the DUT's link signal drops (the driver sees it) and the dut-broker link is partitioned; then repaired |
//! | `link_blackhole` / `link_restore` | turmoil `hold` / `release`: nothing gets through, nothing is lost; what was sent arrives in order at the end, as TCP retransmission delivers it after a silent path loss (a `partition` would drop segments and wedge the stream for good: turmoil has no retransmission) |
//! | `link_hold` / `link_release` | turmoil `hold` / `release`: delayed, delivered in order |
//! | `latency` | per-link latency range |
//! | `broker_crash` | the broker host crashes: peers see FIN; state is the last 1 s autosave |
//! | `broker_power_loss` | the broker is cut off first (no FIN), then crashes |
//! | `broker_restart {persist}` | the host boots again, restoring the autosave or empty |
//! | `broker_refuse`, `broker_drop`, `broker_delay`, `broker_hang` | chaos-broker faults (refuse, drop and delay target the DUT's client id; hang hits the whole broker, like SIGSTOP); they are re-applied to a restarted broker as the dead one had them (what is left of a count, not the count set) |
//! | `broker_disconnect {reason}`, `broker_flood {count}` | MQTT 5 chaos-broker faults that act once on the DUT's connection (`disconnect`, `flood`); not kept for a restarted broker |
//! | `broker_delay`, `broker_close_after`, `broker_duplicate`, `broker_forget_sessions`, `broker_close_after_bytes`, `broker_delay_connack`, `broker_reuse_pid` | chaos-broker faults on the DUT's client id (`crate::chaos_faults`); a `for` window is cleared at its end |
//! | `wifi_associating` | the WiFi drops, then the driver sees it up while the dut-broker link stays partitioned (connects refused at once) or is held (`connects = "hang"`), until IP works |
//! | `link_reset` | the DUT's connections fail with `ConnectionReset` and are dropped, so the broker sees them end (`sim::net`; the observer link: unsupported) |
//! | `latency {direction}` | extra latency one way on the DUT's connections (`sim::net`), on top of the link's |
//! | `dut_reboot` | the DUT host is bounced: driver and application start over |
//! | `dut_power_cycle {off_for}` | the DUT is cut off (no FIN reaches the broker), then its host crashes; after `off_for` it is reconnected and boots again |
//! | `tls_stall`, `tls_cert` | the broker's TLS listener (`[tls]`, port 8883) stalls handshakes after the ServerHello, or presents another certificate (`sim::tls`) |

mod bridge;
mod broker;
pub(crate) use broker::max_packet_size as broker_max_packet_size;
mod dut;
mod net;
mod observer;
pub mod serial;
mod tls;
mod watch;
mod world;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use chaos_broker::fault::{Hang, Refuse};
use chaos_broker::{Fault, FaultTarget};
use resilient_mqtt::codec::ConnectReturnCode;
use resilient_mqtt::session::Session;

use crate::backend::{Backend, BackendError, RunOutcome};
use crate::chaos_faults::{chaos_action, ChaosAction};
use crate::scenario::fault::Action;
use crate::scenario::network::Link;
use crate::scenario::Scenario;
use crate::trace::sink::TraceSink;
use crate::trace::{Actor, Event};
use watch::ChannelSink;
use world::World;

/// Turmoil's epoch for every run (2026-01-01T00:00:00Z): fixed, so that
/// nothing depends on when a run happens.
pub(crate) const EPOCH_SECS: u64 = 1_767_225_600;

/// The deterministic simulator.
#[derive(Debug, Default, Clone, Copy)]
pub struct SimBackend;

impl SimBackend {
    pub fn new() -> Self {
        SimBackend
    }
}

impl Backend for SimBackend {
    fn name(&self) -> &str {
        "sim"
    }

    fn run(
        &self,
        scenario: &Scenario,
        seed: u64,
        sink: &mut dyn TraceSink,
    ) -> Result<RunOutcome, BackendError> {
        run(scenario, seed, sink)
    }
}

fn host_name(link: Link) -> &'static str {
    match link {
        Link::Dut => "dut",
        Link::Observer => "observer",
    }
}

/// The fault executor: the world's state that faults change, kept so that
/// overlapping faults (WiFi down during a blackhole) compose.
struct Executor {
    world: World,
    wifi_down: bool,
    /// `wifi_associating`: the link is up but IP does not work; `Some(true)`
    /// when connects hang (the path is held), `Some(false)` when they fail.
    no_ip: Option<bool>,
    blackhole: [bool; 2],
    /// `link_hold` in force per link.
    held: [bool; 2],
    broker_cut: bool,
    /// `dut_power_cycle`: the DUT's power is off.
    dut_off: bool,
}

fn li(link: Link) -> usize {
    match link {
        Link::Dut => 0,
        Link::Observer => 1,
    }
}

impl Executor {
    /// Sets each link to match the faults in force: partitioned (the
    /// radio or the broker's power is gone: segments are lost), else held
    /// (a blackhole or a hold: segments wait, then arrive in order), else
    /// healthy (what was held is delivered).
    fn sync_partitions(&self, sim: &turmoil::Sim<'_>) {
        for link in [Link::Dut, Link::Observer] {
            let dut = link == Link::Dut;
            let cut = self.broker_cut
                || (dut && (self.wifi_down || self.dut_off || self.no_ip == Some(false)));
            let held = self.blackhole[li(link)]
                || self.held[li(link)]
                || (dut && self.no_ip == Some(true));
            if cut {
                sim.partition(host_name(link), "broker");
            } else if held {
                sim.hold(host_name(link), "broker");
            } else {
                sim.release(host_name(link), "broker");
            }
        }
    }

    fn set_latency(sim: &turmoil::Sim<'_>, link: Link, min: Duration, max: Duration) {
        sim.set_link_latency(host_name(link), "broker", min);
        sim.set_link_max_message_latency(host_name(link), "broker", max.max(min));
    }

    fn broker_fault(&self, target: FaultTarget, fault: Fault) {
        let mut slot = self.world.broker();
        slot.sync_faults();
        if let Some(b) = &slot.current {
            b.set_fault(target.clone(), fault.clone());
        }
        slot.faults.push((target, fault));
    }

    /// A fault that acts once, when set (not kept for a restarted broker).
    fn broker_once(&self, target: FaultTarget, fault: Fault) {
        if let Some(b) = &self.world.broker().current {
            b.set_fault(target, fault);
        }
    }

    /// A chaos-broker fault on the DUT ([`crate::chaos_faults`]).
    fn chaos(&self, c: ChaosAction) {
        match c {
            ChaosAction::Set(f) => self.broker_fault(self.dut(), f),
            ChaosAction::Once(f) => self.broker_once(self.dut(), f),
            ChaosAction::Clear(pred) => self.clear_broker_faults(pred),
        }
    }

    fn clear_broker_faults(&self, pred: impl Fn(&Fault) -> bool) {
        let mut slot = self.world.broker();
        slot.sync_faults();
        slot.faults.retain(|(_, f)| !pred(f));
        if let Some(b) = &slot.current {
            b.clear_faults();
            for (t, f) in &slot.faults {
                b.set_fault(t.clone(), f.clone());
            }
        }
    }

    fn dut(&self) -> FaultTarget {
        FaultTarget::Client(self.world.dut_client_id.to_string())
    }

    fn apply(&mut self, sim: &mut turmoil::Sim<'_>, action: &Action) -> Result<(), String> {
        let scenario = self.world.scenario.clone();
        match action {
            Action::WifiDown => {
                self.wifi_down = true;
                self.world.dut.wifi.set_available(false);
                self.sync_partitions(sim);
            }
            Action::WifiUp => {
                self.wifi_down = false;
                self.sync_partitions(sim);
                self.world.dut.wifi.set_available(true);
            }
            Action::Blackhole(link) => {
                self.blackhole[li(*link)] = true;
                self.sync_partitions(sim);
            }
            Action::Restore(link) => {
                self.blackhole[li(*link)] = false;
                self.sync_partitions(sim);
            }
            Action::Hold(link) => {
                self.held[li(*link)] = true;
                self.sync_partitions(sim);
            }
            Action::Release(link) => {
                self.held[li(*link)] = false;
                self.sync_partitions(sim);
            }
            Action::SetLatency { link, min, max } => {
                Self::set_latency(sim, *link, min.to_std(), max.to_std())
            }
            Action::ResetLatency(link) => {
                let l = scenario.network.link(*link).latency;
                Self::set_latency(sim, *link, l.min.to_std(), l.max.to_std());
            }
            Action::BrokerCrash => {
                self.world.broker().crashed();
                sim.crash("broker");
            }
            Action::BrokerPowerLoss => {
                self.broker_cut = true;
                self.sync_partitions(sim);
                self.world.broker().crashed();
                sim.crash("broker");
            }
            Action::BrokerRestart { persist } => {
                {
                    let mut slot = self.world.broker();
                    slot.restore = *persist;
                    if !*persist {
                        slot.saved = None;
                    }
                }
                self.broker_cut = false;
                self.sync_partitions(sim);
                sim.bounce("broker");
            }
            Action::BrokerRefuse { code } => {
                let code = ConnectReturnCode::from_u8(*code)
                    .filter(|c| *c != ConnectReturnCode::Accepted)
                    .ok_or_else(|| format!("refusal code {code} is not 1-5"))?;
                self.broker_fault(self.dut(), Fault::Refuse(Refuse { code }));
            }
            Action::BrokerAccept => self.clear_broker_faults(|f| matches!(f, Fault::Refuse(_))),
            Action::BrokerDrop { .. }
            | Action::BrokerDropEnd(_)
            | Action::BrokerDelay { .. }
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
            | Action::BrokerReusePid { .. } => match chaos_action(action, 1.0) {
                Some(c) => self.chaos(c?),
                None => return Err(format!("{action:?} is not a chaos-broker fault")),
            },
            Action::WifiUpNoIp { hang } => {
                self.wifi_down = false;
                self.no_ip = Some(*hang);
                self.sync_partitions(sim);
                self.world.dut.wifi.set_available(true);
            }
            Action::IpUp => {
                self.no_ip = None;
                self.sync_partitions(sim);
            }
            Action::LinkReset(Link::Dut) => self.world.dut_link.reset(),
            Action::LinkReset(Link::Observer) => return Err(
                "link_reset on the observer link (the simulator resets the DUT's connections only)"
                    .into(),
            ),
            Action::SetExtraLatency { up, min, max } => self
                .world
                .dut_link
                .set_extra(*up, Some((min.to_std(), max.to_std()))),
            Action::ResetExtraLatency { up } => self.world.dut_link.set_extra(*up, None),
            Action::BrokerHang => self.broker_fault(FaultTarget::All, Fault::Hang(Hang)),
            Action::BrokerResume => self.clear_broker_faults(|f| matches!(f, Fault::Hang(_))),
            Action::TlsStall | Action::TlsUnstall | Action::TlsCert(_) => {
                let mut t = self.world.tls();
                if t.identity.is_none() {
                    return Err("the scenario has no [tls] table".into());
                }
                match action {
                    Action::TlsStall => t.stalled = true,
                    Action::TlsUnstall => t.stalled = false,
                    Action::TlsCert(c) => {
                        t.cert = c.unwrap_or_else(|| {
                            scenario.tls.map(|x| x.broker_cert).unwrap_or_default()
                        })
                    }
                    _ => {}
                }
            }
            // With `[bridge]` the application runs on the bridge host (the
            // MCU): a reboot of the DUT is the MCU's; `dut` is the gateway.
            Action::DutReboot if self.world.serial.is_some() => sim.bounce(bridge::HOST),
            Action::DutReboot => sim.bounce("dut"),
            Action::SerialCut
            | Action::SerialRestore
            | Action::SerialNoise { .. }
            | Action::SerialDrop { .. }
            | Action::GatewayReboot => {
                let Some(line) = &self.world.serial else {
                    return Err("the scenario has no [bridge] table".into());
                };
                match *action {
                    Action::SerialCut => line.set_cut(true),
                    Action::SerialRestore => line.set_cut(false),
                    Action::SerialNoise { rate } => line.set_noise(rate),
                    Action::SerialDrop { rate } => line.set_drop(rate),
                    _ => sim.bounce("dut"),
                }
            }
            Action::DutPowerOff => {
                // Cut off first: no FIN from the dying host reaches the
                // broker (its connection goes half-open, as after a power
                // loss), then the host stops.
                self.dut_off = true;
                self.sync_partitions(sim);
                sim.crash("dut");
            }
            Action::DutPowerOn => {
                self.dut_off = false;
                self.sync_partitions(sim);
                sim.bounce("dut");
            }
        }
        Ok(())
    }
}

/// The DUT's client id: configured, or the one the driver generates from
/// the seed (C1), so broker faults can target it.
fn dut_client_id(scenario: &Scenario, seed: u64) -> Result<String, BackendError> {
    let config = scenario.dut.to_driver(seed);
    Session::new(config)
        .map(|s| s.client_id().to_string())
        .map_err(|e| {
            BackendError::Infrastructure(format!(
                "the scenario's DUT config is not valid for the driver: {e}"
            ))
        })
}

/// Runs the simulation under the watchdog (`watch`): on a thread of its
/// own, records streamed back to `sink` as each step produces them; a
/// panic, or a step that never finishes, is an infrastructure error
/// reported after everything emitted before it was written.
fn run(
    scenario: &Scenario,
    seed: u64,
    sink: &mut dyn TraceSink,
) -> Result<RunOutcome, BackendError> {
    let scenario = scenario.clone();
    watch::watched(
        watch::STALL,
        move |out, progress| simulate(&scenario, seed, out, progress),
        sink,
    )
}

fn simulate(
    scenario: &Scenario,
    seed: u64,
    sink: &mut ChannelSink,
    progress: &watch::Progress,
) -> Result<RunOutcome, BackendError> {
    for (name, link) in [
        ("dut", &scenario.network.dut),
        ("observer", &scenario.network.observer),
    ] {
        if link.loss > 0.0 {
            return Err(BackendError::Unsupported {
                kind: format!("network.{name}.loss"),
                backend: "sim".into(),
                at: crate::duration::Dur::ZERO,
            });
        }
    }
    // This seed's times for the timeline's and the workload's tolerances.
    let seeded = scenario.for_seed(seed);
    let scenario = &seeded;
    let duration = scenario.duration.to_std();
    let tick = scenario.tick.to_std();
    let dut_latency = scenario.network.dut.latency;
    let mut builder = turmoil::Builder::new();
    builder
        .simulation_duration(duration + tick * 4)
        .tick_duration(tick)
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .min_message_latency(dut_latency.min.to_std())
        .max_message_latency(dut_latency.max.to_std().max(dut_latency.min.to_std()));
    if scenario.sim.shuffle_hosts {
        // Packets that arrive in one tick are handled in a seeded order.
        builder.enable_random_order();
    }
    let mut sim = builder.build();
    let identity = match scenario.tls {
        Some(_) => Some(tls::Identity::new(seed).map_err(BackendError::Infrastructure)?),
        None => None,
    };
    let world = World::new(
        Arc::new(scenario.clone()),
        seed,
        dut_client_id(scenario, seed)?,
        identity,
    );

    let w = world.clone();
    sim.host("broker", move || broker::host(w.clone()));
    let w = world.clone();
    sim.host("observer", move || observer::host(w.clone()));
    // Hosts run only inside `sim.step()`, so faults at time 0 (applied
    // before the first step) still come before the DUT boots.
    let w = world.clone();
    if scenario.bridge.is_some() {
        // The gateway is the network DUT (`dut`: WiFi, link and broker
        // faults reach it as they reach the driver alone); the bridge host
        // runs the application behind it, on the serial line only.
        sim.host("dut", move || bridge::gateway(w.clone(), seed));
        let w = world.clone();
        sim.host(bridge::HOST, move || bridge::host(w.clone(), seed));
    } else {
        sim.host("dut", move || dut::host(w.clone(), seed));
    }
    let mut executor = Executor {
        world: world.clone(),
        wifi_down: false,
        no_ip: None,
        blackhole: [false; 2],
        held: [false; 2],
        broker_cut: false,
        dut_off: false,
    };
    for link in [Link::Dut, Link::Observer] {
        let l = scenario.network.link(link).latency;
        Executor::set_latency(&sim, link, l.min.to_std(), l.max.to_std());
    }

    let schedule = scenario
        .schedule_for(seed)
        .map_err(BackendError::Infrastructure)?;
    let steps = &schedule.steps;
    let mut next = 0;
    let mut skipped: Vec<usize> = Vec::new();
    // Within one step each host runs its whole tick in turn (in a seeded
    // order with `shuffle_hosts`), and a host's timers fire at their exact
    // times inside the tick: a DUT timer at 20.416 s can run before the
    // observer handles a packet at the tick's start, 20.410 s. Nothing one
    // host does in a step reaches another before the next step (packets
    // travel at least to the next tick), so the step's records are put in
    // time order (stable: equal times keep the order they happened in).
    let flush = |world: &World, sink: &mut ChannelSink| -> Result<(), BackendError> {
        let mut records = world.take_records();
        records.sort_by_key(|r| r.t_ms);
        if !records.is_empty() {
            sink.emit_batch(records)?;
        }
        Ok(())
    };
    loop {
        let now = sim.elapsed();
        while let Some(step) = steps.get(next).filter(|s| s.at.to_std() <= now) {
            next += 1;
            if skipped.contains(&step.entry) {
                continue;
            }
            let t_ms = now.as_millis() as u64;
            for e in &step.announce {
                world.emit_at(t_ms, Actor::Faults, e.clone());
            }
            if let Err(why) = executor.apply(&mut sim, &step.action) {
                if step.optional {
                    world.emit_at(
                        t_ms,
                        Actor::Faults,
                        Event::Unsupported {
                            kind: step.kind.to_string(),
                            backend: format!("sim ({why})"),
                        },
                    );
                    skipped.push(step.entry);
                } else {
                    flush(&world, sink)?;
                    return Err(BackendError::Unsupported {
                        kind: step.kind.to_string(),
                        backend: "sim".into(),
                        at: step.at,
                    });
                }
            }
        }
        if now >= duration {
            break;
        }
        let stepped = sim.step();
        progress.step(sim.elapsed());
        flush(&world, sink)?;
        if let Err(e) = stepped {
            return Err(BackendError::Infrastructure(format!(
                "the simulation failed at {:?}: {e}",
                sim.elapsed()
            )));
        }
    }
    flush(&world, sink)?;
    Ok(RunOutcome::at(duration.as_millis() as u64))
}
