//! The live DUT kind: `resilient-mqtt` and the workload application
//! ([`crate::app`]) in-process, on their own tokio runtime, in real time
//! against a real broker through the fault proxy ([`crate::realtime`]
//! does the run: broker, proxies, observer, fault executor).
//!
//! `hil run --backend live [--broker mosquitto|chaos|container[:IMAGE]|tcp://HOST:PORT|exec:'CMD {port}'|PROFILE]
//! [--dut driver|exec:'CMD'|PROFILE]`: with `--dut` other than `driver`,
//! the device under test is a host process seen from the wire
//! ([`crate::blackbox`]) instead of our driver.
//! Faults map as [`crate::realtime`] says; `wifi_down` drops the DUT's
//! link signal (`WatchLink`) and `dut_reboot` drops its runtime (sockets
//! close) and boots a new one; `dut_power_cycle` drops it, and boots a
//! new one `off_for` later.

use std::time::Duration;

use resilient_mqtt::session::Config;
use tokio::runtime::Runtime;

use crate::backend::{Backend, BackendError, RunOutcome};
use crate::blackbox::{DutArg, ExecDut, ExecSpec};
use crate::realtime::{self, RealWorld, RealtimeDut, Rig};
use crate::scenario::Scenario;
use crate::trace::sink::TraceSink;
use crate::trace::{Actor, Event};
// Where they were before the real-time module took them.
pub use crate::realtime::{container, parse_broker, BrokerKind, ContainerSpec};

/// The live backend.
#[derive(Debug, Clone)]
pub struct LiveBackend {
    broker: BrokerKind,
    name: String,
    /// `--dut` as given, and the black-box DUT it names (`None`: our driver).
    dut: DutArg,
    exec: Option<ExecSpec>,
}

impl LiveBackend {
    /// Our driver in-process against `broker`.
    pub fn new(broker: BrokerKind) -> LiveBackend {
        let name = format!("live/{}", broker.name());
        LiveBackend {
            broker,
            name,
            dut: DutArg::Driver,
            exec: None,
        }
    }

    /// The same backend with the device `dut` names under test (a DUT
    /// profile is read here: a bad one is an error).
    pub fn with_dut(mut self, dut: DutArg) -> Result<LiveBackend, String> {
        self.exec = dut.exec_spec()?;
        if self.exec.is_some() {
            self.name = format!("live/{}/dut={}", self.broker.name(), dut.label());
        }
        self.dut = dut;
        Ok(self)
    }
}

impl Backend for LiveBackend {
    fn name(&self) -> &str {
        &self.name
    }

    /// `--broker B` unless it is the default (a mosquitto process),
    /// `--dut D` unless it is our driver.
    fn replay_args(&self) -> String {
        let mut a = match self.broker {
            BrokerKind::Mosquitto => String::new(),
            _ => self.broker.args(),
        };
        if self.dut != DutArg::Driver {
            a.push_str(&format!(
                " --dut {}",
                crate::backend::shell_word(&self.dut.to_arg())
            ));
        }
        a
    }

    fn evidence(&self) -> &[crate::oracle::Evidence] {
        match &self.exec {
            Some(e) => e.evidence(),
            None => crate::oracle::Evidence::ALL,
        }
    }

    fn run(
        &self,
        scenario: &Scenario,
        seed: u64,
        sink: &mut dyn TraceSink,
    ) -> Result<RunOutcome, BackendError> {
        let rig = Rig {
            name: self.name.clone(),
            broker: self.broker.clone(),
            dut_listen: "127.0.0.1:0".parse().expect("a literal address"),
        };
        let dut: Box<dyn RealtimeDut> = match &self.exec {
            Some(spec) => Box::new(ExecDut::new(spec.clone())),
            None => Box::<InProcessDut>::default(),
        };
        realtime::run_with(&rig, dut, scenario, seed, sink)
    }
}

/// The live backend's DUT: `resilient-mqtt` and the workload application
/// on their own tokio runtime in this process.
#[derive(Default)]
pub struct InProcessDut {
    rt: Option<Runtime>,
}

impl RealtimeDut for InProcessDut {
    fn boot(&mut self, world: &RealWorld, broker: std::net::SocketAddr) -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("live-dut")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the DUT's runtime: {e}"))?;
        let (w, seed, addr) = (world.clone(), world.seed, broker.to_string());
        // The driver's WiFi integrity check, in wall time.
        let integrity =
            Duration::from_secs_f64(Config::default().link_integrity.as_secs_f64() * world.scale());
        rt.spawn(async move {
            if let Err(e) = realtime::run_app(w.clone(), seed, addr, integrity).await {
                w.emit(
                    Actor::App,
                    Event::AppConnectDone {
                        ok: false,
                        error: Some(e),
                    },
                );
            }
        });
        self.rt = Some(rt);
        Ok(())
    }

    fn reboot(&mut self, world: &RealWorld, broker: std::net::SocketAddr) -> Result<(), String> {
        self.shutdown();
        self.boot(world, broker)
    }

    fn wifi(&mut self, world: &RealWorld, up: bool) -> Result<(), String> {
        world.dut.wifi.set_available(up);
        Ok(())
    }

    /// Off: its runtime is dropped at once (no DISCONNECT; the sockets
    /// close into the executor's blackhole). On: a new boot.
    fn power(
        &mut self,
        world: &RealWorld,
        broker: std::net::SocketAddr,
        on: bool,
    ) -> Result<(), String> {
        if on {
            self.boot(world, broker)
        } else {
            self.shutdown();
            Ok(())
        }
    }

    fn shutdown(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_names_the_broker_unless_it_is_the_default() {
        let replay = |b: &str| LiveBackend::new(b.parse().unwrap()).replay_args();
        assert_eq!(replay("mosquitto"), "");
        assert_eq!(replay("chaos"), " --broker chaos");
        assert_eq!(
            replay("container"),
            " --broker container:eclipse-mosquitto:2"
        );
        assert_eq!(
            replay("container:emqx/emqx:5,port=1884,env=A=b c,mount=./e.conf:/opt/e.conf"),
            " --broker 'container:emqx/emqx:5,port=1884,mount=./e.conf:/opt/e.conf,env=A=b c'"
        );
    }
}
