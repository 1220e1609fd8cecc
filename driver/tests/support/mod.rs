//! What the driver's integration tests share: a mosquitto on a free port
//! and the configuration to reach it, owned strings for a `Config` that
//! work with and without `alloc`, and an observer on the broker that is
//! not our driver (rumqttc), so the same tests run in both builds.

#![allow(dead_code)]

use std::time::Duration;

use resilient_mqtt::session::store::{self, Text};
use tokio::sync::mpsc;

/// `s` as the session's owned text (a `String`, or a `heapless::String`
/// without `alloc`).
pub fn text(s: &str) -> Text {
    store::text(s).expect("fits the build's text capacity")
}

/// A persistent rumqttc subscriber: it keeps its session across broker
/// restarts (clean session off) and hands over every payload it receives.
pub struct Observer {
    payloads: mpsc::UnboundedReceiver<Vec<u8>>,
    _client: rumqttc::AsyncClient,
}

impl Observer {
    /// Connects as `id` to 127.0.0.1:`port`, subscribes to `filter` at
    /// QoS 1, and returns once the SUBACK is in.
    pub async fn start(id: &str, port: u16, filter: &str) -> Observer {
        let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
        options.set_clean_session(false);
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 100);
        let (tx, payloads) = mpsc::unbounded_channel();
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        let mut subscribed_tx = Some(subscribed_tx);
        client
            .subscribe(filter, rumqttc::QoS::AtLeastOnce)
            .await
            .expect("subscribe queued");
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        if tx.send(p.payload.to_vec()).is_err() {
                            return;
                        }
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                        if let Some(s) = subscribed_tx.take() {
                            let _ = s.send(());
                        }
                    }
                    Ok(_) => {}
                    // The broker is down: retry (rumqttc reconnects on the
                    // next poll, keeping its session).
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .expect("SUBACK within 10 s")
            .expect("observer running");
        Observer {
            payloads,
            _client: client,
        }
    }

    /// The next payload, if one comes within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Vec<u8>> {
        tokio::time::timeout(wait, self.payloads.recv())
            .await
            .ok()
            .flatten()
    }
}

/// A real mosquitto on a free port (panics with mosquitto-rig's message,
/// e.g. how to install it, when it cannot start).
pub fn start(options: mosquitto_rig::Options) -> mosquitto_rig::Mosquitto {
    mosquitto_rig::Mosquitto::start(options).unwrap_or_else(|e| panic!("{e}"))
}

/// The driver's configuration the tests against `broker` start from:
/// client id `id`, 127.0.0.1, a 2 s response time, defaults otherwise.
pub fn config(broker: &mosquitto_rig::Mosquitto, id: &str) -> resilient_mqtt::session::Config {
    resilient_mqtt::session::Config {
        client_id: text(id),
        server: text("127.0.0.1"),
        port: broker.port(),
        response_time: Duration::from_secs(2),
        ..Default::default()
    }
}
