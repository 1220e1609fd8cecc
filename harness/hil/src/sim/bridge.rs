//! The serial MQTT bridge in the simulator (`[bridge]` scenarios, issue
//! 20): two hosts joined by the serial line of `sim::serial`.
//!
//! - `dut` is the **gateway** (the radio module): the bridge crate's own
//!   gateway shell (`resilient_mqtt_bridge::gateway::run`: its gateway core
//!   on the serial side, `resilient-mqtt` over turmoil TCP towards the
//!   broker) on its end of the line ([`SerialIo`]). The driver is built
//!   from the scenario's `[dut]` with the identity the host configures
//!   (the same client id, keepalive and session), with the DUT's WiFi and
//!   link faults, so its events are the `dut` trace lines as when the
//!   driver alone is the DUT (`connected`, `publish_sent`, `puback`,
//!   `subscribed`, `up`/`down`...). Its first boot waits for the observer
//!   as the DUT's does; every boot, and every `gateway_reboot`, takes
//!   `[bridge] gateway_boot`, during which what reaches it on the line is
//!   lost.
//! - [`HOST`] is the **bridge host** (the MCU, no network): the bridge's
//!   sans-IO host core driven by a main loop, as firmware would, and the
//!   scenario's application (`[workload]`: heartbeat, publish streams,
//!   subscriptions). What the application sees is traced end to end:
//!   `app_publish_start`/`done` (done when the gateway reports the
//!   broker's acknowledgement), `message` (a delivery to the MCU's
//!   application), the host core's `gateway_up`/`gateway_down`,
//!   `bridge_up`/`bridge_down`, `gateway_queue`, `serial_resync` (from its
//!   link counters), and each API call's `host_call`. So `qos1_no_loss`,
//!   `duplicates_at_most`... judge host -> broker -> observer and observer
//!   -> broker -> host.
//!
//! The host's loop feeds its core the line's bytes and simulated time
//! every [`POLL`] (and at the core's deadlines), and writes what it
//! transmits as far as the UART's transmit buffer allows.

use std::collections::BTreeMap;
use std::time::Duration;

use resilient_mqtt::client::ClientBuilder;
use resilient_mqtt_bridge as rmb;

use super::dut::boot_phase;
use super::net::{SimTcp, BROKER_ADDR};
use super::serial::{now_us, End, SerialIo, SerialLine};
use super::world::World;
use crate::app::{msg_of, qos, trace_driver_event};
use crate::scenario::bridge::Bridge;
use crate::scenario::phases::Phase;
use crate::trace::payload;
use crate::trace::{Actor, Event};

/// The bridge host's turmoil host name.
pub const HOST: &str = "mcu";

/// How often each side services the line when its core has no earlier
/// deadline.
pub const POLL: Duration = Duration::from_millis(5);

/// The bridge's clock from simulated µs.
fn instant(us: u64) -> rmb::Instant {
    rmb::Instant::from_millis(us / 1_000)
}

fn line_of(world: &World) -> Result<SerialLine, Box<dyn std::error::Error>> {
    world
        .serial
        .clone()
        .ok_or_else(|| "a bridge host without a [bridge] serial line".into())
}

/// Sleeps until the next poll or the core's deadline, whichever is first.
async fn pause(deadline: Option<rmb::Instant>, now: u64) {
    let poll_end = now + POLL.as_micros() as u64;
    let until = deadline
        .map(|d| d.as_millis().saturating_mul(1_000))
        .map_or(poll_end, |d| d.clamp(now + 1_000, poll_end));
    tokio::time::sleep(Duration::from_micros(until - now)).await;
}

/// Writes what `poll` gives, as far as `end`'s transmit buffer has room.
fn transmit(line: &SerialLine, end: End, now: u64, mut poll: impl FnMut(&mut [u8]) -> usize) {
    let mut buf = [0u8; 512];
    loop {
        let room = line.room(end, now).min(buf.len());
        if room == 0 {
            return;
        }
        let n = poll(&mut buf[..room]);
        if n == 0 {
            return;
        }
        line.write(end, now, &buf[..n]);
    }
}

// ---------------------------------------------------------------- gateway

/// A number new at every boot, from the seed (the bridge tells a rebooted
/// peer from a link outage by it).
fn nonce(seed: u64, salt: u64, boot: u64) -> u32 {
    let mut rng =
        crate::fuzz::rng::Rng::new(seed ^ salt ^ boot.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (rng.next_u64() as u32).max(1)
}

/// The link's settings from `[bridge]`.
fn link_config(bridge: &Bridge) -> rmb::LinkConfig {
    let mut link = rmb::LinkConfig::default();
    if let Some(t) = bridge.frame_timeout {
        link.rto_ms = t.as_millis().min(u64::from(u32::MAX)) as u32;
    }
    link
}

/// The gateway host: boots, then runs the bridge crate's gateway shell
/// (`gateway::run`: the gateway core and `resilient-mqtt`'s client over
/// turmoil TCP) on its end of the line, until the run ends or
/// `gateway_reboot` bounces it.
pub async fn gateway(world: World, seed: u64) -> turmoil::Result {
    let line = line_of(&world)?;
    let bridge = world.scenario.bridge.unwrap_or_default();
    let boot = boot_phase(&world, seed).await;
    tokio::time::sleep(bridge.gateway_boot.to_std()).await;
    // Booted: what reached the UART while it was not running is gone.
    line.reset_rx(End::Gateway);

    let base = world.scenario.dut.to_driver(seed);
    let mut cfg = rmb::GatewayConfig::new(nonce(seed, 0x6a7e_3a70, boot));
    cfg.link = link_config(&bridge);
    if let Some(n) = bridge.queue_capacity {
        cfg.queue_capacity = n.min(u32::from(u16::MAX)) as u16;
    }
    let w = world.clone();
    let io = SerialIo::new(line, End::Gateway);
    // The driver for the identity the host configures (the closure's
    // argument type is inferred from `run`'s bound).
    rmb::gateway::run(io, cfg, move |id| {
        let config = id.apply(&base);
        let keepalive_s = config.keepalive.as_secs() as u16;
        let w = w.clone();
        ClientBuilder::new(config)
            .transport(SimTcp::dut(BROKER_ADDR.1, w.dut_link.clone()))
            .link(w.dut.wifi.clone())
            .on_event(move |e| trace_driver_event(&w, keepalive_s, e))
    })
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- host

/// One publish stream of the host's application.
struct Stream {
    next_ms: u64,
    seq: u64,
    /// Publishes not completed yet (a `wait` stream waits for them).
    open: usize,
    /// Publishes the application has started and the core has not taken
    /// yet (its outbox was full), tried again each poll: (msg, body, since
    /// when in ms).
    blocked: std::collections::VecDeque<(String, Vec<u8>, u64)>,
}

/// The host application's view of the core, in one place.
struct App {
    world: World,
    streams: Vec<Stream>,
    /// What each publish token is: (message id, qos, stream).
    tokens: BTreeMap<rmb::Token, (String, u8, usize)>,
    /// Damaged frames since the last good one (host core counters).
    bad_seen: u64,
    good_seen: u64,
}

impl App {
    fn emit(&self, actor: Actor, e: Event) {
        self.world.emit(actor, e);
    }

    fn subscribe_all(&self, core: &mut rmb::Host, now: u64) {
        for sub in &self.world.scenario.workload.subscribe {
            let _ = core.subscribe(instant(now), sub.topic.as_str(), qos(sub.qos.get()));
            self.emit(
                Actor::App,
                Event::HostCall {
                    op: "subscribe".into(),
                    ms: 0,
                },
            );
        }
    }

    /// Starts the publishes that are due (`burst` at each interval) and
    /// hands the waiting ones to the core while its outbox takes them.
    fn publish_due(&mut self, core: &mut rmb::Host, now: u64) {
        let now_ms = now / 1_000;
        let workload = self.world.scenario.workload.clone();
        for (i, spec) in workload.publish.iter().enumerate() {
            let s = &mut self.streams[i];
            let waiting = spec.wait && (s.open > 0 || !s.blocked.is_empty());
            if now_ms >= s.next_ms && !waiting && spec.count.is_none_or(|c| s.seq < c) {
                s.next_ms = now_ms + spec.interval.as_millis();
                for _ in 0..spec.burst.max(1) {
                    if spec.count.is_some_and(|c| s.seq >= c) {
                        break;
                    }
                    s.seq += 1;
                    let msg = payload::msg_id("dut", i, s.seq);
                    let body = payload::make(&msg, spec.payload_size);
                    self.world.emit(
                        Actor::App,
                        Event::AppPublishStart {
                            msg: msg.clone(),
                            topic: spec.topic.as_str().to_string(),
                            qos: spec.qos.get(),
                        },
                    );
                    s.blocked.push_back((msg, body, now_ms));
                }
            }
            let q = spec.qos.get();
            while let Some((msg, body, since)) = self.streams[i].blocked.pop_front() {
                match core.publish(
                    instant(now),
                    spec.topic.as_str(),
                    &body,
                    qos(q),
                    spec.retain,
                ) {
                    Ok(token) => {
                        self.emit(
                            Actor::App,
                            Event::HostCall {
                                op: "publish".into(),
                                ms: now_ms - since,
                            },
                        );
                        self.streams[i].open += 1;
                        self.tokens.insert(token, (msg, q, i));
                    }
                    // The outbox is full: the application waits for room
                    // (that wait is what `host_never_blocked` judges).
                    Err(rmb::HostError::Full) => {
                        self.streams[i].blocked.push_front((msg, body, since));
                        break;
                    }
                    Err(e) => {
                        self.emit(
                            Actor::App,
                            Event::AppPublishFailed {
                                msg,
                                qos: q,
                                reason: e.to_string(),
                            },
                        );
                    }
                }
            }
        }
    }

    fn finished(&mut self, token: rmb::Token, failed: Option<String>) {
        let Some((msg, q, i)) = self.tokens.remove(&token) else {
            return;
        };
        self.streams[i].open = self.streams[i].open.saturating_sub(1);
        let e = match failed {
            None => Event::AppPublishDone { msg },
            Some(reason) => Event::AppPublishFailed {
                msg,
                qos: q,
                reason,
            },
        };
        self.emit(Actor::App, e);
    }

    /// Traces a resync when the core decoded a good frame after damaged
    /// ones.
    fn resyncs(&mut self, core: &rmb::Host) {
        let stats = core.stats();
        let (bad, good) = (stats.bad_frames, stats.frames_in);
        if good > self.good_seen && bad > self.bad_seen {
            self.emit(
                Actor::Dut,
                Event::SerialResync {
                    bad_frames: (bad - self.bad_seen) as u32,
                },
            );
            self.bad_seen = bad;
        }
        self.good_seen = good;
    }

    fn event(&mut self, core: &mut rmb::Host, now: u64, e: rmb::HostEvent) {
        match e {
            rmb::HostEvent::GatewayUp => self.emit(Actor::Dut, Event::GatewayUp),
            rmb::HostEvent::GatewayDown => self.emit(Actor::Dut, Event::GatewayDown),
            rmb::HostEvent::Up { session_present } => {
                self.emit(Actor::Dut, Event::BridgeUp { session_present });
                // D5 as the application does it: subscribe (again) when
                // the session is new.
                if !session_present {
                    self.subscribe_all(core, now);
                }
            }
            rmb::HostEvent::Down => self.emit(Actor::Dut, Event::BridgeDown),
            rmb::HostEvent::PublishDone { token } => self.finished(token, None),
            rmb::HostEvent::PublishFailed { token, error } => {
                self.finished(token, Some(format!("{error:?}")))
            }
            rmb::HostEvent::Message {
                topic,
                payload,
                qos,
                retain,
            } => self.emit(
                Actor::Dut,
                Event::Message {
                    topic: topic.to_string(),
                    qos: qos as u8,
                    retain,
                    dup: false,
                    msg: msg_of(&payload),
                },
            ),
            rmb::HostEvent::QueueState { queued, capacity } => self.emit(
                Actor::Dut,
                Event::GatewayQueue {
                    queued: queued as u32,
                    capacity: capacity as u32,
                },
            ),
            _ => {}
        }
    }
}

/// The bridge host (the MCU): boots after its seeded boot delay, then runs
/// the host core and the application until the run ends or `dut_reboot`
/// bounces it.
pub async fn host(world: World, seed: u64) -> turmoil::Result {
    let line = line_of(&world)?;
    let boot = world.next_host_boot();
    let delay = world
        .scenario
        .sim
        .draw(seed ^ 0x0b41_d9e0, Phase::Boot(boot));
    tokio::time::sleep(delay.to_std()).await;
    line.reset_rx(End::Host);
    let workload = world.scenario.workload.clone();
    if let Some(period) = workload.heartbeat {
        let w = world.clone();
        tokio::task::spawn_local(async move {
            loop {
                w.emit(Actor::App, Event::Heartbeat);
                tokio::time::sleep(period.to_std()).await;
            }
        });
    }
    let start = now_us() / 1_000;
    let cfg = host_config(&world, seed, boot).map_err(|e| format!("bridge host: {e}"))?;
    let mut core = rmb::Host::new(cfg);
    let mut app = App {
        world: world.clone(),
        streams: workload
            .publish
            .iter()
            .map(|p| Stream {
                next_ms: start + p.start.at.as_millis(),
                seq: 0,
                open: 0,
                blocked: Default::default(),
            })
            .collect(),
        tokens: BTreeMap::new(),
        bad_seen: 0,
        good_seen: 0,
    };
    let mut rx = Vec::new();
    loop {
        let now = now_us();
        rx.clear();
        line.read(End::Host, now, &mut rx);
        if !rx.is_empty() {
            core.handle_input(instant(now), &rx);
            app.resyncs(&core);
        }
        if core.poll_timeout().is_some_and(|t| t <= instant(now)) {
            core.handle_timeout(instant(now));
        }
        while let Some(e) = core.poll_event() {
            app.event(&mut core, now, e);
        }
        app.publish_due(&mut core, now);
        transmit(&line, End::Host, now, |b| {
            core.poll_transmit(instant(now), b)
        });
        pause(core.poll_timeout(), now).await;
    }
}

/// The host core's settings: the identity it gives the gateway's driver
/// is the scenario's `[dut]` (client id, keepalive, clean session).
fn host_config(world: &World, seed: u64, boot: u64) -> Result<rmb::HostConfig, rmb::HostError> {
    let dut = world.scenario.dut.to_driver(seed);
    let mut cfg = rmb::HostConfig::new(&world.dut_client_id, nonce(seed, 0x4057_b007, boot))?;
    cfg.keepalive_s = dut.keepalive.as_secs().min(u64::from(u16::MAX)) as u16;
    cfg.clean_session = dut.clean;
    cfg.link = link_config(&world.scenario.bridge.unwrap_or_default());
    Ok(cfg)
}
