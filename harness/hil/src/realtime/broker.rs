//! The brokers a live run starts: a real mosquitto process
//! (`mosquitto-rig`), a broker container (`container`), our chaos broker
//! on real TCP, or a broker the harness did not build (`external`), behind one small
//! interface for the broker faults (crash, restart with or without the
//! persisted state, hang, resume).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chaos_broker::{Broker, BrokerConfig, BrokerState, Fault, FaultTarget, LogRecord};
use mosquitto_rig::{Mosquitto, Options};
use tokio::runtime::Handle;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;

use super::container::{ContainerBroker, ContainerSpec};
use super::external::ExternalBroker;
use super::observer::{OBSERVER_PASSWORD, OBSERVER_USER};
use super::world::RealWorld;
use crate::scenario::Scenario;
use crate::trace::Actor;

/// How often the chaos broker's state is saved (a crash loses what came
/// after the last save).
const AUTOSAVE: Duration = Duration::from_millis(100);

/// The DUT's login (user, password) when it has both.
fn logins(scenario: &Scenario) -> Option<Vec<(String, String)>> {
    let dut = &scenario.dut;
    let (user, password) = dut
        .user
        .as_ref()
        .zip(dut.password.as_ref().and_then(|p| p.resolve().ok()))?;
    Some(vec![
        (user.clone(), password),
        (OBSERVER_USER.to_string(), OBSERVER_PASSWORD.to_string()),
    ])
}

/// A broker the live backend runs.
pub enum LiveBroker {
    Mosquitto(Mosquitto),
    Chaos(ChaosTcp),
    Container(Box<ContainerBroker>),
    External(Box<ExternalBroker>),
}

impl LiveBroker {
    /// A mosquitto with persistence (autosaved every second, so a SIGKILL
    /// loses at most a second) and the scenario's logins. Started from the
    /// calling thread, which must outlive it (it dies with that thread).
    pub fn mosquitto(scenario: &Scenario) -> Result<LiveBroker, String> {
        let m = Mosquitto::start(Options {
            persistence: true,
            users: logins(scenario).unwrap_or_default(),
            die_with_parent: true,
            extra: scenario
                .broker
                .max_packet_size
                .map(|n| format!("max_packet_size {n}"))
                .into_iter()
                .collect(),
        })
        .map_err(|e| e.to_string())?;
        Ok(LiveBroker::Mosquitto(m))
    }

    /// A broker container (see [`super::container`]), with the scenario's
    /// logins when the image is a mosquitto.
    pub fn container(
        scenario: &Scenario,
        spec: ContainerSpec,
        rt: &Handle,
    ) -> Result<LiveBroker, String> {
        if scenario.broker.max_packet_size.is_some() {
            return Err(
                "`[broker] max_packet_size` is not supported with container brokers \
                        (the image brings its own limits); use --broker mosquitto or chaos"
                    .into(),
            );
        }
        let users = logins(scenario).unwrap_or_default();
        ContainerBroker::start(spec, users, rt).map(|c| LiveBroker::Container(Box::new(c)))
    }

    /// The chaos broker on a free loopback port, on `rt`.
    pub fn chaos(
        scenario: &Scenario,
        world: &RealWorld,
        rt: &Handle,
    ) -> Result<LiveBroker, String> {
        let users =
            logins(scenario).map(|l| l.into_iter().map(|(u, p)| (u, p.into_bytes())).collect());
        let config = BrokerConfig {
            users,
            seed: world.seed,
            max_packet_size: crate::sim::broker_max_packet_size(scenario),
            ..BrokerConfig::default()
        };
        let mut c = ChaosTcp {
            config,
            port: 0,
            rt: rt.clone(),
            world: world.clone(),
            saved: Arc::default(),
            running: None,
            faults: Vec::new(),
        };
        c.start(None)?;
        Ok(LiveBroker::Chaos(c))
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        match self {
            LiveBroker::Mosquitto(m) => m.addr(),
            LiveBroker::Chaos(c) => format!("127.0.0.1:{}", c.port),
            LiveBroker::Container(c) => c.addr(),
            LiveBroker::External(e) => e.addr(),
        }
    }

    /// What kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            LiveBroker::Mosquitto(_) => "mosquitto",
            LiveBroker::Chaos(_) => "chaos",
            LiveBroker::Container(_) => "container",
            LiveBroker::External(_) => "external",
        }
    }

    /// Why it cannot apply `action` (a broker the harness does not run:
    /// see `super::external`).
    pub fn supports(&self, action: &crate::scenario::fault::Action) -> Result<(), String> {
        match self {
            LiveBroker::External(e) => e.supports(action),
            _ => Ok(()),
        }
    }

    /// The files it leaves for the run directory (`broker.log` of an
    /// external broker).
    pub fn artifacts(&self) -> Vec<crate::backend::Artifact> {
        match self {
            LiveBroker::External(e) => e.artifacts(),
            _ => Vec::new(),
        }
    }

    /// The broker dies at once (SIGKILL / every connection dropped).
    pub fn crash(&mut self) -> Result<(), String> {
        match self {
            LiveBroker::Mosquitto(m) => m.kill(),
            LiveBroker::Chaos(c) => c.stop(),
            LiveBroker::Container(c) => c.crash(),
            LiveBroker::External(e) => return e.crash(),
        }
        Ok(())
    }

    /// Starts again on the same port, with the last autosave (`persist`)
    /// or empty.
    pub fn restart(&mut self, persist: bool) -> Result<(), String> {
        match self {
            LiveBroker::Mosquitto(m) => {
                m.kill();
                if !persist {
                    m.forget_state();
                }
                m.restart().map_err(|e| e.to_string())
            }
            LiveBroker::Chaos(c) => {
                c.stop();
                let state = if persist {
                    c.saved.lock().map(|s| s.clone()).unwrap_or_default()
                } else {
                    None
                };
                c.start(state)
            }
            LiveBroker::Container(c) => c.restart(persist),
            LiveBroker::External(e) => e.restart(persist),
        }
    }

    /// Stops answering; sockets stay open.
    pub fn hang(&mut self) -> Result<(), String> {
        match self {
            LiveBroker::Mosquitto(m) => m
                .pause()
                .then_some(())
                .ok_or_else(|| "mosquitto is not running (SIGSTOP failed)".to_string()),
            LiveBroker::Chaos(c) => {
                c.set_fault(
                    chaos_broker::FaultTarget::All,
                    chaos_broker::Fault::Hang(chaos_broker::fault::Hang),
                );
                Ok(())
            }
            LiveBroker::Container(c) => c.hang(),
            LiveBroker::External(e) => e.hang(),
        }
    }

    /// Answers again.
    pub fn resume(&mut self) -> Result<(), String> {
        match self {
            LiveBroker::Mosquitto(m) => m
                .resume()
                .then_some(())
                .ok_or_else(|| "mosquitto is not running (SIGCONT failed)".to_string()),
            LiveBroker::Chaos(c) => {
                c.clear_where(|f| matches!(f, Fault::Hang(_)));
                Ok(())
            }
            LiveBroker::Container(c) => c.resume(),
            LiveBroker::External(e) => e.resume(),
        }
    }

    /// The chaos broker, for faults only it can inject; `Err` says why
    /// another broker cannot.
    pub fn chaos_faults(&mut self) -> Result<&mut ChaosTcp, String> {
        match self {
            LiveBroker::Chaos(c) => Ok(c),
            other => Err(format!(
                "only the chaos broker injects this fault (`--broker chaos`), not {}",
                other.kind()
            )),
        }
    }

    /// Stops it for good (end of run).
    pub fn shutdown(&mut self) {
        match self {
            LiveBroker::Mosquitto(m) => {
                m.resume();
                m.kill();
            }
            LiveBroker::Chaos(c) => c.stop(),
            LiveBroker::Container(c) => c.remove(),
            LiveBroker::External(e) => e.shutdown(),
        }
    }
}

/// The chaos broker serving real TCP.
pub struct ChaosTcp {
    config: BrokerConfig,
    port: u16,
    rt: Handle,
    world: RealWorld,
    saved: Arc<Mutex<Option<BrokerState>>>,
    /// The instance and every task serving it (listener, connections,
    /// autosave, log tap); dropping the set aborts them all.
    running: Option<(Broker, JoinSet<()>)>,
    /// The faults in force while it is stopped, as the stopped instance had
    /// them (what is left of a count): the next instance gets them. A
    /// fault's count belongs to the run, not to one broker process.
    faults: Vec<(FaultTarget, Fault)>,
}

impl ChaosTcp {
    /// Sets a fault on the running instance, or for the next one.
    pub fn set_fault(&mut self, target: FaultTarget, fault: Fault) {
        match &self.running {
            Some((b, _)) => b.set_fault(target, fault),
            None => self.faults.push((target, fault)),
        }
    }

    /// Clears the faults `pred` selects, keeping the others as they are.
    pub fn clear_where(&mut self, pred: impl Fn(&Fault) -> bool) {
        match &self.running {
            Some((b, _)) => {
                let keep: Vec<_> = b.faults().into_iter().filter(|(_, f)| !pred(f)).collect();
                b.clear_faults();
                for (t, f) in keep {
                    b.set_fault(t, f);
                }
            }
            None => self.faults.retain(|(_, f)| !pred(f)),
        }
    }

    fn start(&mut self, state: Option<BrokerState>) -> Result<(), String> {
        let broker = match state {
            Some(s) => Broker::from_snapshot_with_config(self.config.clone(), s),
            None => Broker::new(self.config.clone()),
        }
        .map_err(|e| format!("chaos broker: {e}"))?;
        for (target, fault) in std::mem::take(&mut self.faults) {
            broker.set_fault(target, fault);
        }
        let port = self.port;
        let listener = self
            .rt
            .block_on(async {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                loop {
                    match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                        Ok(l) => return Ok(l),
                        Err(e) if port == 0 || tokio::time::Instant::now() > deadline => {
                            return Err(e)
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
            .map_err(|e| format!("chaos broker cannot listen: {e}"))?;
        self.port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let mut set = JoinSet::new();
        let _guard = self.rt.enter();
        let b = broker.clone();
        let conns: Arc<Mutex<JoinSet<()>>> = Arc::default();
        let c2 = conns.clone();
        set.spawn_on(
            async move {
                let _owner = Owner(c2.clone());
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let b = b.clone();
                    if let Ok(mut c) = c2.lock() {
                        c.spawn(async move {
                            b.serve_connection(stream).await;
                        });
                    }
                }
            },
            &self.rt,
        );
        let (saver, saved) = (broker.clone(), self.saved.clone());
        set.spawn_on(
            async move {
                loop {
                    // mosquitto runs with `autosave_on_changes`: save often.
                    tokio::time::sleep(AUTOSAVE).await;
                    if let Ok(mut s) = saved.lock() {
                        *s = Some(saver.snapshot());
                    }
                }
            },
            &self.rt,
        );
        let mut tap = broker.tap();
        let w = self.world.clone();
        set.spawn_on(
            async move {
                loop {
                    match tap.recv().await {
                        Ok(r) => forward(&w, r),
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return,
                    }
                }
            },
            &self.rt,
        );
        self.running = Some((broker, set));
        Ok(())
    }

    fn stop(&mut self) {
        if let Some((broker, mut set)) = self.running.take() {
            self.faults = broker.faults();
            let _guard = self.rt.enter();
            set.abort_all();
            // Wait until the listener (and with it every connection) is gone,
            // so the port is free for a restart.
            self.rt
                .block_on(async { while set.join_next().await.is_some() {} });
        }
    }
}

/// Aborts the connection tasks when the listener task ends.
struct Owner(Arc<Mutex<JoinSet<()>>>);

impl Drop for Owner {
    fn drop(&mut self) {
        if let Ok(mut c) = self.0.lock() {
            c.abort_all();
        }
    }
}

/// The chaos broker's log as trace events (as in the simulator; the
/// observer infers wills from deliveries here, so the broker's own will
/// reports are left out).
fn forward(world: &RealWorld, record: LogRecord) {
    let event = crate::app::chaos_broker_event(record, false, world.now_ms(), world.scale());
    if let Some(event) = event {
        world.emit(Actor::Broker, event);
    }
}
