//! Messages per second through the bridge on a real PTY cable, host and
//! gateway in this process over `serial::open` (termios set to the baud
//! rate), a real mosquitto behind the gateway, QoS 1 publishes completing
//! on the broker's PUBACK as reported back over the serial line.
//!
//! A PTY does not throttle to its termios baud rate, so the cable's relay
//! paces bytes to the baud rate (10 bits a byte, 8N1): that is what is
//! measured, printed against the link's own ceiling in the same run
//! (bytes per second / bytes of one publish frame). The unpaced PTY is
//! measured too, for reference.
//!
//! `cargo bench -p resilient-mqtt-bridge` (`BRIDGE_BENCH_SECS` per rate, default 5).

use std::time::{Duration, Instant};

use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::client::ClientBuilder;
use resilient_mqtt::session::Config;
use resilient_mqtt_bridge::caps::{MAX_BODY, MAX_ENCODED};
use resilient_mqtt_bridge::frame::{encode, Header, Kind};
use resilient_mqtt_bridge::serial::{self, Cable};
use resilient_mqtt_bridge::tokio::run_host;
use resilient_mqtt_bridge::wire::Msg;
use resilient_mqtt_bridge::{gateway, GatewayConfig, HostConfig, QoS};

const TOPIC: &str = "bench/bridge/seq";
const PAYLOAD: usize = 32;

/// Bytes on the wire of one publish frame as the bench sends it.
fn frame_size() -> usize {
    let payload = [b'x'; PAYLOAD];
    let mut body = [0u8; MAX_BODY];
    let n = Msg::Publish {
        id: 1000,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: TOPIC,
        payload: &payload,
    }
    .encode(&mut body)
    .unwrap();
    let mut out = [0u8; MAX_ENCODED];
    encode(
        &Header {
            kind: Kind::Data,
            seq: 1,
            ack: 1,
            win: 4,
        },
        &body[..n],
        &mut out,
    )
    .unwrap()
}

async fn run(broker: &Mosquitto, baud: u32, paced: bool, secs: u64) -> (f64, u64) {
    let cable = Cable::new(paced.then_some(baud)).unwrap();
    let base = Config {
        server: "127.0.0.1".into(),
        port: broker.port(),
        ..Config::default()
    };
    let gw_io = serial::open(cable.gateway_path(), baud).unwrap();
    let gw = tokio::spawn(gateway::run(gw_io, GatewayConfig::new(77), move |id| {
        ClientBuilder::new(id.apply(&base))
    }));
    let host_io = serial::open(cable.host_path(), baud).unwrap();
    let (host, task) = run_host(
        host_io,
        HostConfig::new(&format!("bench-{baud}-{paced}"), 5).unwrap(),
    );
    let task = tokio::spawn(task);
    host.wait_mqtt_up().await;
    let payload = [b'x'; PAYLOAD];
    // Warm up, then count completions in the window.
    host.publish(TOPIC, &payload, QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut set = tokio::task::JoinSet::new();
    let mut done = 0u64;
    // Keep 32 publishes outstanding (the host's outbox holds 16; the rest
    // wait in its task): the link, not the application, is the limit.
    for _ in 0..32 {
        let h = host.clone();
        set.spawn(async move { h.publish(TOPIC, &payload, QoS::AtLeastOnce, false).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
        done += 1;
        if Instant::now() < end {
            let h = host.clone();
            set.spawn(async move { h.publish(TOPIC, &payload, QoS::AtLeastOnce, false).await });
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let retransmits = host.stats().retransmits;
    task.abort();
    gw.abort();
    (done as f64 / elapsed, retransmits)
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep it short.
    let secs: u64 = std::env::var("BRIDGE_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let broker = Mosquitto::start(Options {
        die_with_parent: true,
        ..Options::default()
    })
    .expect("mosquitto");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let frame = frame_size();
    println!("bridge throughput: QoS 1 publishes, topic {TOPIC:?}, {PAYLOAD}-byte payload, {frame}-byte frame, {secs} s each");
    for baud in [115_200u32, 921_600] {
        let ceiling = baud as f64 / 10.0 / frame as f64;
        let (paced, rtx) = rt.block_on(run(&broker, baud, true, secs));
        println!(
            "  {baud:>7} baud, paced: {paced:>8.1} msg/s   ceiling {ceiling:>8.1} msg/s   ratio {:.2}   ({rtx} retransmits)",
            paced / ceiling
        );
    }
    let (raw, rtx) = rt.block_on(run(&broker, 921_600, false, secs));
    println!("  unpaced PTY (termios 921600): {raw:>8.1} msg/s   ({rtx} retransmits)");
}
