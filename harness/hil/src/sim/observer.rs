//! The observer host: one client that records every delivery of the DUT's
//! topics, and one that publishes the scenario's incoming messages to the
//! DUT. Both use `resilient-mqtt` with aggressive reconnects and a kept,
//! self-restoring session, so the observer itself loses nothing the broker
//! gives it.

use std::collections::BTreeMap;
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

/// Runs the observer until the simulation ends.
pub async fn host(world: World) -> turmoil::Result {
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
    let mut topics: BTreeMap<String, u8> = BTreeMap::new();
    for p in &world.scenario.workload.publish {
        let q = topics.entry(p.topic.as_str().to_string()).or_default();
        *q = (*q).max(p.qos.get());
    }
    if let Some(will) = &world.scenario.dut.will {
        let q = topics.entry(will.topic.as_str().to_string()).or_default();
        *q = (*q).max(will.qos.get());
    }
    for (topic, q) in &topics {
        let _ = sub.subscribe(topic, qos(*q)).await;
    }
    connect(&publisher).await;
    for (i, stream) in world.scenario.workload.observer.iter().enumerate() {
        let publisher = publisher.clone();
        let world = world.clone();
        let stream = stream.clone();
        tokio::task::spawn_local(async move {
            tokio::time::sleep(stream.start.to_std()).await;
            let mut seq = 0u64;
            while stream.count.is_none_or(|c| seq < c) {
                seq += 1;
                let msg = payload::msg_id("obs", i, seq);
                let body = payload::make(&msg, stream.payload_size);
                let topic = stream.topic.as_str();
                if publisher
                    .publish(topic, &body, stream.retain, qos(stream.qos.get()))
                    .await
                    .is_ok()
                {
                    world.emit(
                        Actor::Observer,
                        Event::ObserverPublish {
                            topic: topic.to_string(),
                            msg,
                            qos: stream.qos.get(),
                        },
                    );
                }
                tokio::time::sleep(stream.interval.to_std()).await;
            }
        });
    }
    std::future::pending::<()>().await;
    Ok(())
}
