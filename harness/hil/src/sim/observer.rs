//! The observer host: one client that records every delivery of the DUT's
//! topics, and one that publishes the scenario's incoming messages to the
//! DUT. Both use `resilient-mqtt` with aggressive reconnects and a kept,
//! self-restoring session, so the observer itself loses nothing the broker
//! gives it.

use std::time::Duration;

use resilient_mqtt::client::{Client, ClientBuilder};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{Backoff, Config, Event as DriverEvent};

use super::broker::{OBSERVER_PASSWORD, OBSERVER_USER};
use super::net::SimTcp;
use super::world::World;
use crate::trace::payload;
use crate::trace::{Actor, Event};

fn qos(q: u8) -> QoS {
    QoS::from_u8(q).unwrap_or(QoS::AtMostOnce)
}

fn config(world: &World, id: &str) -> Config {
    let login = world.scenario.dut.user.is_some() && world.scenario.dut.password.is_some();
    Config {
        client_id: id.into(),
        user: login.then(|| OBSERVER_USER.to_string()),
        password: login.then(|| OBSERVER_PASSWORD.as_bytes().to_vec()),
        clean_init: false,
        clean: false,
        restore_subscriptions: true,
        link_integrity: Duration::ZERO,
        backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
            jitter: 0.5,
            ..Backoff::default()
        },
        // Each observer client its own jitter, so their reconnects never coincide.
        seed: world.seed
            ^ id.bytes().fold(0x0b5e_47e1_u64, |h, b| {
                h.wrapping_mul(31).wrapping_add(u64::from(b))
            }),
        ..Config::default()
    }
}

/// Connects, retrying every second until the broker answers.
async fn connect(client: &Client) {
    while client.connect_quick().await.is_err() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Runs the observer until the simulation ends: it starts at its seeded
/// phase (`[sim] observer_phase`) and tells the world when it is ready
/// (subscribed), which the DUT's first boot waits for.
pub async fn host(world: World) -> turmoil::Result {
    let phase = world
        .scenario
        .sim
        .draw(world.seed, crate::scenario::phases::Phase::Observer);
    tokio::time::sleep(phase.to_std()).await;
    let w = world.clone();
    let sub = ClientBuilder::new(config(&world, "observer-sub"))
        .transport(SimTcp::default())
        .on_message(move |m| {
            w.emit(
                Actor::Observer,
                Event::Delivered {
                    topic: m.topic.clone(),
                    msg: payload::identity(&m.payload).unwrap_or_default(),
                    qos: m.qos as u8,
                    retain: m.retained,
                    dup: m.dup,
                },
            );
        })
        .spawn()?;
    let publisher = ClientBuilder::new(config(&world, "observer-pub"))
        .transport(SimTcp::default())
        .on_event(|_: &DriverEvent| {})
        .spawn()?;
    connect(&sub).await;
    // Every topic the DUT publishes to, and its will, at the highest qos used.
    let topics = crate::app::observer_topics(&world.scenario);
    for (topic, q) in &topics {
        let _ = sub.subscribe(topic, qos(*q)).await;
    }
    world.set_observer_ready();
    connect(&publisher).await;
    crate::app::spawn_observer_streams(&world, &publisher);
    std::future::pending::<()>().await;
    Ok(())
}
