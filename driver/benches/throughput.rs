//! Publish throughput of our client against rumqttc, in one run, against one
//! local mosquitto: QoS 0, QoS 1 and QoS 2, 64-byte payloads, printed as
//! messages per second and as ours/rumqttc ratios (target: all >= 1.0),
//! first with MQTT 3.1.1 (ours against `rumqttc::AsyncClient`), then with
//! MQTT 5 (ours against `rumqttc::v5::AsyncClient`, with ours over 3.1.1 in
//! the same rounds as the baseline of what MQTT 5 costs us).
//!
//! Method (the same for every client):
//! - one mosquitto started for the run (per-message debug logging off, so
//!   the broker's log pipe is not what is measured), every client connected
//!   to it for the whole run, all publishing to one topic with no
//!   subscribers;
//! - a warm-up run per client and QoS, then `ROUNDS` rounds; in each round
//!   the clients run one after the other (who goes first rotates between
//!   rounds, so a slow phase of the machine hits all); the table shows the
//!   median of the rounds, and each ratio is the median of the rounds'
//!   ratios (runs seconds apart see the same machine);
//! - QoS 0: `QOS0_MSGS` sequential publishes, then one QoS 1 "fence" publish
//!   on the same connection; the clock stops at the fence's PUBACK. The
//!   broker handles a connection's packets in order, so the PUBACK proves it
//!   has read every QoS 0 message: no client can win by buffering;
//! - QoS 1: `QOS1_MSGS` publishes with `WINDOW` in flight, issued by one
//!   task: ours with `max_inflight = WINDOW` and `WINDOW` publish futures
//!   in flight at once (`buffer_unordered`; each returns after its PUBACK);
//!   rumqttc with `inflight = WINDOW` (v5: `outgoing_inflight_upper_limit`),
//!   publishes queued by one task while its event loop is polled by another
//!   that counts `Incoming(PubAck)`; the clock stops at the last PUBACK. For
//!   information, ours is also run with `WINDOW` spawned tasks each awaiting
//!   one publish at a time (row "ours/tasks"; not part of the ratio);
//! - QoS 2: as QoS 1 with `QOS2_MSGS` publishes and `QOS2_WINDOW` (20) in
//!   flight for both clients; a publish completes at its PUBCOMP (PUBLISH,
//!   PUBREC, PUBREL, PUBCOMP), rumqttc's event loop counts
//!   `Incoming(PubComp)`. 20 is mosquitto's `max_inflight_messages`: with
//!   more unreleased QoS 2 messages mosquitto 2.0 still acknowledges them
//!   but drops them (see driver/README.md), so a wider window would measure
//!   lost messages;
//! - MQTT 5: mosquitto announces its `max_inflight_messages` (20) as its
//!   Receive Maximum, and both v5 clients keep to it, so both have 20 in
//!   flight at QoS 1 and 2 (ours over 3.1.1 keeps 32 at QoS 1). No
//!   properties on the publishes; both v5 clients use their defaults for
//!   topic aliases (ours uses the aliases mosquitto allows, rumqttc none);
//! - every socket has TCP_NODELAY (ours always sets it; rumqttc is told to),
//!   keepalive 60 s, clean session / clean start;
//! - a multi-threaded tokio runtime (one worker per core); the measuring
//!   code runs in a spawned task, as application code does;
//! - besides msgs/s, the CPU time this process spent per message (all
//!   clients live in it, but only the one measured is busy): on a shared
//!   machine it is steadier than the wall-clock rate.
//!
//! - TLS (with the `tls` feature): the 3.1.1 table again over TLS, against a
//!   second mosquitto whose listener has a certificate made for the run
//!   (rcgen; no key is committed); both clients use the same rustls client
//!   configuration (ring, certificate verified). Printed: ours/rumqttc over
//!   TLS, and ours over TLS / ours over TCP (the cost of TLS, baseline from
//!   the same run).
//!
//! Run with `cargo bench -p resilient-mqtt --features tls --bench throughput`
//! (without `--features tls` the TLS table is skipped and says so).
//!
//! For a profiler: `--only CLIENT QOS [N]` (CLIENT one of `ours-3.1.1`,
//! `ours-5`, `rumqttc-3.1.1`, `rumqttc-5`) connects that one client and runs
//! one warm-up and one measured run of N messages (default: the table's),
//! e.g. under `valgrind --tool=callgrind` (see driver/README.md).

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

/// Every client publishes to this topic (no subscribers; the broker's
/// work per message is the same for all).
const TOPIC: &str = "bench/throughput";

fn payload() -> Vec<u8> {
    (0..PAYLOAD_LEN).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Messages per round at `qos`.
fn msgs(qos: u8) -> usize {
    match qos {
        0 => QOS0_MSGS,
        1 => QOS1_MSGS,
        _ => QOS2_MSGS,
    }
}

/// Our client, connected.
struct Ours {
    client: Client,
    payload: Arc<Vec<u8>>,
}

impl Ours {
    async fn connect(port: u16, tls: Option<&Tls>, id: &str, protocol: Protocol) -> Res<Ours> {
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
                .publish(TOPIC, &self.payload, false, QoS::AtMostOnce)
                .await?;
        }
        // The fence: its PUBACK means the broker has read all of the above.
        self.client
            .publish(TOPIC, &self.payload, false, QoS::AtLeastOnce)
            .await?;
        Ok(start.elapsed())
    }

    /// `window` publishes at `qos` (1 or 2) in flight from one task.
    async fn windowed(&self, n: usize, qos: QoS, window: usize) -> Res<Duration> {
        let start = Instant::now();
        stream::iter(0..n)
            .map(|_| self.client.publish(TOPIC, &self.payload, false, qos))
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
                            .publish(TOPIC, &payload, false, QoS::AtLeastOnce)
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

/// rumqttc's handle, MQTT 3.1.1 or 5.
enum RumqttcClient {
    V311(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

impl RumqttcClient {
    async fn publish(&self, topic: &str, qos: u8, payload: Vec<u8>) -> Res<()> {
        match self {
            RumqttcClient::V311(c) => {
                let qos = match qos {
                    0 => rumqttc::QoS::AtMostOnce,
                    1 => rumqttc::QoS::AtLeastOnce,
                    _ => rumqttc::QoS::ExactlyOnce,
                };
                c.publish(topic, qos, false, payload).await?
            }
            RumqttcClient::V5(c) => {
                use rumqttc::v5::mqttbytes::QoS as Q5;
                let qos = match qos {
                    0 => Q5::AtMostOnce,
                    1 => Q5::AtLeastOnce,
                    _ => Q5::ExactlyOnce,
                };
                c.publish(topic, qos, false, payload).await?
            }
        }
        Ok(())
    }

    async fn disconnect(&self) {
        let _ = match self {
            RumqttcClient::V311(c) => c.disconnect().await.map_err(|e| e.to_string()),
            RumqttcClient::V5(c) => c.disconnect().await.map_err(|e| e.to_string()),
        };
    }
}

/// What rumqttc's event loop task reports: the CONNACK, each PUBACK and
/// PUBCOMP (each completes one publish), and the error that ended it.
struct AckCounter {
    up: Option<tokio::sync::oneshot::Sender<()>>,
    acks: watch::Sender<u64>,
    goal: Arc<AtomicU64>,
    failure: watch::Sender<Option<String>>,
}

impl AckCounter {
    fn connack(&mut self) {
        if let Some(up) = self.up.take() {
            let _ = up.send(());
        }
    }

    /// One more publish completed; receivers are woken only at the goal.
    fn ack(&self) {
        let goal = self.goal.load(Ordering::Relaxed);
        self.acks.send_if_modified(|c| {
            *c += 1;
            *c >= goal
        });
    }

    /// The bench wants an uninterrupted connection: any error ends the run
    /// with this message.
    fn fail(&self, e: impl ToString) {
        self.failure.send_replace(Some(e.to_string()));
    }
}

/// The task that polls a rumqttc event loop (either version: the types
/// differ, the handling does not) and reports to an [`AckCounter`].
macro_rules! count_acks {
    ($eventloop:ident, $counter:ident, $event:path, $packet:path, $error:path) => {
        async move {
            use $error as ConnectionError;
            use $event as Event;
            use $packet as P;
            loop {
                match $eventloop.poll().await {
                    Ok(Event::Incoming(P::ConnAck(_))) => $counter.connack(),
                    Ok(Event::Incoming(P::PubAck(_) | P::PubComp(_))) => $counter.ack(),
                    Ok(_) => {}
                    Err(ConnectionError::RequestsDone) => return,
                    Err(e) => return $counter.fail(e),
                }
            }
        }
    };
}

/// rumqttc (3.1.1 or 5), connected, with its event loop polled by a task
/// that counts PUBACKs and PUBCOMPs.
struct Rumqttc {
    client: RumqttcClient,
    payload: Vec<u8>,
    /// PUBACKs + PUBCOMPs seen so far; receivers are woken only when
    /// `target` is reached.
    acks: watch::Receiver<u64>,
    target: Arc<AtomicU64>,
    failure: watch::Receiver<Option<String>>,
}

impl Rumqttc {
    /// A connection with `inflight` publishes in flight at most, MQTT 5
    /// when `v5`.
    async fn connect(
        port: u16,
        id: &str,
        inflight: usize,
        tls: Option<&Tls>,
        v5: bool,
    ) -> Res<Rumqttc> {
        let (acks_tx, acks) = watch::channel(0u64);
        let (fail_tx, failure) = watch::channel(None);
        let (up_tx, up_rx) = tokio::sync::oneshot::channel();
        let target = Arc::new(AtomicU64::new(u64::MAX));
        let mut counter = AckCounter {
            up: Some(up_tx),
            acks: acks_tx,
            goal: target.clone(),
            failure: fail_tx,
        };
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        let client = if v5 {
            let mut options = rumqttc::v5::MqttOptions::new(id, "127.0.0.1", port);
            options
                .set_keep_alive(Duration::from_secs(60))
                .set_clean_start(true)
                .set_outgoing_inflight_upper_limit(inflight as u16)
                .set_network_options(network);
            if let Some(t) = tls {
                options.set_transport(t.rumqttc()?);
            }
            let (client, mut eventloop) = rumqttc::v5::AsyncClient::new(options, RUMQTTC_CHANNEL);
            tokio::spawn(count_acks!(
                eventloop,
                counter,
                rumqttc::v5::Event,
                rumqttc::v5::mqttbytes::v5::Packet,
                rumqttc::v5::ConnectionError
            ));
            RumqttcClient::V5(client)
        } else {
            let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
            options
                .set_keep_alive(Duration::from_secs(60))
                .set_clean_session(true)
                .set_inflight(inflight as u16);
            if let Some(t) = tls {
                options.set_transport(t.rumqttc()?);
            }
            let (client, mut eventloop) = rumqttc::AsyncClient::new(options, RUMQTTC_CHANNEL);
            eventloop.set_network_options(network);
            tokio::spawn(count_acks!(
                eventloop,
                counter,
                rumqttc::Event,
                rumqttc::Packet,
                rumqttc::ConnectionError
            ));
            RumqttcClient::V311(client)
        };
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
    async fn wait_acks(&self, goal: u64) -> Res<()> {
        self.target.store(goal, Ordering::Relaxed);
        let mut acks = self.acks.clone();
        let mut failure = self.failure.clone();
        tokio::select! {
            r = acks.wait_for(|c| *c >= goal) => match r {
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

    async fn qos0(&self, n: usize) -> Res<Duration> {
        let goal = *self.acks.borrow() + 1;
        // Set before publishing so the fence's PUBACK wakes us.
        self.target.store(goal, Ordering::Relaxed);
        let start = Instant::now();
        for _ in 0..n {
            self.client.publish(TOPIC, 0, self.payload.clone()).await?;
        }
        self.client.publish(TOPIC, 1, self.payload.clone()).await?;
        self.wait_acks(goal).await?;
        Ok(start.elapsed())
    }

    /// `n` publishes at `qos` (1 or 2), up to the connection's in-flight
    /// limit.
    async fn windowed(&self, n: usize, qos: u8) -> Res<Duration> {
        let goal = *self.acks.borrow() + n as u64;
        self.target.store(goal, Ordering::Relaxed);
        let start = Instant::now();
        let producer = async {
            for _ in 0..n {
                self.client
                    .publish(TOPIC, qos, self.payload.clone())
                    .await?;
            }
            Ok::<(), Box<dyn Error + Send + Sync>>(())
        };
        tokio::try_join!(self.wait_acks(goal), producer)?;
        Ok(start.elapsed())
    }
}

/// One contestant of a table.
#[derive(Clone, Copy)]
enum Runner<'a> {
    Ours(&'a Ours),
    /// Ours, QoS 1 from `WINDOW` spawned tasks (information only).
    OursTasks(&'a Ours),
    Rumqttc(&'a Rumqttc),
}

impl Runner<'_> {
    async fn run(self, qos: u8, n: usize) -> Res<Duration> {
        match (self, qos) {
            (Runner::Ours(o) | Runner::OursTasks(o), 0) => o.qos0(n).await,
            (Runner::Ours(o), 1) => o.windowed(n, QoS::AtLeastOnce, WINDOW).await,
            (Runner::Ours(o), _) => o.windowed(n, QoS::ExactlyOnce, QOS2_WINDOW).await,
            (Runner::OursTasks(o), _) => o.qos1_tasks(n).await,
            (Runner::Rumqttc(r), 0) => r.qos0(n).await,
            (Runner::Rumqttc(r), _) => r.windowed(n, qos).await,
        }
    }

    /// One measured run (see [`Sample`]).
    async fn sample(self, qos: u8, n: usize) -> Res<Sample> {
        let cpu = cpu_time();
        let elapsed = timeout(ROUND_LIMIT, self.run(qos, n))
            .await
            .map_err(|_| format!("a round took longer than {ROUND_LIMIT:?}"))??;
        let cpu = cpu_time().saturating_sub(cpu);
        Ok(Sample {
            rate: n as f64 / elapsed.as_secs_f64(),
            cpu_us: cpu.as_secs_f64() * 1e6 / n as f64,
        })
    }
}

/// One measured run: messages per second, and this process's CPU time per
/// message (user + system, all threads; the broker is another process and
/// the other clients are idle meanwhile). CPU time varies less than wall
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

fn median(v: impl Iterator<Item = f64>) -> f64 {
    let mut s: Vec<f64> = v.collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// Rounds at one QoS: a warm-up run of each contestant, then `ROUNDS`
/// rounds with the first one rotating; prints a row per contestant and
/// returns each one's samples, in the order given.
async fn rounds(contestants: &[(&str, Runner<'_>)], qos: u8) -> Res<Vec<Vec<Sample>>> {
    let n = msgs(qos);
    for (_, runner) in contestants {
        runner.sample(qos, n / 4).await?;
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); contestants.len()];
    for round in 0..ROUNDS {
        // Rotate who goes first, so a slow phase of the machine does not
        // always hit the same client.
        for i in 0..contestants.len() {
            let k = (i + round) % contestants.len();
            samples[k].push(contestants[k].1.sample(qos, n).await?);
        }
    }
    for ((name, _), v) in contestants.iter().zip(&samples) {
        let list: Vec<String> = v.iter().map(|s| format!("{:.0}", s.rate)).collect();
        println!(
            "{name:<14} {qos:>3} {:>10.0} {:>12.2}   [{}]",
            median(v.iter().map(|s| s.rate)),
            median(v.iter().map(|s| s.cpu_us)),
            list.join(", ")
        );
    }
    Ok(samples)
}

fn print_header() {
    println!(
        "{:<14} {:>3} {:>10} {:>12}   msgs/s of each round",
        "client", "qos", "msgs/s", "cpu us/msg"
    );
}

/// `a` against `b`, round by round: (median msgs/s ratio, median msgs per
/// CPU second ratio). Each round's ratio compares runs made seconds apart,
/// so it varies less than the ratio of the medians.
fn ratio(a: &[Sample], b: &[Sample]) -> (f64, f64) {
    let pairs = a.iter().zip(b);
    (
        median(pairs.clone().map(|(a, b)| a.rate / b.rate)),
        median(pairs.map(|(a, b)| b.cpu_us / a.cpu_us)),
    )
}

/// A ratio line of the summary (`target`: the least ratio wanted).
struct Ratio {
    what: String,
    qos: u8,
    rate: f64,
    cpu: f64,
    target: Option<f64>,
}

impl Ratio {
    fn print(&self) {
        let verdict = |v: f64| match self.target {
            Some(t) if v >= t => " (ok)".to_string(),
            Some(t) => format!(" (BELOW {t})"),
            None => String::new(),
        };
        println!(
            "ratio {}, QoS {}: {:.2} in msgs/s{}, {:.2} in msgs per CPU second{}",
            self.what,
            self.qos,
            self.rate,
            verdict(self.rate),
            self.cpu,
            verdict(self.cpu)
        );
    }
}

/// One table: every QoS, ours against rumqttc on the same broker (3.1.1).
/// Returns the ratios and our median msgs/s per QoS.
async fn table(
    link: &str,
    ours: &Ours,
    theirs: &Rumqttc,
    theirs_q2: &Rumqttc,
) -> Res<(Vec<Ratio>, Vec<f64>)> {
    print_header();
    let mut ratios = Vec::new();
    let mut rates = Vec::new();
    for qos in 0..=2u8 {
        let theirs = if qos == 2 { theirs_q2 } else { theirs };
        let mut contestants = vec![
            ("ours", Runner::Ours(ours)),
            ("rumqttc", Runner::Rumqttc(theirs)),
        ];
        if qos == 1 {
            contestants.push(("ours/tasks", Runner::OursTasks(ours)));
        }
        let samples = rounds(&contestants, qos).await?;
        let (rate, cpu) = ratio(&samples[0], &samples[1]);
        ratios.push(Ratio {
            what: format!("ours/rumqttc, MQTT 3.1.1, {link}"),
            qos,
            rate,
            cpu,
            target: Some(1.0),
        });
        rates.push(median(samples[0].iter().map(|s| s.rate)));
    }
    println!();
    Ok((ratios, rates))
}

/// MQTT 5: ours against rumqttc's v5 client, with ours over 3.1.1 in the
/// same rounds as the baseline.
async fn v5_table(port: u16, v311: &Ours) -> Res<Vec<Ratio>> {
    let v5 = Ours::connect(
        port,
        None,
        "bench-ours-v5",
        Protocol::v5(V5Config::default()),
    )
    .await?;
    let theirs = Rumqttc::connect(port, "bench-rumqttc-v5", WINDOW, None, true).await?;
    println!("MQTT 5: ours and rumqttc::v5, with ours over 3.1.1 as the baseline");
    print_header();
    let mut ratios = Vec::new();
    for qos in 0..=2u8 {
        let contestants = [
            ("ours 5", Runner::Ours(&v5)),
            ("rumqttc 5", Runner::Rumqttc(&theirs)),
            ("ours 3.1.1", Runner::Ours(v311)),
        ];
        let samples = rounds(&contestants, qos).await?;
        let (rate, cpu) = ratio(&samples[0], &samples[1]);
        ratios.push(Ratio {
            what: "ours/rumqttc, MQTT 5, TCP".into(),
            qos,
            rate,
            cpu,
            target: Some(1.0),
        });
        let (rate, cpu) = ratio(&samples[0], &samples[2]);
        ratios.push(Ratio {
            what: "ours MQTT 5/ours MQTT 3.1.1, TCP".into(),
            qos,
            rate,
            cpu,
            target: (qos == 0).then_some(0.9),
        });
    }
    println!();
    v5.client.disconnect().await;
    theirs.client.disconnect().await;
    Ok(ratios)
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

fn print_load() {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "load average {} (other work on the machine makes wall-clock rates noisy; \
             CPU time per message varies less)",
            load.join(" ")
        );
    }
}

async fn bench() -> Res<()> {
    let broker = quiet_broker(Vec::new())?;
    let port = broker.port();
    let ours = Ours::connect(port, None, "bench-ours", Protocol::V311).await?;
    let theirs = Rumqttc::connect(port, "bench-rumqttc", WINDOW, None, false).await?;
    // QoS 2 with mosquitto's in-flight limit (see QOS2_WINDOW).
    let theirs_q2 = Rumqttc::connect(port, "bench-rumqttc-q2", QOS2_WINDOW, None, false).await?;

    println!(
        "publish throughput: {PAYLOAD_LEN}-byte payload, one local mosquitto {} on 127.0.0.1, \
         median of {ROUNDS} rounds after a warm-up",
        broker_version(&broker)
    );
    println!(
        "QoS 0: {QOS0_MSGS} msgs + a QoS 1 fence; QoS 1: {QOS1_MSGS} msgs, {WINDOW} in flight; \
         QoS 2: {QOS2_MSGS} msgs, {QOS2_WINDOW} in flight (MQTT 5: at most mosquitto's \
         Receive Maximum)"
    );
    println!();
    print_load();
    println!();
    println!("MQTT 3.1.1, plain TCP");
    let (plain, plain_rates) = table("TCP", &ours, &theirs, &theirs_q2).await?;
    let v5 = v5_table(port, &ours).await?;
    ours.client.disconnect().await;
    theirs.client.disconnect().await;
    theirs_q2.client.disconnect().await;

    let tls = tls_table().await?;
    print_load();
    for r in plain.iter().chain(&v5) {
        r.print();
    }
    match tls {
        Some((tls, tls_rates)) => {
            for r in &tls {
                r.print();
            }
            for (qos, (p, t)) in plain_rates.iter().zip(&tls_rates).enumerate() {
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

/// `--only CLIENT QOS [N]`: one client, one warm-up and one measured run,
/// for a profiler.
async fn only(client: &str, qos: u8, n: usize) -> Res<()> {
    let broker = quiet_broker(Vec::new())?;
    let port = broker.port();
    let id = format!("bench-{client}");
    let v5 = Protocol::v5(V5Config::default());
    let ours;
    let theirs;
    let runner = match client {
        "ours-3.1.1" | "ours-5" => {
            let protocol = if client == "ours-5" {
                v5
            } else {
                Protocol::V311
            };
            ours = Ours::connect(port, None, &id, protocol).await?;
            Runner::Ours(&ours)
        }
        "rumqttc-3.1.1" | "rumqttc-5" => {
            let window = if qos == 2 { QOS2_WINDOW } else { WINDOW };
            let v5 = client == "rumqttc-5";
            theirs = Rumqttc::connect(port, &id, window, None, v5).await?;
            Runner::Rumqttc(&theirs)
        }
        other => return Err(format!("--only: unknown client {other:?}").into()),
    };
    runner.sample(qos, n / 4).await?;
    let s = runner.sample(qos, n).await?;
    println!(
        "{client} QoS {qos}: {n} msgs, {:.0} msgs/s, {:.2} cpu us/msg",
        s.rate, s.cpu_us
    );
    Ok(())
}

/// The `--only` arguments, if given: (client, qos, messages).
fn only_args() -> Res<Option<(String, u8, usize)>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(at) = args.iter().position(|a| a == "--only") else {
        return Ok(None);
    };
    let usage =
        "usage: --only CLIENT QOS [N] (CLIENT: ours-3.1.1, ours-5, rumqttc-3.1.1, rumqttc-5)";
    let client = args.get(at + 1).ok_or(usage)?.clone();
    let qos: u8 = match args.get(at + 2).map(|q| q.parse()) {
        Some(Ok(q)) if q <= 2 => q,
        _ => return Err(usage.into()),
    };
    let n = match args.get(at + 3) {
        None => msgs(qos),
        Some(n) => n.parse().map_err(|_| usage)?,
    };
    Ok(Some((client, qos, n)))
}

/// The same table over TLS 1.3 (rustls with ring for both clients, the
/// same client configuration) to a mosquitto whose listener has a
/// certificate made for this run.
#[cfg(feature = "tls")]
async fn tls_table() -> Res<Option<(Vec<Ratio>, Vec<f64>)>> {
    let tls = Tls::new()?;
    let broker = quiet_broker(tls.listener_lines())?;
    let port = broker.port();
    let ours = Ours::connect(port, Some(&tls), "bench-ours", Protocol::V311).await?;
    let theirs = Rumqttc::connect(port, "bench-rumqttc-tls", WINDOW, Some(&tls), false).await?;
    let theirs_q2 =
        Rumqttc::connect(port, "bench-rumqttc-tls-q2", QOS2_WINDOW, Some(&tls), false).await?;
    println!("TLS (rustls, ring, TLS 1.3, certificate verified against the run's CA)");
    let rows = table("TLS", &ours, &theirs, &theirs_q2).await?;
    ours.client.disconnect().await;
    theirs.client.disconnect().await;
    theirs_q2.client.disconnect().await;
    Ok(Some(rows))
}

#[cfg(not(feature = "tls"))]
async fn tls_table() -> Res<Option<(Vec<Ratio>, Vec<f64>)>> {
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
    let result = match (runtime, only_args()) {
        (Ok(rt), Ok(only_one)) => rt.block_on(async {
            let task = match only_one {
                None => tokio::spawn(bench()),
                Some((client, qos, n)) => tokio::spawn(async move { only(&client, qos, n).await }),
            };
            task.await
                .unwrap_or_else(|e| Err(format!("the bench task failed: {e}").into()))
        }),
        (Err(e), _) => Err(e.into()),
        (_, Err(e)) => Err(e),
    };
    if let Err(e) = result {
        eprintln!("throughput bench failed: {e}");
        std::process::exit(1);
    }
}
