//! The live observer: one client recording every delivery of the DUT's
//! topics, one publishing the scenario's incoming messages to the DUT, both
//! over their own fault proxy to the real broker, with tokio TCP. Its
//! subscriptions and publish streams are the simulator's
//! ([`crate::app::observer_topics`], [`crate::app::spawn_observer_streams`]);
//! its clients' settings are scaled with the run, and it subscribes again
//! after every reconnection (below). With no packet log from mosquitto, a delivery of the DUT's will message
//! on its will topic is also recorded as the broker's `will_published`.

use std::time::Duration;

use resilient_mqtt::client::{Client, ClientBuilder, TcpTransport};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{Backoff, Config, Event as DriverEvent};

use super::world::RealWorld;
use crate::trace::payload;
use crate::trace::{Actor, Event};

/// The observer's credentials when the broker requires a login.
pub const OBSERVER_USER: &str = "observer";
pub const OBSERVER_PASSWORD: &str = "observer-pass";

fn qos(q: u8) -> QoS {
    QoS::from_u8(q).unwrap_or(QoS::AtMostOnce)
}

/// Who the observer logs in as.
#[derive(Clone, Default)]
pub enum Login {
    /// On the brokers the harness configures: [`OBSERVER_USER`] when the
    /// DUT logs in (they know both logins), else anonymous.
    #[default]
    Scenario,
    /// On a broker the harness does not configure
    /// (`super::external`): `--broker-user` with its password, or
    /// anonymous (`None`).
    Given(super::external::Credentials),
}

fn config(world: &RealWorld, id: &str, login: &Login) -> Config {
    let (user, password) = match login {
        Login::Scenario => {
            let l = world.scenario.dut.user.is_some() && world.scenario.dut.password.is_some();
            (
                l.then(|| OBSERVER_USER.to_string()),
                l.then(|| OBSERVER_PASSWORD.as_bytes().to_vec()),
            )
        }
        Login::Given(None) => (None, None),
        Login::Given(Some((u, p))) => (Some(u.clone()), p.clone()),
    };
    Config {
        client_id: id.into(),
        user,
        password,
        clean_init: false,
        clean: false,
        restore_subscriptions: true,
        link_integrity: Duration::ZERO,
        keepalive: Duration::from_secs(((60.0 * world.scale()).ceil() as u64).max(1)),
        response_time: Duration::from_secs_f64(10.0 * world.scale()),
        // Scaled with the run, so the observer is as quick, relative to
        // the DUT, as in the simulator.
        backoff: Backoff {
            initial: Duration::from_secs_f64(0.1 * world.scale()),
            max: Duration::from_secs_f64(0.5 * world.scale()),
            jitter: 0.0,
            ..Backoff::default()
        },
        seed: world.seed ^ 0x0b5e_47e1,
        ..Config::default()
    }
}

/// Connects, retrying every (scaled) second until the broker answers.
async fn connect(client: &Client, scale: f64) {
    while client.connect_quick().await.is_err() {
        tokio::time::sleep(Duration::from_secs_f64(scale)).await;
    }
}

/// Runs the observer until its runtime is dropped.
pub async fn host(world: RealWorld, broker: String, login: Login) -> Result<(), String> {
    let w = world.clone();
    let will = world
        .scenario
        .dut
        .will
        .as_ref()
        .map(|w| (w.topic.as_str().to_string(), w.message.clone().into_bytes()));
    let sub = ClientBuilder::new(config(&world, "observer-sub", &login))
        .transport(TcpTransport::new(broker.clone()))
        .on_message(move |m| {
            if will
                .as_ref()
                .is_some_and(|(t, msg)| *t == m.topic && *msg == m.payload && !m.retained)
            {
                w.emit(
                    Actor::Broker,
                    Event::WillPublished {
                        topic: m.topic.clone(),
                    },
                );
            }
            w.emit(
                Actor::Observer,
                Event::Delivered {
                    topic: m.topic.clone(),
                    msg: match &w.wire {
                        Some(view) => view.delivered_id(&m.topic, &m.payload),
                        None => payload::identity(&m.payload),
                    }
                    .unwrap_or_default(),
                    qos: m.qos as u8,
                    retain: m.retained,
                    dup: m.dup,
                },
            );
        })
        .spawn()
        .map_err(|e| e.to_string())?;
    let publisher = ClientBuilder::new(config(&world, "observer-pub", &login))
        .transport(TcpTransport::new(broker.clone()))
        .on_event(|_: &DriverEvent| {})
        .spawn()
        .map_err(|e| e.to_string())?;
    connect(&sub, world.scale()).await;
    // Every topic the DUT publishes to, and its will, at the highest qos used.
    // A black-box DUT publishes where it does: the topics of its messages.
    let mut topics = crate::app::observer_topics(&world.scenario);
    if let Some(rule) = world.wire.as_ref().and_then(|v| v.seq()) {
        topics.insert(rule.topic.clone(), 1);
    }
    for (topic, q) in &topics {
        let _ = sub.subscribe(topic, qos(*q)).await;
    }
    world.set_observer_ready();
    // Subscribe again after every reconnection, even one with a session
    // present: a broker restarted without its state can take a CONNECT the
    // observer had already given up on (queued while the broker was
    // starting, e.g. behind Docker's port forwarder), create an empty
    // session for it, and answer the next CONNECT with session_present = 1
    // and no subscriptions. The observer must not miss deliveries because of
    // that (it is the harness, not the device under test).
    let mut notes = sub.notifications();
    let resub = sub.clone();
    tokio::spawn(async move {
        loop {
            match notes.recv().await {
                Ok(resilient_mqtt::client::Notification::Up { .. }) => {
                    for (topic, q) in &topics {
                        let _ = resub.subscribe(topic, qos(*q)).await;
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    });
    connect(&publisher, world.scale()).await;
    crate::app::spawn_observer_streams(&world, &publisher);
    std::future::pending::<()>().await;
    Ok(())
}
