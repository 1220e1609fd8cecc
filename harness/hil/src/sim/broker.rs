//! The broker host: the chaos broker on turmoil TCP port 1883 (and with
//! `[tls]`, behind TLS on port 8883), restored
//! from the last autosave when the executor asks for a persistent restart,
//! with its packet log and events forwarded to the trace.

use std::time::Duration;

use chaos_broker::{Broker, BrokerConfig, LogRecord};
use tokio::sync::broadcast::error::RecvError;

use super::net::BROKER_ADDR;
use super::tls::{stall_after_server_hello, TLS_PORT};
use super::world::World;
use crate::trace::Actor;

/// The observer's credentials when the broker requires a login.
pub const OBSERVER_USER: &str = "observer";
pub const OBSERVER_PASSWORD: &str = "observer-pass";

/// mosquitto's `autosave_interval 1`.
const AUTOSAVE: Duration = Duration::from_secs(1);

fn config(world: &World) -> BrokerConfig {
    let dut = &world.scenario.dut;
    // A DUT with a user and a password logs in; without a password the
    // broker stays anonymous (a user name alone is not a credential).
    let login = dut
        .user
        .as_ref()
        .zip(dut.password.as_ref().and_then(|p| p.resolve().ok()));
    let users = login.map(|(user, password)| {
        [
            (user.clone(), password.into_bytes()),
            (
                OBSERVER_USER.to_string(),
                OBSERVER_PASSWORD.as_bytes().to_vec(),
            ),
        ]
        .into_iter()
        .collect()
    });

    BrokerConfig {
        users,
        seed: world.seed,
        max_packet_size: max_packet_size(&world.scenario),
        ..BrokerConfig::default()
    }
}

/// `[broker] max_packet_size`, or the chaos broker's default (mosquitto's).
pub(crate) fn max_packet_size(scenario: &crate::scenario::Scenario) -> usize {
    scenario
        .broker
        .max_packet_size
        .map_or(BrokerConfig::default().max_packet_size, |n| n as usize)
}

/// Runs the broker until the host crashes.
pub async fn host(world: World) -> turmoil::Result {
    let broker = {
        let mut slot = world.broker();
        let config = config(&world);
        let broker = match (slot.restore, slot.saved.clone()) {
            (true, Some(state)) => Broker::from_snapshot_with_config(config, state)?,
            _ => Broker::new(config)?,
        };
        for (target, fault) in &slot.faults {
            broker.set_fault(target.clone(), fault.clone());
        }
        slot.current = Some(broker.clone());
        broker
    };
    let mut tap = broker.tap();
    let w = world.clone();
    tokio::task::spawn_local(async move {
        loop {
            match tap.recv().await {
                Ok(record) => forward(&w, record),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            }
        }
    });
    let saver = broker.clone();
    let w = world.clone();
    tokio::task::spawn_local(async move {
        loop {
            tokio::time::sleep(AUTOSAVE).await;
            w.broker().saved = Some(saver.snapshot());
        }
    });
    if world.tls().identity.is_some() {
        let (w, broker) = (world.clone(), broker.clone());
        let tls = turmoil::net::TcpListener::bind(("0.0.0.0", TLS_PORT)).await?;
        tokio::task::spawn_local(async move {
            while let Ok((stream, _)) = tls.accept().await {
                serve_tls(&w, &broker, stream);
            }
        });
    }
    let listener = turmoil::net::TcpListener::bind(("0.0.0.0", BROKER_ADDR.1)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let broker = broker.clone();
        // spawn_local, not spawn: tokio files spawned tasks by their
        // process-wide id, and the order in which a crashed host's tasks
        // are dropped (closing their connections) followed it, so a run's
        // trace depended on what the process had run before.
        tokio::task::spawn_local(async move {
            broker.serve_connection(stream).await;
        });
    }
}

/// One connection on the TLS port: a handshake with the certificate in
/// force, then MQTT as on the plain port; or, under `tls_stall`, a
/// ServerHello and silence. A failed handshake is the DUT's to report.
fn serve_tls(world: &World, broker: &Broker, stream: turmoil::net::TcpStream) {
    let (config, stalled) = {
        let t = world.tls();
        let Some(id) = &t.identity else { return };
        (id.server(t.cert), t.stalled)
    };
    let broker = broker.clone();
    tokio::task::spawn_local(async move {
        if stalled {
            let _ = stall_after_server_hello(stream, config).await;
        } else if let Ok(tls) = tokio_rustls::TlsAcceptor::from(config).accept(stream).await {
            broker.serve_connection(tls).await;
        }
    });
}

fn forward(world: &World, record: LogRecord) {
    let now = super::world::now_ms();
    if let Some(event) = crate::app::chaos_broker_event(record, true, now, 1.0) {
        world.emit_at(now, Actor::Broker, event);
    }
}
