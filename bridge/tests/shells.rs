//! The tokio host shell and the gateway shell over an in-memory byte
//! stream, with a real mosquitto: QoS 0, 1 and 2 publishes complete on the
//! broker's acknowledgement and come back through the host's own
//! subscription; unsubscribe stops them; a broker restart delays QoS 1
//! publishes but loses none, and the host hears the MQTT side go down and
//! up and the gateway's queue while it is down.

use std::time::Duration;

use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::client::ClientBuilder;
use resilient_mqtt::session::Config;
use resilient_mqtt_bridge::tokio::{run_host, HostHandle, Notification};
use resilient_mqtt_bridge::{gateway, GatewayConfig, HostConfig, QoS};
use tokio::time::timeout;

fn bridge(broker: &Mosquitto, id: &str) -> HostHandle {
    let (host_end, gw_end) = tokio::io::duplex(4096);
    let base = Config {
        server: "127.0.0.1".into(),
        port: broker.port(),
        ..Config::default()
    };
    tokio::spawn(gateway::run(gw_end, GatewayConfig::new(11), move |id| {
        ClientBuilder::new(id.apply(&base))
    }));
    let (host, task) = run_host(host_end, HostConfig::new(id, 22).unwrap());
    tokio::spawn(task);
    host
}

#[tokio::test]
async fn qos_0_1_2_complete_and_come_back_through_a_subscription() {
    let broker = Mosquitto::start(Options::default()).expect("mosquitto");
    let host = bridge(&broker, "shells-1");
    let granted = timeout(
        Duration::from_secs(10),
        host.subscribe("loop/#", QoS::ExactlyOnce),
    )
    .await
    .expect("subscribed in time")
    .unwrap();
    assert_eq!(granted, QoS::ExactlyOnce);
    for (q, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        let topic = format!("loop/q{q}");
        timeout(
            Duration::from_secs(10),
            host.publish(&topic, b"payload", qos, false),
        )
        .await
        .expect("completed in time")
        .unwrap();
        let m = timeout(Duration::from_secs(10), host.next_message())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.topic.as_str(), &m.payload[..], m.qos),
            (topic.as_str(), &b"payload"[..], qos)
        );
    }
    timeout(Duration::from_secs(10), host.unsubscribe("loop/#"))
        .await
        .unwrap()
        .unwrap();
    host.publish("loop/after", b"x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert!(
        timeout(Duration::from_millis(500), host.next_message())
            .await
            .is_err(),
        "nothing after unsubscribe"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_delays_qos1_publishes_and_loses_none() {
    let mut broker = Mosquitto::start(Options {
        persistence: true,
        ..Options::default()
    })
    .expect("mosquitto");
    let host = bridge(&broker, "shells-2");
    let mut notes = host.notifications();
    timeout(Duration::from_secs(10), host.wait_mqtt_up())
        .await
        .unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20u32 {
        let h = host.clone();
        set.spawn(async move {
            h.publish(
                "restart/seq",
                i.to_string().as_bytes(),
                QoS::AtLeastOnce,
                false,
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        if i == 5 {
            broker.kill();
            tokio::time::sleep(Duration::from_secs(2)).await;
            broker.restart().unwrap();
        }
    }
    while let Some(r) = timeout(Duration::from_secs(60), set.join_next())
        .await
        .expect("all complete")
    {
        r.unwrap().unwrap();
    }
    let mut seen = Vec::new();
    while let Ok(n) = notes.try_recv() {
        seen.push(n);
    }
    let down = seen
        .iter()
        .position(|n| *n == Notification::Down)
        .expect("down reported");
    let up = seen
        .iter()
        .rposition(|n| matches!(n, Notification::Up { .. }))
        .expect("up reported");
    assert!(down < up, "{seen:?}");
    assert!(
        seen.iter()
            .any(|n| matches!(n, Notification::QueueState { queued, .. } if *queued > 0)),
        "the gateway reported its queue during the outage: {seen:?}"
    );
}

/// The host application reads nothing for 3 s while 100 QoS 1 messages
/// arrive for it: the host's queues fill, its window closes, the gateway
/// holds the rest; then every message arrives, in order.
#[tokio::test]
async fn a_slow_host_application_loses_no_qos1_message() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let broker = Mosquitto::start(Options::default()).expect("mosquitto");
    let host = bridge(&broker, "shells-3");
    timeout(
        Duration::from_secs(10),
        host.subscribe("slow/#", QoS::AtLeastOnce),
    )
    .await
    .unwrap()
    .unwrap();
    let port = broker.port().to_string();
    let mut publisher = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-q",
            "1",
            "-t",
            "slow/m",
            "-l",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = publisher.stdin.take().unwrap();
    for i in 0..100 {
        writeln!(stdin, "{i}").unwrap();
    }
    drop(stdin);
    assert!(publisher.wait().unwrap().success());
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..100 {
        let m = timeout(Duration::from_secs(10), host.next_message())
            .await
            .unwrap_or_else(|_| panic!("message {i} did not come"))
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&m.payload), i.to_string());
    }
}
