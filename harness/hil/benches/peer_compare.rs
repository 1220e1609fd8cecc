//! Peer comparison (a benchmark, not a test): the live-tagged scenarios run
//! twice on the live backend against a real mosquitto through the fault
//! proxy, once with our driver as the DUT and once with a DUT built on
//! rumqttc, with the reconnect loop its documentation shows (poll the event
//! loop; on an error, wait a second and poll again, which reconnects). Both
//! DUTs run the scenario's workload and write the same trace events, so one
//! set of measurements reads both traces:
//!
//! - QoS 1 lost: QoS 1 messages the application published that the
//!   observer never received;
//! - duplicates: extra deliveries of a message to the observer;
//! - detection: from the first fault to the DUT's first *down* after it;
//! - recovery: from the end of the disruption to the DUT's first *up*
//!   after it;
//! - reconnect attempts: connection attempts after the first connection.
//!
//! Times are in scenario seconds (live runs are time-scaled, see
//! `live_time_scale`; both clients get the same scale, and rumqttc's 1 s
//! retry wait is scaled with it). rumqttc gets the scenario's keepalive and
//! clean-session setting; ours its scenario config.
//!
//! Run with `cargo bench -p hil --bench peer_compare` (about 6 minutes).
//! `PEER_SCENARIO=<substring>` runs only matching scenarios.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hil::realtime::{BrokerKind, RealWorld as LiveWorld, RealtimeDut as LiveDut, Rig as LiveRig};
use hil::scenario::Scenario;
use hil::trace::sink::VecSink;
use hil::trace::{payload, Actor, Event, Record};
use rumqttc::{AsyncClient, Event as REvent, MqttOptions, Outgoing, Packet, QoS};

/// The rumqttc DUT: rumqttc's `AsyncClient` + `EventLoop` and the
/// scenario's publish workload, on their own runtime.
#[derive(Default)]
struct RumqttcDut {
    rt: Option<tokio::runtime::Runtime>,
}

impl LiveDut for RumqttcDut {
    fn boot(&mut self, world: &LiveWorld, broker: SocketAddr) -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.spawn(rumqttc_app(world.clone(), broker));
        self.rt = Some(rt);
        Ok(())
    }

    fn reboot(&mut self, world: &LiveWorld, broker: SocketAddr) -> Result<(), String> {
        self.shutdown();
        self.boot(world, broker)
    }

    fn wifi(&mut self, _world: &LiveWorld, _up: bool) -> Result<(), String> {
        // rumqttc has no link signal: it sees only what the proxy does
        // (everything vanishes while WiFi is down).
        Ok(())
    }

    /// A power cut: the runtime dropped (behind the executor's blackhole);
    /// power back: a fresh boot.
    fn power(&mut self, world: &LiveWorld, broker: SocketAddr, on: bool) -> Result<(), String> {
        if on {
            self.boot(world, broker)
        } else {
            self.shutdown();
            Ok(())
        }
    }

    fn shutdown(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

async fn rumqttc_app(world: LiveWorld, broker: SocketAddr) {
    let scenario = world.scenario.clone();
    let config = scenario.dut.to_driver(world.seed);
    let mut opts = MqttOptions::new(
        world.dut_client_id.to_string(),
        broker.ip().to_string(),
        broker.port(),
    );
    opts.set_keep_alive(config.keepalive.max(Duration::from_secs(1)));
    opts.set_clean_session(config.clean);
    let (client, mut eventloop) = AsyncClient::new(opts, 10);
    let retry = Duration::from_secs_f64(world.scale()).max(Duration::from_millis(50));

    // Publishes in flight: pkid -> msg; messages waiting for a pkid.
    let pending = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
    for (i, stream) in scenario.workload.publish.iter().enumerate() {
        let (client, w, stream, pending) = (
            client.clone(),
            world.clone(),
            stream.clone(),
            pending.clone(),
        );
        tokio::spawn(async move {
            tokio::time::sleep(stream.start.at.to_std()).await;
            let mut seq = 0u64;
            while stream.count.is_none_or(|c| seq < c) {
                seq += 1;
                let msg = payload::msg_id("dut", i, seq);
                let body = payload::make(&msg, stream.payload_size);
                let q = match stream.qos.get() {
                    0 => QoS::AtMostOnce,
                    1 => QoS::AtLeastOnce,
                    _ => QoS::ExactlyOnce,
                };
                w.emit(
                    Actor::App,
                    Event::AppPublishStart {
                        msg: msg.clone(),
                        topic: stream.topic.as_str().to_string(),
                        qos: stream.qos.get(),
                    },
                );
                if q != QoS::AtMostOnce {
                    if let Ok(mut p) = pending.lock() {
                        p.push_back(msg.clone());
                    }
                }
                // Returns once queued to the event loop (it waits when the
                // request channel is full: the application blocks).
                let _ = client
                    .publish(stream.topic.as_str(), q, stream.retain, body)
                    .await;
                tokio::time::sleep(stream.interval.to_std()).await;
            }
        });
    }

    let mut inflight: BTreeMap<u16, String> = BTreeMap::new();
    let mut up = false;
    let mut attempt = 1u32;
    world.emit(Actor::Dut, Event::Connecting { attempt });
    loop {
        match eventloop.poll().await {
            Ok(REvent::Incoming(Packet::ConnAck(ack))) => {
                up = true;
                attempt = 0;
                world.emit(
                    Actor::Dut,
                    Event::Connected {
                        session_present: ack.session_present,
                        keepalive_s: (config.keepalive.as_secs_f64() / world.scale()).round()
                            as u16,
                    },
                );
                world.emit(Actor::Dut, Event::Up);
            }
            Ok(REvent::Outgoing(Outgoing::Publish(pkid))) if pkid != 0 => {
                // A new pkid takes the oldest message waiting for one; a
                // known pkid is a resend.
                if let std::collections::btree_map::Entry::Vacant(slot) = inflight.entry(pkid) {
                    if let Some(msg) = pending.lock().ok().and_then(|mut p| p.pop_front()) {
                        slot.insert(msg);
                    }
                }
            }
            Ok(REvent::Incoming(Packet::PubAck(ack))) => {
                world.emit(Actor::Dut, Event::Puback { pid: ack.pkid });
                if let Some(msg) = inflight.remove(&ack.pkid) {
                    world.emit(Actor::App, Event::AppPublishDone { msg });
                }
            }
            Ok(_) => {}
            Err(e) => {
                if up {
                    up = false;
                    world.emit(
                        Actor::Dut,
                        Event::ConnectionLost {
                            reason: e.to_string(),
                        },
                    );
                    world.emit(Actor::Dut, Event::Down);
                } else {
                    world.emit(
                        Actor::Dut,
                        Event::ConnectFailed {
                            reason: e.to_string(),
                        },
                    );
                }
                tokio::time::sleep(retry).await;
                attempt += 1;
                world.emit(Actor::Dut, Event::Connecting { attempt });
            }
        }
    }
}

/// One row of the table.
#[derive(Debug, Default)]
struct Row {
    lost: usize,
    duplicates: usize,
    detection_s: Option<f64>,
    recovery_s: Option<f64>,
    attempts: usize,
    completed: usize,
    published: usize,
}

fn measure(records: &[Record]) -> Row {
    let mut row = Row::default();
    let mut qos1: Vec<&str> = Vec::new();
    let mut delivered: BTreeMap<&str, usize> = BTreeMap::new();
    let mut first_fault: Option<u64> = None;
    let mut last_end: Option<u64> = None;
    let mut downs = Vec::new();
    let mut ups = Vec::new();
    let mut connected_once = false;
    for r in records {
        match (&r.actor, &r.event) {
            (Actor::App, Event::AppPublishStart { msg, qos, .. }) if *qos >= 1 => {
                qos1.push(msg);
                row.published += 1;
            }
            (Actor::App, Event::AppPublishDone { .. }) => row.completed += 1,
            (Actor::Observer, Event::Delivered { msg, .. }) => {
                *delivered.entry(msg.as_str()).or_default() += 1
            }
            (Actor::Faults, Event::Fault { .. }) => {
                first_fault.get_or_insert(r.t_ms);
                last_end = Some(r.t_ms);
            }
            (Actor::Faults, Event::FaultEnd { .. }) => last_end = Some(r.t_ms),
            (Actor::Dut, Event::Down) => downs.push(r.t_ms),
            (Actor::Dut, Event::Up) => {
                ups.push(r.t_ms);
                connected_once = true;
            }
            (Actor::Dut, Event::Connecting { .. }) if connected_once => row.attempts += 1,
            _ => {}
        }
    }
    row.lost = qos1.iter().filter(|m| !delivered.contains_key(*m)).count();
    row.duplicates = delivered.values().map(|n| n.saturating_sub(1)).sum();
    if let Some(f) = first_fault {
        if let Some(d) = downs.iter().find(|d| **d >= f) {
            row.detection_s = Some((*d - f) as f64 / 1000.0);
            let from = last_end.unwrap_or(f).max(*d);
            if let Some(u) = ups.iter().find(|u| **u >= from) {
                row.recovery_s = Some((*u - from) as f64 / 1000.0);
            }
        }
    }
    row
}

fn run(scenario: &Scenario, dut: Box<dyn LiveDut>, name: &str) -> Result<Vec<Record>, String> {
    let rig = LiveRig {
        name: format!("live/mosquitto ({name})"),
        broker: BrokerKind::Mosquitto,
        dut_listen: "127.0.0.1:0".parse().expect("a literal address"),
    };
    let mut sink = VecSink::default();
    hil::realtime::run_with(&rig, dut, scenario, scenario.seed, &mut sink)
        .map_err(|e| e.to_string())?;
    Ok(sink.records)
}

fn secs(x: Option<f64>) -> String {
    x.map_or("-".into(), |s| format!("{s:.1}"))
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let filter = std::env::var("PEER_SCENARIO").unwrap_or_default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let files = hil::discover::scenario_files(&[root]).expect("scenarios/ is readable");
    println!("peer comparison: live backend, mosquitto through the fault proxy; times in scenario seconds\n");
    println!(
        "| scenario | client | detection s | recovery s | QoS 1 lost | duplicates | reconnect attempts | QoS 1 completed/published |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for f in files {
        let Ok(loaded) = hil::scenario::load(&f) else {
            continue;
        };
        let s = loaded.scenario;
        if !s.tags.iter().any(|t| t == "live") || !s.name.contains(&filter) {
            continue;
        }
        let clients: [(&str, Box<dyn LiveDut>); 2] = [
            ("resilient-mqtt", Box::<hil::live::InProcessDut>::default()),
            ("rumqttc 0.25", Box::<RumqttcDut>::default()),
        ];
        for (name, dut) in clients {
            match run(&s, dut, name) {
                Ok(records) => {
                    let r = measure(&records);
                    println!(
                        "| {} | {name} | {} | {} | {} | {} | {} | {}/{} |",
                        s.name,
                        secs(r.detection_s),
                        secs(r.recovery_s),
                        r.lost,
                        r.duplicates,
                        r.attempts,
                        r.completed,
                        r.published
                    );
                }
                Err(e) => println!("| {} | {name} | run failed: {e} | | | | | |", s.name),
            }
        }
    }
}
