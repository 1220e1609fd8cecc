//! Fan-out benchmark: messages per second routed from 1 publisher to 100
//! subscribers on real TCP (loopback), for our broker and for mosquitto in
//! the same run; prints both and the ratio.
//!
//! `cargo bench -p chaos-broker` (needs mosquitto installed). QoS 0, 64-byte
//! payloads. The publisher keeps at most WINDOW messages ahead of the slowest
//! subscriber, so neither broker is pushed into dropping; a message counts
//! as routed once every subscriber has it.

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chaos_broker::BrokerConfig;
use resilient_mqtt::codec::{
    check, Connect, List, Packet, Pid, Publish, QoS, QosPid, Subscribe, SubscribeTopic,
};
use support::mosquitto::Mosquitto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const SUBSCRIBERS: usize = 100;
const WINDOW: u64 = 1000;
const WARMUP: Duration = Duration::from_millis(500);
const MEASURE: Duration = Duration::from_secs(3);
const PAYLOAD: [u8; 64] = [0x5a; 64];
const TOPIC: &str = "bench/fanout";

fn encode(p: Packet<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    p.encode_to_vec(&mut v).expect("valid bench packet");
    v
}

async fn connect(addr: SocketAddr, id: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.write_all(&encode(Packet::Connect(Connect {
        client_id: id,
        keep_alive: 0,
        clean_session: true,
        will: None,
        username: None,
        password: None,
    })))
    .await
    .expect("send CONNECT");
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).await.expect("CONNACK");
    assert_eq!(ack, [0x20, 0x02, 0x00, 0x00], "CONNACK accepted");
    s
}

/// Counts PUBLISH packets arriving on `s`.
async fn count_publishes(
    mut s: TcpStream,
    count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    progress: Arc<Notify>,
) {
    let mut buf = vec![0u8; 1 << 16];
    let mut filled = 0;
    while !stop.load(Ordering::Relaxed) {
        let n = match s.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        filled += n;
        let mut pos = 0;
        let mut seen = 0;
        while let Ok(Some(h)) = check(&buf[pos..filled], usize::MAX) {
            if filled - pos < h.total_len() {
                break;
            }
            if (buf[pos] >> 4) == 3 {
                seen += 1;
            }
            pos += h.total_len();
        }
        buf.copy_within(pos..filled, 0);
        filled -= pos;
        count.fetch_add(seen, Ordering::Relaxed);
        progress.notify_one();
    }
}

/// Messages per second fully fanned out by the broker at `addr`.
async fn run(addr: SocketAddr, label: &str) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Notify::new());
    let mut counts = Vec::new();
    for i in 0..SUBSCRIBERS {
        let mut s = connect(addr, &format!("{label}-sub-{i}")).await;
        let topics = [SubscribeTopic {
            filter: TOPIC,
            qos: QoS::AtMostOnce,
        }];
        s.write_all(&encode(Packet::Subscribe(Subscribe {
            pid: Pid::MIN,
            topics: List::new(&topics),
        })))
        .await
        .expect("SUBSCRIBE");
        let mut ack = [0u8; 5];
        s.read_exact(&mut ack).await.expect("SUBACK");
        assert_eq!(ack, [0x90, 0x03, 0x00, 0x01, 0x00], "SUBACK qos 0");
        let c = Arc::new(AtomicU64::new(0));
        counts.push(c.clone());
        tokio::spawn(count_publishes(s, c, stop.clone(), progress.clone()));
    }
    let min_received = |counts: &[Arc<AtomicU64>]| {
        counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0)
    };
    let mut publisher = connect(addr, &format!("{label}-pub")).await;
    let one = encode(Packet::Publish(Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: TOPIC,
        payload: &PAYLOAD,
    }));
    let mut published = 0u64;
    let mut batch = Vec::new();
    let start = Instant::now();
    let mut measured_from: Option<(Instant, u64)> = None;
    let deadline = start + WARMUP + MEASURE;
    let mut stalled_since = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if measured_from.is_none() && now >= start + WARMUP {
            measured_from = Some((now, min_received(&counts)));
        }
        let done = min_received(&counts);
        let room = (done + WINDOW).saturating_sub(published);
        if room == 0 {
            if now.duration_since(stalled_since) > Duration::from_secs(10) {
                panic!("{label}: subscribers stopped receiving ({done} of {published})");
            }
            // Wait for a subscriber to make progress (bounded, to re-check time).
            let _ = tokio::time::timeout(Duration::from_millis(50), progress.notified()).await;
            continue;
        }
        stalled_since = now;
        batch.clear();
        for _ in 0..room.min(64) {
            batch.extend_from_slice(&one);
        }
        publisher.write_all(&batch).await.expect("publish");
        published += room.min(64);
    }
    let end = Instant::now();
    let end_count = min_received(&counts);
    stop.store(true, Ordering::Relaxed);
    let (from, from_count) = measured_from.expect("warm-up shorter than the run");
    (end_count - from_count) as f64 / end.duration_since(from).as_secs_f64()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs us too:
    // keep that quick.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (ours_addr, _broker) = support::serve_ours(BrokerConfig {
            // The packet log is on, as in the simulator; bounded.
            log_capacity: 10_000,
            ..BrokerConfig::default()
        })
        .await;
        // No queue limit, so mosquitto never drops a QoS 0 message here.
        // Otherwise its defaults (`set_tcp_nodelay true` measured slower here).
        let mosquitto = Mosquitto::start_with("max_queued_messages 0");
        println!(
            "fan-out: 1 publisher -> {SUBSCRIBERS} subscribers, QoS 0, {}-byte payload, window {WINDOW}, {:?} measured after {:?} warm-up",
            PAYLOAD.len(),
            MEASURE,
            WARMUP
        );
        let theirs = run(mosquitto.addr(), "mosquitto").await;
        println!(
            "mosquitto 2.0 : {theirs:>10.0} msg/s routed ({:.0} deliveries/s)",
            theirs * SUBSCRIBERS as f64
        );
        let ours = run(ours_addr, "chaos").await;
        println!(
            "chaos-broker  : {ours:>10.0} msg/s routed ({:.0} deliveries/s)",
            ours * SUBSCRIBERS as f64
        );
        println!("ratio chaos-broker / mosquitto: {:.2}", ours / theirs);
    });
}
