//! The DUT host: the device application ([`crate::app`]) over turmoil TCP
//! (or TLS over it, with `[tls]`) and the scenario's WiFi, in simulated
//! time; its tasks stay on the host's local set.

use std::future::Future;

use super::net::SimTcp;
use super::world::World;
use crate::app::{DutState, DutWorld};
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

/// Boots the device: driver, application, heartbeat. Runs until the
/// simulation ends or the host is bounced (`dut_reboot`).
pub async fn host(world: World, seed: u64) -> turmoil::Result {
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
