//! The embedded (no_std) shell in the simulator: turmoil's simulated TCP
//! through the same `FromTokio` adapter as on the host, simulated time
//! through tokio's clock, and a link fault.
//!
//! A broker host runs a minimal MQTT responder (CONNACK, SUBACK, PUBACK,
//! PINGRESP; every PUBLISH it gets is recorded and echoed back at QoS 0).
//! The device host runs the runner and its application in one task:
//! connect, subscribe, publish QoS 1 and receive the echo; then the link
//! between device and broker is partitioned (segments dropped): a QoS 1
//! publish made during the partition does not complete, the session
//! declares the outage (ping or ack timeout) and keeps trying; after the
//! repair it reconnects and the publish completes and reaches the broker.
//! Finally the firmware reports WiFi down and up (`report_link`): the
//! connection drops at once and comes back.
//!
//! Run: `cargo test -p resilient-mqtt --test embedded sim::`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use resilient_mqtt::codec::{
    self, ConnAck, ConnectReturnCode, Decoded, List, Packet, PubAck, Publish, QoS, QosPid, SubAck,
    SubAckCode,
};
use resilient_mqtt::embedded::host::{FromTokio, TokioClock, TokioDelay};
use resilient_mqtt::embedded::raw::NoopRawMutex;
use resilient_mqtt::embedded::{Client, Connector, Runner, Shared};
use resilient_mqtt::session::{store, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use turmoil::net::{TcpListener, TcpStream};

const PORT: u16 = 1883;

/// Opens turmoil TCP connections for the shell.
struct SimConnector;

impl Connector for SimConnector {
    type Socket = FromTokio<TcpStream>;
    type Error = std::io::Error;

    async fn connect(&mut self, host: &str, port: u16) -> Result<Self::Socket, Self::Error> {
        Ok(FromTokio::new(TcpStream::connect((host, port)).await?))
    }
}

/// Payloads of every PUBLISH the broker received, in order.
type Received = Arc<Mutex<Vec<Vec<u8>>>>;

async fn responder(mut s: TcpStream, received: Received) {
    let mut rx = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        rx.extend_from_slice(&buf[..n]);
        let mut out = Vec::new();
        while let Ok(Decoded::Packet { packet, len }) =
            codec::decode(&rx, codec::DEFAULT_MAX_PACKET_SIZE)
        {
            let granted = [SubAckCode::Granted(QoS::AtMostOnce)];
            let replies = match packet {
                Packet::Connect(_) => vec![Packet::ConnAck(ConnAck {
                    session_present: false,
                    code: ConnectReturnCode::Accepted,
                })],
                Packet::Subscribe(sub) => vec![Packet::SubAck(SubAck {
                    pid: sub.pid,
                    codes: List::new(&granted),
                })],
                Packet::Publish(p) => {
                    received.lock().unwrap().push(p.payload.to_vec());
                    let echo = Packet::Publish(Publish {
                        dup: false,
                        qospid: QosPid::AtMostOnce,
                        retain: false,
                        topic: p.topic,
                        payload: p.payload,
                    });
                    match p.qospid.pid() {
                        Some(pid) => vec![Packet::PubAck(PubAck(pid)), echo],
                        None => vec![echo],
                    }
                }
                Packet::PingReq => vec![Packet::PingResp],
                _ => vec![],
            };
            for r in replies {
                let at = out.len();
                out.resize(at + r.encoded_len().unwrap(), 0);
                r.encode(&mut out[at..]).unwrap();
            }
            rx.drain(..len);
        }
        if s.write_all(&out).await.is_err() {
            return;
        }
    }
}

async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let waited = timeout(limit, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{what} within {limit:?}");
}

#[test]
fn embedded_shell_over_turmoil_survives_a_partition_and_a_wifi_drop() {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(300))
        .tick_duration(Duration::from_millis(10))
        .rng_seed(7)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
        .build();
    let received: Received = Arc::default();
    let on_broker = received.clone();
    sim.host("broker", move || {
        let received = on_broker.clone();
        async move {
            let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
            loop {
                let (s, _) = listener.accept().await?;
                tokio::spawn(responder(s, received.clone()));
            }
        }
    });
    let seen = received.clone();
    sim.client("dut", async move {
        let shared: Shared<NoopRawMutex> = Shared::new();
        let mut rx = [0u8; 512];
        let config = Config {
            client_id: store::text("emb-sim").unwrap(),
            server: store::text("broker").unwrap(),
            port: PORT,
            keepalive: Duration::from_secs(8),
            response_time: Duration::from_secs(2),
            ..Config::default()
        };
        let mut runner = Runner::new(
            config,
            SimConnector,
            TokioClock::new(),
            TokioDelay,
            &shared,
            &mut rx,
        )?;
        let c = Client::new(&shared);
        let app = async {
            c.connect_quick().await.expect("connect");
            c.subscribe("echo/#", QoS::AtMostOnce).await.unwrap();
            c.publish("echo/a", b"first", false, QoS::AtLeastOnce)
                .await
                .unwrap();
            let m = timeout(Duration::from_secs(5), c.receive()).await.unwrap();
            assert_eq!(
                (m.topic.as_str(), m.payload.as_slice()),
                ("echo/a", &b"first"[..])
            );

            // Link fault: every segment between the hosts is dropped.
            turmoil::partition("dut", "broker");
            let during = c.publish("echo/a", b"during", false, QoS::AtLeastOnce);
            tokio::pin!(during);
            assert!(
                timeout(Duration::from_secs(20), &mut during).await.is_err(),
                "no PUBACK can cross a partition"
            );
            assert!(!c.is_connected(), "the outage was declared");
            assert!(c.stats().outages >= 1);
            turmoil::repair("dut", "broker");
            timeout(Duration::from_secs(30), &mut during)
                .await
                .expect("completes after the repair")
                .expect("published");
            assert!(c.is_connected());
            assert!(c.stats().connections >= 2, "{:?}", c.stats());

            // WiFi down then up, as the firmware reports it (D2).
            let outages = c.stats().outages;
            c.report_link(false).await;
            wait_until("down at once", Duration::from_millis(100), || {
                !c.is_connected()
            })
            .await;
            c.report_link(true).await;
            wait_until("back up", Duration::from_secs(15), || c.is_connected()).await;
            assert_eq!(c.stats().outages, outages + 1);
            c.publish("echo/a", b"after-wifi", false, QoS::AtLeastOnce)
                .await
                .unwrap();
            c.disconnect().await;
        };
        tokio::join!(runner.run(), app);
        Ok(())
    });
    sim.run().unwrap();
    assert!(
        sim.elapsed() >= Duration::from_secs(20),
        "the partition lasted 20 simulated seconds: {:?}",
        sim.elapsed()
    );
    let got = seen.lock().unwrap().clone();
    assert!(got.iter().any(|p| p == b"first"));
    assert!(got.iter().any(|p| p == b"during"), "{got:?}");
    assert!(got.iter().any(|p| p == b"after-wifi"), "{got:?}");
}
