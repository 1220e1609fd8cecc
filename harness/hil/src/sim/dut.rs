//! The DUT host: the device application ([`crate::app`]) over turmoil TCP
//! (or TLS over it, with `[tls]`) and the scenario's WiFi, in simulated
//! time; its tasks stay on the host's local set.

use std::future::Future;
use std::time::Duration;

use super::net::SimTcp;
use super::world::World;
use crate::app::{DutState, DutWorld};
use crate::scenario::phases::Phase;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

impl DutWorld for World {
    fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    fn dut(&self) -> &DutState {
        &self.dut
    }

    fn now_ms(&self) -> u64 {
        super::world::now_ms()
    }

    fn emit(&self, actor: Actor, event: Event) {
        World::emit(self, actor, event)
    }

    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::task::spawn_local(task)
    }
}

/// Longest the first boot waits for the observer to be ready (a fault at
/// the start can keep it from subscribing; the device boots anyway).
pub const OBSERVER_WAIT: Duration = Duration::from_secs(5);

/// When the device boots: the first boot waits until the observer is
/// subscribed (so nothing the DUT publishes goes unrecorded), unless the
/// broker is down or hung (the observer cannot subscribe then) or
/// [`OBSERVER_WAIT`] passed; then every boot, reboots too, waits its
/// seeded `[sim] boot_delay`. Returns the boot's number (0: the first).
pub(super) async fn boot_phase(world: &World, seed: u64) -> u64 {
    let boot = world.next_boot();
    if boot == 0 {
        let poll = world.scenario.tick.to_std().max(Duration::from_millis(1));
        let started = tokio::time::Instant::now();
        while !world.observer_ready() && started.elapsed() < OBSERVER_WAIT {
            // After a tick the broker host has started, unless a fault at
            // time 0 took it down.
            tokio::time::sleep(poll).await;
            let broker_unavailable = {
                let slot = world.broker();
                slot.current.is_none()
                    || slot
                        .faults
                        .iter()
                        .any(|(_, f)| matches!(f, chaos_broker::Fault::Hang(_)))
            };
            if broker_unavailable {
                break;
            }
        }
    }
    let delay = world.scenario.sim.draw(seed, Phase::Boot(boot));
    tokio::time::sleep(delay.to_std()).await;
    boot
}

/// Boots the device (after its boot phase, [`boot_phase`]): driver,
/// application, heartbeat. Runs until the simulation ends or the host is
/// bounced (`dut_reboot`).
pub async fn host(world: World, seed: u64) -> turmoil::Result {
    boot_phase(&world, seed).await;
    let config = world.scenario.dut.to_driver(seed);
    let keepalive_s = config.keepalive.as_secs() as u16;
    let identity = world.tls().identity.clone();
    let link = world.dut_link.clone();
    match identity {
        None => {
            let tcp = SimTcp::dut(super::net::BROKER_ADDR.1, link);
            crate::app::run(world, config, keepalive_s, tcp).await?
        }
        Some(id) => {
            let transport = id.dut_transport(super::EPOCH_SECS, link)?;
            crate::app::run(world, config, keepalive_s, transport).await?
        }
    }
    Ok(())
}
