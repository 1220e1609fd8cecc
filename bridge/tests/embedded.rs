//! The firmware shell (`embedded::Shell`, over `embedded-io-async`) as a
//! host, against the gateway shell and a real mosquitto, over an in-memory
//! byte stream: QoS 1 publishes complete on the broker's ack and a
//! message comes back through a subscription.

use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::client::ClientBuilder;
use resilient_mqtt::session::Config;
use resilient_mqtt_bridge::embedded::{Clock, Shell};
use resilient_mqtt_bridge::{gateway, GatewayConfig, Host, HostConfig, HostEvent, Instant, QoS};

struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant(self.0.elapsed().as_millis() as u64)
    }
    async fn sleep_until(&mut self, t: Instant) {
        tokio::time::sleep_until(self.0 + Duration::from_millis(t.0)).await;
    }
}

#[tokio::test]
async fn the_embedded_shell_publishes_and_receives_through_a_gateway() {
    let broker = Mosquitto::start(Options::default()).expect("mosquitto");
    let (host_end, gw_end) = tokio::io::duplex(4096);
    let base = Config {
        server: "127.0.0.1".into(),
        port: broker.port(),
        ..Config::default()
    };
    tokio::spawn(gateway::run(gw_end, GatewayConfig::new(9), move |id| {
        ClientBuilder::new(id.apply(&base))
    }));
    let mut shell = Shell::new(
        FromTokio::new(host_end),
        TokioClock(tokio::time::Instant::now()),
        Host::new(HostConfig::new("embedded-1", 3).unwrap()),
    );
    let now = shell.now();
    let sub = shell
        .host()
        .subscribe(now, "cmd/embedded-1", QoS::AtLeastOnce)
        .unwrap();
    let tokens: Vec<_> = (0..5)
        .map(|i| {
            let now = shell.now();
            shell
                .host()
                .publish(
                    now,
                    "peers/embedded-1/seq",
                    format!("{i}").as_bytes(),
                    QoS::AtLeastOnce,
                    false,
                )
                .unwrap()
        })
        .collect();
    let mut done = Vec::new();
    let mut subscribed = false;
    let mut got = None;
    let port = broker.port().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while (got.is_none() || done.len() < tokens.len()) && tokio::time::Instant::now() < deadline {
        tokio::time::timeout(Duration::from_millis(200), shell.step())
            .await
            .ok();
        while let Some(ev) = shell.host().poll_event() {
            match ev {
                HostEvent::PublishDone { token } => done.push(token),
                HostEvent::SubscribeDone { token, result } if token == sub => {
                    assert_eq!(result, Ok(QoS::AtLeastOnce));
                    subscribed = true;
                    let st = tokio::process::Command::new("mosquitto_pub")
                        .args([
                            "-h",
                            "127.0.0.1",
                            "-p",
                            &port,
                            "-q",
                            "1",
                            "-t",
                            "cmd/embedded-1",
                            "-m",
                            "go",
                        ])
                        .status()
                        .await
                        .unwrap();
                    assert!(st.success());
                }
                HostEvent::Message { topic, payload, .. } => {
                    got = Some((topic.to_string(), payload.to_vec()))
                }
                _ => {}
            }
        }
    }
    assert!(subscribed);
    assert_eq!(got, Some(("cmd/embedded-1".to_string(), b"go".to_vec())));
    for t in tokens {
        assert!(done.contains(&t), "{t:?} not done: {done:?}");
    }
}
