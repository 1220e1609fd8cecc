//! The device application: `resilient-mqtt` plus the small program the
//! scenario's workload describes (connect, subscribe again on every up
//! notification that lost the session, as `mqtt_as` applications do,
//! periodic publishes, a slow or fast message handler, a heartbeat task),
//! with every driver event turned into a trace line.
//!
//! One application for every in-process DUT: the simulator (turmoil TCP,
//! simulated time), the live backend and the virtual board (tokio TCP,
//! wall time) all call [`run`]. What differs is given to it: the transport,
//! and a small [`DutWorld`] (the clock, where trace events go, how tasks
//! are spawned, and the state that outlives a reboot: [`DutState`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use resilient_mqtt::client::{Client, ClientBuilder, Notification, Transport, WatchLink};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{
    BrokerViolation, Config, ConfigError, Event as DriverEvent, Message,
};
use resilient_mqtt::storage::MemoryStorage;

use crate::scenario::Scenario;
use crate::trace::payload;
use crate::trace::{Actor, Event};

/// What the device keeps across `dut_reboot` and what faults reach from
/// outside: its WiFi, its "flash" and its message counters. Cheap to clone.
#[derive(Clone)]
pub struct DutState {
    /// The DUT's WiFi, controlled by `wifi_*` faults.
    pub wifi: WatchLink,
    /// The DUT's "flash": its persisted offline queue
    /// (`dut.offline_queue.persist`), which survives `dut_reboot`.
    pub flash: Arc<Mutex<MemoryStorage>>,
    /// The application's message counter per publish stream, kept across
    /// `dut_reboot` when it has an offline queue (so message ids stay
    /// unique when queued messages outlive a boot).
    pub app_seqs: Arc<Mutex<Vec<u64>>>,
}

impl Default for DutState {
    fn default() -> Self {
        DutState {
            wifi: WatchLink::new(true),
            flash: Arc::default(),
            app_seqs: Arc::default(),
        }
    }
}

impl DutState {
    fn seqs(&self) -> MutexGuard<'_, Vec<u64>> {
        self.app_seqs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The world the application runs in.
pub trait DutWorld: Clone + Send + Sync + 'static {
    /// The scenario (its `[dut]` and `[workload]`), in this world's time.
    fn scenario(&self) -> &Scenario;
    /// The device's lasting state.
    fn dut(&self) -> &DutState;
    /// Milliseconds since the run started, in scenario time.
    fn now_ms(&self) -> u64;
    /// Records a trace event now.
    fn emit(&self, actor: Actor, event: Event);
    /// Starts a task of the application (the simulator keeps them on its
    /// host's local set; real time on the runtime).
    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static;
}

pub(crate) fn qos(q: u8) -> QoS {
    QoS::from_u8(q).unwrap_or(QoS::AtMostOnce)
}

pub(crate) fn msg_of(payload: &[u8]) -> String {
    payload::identity(payload).unwrap_or_default()
}

/// P5 beyond: the trace line of an offline queue event.
fn queue_trace_event(e: &DriverEvent) -> Option<Event> {
    Some(match e {
        DriverEvent::PublishQueued { held, payload, .. } => Event::Queued {
            msg: msg_of(payload),
            held: *held,
        },
        DriverEvent::PublishDropped { payload, total, .. } => Event::QueueDropped {
            msg: msg_of(payload),
            total: *total,
        },
        DriverEvent::PublishRejected { payload, total, .. } => Event::QueueRejected {
            msg: msg_of(payload),
            total: *total,
        },
        DriverEvent::PublishRestored { seq, payload, .. } => Event::QueueRestored {
            msg: msg_of(payload),
            seq: *seq,
        },
        DriverEvent::StorageFailed { reason } => Event::StorageFailed {
            reason: reason.clone(),
        },
        _ => return None,
    })
}

/// Turns one driver event into trace lines.
pub(crate) fn trace_driver_event<W: DutWorld>(world: &W, keepalive_s: u16, e: &DriverEvent) {
    let ev = match e {
        DriverEvent::Link { up: true } => Event::WifiUp,
        DriverEvent::Link { up: false } => Event::WifiDown,
        DriverEvent::Connecting { attempt } => Event::Connecting { attempt: *attempt },
        DriverEvent::Up { session_present } => {
            world.emit(
                Actor::Dut,
                Event::Connected {
                    session_present: *session_present,
                    keepalive_s,
                },
            );
            Event::Up
        }
        DriverEvent::Down { reason } => {
            world.emit(
                Actor::Dut,
                Event::ConnectionLost {
                    reason: reason.to_string(),
                },
            );
            Event::Down
        }
        DriverEvent::Closed {
            graceful,
            was_connected: true,
        } => Event::ConnectionLost {
            reason: if *graceful {
                "disconnect() by the application"
            } else {
                "close() by the application"
            }
            .into(),
        },
        DriverEvent::SessionUncertain => Event::SessionUncertain,
        DriverEvent::AttemptFailed { reason, .. } => Event::ConnectFailed {
            reason: reason.clone(),
        },
        DriverEvent::ConnectResult(Err(e)) => Event::ConnectFailed {
            reason: e.to_string(),
        },
        DriverEvent::PublishSent {
            pid,
            qos,
            dup,
            topic,
            payload,
            ..
        } => Event::PublishSent {
            pid: pid.map(|p| p.get()),
            qos: *qos as u8,
            dup: *dup,
            topic: topic.clone(),
            msg: msg_of(payload),
        },
        DriverEvent::Acked { pid } => Event::Puback { pid: pid.get() },
        DriverEvent::Retransmit { pid, .. } => Event::Retransmit { pid: pid.get() },
        DriverEvent::PubRelSent { pid, resend, .. } => Event::PubrelSent {
            pid: pid.get(),
            resend: *resend,
        },
        DriverEvent::DuplicateIgnored { pid } => Event::Qos2Duplicate { pid: pid.get() },
        DriverEvent::StrayAck { pid } => Event::StrayAck { pid: pid.get() },
        DriverEvent::BrokerViolation {
            violation,
            topic,
            payload,
        } => {
            let (name, pid) = match violation {
                BrokerViolation::Qos2IdReused { pid } => ("qos2_id_reused", pid.get()),
            };
            Event::BrokerViolation {
                violation: name.into(),
                pid,
                topic: topic.clone(),
                msg: msg_of(payload),
                detail: violation.to_string(),
            }
        }
        DriverEvent::PingSent => Event::PingSent,
        DriverEvent::PingResp => Event::Pingresp,
        DriverEvent::Subscribed { topic, qos } => Event::Subscribed {
            topic: topic.clone(),
            qos: *qos as u8,
        },
        DriverEvent::Discarded { message, total } => Event::Discarded {
            msg: msg_of(&message.payload),
            total: *total,
        },
        other => match queue_trace_event(other) {
            Some(ev) => ev,
            None => return,
        },
    };
    world.emit(Actor::Dut, ev);
}

fn trace_message<W: DutWorld>(world: &W, m: &Message) {
    world.emit(
        Actor::Dut,
        Event::Message {
            topic: m.topic.clone(),
            qos: m.qos as u8,
            retain: m.retained,
            dup: m.dup,
            msg: msg_of(&m.payload),
        },
    );
}

/// Boots the device: driver (with `config`, over `transport` and the
/// world's WiFi), application, heartbeat. `keepalive_s` is the keepalive
/// the `connected` trace line reports (in scenario time). Runs until its
/// runtime or host is dropped (end of run, `dut_reboot`); `Err` only when
/// the driver refuses `config`.
pub async fn run<W: DutWorld, T: Transport>(
    world: W,
    config: Config,
    keepalive_s: u16,
    transport: T,
) -> Result<(), ConfigError> {
    let scenario = world.scenario();
    let callback = config.queue_len == 0;
    let persist = config.offline_queue.is_some_and(|q| q.persist);
    let (w_ev, w_msg) = (world.clone(), world.clone());
    let mut builder = ClientBuilder::new(config)
        .transport(transport)
        .link(world.dut().wifi.clone())
        .on_event(move |e| trace_driver_event(&w_ev, keepalive_s, e));
    if callback {
        builder = builder.on_message(move |m| trace_message(&w_msg, &m));
    }
    // P5 beyond: the flash lives in the world, outside this boot, so it
    // survives `dut_reboot`.
    if persist {
        builder = builder.storage(world.dut().flash.clone());
    }
    let client = builder.spawn()?;
    let workload = &scenario.workload;

    if let Some(period) = workload.heartbeat {
        let w = world.clone();
        world.spawn(async move {
            loop {
                w.emit(Actor::App, Event::Heartbeat);
                tokio::time::sleep(period.to_std()).await;
            }
        });
    }
    if !callback {
        // The event interface: a handler task that may be slow.
        let (client, w, delay) = (client.clone(), world.clone(), workload.handler_delay);
        world.spawn(async move {
            while let Some(m) = client.next_message().await {
                trace_message(&w, &m);
                if !delay.is_zero() {
                    tokio::time::sleep(delay.to_std()).await;
                }
            }
        });
    }

    // K1: connect once; retry only if the workload says the app does.
    let quick = scenario.dut.quick;
    loop {
        world.emit(Actor::App, Event::AppConnectStart);
        let result = if quick {
            client.connect_quick().await
        } else {
            client.connect().await
        };
        match result {
            Ok(()) => {
                world.emit(
                    Actor::App,
                    Event::AppConnectDone {
                        ok: true,
                        error: None,
                    },
                );
                break;
            }
            Err(e) => {
                world.emit(
                    Actor::App,
                    Event::AppConnectDone {
                        ok: false,
                        error: Some(e.to_string()),
                    },
                );
                match workload.connect_retry {
                    Some(after) => tokio::time::sleep(after.to_std()).await,
                    None => {
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }

    // D5: the application renews its subscriptions on every up
    // notification that lost the session (unless the driver restores them).
    let mut notes = client.notifications();
    subscribe_all(&client, &world).await;
    if !scenario.dut.restore_subscriptions {
        let (client, w) = (client.clone(), world.clone());
        world.spawn(async move {
            loop {
                match notes.recv().await {
                    Ok(Notification::Up {
                        session_present: false,
                    }) => subscribe_all(&client, &w).await,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                }
            }
        });
    }

    // With an offline queue, message counters live in flash (the world).
    let keep_seqs = scenario.dut.offline_queue.is_some();
    for (i, stream) in workload.publish.iter().enumerate() {
        let (client, w, stream) = (client.clone(), world.clone(), stream.clone());
        world.spawn(async move {
            tokio::time::sleep(stream.start.at.to_std()).await;
            let mut seq = 0u64;
            if keep_seqs {
                let mut seqs = w.dut().seqs();
                let len = seqs.len().max(i + 1);
                seqs.resize(len, 0);
                seq = seqs[i];
            }
            let first = seq;
            while stream.count.is_none_or(|c| seq - first < c) {
                let mut calls = Vec::new();
                for _ in 0..stream.burst.max(1) {
                    if stream.count.is_some_and(|c| seq - first >= c) {
                        break;
                    }
                    seq += 1;
                    if keep_seqs {
                        w.dut().seqs()[i] = seq;
                    }
                    let msg = payload::msg_id("dut", i, seq);
                    let body = payload::make(&msg, stream.payload_size);
                    let topic = stream.topic.as_str().to_string();
                    w.emit(
                        Actor::App,
                        Event::AppPublishStart {
                            msg: msg.clone(),
                            topic: topic.clone(),
                            qos: stream.qos.get(),
                        },
                    );
                    let (client, w2) = (client.clone(), w.clone());
                    let (q, retain) = (qos(stream.qos.get()), stream.retain);
                    calls.push(w.spawn(async move {
                        let event = match client.publish(&topic, &body, retain, q).await {
                            Ok(()) => Event::AppPublishDone { msg },
                            Err(e) => Event::AppPublishFailed {
                                msg,
                                qos: q as u8,
                                reason: e.to_string(),
                            },
                        };
                        w2.emit(Actor::App, event);
                    }));
                }
                if stream.wait {
                    for call in calls {
                        let _ = call.await;
                    }
                }
                tokio::time::sleep(stream.interval.to_std()).await;
            }
        });
    }

    if let Some(at) = workload.disconnect_at {
        let now = Duration::from_millis(world.now_ms());
        tokio::time::sleep(at.at.to_std().saturating_sub(now)).await;
        world.emit(Actor::App, Event::AppDisconnect);
        client.disconnect().await;
    }
    std::future::pending::<()>().await;
    Ok(())
}

async fn subscribe_all<W: DutWorld>(client: &Client, world: &W) {
    for sub in &world.scenario().workload.subscribe {
        let _ = client
            .subscribe(sub.topic.as_str(), qos(sub.qos.get()))
            .await;
    }
}

/// The observer's subscriptions: every topic the DUT publishes to, and its
/// will's, at the highest qos used (the simulator's and the real-time
/// observer alike).
pub fn observer_topics(scenario: &Scenario) -> BTreeMap<String, u8> {
    let mut topics: BTreeMap<String, u8> = BTreeMap::new();
    for p in &scenario.workload.publish {
        let q = topics.entry(p.topic.as_str().to_string()).or_default();
        *q = (*q).max(p.qos.get());
    }
    if let Some(will) = &scenario.dut.will {
        let q = topics.entry(will.topic.as_str().to_string()).or_default();
        *q = (*q).max(will.qos.get());
    }
    topics
}

/// Starts the observer's publish streams (`[[workload.observer]]`, the
/// messages the DUT receives) on `publisher`, in `world`.
pub fn spawn_observer_streams<W: DutWorld>(world: &W, publisher: &Client) {
    for (i, stream) in world.scenario().workload.observer.iter().enumerate() {
        let publisher = publisher.clone();
        let w = world.clone();
        let stream = stream.clone();
        world.spawn(async move {
            tokio::time::sleep(stream.start.at.to_std()).await;
            let mut seq = 0u64;
            while stream.count.is_none_or(|c| seq < c) {
                seq += 1;
                let msg = payload::msg_id("obs", i, seq);
                let body = payload::make(&msg, stream.payload_size);
                let topic = stream.topic.as_str();
                if publisher
                    .publish(topic, &body, stream.retain, qos(stream.qos.get()))
                    .await
                    .is_ok()
                {
                    w.emit(
                        Actor::Observer,
                        Event::ObserverPublish {
                            topic: topic.to_string(),
                            msg,
                            qos: stream.qos.get(),
                        },
                    );
                }
                tokio::time::sleep(stream.interval.to_std()).await;
            }
        });
    }
}

/// The chaos broker's log record as the trace event it becomes, in the
/// simulator and in real time alike; `None` for records the trace does not
/// keep. `wills`: whether the broker's own will reports are kept (the
/// real-time observer infers wills from deliveries instead, and a second
/// report would be a duplicate). `now_ms`: the trace time it is emitted at
/// (when a packet out left the broker); `scale`: the run's time scale, which
/// turns the broker's wall time held into trace time (`queued_ms`).
pub fn chaos_broker_event(
    record: chaos_broker::LogRecord,
    wills: bool,
    now_ms: u64,
    scale: f64,
) -> Option<Event> {
    use crate::trace::Dir;
    use chaos_broker::{BrokerEvent, Direction, LogRecord};
    Some(match record {
        LogRecord::Packet(p) => Event::BrokerPacket {
            dir: match p.direction {
                Direction::In => Dir::In,
                Direction::Out => Dir::Out,
            },
            client_id: p.client_id.unwrap_or_default(),
            summary: p.summary,
            queued_ms: p.queued.map(|q| {
                let held = p.at.saturating_sub(q).as_secs_f64() * 1000.0 / scale;
                now_ms.saturating_sub(held.round() as u64)
            }),
        },
        LogRecord::Event(e) => match e.event {
            BrokerEvent::ClientConnected {
                client_id,
                clean_session,
                session_present,
            } => Event::ClientConnected {
                client_id,
                clean: clean_session,
                session_present,
            },
            BrokerEvent::ClientDisconnected {
                client_id, reason, ..
            } => Event::ClientDisconnected {
                client_id: client_id.unwrap_or_default(),
                reason: format!("{reason:?}"),
            },
            BrokerEvent::WillPublished { topic, .. } if wills => Event::WillPublished { topic },
            _ => return None,
        },
    })
}
