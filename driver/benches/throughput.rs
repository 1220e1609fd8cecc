//! Publish throughput of our client against rumqttc, in one run, against one
//! local mosquitto: QoS 0, QoS 1 and QoS 2, 64-byte payloads, printed as
//! messages per second and as ours/rumqttc ratios (target: all >= 1.0).
//!
//! Method (the same for both clients):
//! - one mosquitto started for the run (per-message debug logging off, so
//!   the broker's log pipe is not what is measured), both clients connected
//!   to it for the whole run, each publishing to its own topic of the same
//!   length with no subscribers;
//! - a warm-up run per client and QoS, then `ROUNDS` rounds; in each round
//!   the clients run one after the other (who goes first rotates between
//!   rounds, so a slow phase of the machine hits all); the table shows the
//!   median of the rounds, and the ratio is the median of the rounds'
//!   ours/rumqttc ratios (runs seconds apart see the same machine);
//! - QoS 0: `QOS0_MSGS` sequential publishes, then one QoS 1 "fence" publish
//!   on the same connection; the clock stops at the fence's PUBACK. The
//!   broker handles a connection's packets in order, so the PUBACK proves it
//!   has read every QoS 0 message: neither client can win by buffering;
//! - QoS 1: `QOS1_MSGS` publishes with `WINDOW` in flight, issued by one
//!   task: ours with `max_inflight = WINDOW` and `WINDOW` publish futures
//!   in flight at once (`buffer_unordered`; each returns after its PUBACK);
//!   rumqttc with `inflight = WINDOW`, publishes queued by one task while
//!   its event loop is polled by another that counts `Incoming(PubAck)`;
//!   the clock stops at the last PUBACK. For information, ours is also run
//!   with `WINDOW` spawned tasks each awaiting one publish at a time (row
//!   "ours/tasks"; not part of the ratio);
//! - QoS 2: as QoS 1 with `QOS2_MSGS` publishes and `QOS2_WINDOW` (20) in
//!   flight for both clients; a publish completes at its PUBCOMP (PUBLISH,
//!   PUBREC, PUBREL, PUBCOMP), rumqttc's event loop counts
//!   `Incoming(PubComp)`. 20 is mosquitto's `max_inflight_messages`: with
//!   more unreleased QoS 2 messages mosquitto 2.0 still acknowledges them
//!   but drops them (see driver/README.md), so a wider window would measure
//!   lost messages;
//! - both sockets have TCP_NODELAY (ours always sets it; rumqttc is told to),
//!   keepalive 60 s, clean session;
//! - a multi-threaded tokio runtime (one worker per core); the measuring
//!   code runs in a spawned task, as application code does;
//! - besides msgs/s, the CPU time this process spent per message (both
//!   clients live in it, but only the one measured is busy): on a shared
//!   machine it is steadier than the wall-clock rate.
//!
//! - TLS (with the `tls` feature): the same table again over TLS, against a
//!   second mosquitto whose listener has a certificate made for the run
//!   (rcgen; no key is committed); both clients use the same rustls client
//!   configuration (ring, certificate verified). Printed: ours/rumqttc over
//!   TLS, and ours over TLS / ours over TCP (the cost of TLS, baseline from
//!   the same run).
//!
//! - MQTT 5 against 3.1.1: ours connected with MQTT 5 (default options, no
//!   properties on publishes) against ours with 3.1.1 on the same broker,
//!   the same rounds; printed as v5/3.1.1 ratios (the session-level cost of
//!   MQTT 5; `benches/v5_overhead.rs` measures the codec alone).
//!
//! Run with `cargo bench -p resilient-mqtt --features tls --bench throughput`
//! (without `--features tls` the TLS table is skipped and says so).

use std::error::Error;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::client::{Client, ClientBuilder};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{Config, Protocol, V5Config};
use tokio::sync::watch;
use tokio::time::timeout;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const PAYLOAD_LEN: usize = 64;
const QOS0_MSGS: usize = 50_000;
const QOS1_MSGS: usize = 20_000;
const QOS2_MSGS: usize = 10_000;
const QOS2_WINDOW: usize = 20;
const WINDOW: usize = 32;
const ROUNDS: usize = 7;
/// rumqttc's request channel capacity (between `AsyncClient` and event loop).
const RUMQTTC_CHANNEL: usize = 100;
/// Any single round taking longer than this is reported as a failure.
const ROUND_LIMIT: Duration = Duration::from_secs(30);

const OURS_TOPIC: &str = "bench/ours";
const RUMQTTC_TOPIC: &str = "bench/rumq";

fn payload() -> Vec<u8> {
    (0..PAYLOAD_LEN).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Our client, connected.
struct Ours {
    client: Client,
    payload: Arc<Vec<u8>>,
}

impl Ours {
    async fn connect(port: u16, tls: Option<&Tls>) -> Res<Ours> {
        Self::connect_as(port, tls, "bench-ours", Protocol::V311).await
    }

    async fn connect_as(port: u16, tls: Option<&Tls>, id: &str, protocol: Protocol) -> Res<Ours> {
        let config = Config {
            client_id: id.into(),
            protocol,
            server: "127.0.0.1".into(),
            port,
            max_inflight: WINDOW,
            ..Config::default()
        };
        let builder = ClientBuilder::new(config);
        let client = match tls {
            None => builder.spawn()?,
            Some(t) => builder.transport(t.ours(port)?).spawn()?,
        };
        client.connect_quick().await?;
        Ok(Ours {
            client,
            payload: Arc::new(payload()),
        })
    }

    async fn qos0(&self, n: usize) -> Res<Duration> {
        let start = Instant::now();
        for _ in 0..n {
            self.client
                .publish(OURS_TOPIC, &self.payload, false, QoS::AtMostOnce)
                .await?;
        }
        // The fence: its PUBACK means the broker has read all of the above.
        self.client
            .publish(OURS_TOPIC, &self.payload, false, QoS::AtLeastOnce)
            .await?;
        Ok(start.elapsed())
    }

    /// `window` publishes at `qos` (1 or 2) in flight from one task.
    async fn windowed(&self, n: usize, qos: QoS, window: usize) -> Res<Duration> {
        let start = Instant::now();
        stream::iter(0..n)
            .map(|_| self.client.publish(OURS_TOPIC, &self.payload, false, qos))
            .buffer_unordered(window)
            .try_for_each(|()| async { Ok(()) })
            .await?;
        Ok(start.elapsed())
    }

    /// `WINDOW` tasks, each with one publish in flight at a time.
    async fn qos1_tasks(&self, n: usize) -> Res<Duration> {
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let tasks: Vec<_> = (0..WINDOW)
            .map(|_| {
                let client = self.client.clone();
                let payload = self.payload.clone();
                let next = next.clone();
                tokio::spawn(async move {
                    while next.fetch_add(1, Ordering::Relaxed) < n {
                        client
                            .publish(OURS_TOPIC, &payload, false, QoS::AtLeastOnce)
                            .await?;
                    }
                    Ok::<(), resilient_mqtt::client::ClientError>(())
                })
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        Ok(start.elapsed())
    }
}

/// rumqttc, connected, with its event loop polled by a task that counts
/// PUBACKs and PUBCOMPs (each completes one publish).
struct Rumqttc {
    client: rumqttc::AsyncClient,
    payload: Vec<u8>,
    /// PUBACKs + PUBCOMPs seen so far; receivers are woken only when
    /// `target` is reached.
    acks: watch::Receiver<u64>,
    target: Arc<AtomicU64>,
    failure: watch::Receiver<Option<String>>,
}

impl Rumqttc {
    /// A connection with `inflight` publishes in flight at most.
    async fn connect(port: u16, id: &str, inflight: usize, tls: Option<&Tls>) -> Res<Rumqttc> {
        let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
        options
            .set_keep_alive(Duration::from_secs(60))
            .set_clean_session(true)
            .set_inflight(inflight as u16);
        if let Some(t) = tls {
            options.set_transport(t.rumqttc()?);
        }
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, RUMQTTC_CHANNEL);
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);

        let (acks_tx, acks) = watch::channel(0u64);
        let (fail_tx, failure) = watch::channel(None);
        let (up_tx, up_rx) = tokio::sync::oneshot::channel();
        let target = Arc::new(AtomicU64::new(u64::MAX));
        let goal = target.clone();
        tokio::spawn(async move {
            let mut up = Some(up_tx);
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        if let Some(up) = up.take() {
                            let _ = up.send(());
                        }
                    }
                    Ok(rumqttc::Event::Incoming(
                        rumqttc::Packet::PubAck(_) | rumqttc::Packet::PubComp(_),
                    )) => {
                        let goal = goal.load(Ordering::Relaxed);
                        acks_tx.send_if_modified(|c| {
                            *c += 1;
                            *c >= goal
                        });
                    }
                    Ok(_) => {}
                    Err(rumqttc::ConnectionError::RequestsDone) => return,
                    Err(e) => {
                        // The bench wants an uninterrupted connection: any
                        // error ends the run with this message.
                        fail_tx.send_replace(Some(e.to_string()));
                        return;
                    }
                }
            }
        });
        timeout(Duration::from_secs(10), up_rx)
            .await
            .map_err(|_| "rumqttc: no CONNACK within 10 s")?
            .map_err(|_| format!("rumqttc: connection failed: {:?}", failure.borrow()))?;
        Ok(Rumqttc {
            client,
            payload: payload(),
            acks,
            target,
            failure,
        })
    }

    /// Waits until `goal` PUBACKs in total have been counted.
    async fn wait_acks(&mut self, goal: u64) -> Res<()> {
        self.target.store(goal, Ordering::Relaxed);
        let mut failure = self.failure.clone();
        tokio::select! {
            r = self.acks.wait_for(|c| *c >= goal) => match r {
                Ok(_) => Ok(()),
                Err(_) => Err("rumqttc: event loop stopped".into()),
            },
            f = failure.wait_for(Option::is_some) => {
                let why = match f {
                    Ok(f) => f.clone().unwrap_or_default(),
                    Err(_) => "event loop stopped".into(),
                };
                Err(format!("rumqttc: {why}").into())
            }
        }
    }

    async fn qos0(&mut self, n: usize) -> Res<Duration> {
        let goal = *self.acks.borrow() + 1;
        // Set before publishing so the fence's PUBACK wakes us.
        self.target.store(goal, Ordering::Relaxed);
        let start = Instant::now();
        for _ in 0..n {
            self.client
                .publish(
                    RUMQTTC_TOPIC,
                    rumqttc::QoS::AtMostOnce,
                    false,
                    self.payload.clone(),
                )
                .await?;
        }
        self.client
            .publish(
                RUMQTTC_TOPIC,
                rumqttc::QoS::AtLeastOnce,
                false,
                self.payload.clone(),
            )
            .await?;
        self.wait_acks(goal).await?;
        Ok(start.elapsed())
    }

    /// `n` publishes at `qos` (1 or 2), up to `WINDOW` in flight.
    async fn windowed(&mut self, n: usize, qos: rumqttc::QoS) -> Res<Duration> {
        let goal = *self.acks.borrow() + n as u64;
        self.target.store(goal, Ordering::Relaxed);
        let start = Instant::now();
        let client = self.client.clone();
        let payload = self.payload.clone();
        let producer = tokio::spawn(async move {
            for _ in 0..n {
                client
                    .publish(RUMQTTC_TOPIC, qos, false, payload.clone())
                    .await?;
            }
            Ok::<(), rumqttc::ClientError>(())
        });
        self.wait_acks(goal).await?;
        producer.await??;
        Ok(start.elapsed())
    }
}

/// What is measured.
#[derive(Clone, Copy, PartialEq)]
enum Who {
    Ours,
    /// Ours, QoS 1 from `WINDOW` spawned tasks (information only).
    OursTasks,
    Rumqttc,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Ours => "ours",
            Who::OursTasks => "ours/tasks",
            Who::Rumqttc => "rumqttc",
        }
    }
}

/// One measured run: messages per second, and this process's CPU time per
/// message (user + system, all threads; the broker is another process and
/// the other client is idle meanwhile). CPU time varies less than wall
/// time when other work shares the machine.
#[derive(Clone, Copy)]
struct Sample {
    rate: f64,
    cpu_us: f64,
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

async fn run_one(ours: &Ours, theirs: &mut Rumqttc, who: Who, qos: u8, n: usize) -> Res<Sample> {
    let round = async {
        match (who, qos) {
            (Who::Ours | Who::OursTasks, 0) => ours.qos0(n).await,
            (Who::Ours, 1) => ours.windowed(n, QoS::AtLeastOnce, WINDOW).await,
            (Who::Ours, _) => ours.windowed(n, QoS::ExactlyOnce, QOS2_WINDOW).await,
            (Who::OursTasks, _) => ours.qos1_tasks(n).await,
            (Who::Rumqttc, 0) => theirs.qos0(n).await,
            (Who::Rumqttc, 1) => theirs.windowed(n, rumqttc::QoS::AtLeastOnce).await,
            (Who::Rumqttc, _) => theirs.windowed(n, rumqttc::QoS::ExactlyOnce).await,
        }
    };
    let cpu = cpu_time();
    let elapsed = timeout(ROUND_LIMIT, round)
        .await
        .map_err(|_| format!("a round took longer than {ROUND_LIMIT:?}"))??;
    let cpu = cpu_time().saturating_sub(cpu);
    Ok(Sample {
        rate: n as f64 / elapsed.as_secs_f64(),
        cpu_us: cpu.as_secs_f64() * 1e6 / n as f64,
    })
}

fn median(v: impl Iterator<Item = f64>) -> f64 {
    let mut s: Vec<f64> = v.collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn broker_version(broker: &Mosquitto) -> String {
    // mosquitto logs "mosquitto version X running" when it is ready.
    broker
        .log()
        .lines()
        .find_map(|l| {
            let rest = &l[l.find("mosquitto version ")? + "mosquitto version ".len()..];
            rest.split_whitespace().next().map(str::to_string)
        })
        .unwrap_or_else(|| "(unknown version)".into())
}

/// One table: every QoS, ours against rumqttc on the same broker. Returns
/// (qos, msgs/s ratio, CPU ratio, our median msgs/s) per QoS.
async fn table(
    ours: &Ours,
    theirs: &mut Rumqttc,
    theirs_q2: &mut Rumqttc,
) -> Res<Vec<(u8, f64, f64, f64)>> {
    println!(
        "{:<10} {:>3} {:>10} {:>12}   msgs/s of each round",
        "client", "qos", "msgs/s", "cpu us/msg"
    );
    let mut ratios = Vec::new();
    for (qos, n) in [(0u8, QOS0_MSGS), (1u8, QOS1_MSGS), (2u8, QOS2_MSGS)] {
        let whos: &[Who] = if qos == 1 {
            &[Who::Ours, Who::Rumqttc, Who::OursTasks]
        } else {
            &[Who::Ours, Who::Rumqttc]
        };
        let theirs = if qos == 2 {
            &mut *theirs_q2
        } else {
            &mut *theirs
        };
        for &who in whos {
            run_one(ours, theirs, who, qos, n / 4).await?;
        }
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); whos.len()];
        for round in 0..ROUNDS {
            // Rotate who goes first, so a slow phase of the machine does
            // not always hit the same client.
            for i in 0..whos.len() {
                let k = (i + round) % whos.len();
                samples[k].push(run_one(ours, theirs, whos[k], qos, n).await?);
            }
        }
        let rate = |v: &[Sample]| median(v.iter().map(|s| s.rate));
        let cpu = |v: &[Sample]| median(v.iter().map(|s| s.cpu_us));
        for (who, v) in whos.iter().zip(&samples) {
            let list: Vec<String> = v.iter().map(|s| format!("{:.0}", s.rate)).collect();
            println!(
                "{:<10} {qos:>3} {:>10.0} {:>12.2}   [{}]",
                who.name(),
                rate(v),
                cpu(v),
                list.join(", ")
            );
        }
        // Each round's ours/rumqttc ratio compares runs made seconds apart,
        // so it varies less than the ratio of the medians.
        let pairs = samples[0].iter().zip(&samples[1]);
        let rate_ratio = median(pairs.clone().map(|(a, b)| a.rate / b.rate));
        let cpu_ratio = median(pairs.map(|(a, b)| b.cpu_us / a.cpu_us));
        ratios.push((qos, rate_ratio, cpu_ratio, rate(&samples[0])));
    }
    println!();
    Ok(ratios)
}

fn print_ratios(link: &str, ratios: &[(u8, f64, f64, f64)]) {
    for (qos, ratio, cpu_ratio, _) in ratios {
        let verdict = if *ratio >= 1.0 { "ok" } else { "BELOW 1.0" };
        println!(
            "ratio ours/rumqttc, {link}, QoS {qos}: {ratio:.2} in msgs/s ({verdict}), \
             {cpu_ratio:.2} in msgs per CPU second (medians of the rounds' ratios)"
        );
    }
}

/// A mosquitto for the bench: per-message debug logging off (the rig logs
/// everything; those lines would make the broker's stderr pipe part of
/// what is measured), plus `extra` lines.
fn quiet_broker(extra: Vec<String>) -> Res<Mosquitto> {
    let mut lines = vec![
        "log_type none".into(),
        "log_type notice".into(),
        "log_type information".into(),
    ];
    lines.extend(extra);
    Ok(Mosquitto::start(Options {
        extra: lines,
        ..Options::default()
    })?)
}

async fn bench() -> Res<()> {
    let broker = quiet_broker(Vec::new())?;
    let ours = Ours::connect(broker.port(), None).await?;
    let mut theirs = Rumqttc::connect(broker.port(), "bench-rumqttc", WINDOW, None).await?;
    // QoS 2 with mosquitto's in-flight limit (see QOS2_WINDOW).
    let mut theirs_q2 =
        Rumqttc::connect(broker.port(), "bench-rumqttc-q2", QOS2_WINDOW, None).await?;

    println!(
        "publish throughput: {PAYLOAD_LEN}-byte payload, one local mosquitto {} on 127.0.0.1, \
         median of {ROUNDS} rounds after a warm-up",
        broker_version(&broker)
    );
    println!(
        "QoS 0: {QOS0_MSGS} msgs + a QoS 1 fence; QoS 1: {QOS1_MSGS} msgs, {WINDOW} in flight; \
         QoS 2: {QOS2_MSGS} msgs, {QOS2_WINDOW} in flight"
    );
    println!();
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "load average {} (other work on the machine makes wall-clock rates noisy; \
             CPU time per message varies less)",
            load.join(" ")
        );
    }
    println!();
    println!("plain TCP");
    let plain = table(&ours, &mut theirs, &mut theirs_q2).await?;
    let v5 = v5_table(broker.port(), &ours, &mut theirs).await?;
    ours.client.disconnect().await;
    let _ = theirs.client.disconnect().await;
    let _ = theirs_q2.client.disconnect().await;

    let tls = tls_table().await?;
    print_ratios("TCP", &plain);
    for (qos, ratio, cpu_ratio) in &v5 {
        println!(
            "ratio ours MQTT 5/ours MQTT 3.1.1, TCP, QoS {qos}: {ratio:.2} in msgs/s, \
             {cpu_ratio:.2} in msgs per CPU second (baseline: 3.1.1, same run)"
        );
    }
    match tls {
        Some(tls) => {
            print_ratios("TLS", &tls);
            for ((qos, _, _, p), (_, _, _, t)) in plain.iter().zip(&tls) {
                println!(
                    "TLS cost, ours, QoS {qos}: TLS/TCP msgs/s {:.2} (baseline: ours over TCP, same run)",
                    t / p
                );
            }
        }
        None => println!(
            "TLS rows skipped: built without the `tls` feature \
             (cargo bench -p resilient-mqtt --features tls --bench throughput)"
        ),
    }
    Ok(())
}

/// Ours speaking MQTT 5 (default options: no properties on publishes)
/// against ours speaking 3.1.1, on the same broker, rounds alternating.
/// Returns (qos, v5/3.1.1 msgs/s, v5/3.1.1 msgs per CPU second).
async fn v5_table(port: u16, v311: &Ours, theirs: &mut Rumqttc) -> Res<Vec<(u8, f64, f64)>> {
    let v5 = Ours::connect_as(
        port,
        None,
        "bench-ours-v5",
        Protocol::v5(V5Config::default()),
    )
    .await?;
    println!("MQTT 5 against 3.1.1 (ours both)");
    println!(
        "{:<10} {:>3} {:>10} {:>12}   msgs/s of each round",
        "protocol", "qos", "msgs/s", "cpu us/msg"
    );
    let mut out = Vec::new();
    for (qos, n) in [(0u8, QOS0_MSGS), (1u8, QOS1_MSGS), (2u8, QOS2_MSGS)] {
        let pair = [v311, &v5];
        for o in pair {
            run_one(o, theirs, Who::Ours, qos, n / 4).await?;
        }
        let mut samples: [Vec<Sample>; 2] = [Vec::new(), Vec::new()];
        for round in 0..ROUNDS {
            for i in 0..2 {
                let k = (i + round) % 2;
                samples[k].push(run_one(pair[k], theirs, Who::Ours, qos, n).await?);
            }
        }
        for (name, v) in ["3.1.1", "5"].iter().zip(&samples) {
            let list: Vec<String> = v.iter().map(|s| format!("{:.0}", s.rate)).collect();
            println!(
                "{name:<10} {qos:>3} {:>10.0} {:>12.2}   [{}]",
                median(v.iter().map(|s| s.rate)),
                median(v.iter().map(|s| s.cpu_us)),
                list.join(", ")
            );
        }
        let pairs = samples[1].iter().zip(&samples[0]);
        let rate = median(pairs.clone().map(|(a, b)| a.rate / b.rate));
        let cpu = median(pairs.map(|(a, b)| b.cpu_us / a.cpu_us));
        out.push((qos, rate, cpu));
    }
    println!();
    v5.client.disconnect().await;
    Ok(out)
}

/// The same table over TLS 1.3 (rustls with ring for both clients, the
/// same client configuration) to a mosquitto whose listener has a
/// certificate made for this run.
#[cfg(feature = "tls")]
async fn tls_table() -> Res<Option<Vec<(u8, f64, f64, f64)>>> {
    let tls = Tls::new()?;
    let broker = quiet_broker(tls.listener_lines())?;
    let ours = Ours::connect(broker.port(), Some(&tls)).await?;
    let mut theirs =
        Rumqttc::connect(broker.port(), "bench-rumqttc-tls", WINDOW, Some(&tls)).await?;
    let mut theirs_q2 = Rumqttc::connect(
        broker.port(),
        "bench-rumqttc-tls-q2",
        QOS2_WINDOW,
        Some(&tls),
    )
    .await?;
    println!("TLS (rustls, ring, TLS 1.3, certificate verified against the run's CA)");
    let rows = table(&ours, &mut theirs, &mut theirs_q2).await?;
    ours.client.disconnect().await;
    let _ = theirs.client.disconnect().await;
    let _ = theirs_q2.client.disconnect().await;
    Ok(Some(rows))
}

#[cfg(not(feature = "tls"))]
async fn tls_table() -> Res<Option<Vec<(u8, f64, f64, f64)>>> {
    Ok(None)
}

/// The run's certificates (made here with rcgen: no key is committed) and
/// each client's TLS configuration.
#[cfg(feature = "tls")]
struct Tls {
    dir: tempfile::TempDir,
    config: resilient_mqtt::client::tls::TlsConfig,
}

#[cfg(feature = "tls")]
impl Tls {
    fn new() -> Res<Tls> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
        let ca_key = KeyPair::generate()?;
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, "bench CA");
        let ca = p.self_signed(&ca_key)?;
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(vec!["localhost".to_string()])?;
        p.subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let leaf = p.signed_by(&key, &ca, &ca_key)?;
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("server.pem"), leaf.pem())?;
        std::fs::write(dir.path().join("server.key"), key.serialize_pem())?;
        let config = resilient_mqtt::client::tls::TlsConfig::new("127.0.0.1").ca_pem(ca.pem());
        Ok(Tls { dir, config })
    }

    fn listener_lines(&self) -> Vec<String> {
        let p = |n: &str| self.dir.path().join(n).display().to_string();
        vec![
            format!("certfile {}", p("server.pem")),
            format!("keyfile {}", p("server.key")),
        ]
    }

    fn ours(
        &self,
        port: u16,
    ) -> Res<resilient_mqtt::client::tls::TlsTransport<resilient_mqtt::client::TcpTransport>> {
        Ok(resilient_mqtt::client::tls::TlsTransport::new(
            resilient_mqtt::client::TcpTransport::new(format!("127.0.0.1:{port}")),
            &self.config,
        )?)
    }

    fn rumqttc(&self) -> Res<rumqttc::Transport> {
        let config = resilient_mqtt::client::tls::client_config(&self.config)?;
        Ok(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(Arc::new(config)),
        ))
    }
}

/// Without the `tls` feature there is no TLS configuration to pass.
#[cfg(not(feature = "tls"))]
enum Tls {}

#[cfg(not(feature = "tls"))]
impl Tls {
    fn ours(&self, _port: u16) -> Res<resilient_mqtt::client::TcpTransport> {
        match *self {}
    }

    fn rumqttc(&self) -> Res<rumqttc::Transport> {
        match *self {}
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    // The measured code runs in a task on the runtime's workers, as an
    // application's tasks do, not on the thread that calls `block_on`.
    let result = match runtime {
        Ok(rt) => rt.block_on(async {
            tokio::spawn(bench())
                .await
                .unwrap_or_else(|e| Err(format!("the bench task failed: {e}").into()))
        }),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = result {
        eprintln!("throughput bench failed: {e}");
        std::process::exit(1);
    }
}
