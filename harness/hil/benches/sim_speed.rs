//! Simulator speed: simulated seconds per wall second of the `sim` backend,
//! against a bare turmoil baseline measured in the same run.
//!
//! ```text
//! cargo bench -p hil --bench sim_speed
//! SIM_BENCH_SEEDS=100 cargo bench -p hil --bench sim_speed   # quicker (c)
//! ```
//!
//! - (a) `scenarios/hour-fault-every-5m.toml`: one DUT, one simulated hour,
//!   a fault every 5 minutes, QoS 1 publishes every 5 s, a 100 ms
//!   heartbeat, an observer stream; `SimBackend::run` with a sink that only
//!   counts records (no JSON, no file). Simulated s / wall s.
//! - (b) a bare turmoil echo with the same builder settings (tick, seed,
//!   epoch, link latency, duration) and step loop, and the same host count:
//!   one echo server and two client hosts sending 32-byte messages, at an
//!   interval chosen so that the echo moves as many TCP messages as the
//!   broker saw MQTT packets in (a). Simulated s / wall s.
//! - (a)/(b): how many times slower the harness's world is than turmoil
//!   alone (b's speed over a's).
//! - (c) `scenarios/five-minutes-wifi-down.toml` for `SIM_BENCH_SEEDS`
//!   seeds (default 1000) on `SIM_BENCH_THREADS` threads (default: all
//!   cores), one `SimBackend::run` per seed: wall time and seeds / s.
//!
//! Every number is given twice: by wall-clock time (what the targets say)
//! and by the CPU time the process used (Linux `/proc/self/stat`), because
//! the machine is shared: CPU time is what the run cost; wall time also
//! counts the time other processes had the cores. The load average before
//! and after is printed.
//!
//! (a) and (b) run `SIM_BENCH_REPEAT` times (default 3), interleaved; the
//! best run of each is judged, the median is printed too. Targets: (a) >=
//! 3,600x real time, (a)/(b) <= 2, (c) <= 5 minutes wall for 1,000 seeds
//! (projected linearly when fewer are run).
//!
//! Without the `--bench` argument (`cargo test --benches`, a debug build)
//! it runs a smoke check instead: each part once, briefly, no timing judged.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, UNIX_EPOCH};

use hil::backend::Backend;
use hil::oracle::Status;
use hil::scenario::Scenario;
use hil::sim::SimBackend;
use hil::trace::sink::{TraceSink, VecSink};
use hil::trace::{Actor, Event, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The same fixed epoch as the simulator (2026-01-01T00:00:00Z).
const EPOCH_SECS: u64 = 1_767_225_600;
const ECHO_PORT: u16 = 7;
const ECHO_MSG: usize = 32;

const TARGET_SPEED: f64 = 3600.0;
const TARGET_RATIO: f64 = 2.0;
const TARGET_C_SECS: f64 = 300.0;
const TARGET_C_SEEDS: u64 = 1000;

/// A sink that only counts records, by event name.
#[derive(Default)]
struct CountSink {
    total: u64,
    by_name: BTreeMap<&'static str, u64>,
}

impl TraceSink for CountSink {
    fn emit(&mut self, record: Record) -> io::Result<()> {
        self.total += 1;
        *self.by_name.entry(record.event.name()).or_default() += 1;
        Ok(())
    }
}

impl CountSink {
    fn count(&self, name: &str) -> u64 {
        self.by_name.get(name).copied().unwrap_or(0)
    }
}

fn scenario(file: &str) -> Scenario {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/scenarios")
        .join(file);
    match hil::scenario::load(&path) {
        Ok(loaded) => loaded.scenario,
        Err(e) => panic!("bench scenario {} does not load: {e:?}", path.display()),
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

/// CPU time (user + system) of this process so far, all threads, live or
/// ended (Linux `/proc/self/stat`, in 10 ms clock ticks), or `None`
/// elsewhere. `SimBackend::run` simulates on a thread of its own, so the
/// calling thread's time alone would miss the work.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces): state is
    // field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Wall-clock and on-CPU time of one piece of work.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    wall: Duration,
    cpu: Option<Duration>,
}

/// Runs `f` and measures it (nothing else may run in the process meanwhile).
fn timed<T>(f: impl FnOnce() -> T) -> (T, Cost) {
    let cpu0 = process_cpu();
    let start = Instant::now();
    let out = f();
    let wall = start.elapsed();
    let cpu = process_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    (out, Cost { wall, cpu })
}

/// Runs the harness's simulator once.
fn run_sim(scenario: &Scenario, seed: u64) -> CountSink {
    let mut sink = CountSink::default();
    if let Err(e) = SimBackend::new().run(scenario, seed, &mut sink) {
        panic!("scenario {} seed {seed} failed: {e}", scenario.name);
    }
    sink
}

/// The bare turmoil baseline: the simulator's builder settings and step
/// loop, three hosts, no MQTT, no trace. Returns the messages received
/// (by the server and by the clients).
fn run_echo(scenario: &Scenario, seed: u64, interval: Duration) -> u64 {
    let duration = scenario.duration.to_std();
    let tick = scenario.tick.to_std();
    let latency = scenario.network.dut.latency;
    let messages = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let mut sim = turmoil::Builder::new()
        .simulation_duration(duration + tick * 4)
        .tick_duration(tick)
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .min_message_latency(latency.min.to_std())
        .max_message_latency(latency.max.to_std().max(latency.min.to_std()))
        .build();
    let m = messages.clone();
    sim.host("server", move || {
        let m = m.clone();
        async move {
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", ECHO_PORT)).await?;
            loop {
                let (mut stream, _) = listener.accept().await?;
                let m = m.clone();
                tokio::task::spawn_local(async move {
                    let mut buf = [0u8; ECHO_MSG];
                    while stream.read_exact(&mut buf).await.is_ok() {
                        m.set(m.get() + 1);
                        if stream.write_all(&buf).await.is_err() {
                            return;
                        }
                    }
                });
            }
        }
    });
    for name in ["client-a", "client-b"] {
        let m = messages.clone();
        sim.host(name, move || {
            let m = m.clone();
            async move {
                let mut stream = turmoil::net::TcpStream::connect(("server", ECHO_PORT)).await?;
                let mut buf = [b'.'; ECHO_MSG];
                loop {
                    stream.write_all(&buf).await?;
                    stream.read_exact(&mut buf).await?;
                    m.set(m.get() + 1);
                    tokio::time::sleep(interval).await;
                }
            }
        });
    }
    while sim.elapsed() < duration {
        if let Err(e) = sim.step() {
            panic!("the echo simulation failed: {e}");
        }
    }
    messages.get()
}

/// The echo interval that gives as many messages as `packets` broker
/// packets over `duration` (two clients, two messages per exchange).
fn echo_interval(duration: Duration, packets: u64) -> Duration {
    let per_client_exchanges = (packets / 4).max(1);
    let ms = (duration.as_millis() as u64 / per_client_exchanges).max(1);
    Duration::from_millis(ms)
}

/// Result of part (c).
struct ManySeeds {
    seeds: u64,
    threads: usize,
    wall: Duration,
    /// CPU time of the process meanwhile.
    cpu: Option<Duration>,
    records: u64,
}

/// Runs `seeds` seeds (1..=seeds) of `scenario` on `threads` threads, one
/// `SimBackend::run` per seed, handing out seeds from a shared counter.
fn run_many(scenario: &Scenario, seeds: u64, threads: usize) -> ManySeeds {
    let next = AtomicU64::new(0);
    let records = AtomicU64::new(0);
    let failures: Mutex<Vec<String>> = Mutex::default();
    let ((), cost) = timed(|| {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= seeds {
                        return;
                    }
                    let seed = i + 1;
                    let mut sink = CountSink::default();
                    match SimBackend::new().run(scenario, seed, &mut sink) {
                        Ok(_) => {
                            records.fetch_add(sink.total, Ordering::Relaxed);
                        }
                        Err(e) => failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(format!("seed {seed}: {e}")),
                    }
                });
            }
        })
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    if !failures.is_empty() {
        panic!(
            "{} of {seeds} seeds failed to run: {}",
            failures.len(),
            failures.join("; ")
        );
    }
    ManySeeds {
        seeds,
        threads,
        wall: cost.wall,
        cpu: cost.cpu,
        records: records.into_inner(),
    }
}

/// The scenario's own oracles on one untimed run, to show that the
/// workload and the faults did what they say.
fn oracle_summary(scenario: &Scenario, seed: u64) -> Vec<String> {
    let mut sink = VecSink::default();
    sink.records.push(Record::new(
        0,
        Actor::Harness,
        Event::RunStart {
            scenario: scenario.name.clone(),
            seed,
            backend: "sim".into(),
        },
    ));
    let outcome = SimBackend::new()
        .run(scenario, seed, &mut sink)
        .unwrap_or_else(|e| panic!("scenario {} failed: {e}", scenario.name));
    let end = sink
        .records
        .last()
        .map(|r| r.t_ms)
        .unwrap_or(0)
        .max(outcome.end_ms);
    sink.records
        .push(Record::new(end, Actor::Harness, Event::RunEnd));
    scenario
        .expect
        .iter()
        .map(|e| {
            let v = e.oracle.verdict(&sink.records);
            let mut line = format!("{}: {:?}", v.oracle, v.status).to_lowercase();
            if v.status == Status::Fail {
                let shown: Vec<String> = v.failures.iter().take(3).map(|f| f.to_string()).collect();
                line.push_str(&format!(
                    " ({} failures; first: {})",
                    v.failures.len(),
                    shown.join(" | ")
                ));
            }
            line
        })
        .collect()
}

/// Simulated seconds per second of `spent`.
fn speed(sim: Duration, spent: Duration) -> f64 {
    sim.as_secs_f64() / spent.as_secs_f64().max(1e-9)
}

fn best(v: &[Duration]) -> Option<Duration> {
    v.iter().copied().min()
}

fn median(v: &[Duration]) -> Option<Duration> {
    let mut s = v.to_vec();
    s.sort();
    s.get(s.len() / 2).copied()
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "-",
    }
}

fn fmt_x(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}x"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn smoke() {
    // Not a measurement (a debug build): each part runs and does something,
    // on the first two simulated minutes of the five-minute scenario.
    let hour = scenario("hour-fault-every-5m.toml");
    assert_eq!(hour.duration.to_std(), Duration::from_secs(3600));
    let mut short = scenario("five-minutes-wifi-down.toml");
    short.duration = hil::duration::Dur::from_millis(120_000);
    let a = run_sim(&short, 1);
    for (name, min) in [
        ("heartbeat", 1000),
        ("app_publish_done", 15),
        ("broker_packet", 50),
    ] {
        let n = a.count(name);
        assert!(n >= min, "{name}: {n} records, expected at least {min}");
    }
    let messages = run_echo(&short, 1, Duration::from_secs(5));
    assert!(messages >= 80, "the echo exchanged {messages} messages");
    let c = run_many(&short, 2, 2);
    assert!(c.records >= 2 * 1000, "records of 2 seeds: {}", c.records);
    println!("sim_speed smoke check passed (`cargo bench -p hil --bench sim_speed` measures)");
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        smoke();
        return;
    }
    let repeat = env_u64("SIM_BENCH_REPEAT", 3).max(1);
    let seeds = env_u64("SIM_BENCH_SEEDS", TARGET_C_SEEDS).max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = env_u64("SIM_BENCH_THREADS", cores as u64).max(1) as usize;
    let hour = scenario("hour-fault-every-5m.toml");
    let five = scenario("five-minutes-wifi-down.toml");
    let seed = hour.seed;
    let load_before = load_average();
    println!("sim_speed: {cores} cores, load average before: {load_before}");

    // (a) and (b), interleaved.
    let sim_time = hour.duration.to_std();
    let (mut a_wall, mut a_cpu, mut b_wall, mut b_cpu) = (vec![], vec![], vec![], vec![]);
    let mut a_counts: Option<CountSink> = None;
    let mut interval = Duration::ZERO;
    let mut echo_messages = 0;
    for i in 1..=repeat {
        let (counts, a) = timed(|| run_sim(&hour, seed));
        if a_counts.is_none() {
            interval = echo_interval(sim_time, counts.count("broker_packet"));
            a_counts = Some(counts);
        }
        let (messages, b) = timed(|| run_echo(&hour, seed, interval));
        echo_messages = messages;
        for (name, c, wall, cpu) in [
            ("a", a, &mut a_wall, &mut a_cpu),
            ("b", b, &mut b_wall, &mut b_cpu),
        ] {
            println!(
                "  ({name}) run {i}: {:.3} s wall ({:.0}x), {} on-CPU ({})",
                c.wall.as_secs_f64(),
                speed(sim_time, c.wall),
                c.cpu
                    .map_or("-".into(), |c| format!("{:.3} s", c.as_secs_f64())),
                fmt_x(c.cpu.map(|c| speed(sim_time, c))),
            );
            wall.push(c.wall);
            cpu.extend(c.cpu);
        }
    }
    let a_counts = a_counts.unwrap_or_default();
    let spd = |v: &[Duration]| best(v).map(|d| speed(sim_time, d));
    let med = |v: &[Duration]| median(v).map(|d| speed(sim_time, d));
    let ratio = |a: &[Duration], b: &[Duration]| {
        best(a)
            .zip(best(b))
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
    };
    let ratio_med = |a: &[Duration], b: &[Duration]| {
        median(a)
            .zip(median(b))
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
    };

    // (c)
    let c = run_many(&five, seeds, threads);
    let scale = TARGET_C_SEEDS as f64 / c.seeds as f64;
    let c_wall = c.wall.as_secs_f64();
    let c_projected = c_wall * scale;
    // On an otherwise idle machine the threads would share out the same
    // CPU time: on-CPU seconds / threads.
    let c_cpu_projected = c.cpu.map(|d| d.as_secs_f64() / c.threads as f64 * scale);
    let load_after = load_average();

    println!();
    println!(
        "(a) {}: {} simulated, seed {seed}, {} trace records ({} heartbeats, {} broker packets, {} faults, {} app publishes done)",
        hour.name,
        hil::duration::Dur::from_millis(sim_time.as_millis() as u64),
        a_counts.total,
        a_counts.count("heartbeat"),
        a_counts.count("broker_packet"),
        a_counts.count("fault"),
        a_counts.count("app_publish_done"),
    );
    println!(
        "(b) turmoil echo: server + 2 client hosts, {ECHO_MSG} B every {interval:?} per client, {echo_messages} messages"
    );
    println!(
        "(c) {}: seeds 1..={} on {} threads, {} trace records",
        five.name, c.seeds, c.threads, c.records
    );
    println!("oracles on (a), seed {seed} (information, not judged here):");
    for line in oracle_summary(&hour, seed) {
        println!("  {line}");
    }
    println!();
    println!("| measure | wall clock: best (median of {repeat}) | on-CPU: best (median) | target | wall | on-CPU |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| (a) sim: 1 DUT, 1 h, fault every 5 min | {} ({}) | {} ({}) | >= {TARGET_SPEED:.0}x | {} | {} |",
        fmt_x(spd(&a_wall)),
        fmt_x(med(&a_wall)),
        fmt_x(spd(&a_cpu)),
        fmt_x(med(&a_cpu)),
        verdict(spd(&a_wall).map(|s| s >= TARGET_SPEED)),
        verdict(spd(&a_cpu).map(|s| s >= TARGET_SPEED)),
    );
    println!(
        "| (b) bare turmoil echo, 3 hosts | {} ({}) | {} ({}) | baseline | | |",
        fmt_x(spd(&b_wall)),
        fmt_x(med(&b_wall)),
        fmt_x(spd(&b_cpu)),
        fmt_x(med(&b_cpu)),
    );
    let f2 = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}"));
    println!(
        "| (a)/(b) overhead: b's speed / a's | {} ({}) | {} ({}) | <= {TARGET_RATIO:.1} | {} | {} |",
        f2(ratio(&a_wall, &b_wall)),
        f2(ratio_med(&a_wall, &b_wall)),
        f2(ratio(&a_cpu, &b_cpu)),
        f2(ratio_med(&a_cpu, &b_cpu)),
        verdict(ratio(&a_wall, &b_wall).map(|r| r <= TARGET_RATIO)),
        verdict(ratio(&a_cpu, &b_cpu).map(|r| r <= TARGET_RATIO)),
    );
    let per = if c.seeds == TARGET_C_SEEDS {
        String::new()
    } else {
        format!(", x{scale:.1} for {TARGET_C_SEEDS}")
    };
    println!(
        "| (c) {} seeds x 5 min, {} threads | {c_wall:.1} s, {:.2} seeds/s{} | {} | {TARGET_C_SEEDS} seeds <= {TARGET_C_SECS:.0} s | {} | {} |",
        c.seeds,
        c.threads,
        c.seeds as f64 / c_wall,
        if per.is_empty() { String::new() } else { format!(" ({c_projected:.0} s{per})") },
        c.cpu.map_or("-".into(), |d| format!(
            "{:.1} CPU-s, {:.2} seeds per CPU-s ({:.0} s / {} threads{per})",
            d.as_secs_f64(),
            c.seeds as f64 / d.as_secs_f64(),
            c_cpu_projected.unwrap_or_default(),
            c.threads
        )),
        verdict(Some(c_projected <= TARGET_C_SECS)),
        verdict(c_cpu_projected.map(|s| s <= TARGET_C_SECS)),
    );
    println!();
    println!("load average before: {load_before}; after: {load_after} ({cores} cores)");
}
