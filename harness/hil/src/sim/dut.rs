//! The DUT host: `resilient-mqtt` over turmoil TCP and the scenario's WiFi,
//! plus the device application the workload describes (connect, subscribe
//! again on every up notification as `mqtt_as` applications do, periodic
//! publishes, a slow or fast message handler, a heartbeat task). Every
//! driver event becomes a trace line.

use std::time::Duration;

use resilient_mqtt::client::{Client, ClientBuilder, Notification};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{
    Backoff, Config, Event as DriverEvent, Message, OfflineQueue, Overflow, Protocol, ResponseMode,
    V5Config, WillConfig,
};

use super::net::SimTcp;
use super::world::World;
use crate::scenario::dut::QueueOverflow;
use crate::scenario::Scenario;
use crate::trace::payload;
use crate::trace::{Actor, Event};

fn qos(q: u8) -> QoS {
    QoS::from_u8(q).unwrap_or(QoS::AtMostOnce)
}

/// The driver's configuration for this scenario and seed.
pub fn driver_config(scenario: &Scenario, seed: u64) -> Config {
    let d = &scenario.dut;
    Config {
        client_id: d.client_id.clone().unwrap_or_default(),
        user: d.user.clone(),
        password: d
            .password
            .as_ref()
            .and_then(|p| p.resolve().ok())
            .map(String::into_bytes),
        keepalive: d.keepalive.to_std(),
        ping_interval: d.ping_interval.to_std(),
        response_time: d.response_time.to_std(),
        response_mode: match d.adaptive_response {
            None => ResponseMode::Fixed,
            Some(a) => ResponseMode::Adaptive {
                min: a.min.to_std(),
                max: a.max.to_std(),
            },
        },
        max_repubs: d.max_repubs,
        clean_init: d.clean_init,
        clean: d.clean,
        will: d.will.as_ref().map(|w| WillConfig {
            topic: w.topic.as_str().to_string(),
            message: w.message.clone().into_bytes(),
            retain: w.retain,
            qos: qos(w.qos.get()),
        }),
        queue_len: d.queue_len,
        restore_subscriptions: d.restore_subscriptions,
        backoff: Backoff {
            initial: d.backoff.min.to_std(),
            max: d.backoff.max.to_std(),
            jitter: d.backoff.jitter,
            refused: d.backoff.refused.to_std(),
        },
        offline_queue: d.offline_queue.map(|q| OfflineQueue {
            max_messages: q.max_messages,
            max_bytes: q.max_bytes,
            overflow: match q.overflow {
                QueueOverflow::Reject => Overflow::Reject,
                QueueOverflow::DropOldest => Overflow::DropOldest,
            },
            persist: q.persist,
        }),
        seed,
        protocol: protocol(&scenario.dut),
        ..Config::default()
    }
}

/// `mqtt = 5` (with `session_expiry`, `receive_maximum`) is MQTT 5 with the
/// driver's other v5 defaults; anything else is 3.1.1.
fn protocol(d: &crate::scenario::dut::DutConfig) -> Protocol {
    if d.mqtt != 5 {
        return Protocol::V311;
    }
    let defaults = V5Config::default();
    Protocol::v5(V5Config {
        session_expiry: d.session_expiry.map_or(0, |e| {
            (e.as_millis() / 1000).min(u64::from(u32::MAX)) as u32
        }),
        receive_maximum: d
            .receive_maximum
            .map_or(defaults.receive_maximum, |r| r.clamp(1, 65535) as u16),
        ..defaults
    })
}

fn msg_of(payload: &[u8]) -> String {
    payload::identity(payload).unwrap_or_default()
}

/// P5 beyond: the trace line of an offline queue event (shared with the
/// live DUT).
pub(crate) fn queue_trace_event(e: &DriverEvent) -> Option<Event> {
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
fn trace_driver_event(world: &World, keepalive_s: u16, e: &DriverEvent) {
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

fn trace_message(world: &World, m: &Message) {
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

/// Boots the device: driver, application, heartbeat. Runs until the
/// simulation ends or the host is bounced (`dut_reboot`).
pub async fn host(world: World, seed: u64) -> turmoil::Result {
    let scenario = world.scenario.clone();
    let config = driver_config(&scenario, seed);
    let keepalive_s = config.keepalive.as_secs() as u16;
    let callback = config.queue_len == 0;
    let persist = config.offline_queue.is_some_and(|q| q.persist);
    let (w_ev, w_msg) = (world.clone(), world.clone());
    let builder = ClientBuilder::new(config)
        .link(world.wifi.clone())
        .on_event(move |e| trace_driver_event(&w_ev, keepalive_s, e));
    let builder = if callback {
        builder.on_message(move |m| trace_message(&w_msg, &m))
    } else {
        builder
    };
    // P5 beyond: the flash lives in the world, outside this host, so it
    // survives `dut_reboot`.
    let builder = if persist {
        builder.storage(world.flash.clone())
    } else {
        builder
    };
    let identity = world.tls().identity.clone();
    let client = match identity {
        None => builder.transport(SimTcp::default()).spawn()?,
        Some(id) => builder
            .transport(id.dut_transport(super::EPOCH_SECS)?)
            .spawn()?,
    };
    let workload = &scenario.workload;

    if let Some(period) = workload.heartbeat {
        let w = world.clone();
        tokio::task::spawn_local(async move {
            loop {
                w.emit(Actor::App, Event::Heartbeat);
                tokio::time::sleep(period.to_std()).await;
            }
        });
    }
    if !callback {
        // The event interface: a handler task that may be slow.
        let (client, w, delay) = (client.clone(), world.clone(), workload.handler_delay);
        tokio::task::spawn_local(async move {
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
        tokio::task::spawn_local(async move {
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
        tokio::task::spawn_local(async move {
            tokio::time::sleep(stream.start.to_std()).await;
            let mut seq = 0u64;
            if keep_seqs {
                let mut seqs = w.app_seqs.lock().unwrap_or_else(|e| e.into_inner());
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
                        w.app_seqs.lock().unwrap_or_else(|e| e.into_inner())[i] = seq;
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
                    let (client, w) = (client.clone(), w.clone());
                    let (q, retain) = (qos(stream.qos.get()), stream.retain);
                    calls.push(tokio::task::spawn_local(async move {
                        if client.publish(&topic, &body, retain, q).await.is_ok() {
                            w.emit(Actor::App, Event::AppPublishDone { msg });
                        }
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
        let now = Duration::from_millis(super::world::now_ms());
        tokio::time::sleep(at.to_std().saturating_sub(now)).await;
        world.emit(Actor::App, Event::AppDisconnect);
        client.disconnect().await;
    }
    std::future::pending::<()>().await;
    Ok(())
}

async fn subscribe_all(client: &Client, world: &World) {
    for sub in &world.scenario.workload.subscribe {
        let _ = client
            .subscribe(sub.topic.as_str(), qos(sub.qos.get()))
            .await;
    }
}
