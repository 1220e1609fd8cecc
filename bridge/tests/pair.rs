//! Host core and gateway core joined by a simulated serial line in virtual
//! time (1 ms steps): the line can flip bytes, drop bytes, delay them and
//! be cut, from a seeded generator; it carries bytes at a baud rate. The
//! gateway's MQTT side is a small broker model that acknowledges after a
//! delay while it is up, records every publish it accepted and can send
//! messages to the host.

use std::collections::{BTreeMap, VecDeque};

use resilient_mqtt_bridge::{
    Gateway, GatewayConfig, Host, HostConfig, HostEvent, Instant, MqttRequest, MqttResult, QoS,
    Token,
};

/// xorshift64*: the only randomness, from the test's seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// One direction of the serial line.
struct Line {
    /// (due in µs, byte)
    q: VecDeque<(u64, u8)>,
    free_at_us: u64,
    us_per_byte: u64,
    delay_us: u64,
    flip: f64,
    drop: f64,
    cut: bool,
    flipped: u64,
    dropped: u64,
}

impl Line {
    fn new(baud: u64) -> Line {
        Line {
            q: VecDeque::new(),
            free_at_us: 0,
            us_per_byte: 10_000_000 / baud,
            delay_us: 0,
            flip: 0.0,
            drop: 0.0,
            cut: false,
            flipped: 0,
            dropped: 0,
        }
    }

    fn send(&mut self, now_ms: u64, bytes: &[u8], rng: &mut Rng) {
        for &b in bytes {
            let start = self.free_at_us.max(now_ms * 1000);
            self.free_at_us = start + self.us_per_byte;
            if self.cut {
                continue;
            }
            if self.drop > 0.0 && rng.chance(self.drop) {
                self.dropped += 1;
                continue;
            }
            let mut b = b;
            if self.flip > 0.0 && rng.chance(self.flip) {
                b ^= 1 << (rng.next() % 8);
                self.flipped += 1;
            }
            self.q.push_back((self.free_at_us + self.delay_us, b));
        }
    }

    fn due(&mut self, now_ms: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while self.q.front().is_some_and(|(t, _)| *t <= now_ms * 1000) {
            out.push(self.q.pop_front().unwrap().1);
        }
        out
    }
}

/// The gateway's MQTT side.
#[derive(Default)]
struct Broker {
    up: bool,
    /// Every publish the broker accepted, in order (a resend counts again).
    log: Vec<(String, Vec<u8>, QoS)>,
    /// Requests waiting for the broker: (due ms, request).
    waiting: VecDeque<MqttRequest>,
    replies: VecDeque<(u64, MqttResult)>,
    subscribes: Vec<String>,
    configures: u32,
    client_ids: Vec<String>,
    ack_ms: u64,
}

impl Broker {
    fn take(&mut self, req: MqttRequest) {
        if let MqttRequest::Configure { client_id, .. } = req {
            // A new client: whatever the old one had pending is gone.
            self.configures += 1;
            self.client_ids.push(client_id);
            self.waiting.clear();
            self.replies.clear();
            return;
        }
        self.waiting.push_back(req);
    }

    fn step(&mut self, now: u64, gw: &mut Gateway) {
        if self.up {
            while let Some(req) = self.waiting.pop_front() {
                let due = now + self.ack_ms;
                match req {
                    MqttRequest::Publish {
                        id,
                        topic,
                        payload,
                        qos,
                        ..
                    } => {
                        self.log.push((topic, payload, qos));
                        self.replies
                            .push_back((due, MqttResult::PublishDone { id }));
                    }
                    MqttRequest::Subscribe { id, filter, qos } => {
                        self.subscribes.push(filter);
                        self.replies.push_back((
                            due,
                            MqttResult::SubscribeDone {
                                id,
                                granted: Some(qos),
                            },
                        ));
                    }
                    MqttRequest::Unsubscribe { id, .. } => self
                        .replies
                        .push_back((due, MqttResult::UnsubscribeDone { id })),
                    MqttRequest::Configure { .. } => {}
                }
            }
        }
        while self.replies.front().is_some_and(|(t, _)| *t <= now) {
            let (_, r) = self.replies.pop_front().unwrap();
            gw.handle_mqtt(Instant(now), r);
        }
    }
}

/// Host + gateway + line + broker.
struct Pair {
    now: u64,
    rng: Rng,
    host: Host,
    gw: Gateway,
    h2g: Line,
    g2h: Line,
    broker: Broker,
    events: Vec<(u64, HostEvent)>,
    /// Whether the test's application reads events.
    reading: bool,
    gw_nonce: u32,
}

impl Pair {
    fn new(seed: u64, baud: u64) -> Pair {
        let mut gw = Gateway::new(GatewayConfig::new(1000));
        gw.handle_mqtt(
            Instant(0),
            MqttResult::Up {
                session_present: false,
            },
        );
        Pair {
            now: 0,
            rng: Rng(seed.wrapping_mul(2).wrapping_add(1)),
            host: Host::new(HostConfig::new("sensor-1", 7).unwrap()),
            gw,
            h2g: Line::new(baud),
            g2h: Line::new(baud),
            broker: Broker {
                up: true,
                ack_ms: 20,
                ..Broker::default()
            },
            events: Vec::new(),
            reading: true,
            gw_nonce: 1000,
        }
    }

    fn step(&mut self) {
        self.now += 1;
        let now = Instant(self.now);
        let bytes = self.g2h.due(self.now);
        self.host.handle_input(now, &bytes);
        let bytes = self.h2g.due(self.now);
        self.gw.handle_input(now, &bytes);
        if self.host.poll_timeout().is_some_and(|t| t <= now) {
            self.host.handle_timeout(now);
        }
        if self.gw.poll_timeout().is_some_and(|t| t <= now) {
            self.gw.handle_timeout(now);
        }
        while let Some(req) = self.gw.poll_mqtt() {
            self.broker.take(req);
        }
        self.broker.step(self.now, &mut self.gw);
        let mut buf = [0u8; 4096];
        loop {
            let n = self.host.poll_transmit(now, &mut buf);
            if n == 0 {
                break;
            }
            self.h2g.send(self.now, &buf[..n], &mut self.rng);
        }
        loop {
            let n = self.gw.poll_transmit(now, &mut buf);
            if n == 0 {
                break;
            }
            self.g2h.send(self.now, &buf[..n], &mut self.rng);
        }
        if self.reading {
            while let Some(ev) = self.host.poll_event() {
                self.events.push((self.now, ev));
            }
        }
    }

    fn run_ms(&mut self, ms: u64) {
        for _ in 0..ms {
            self.step();
        }
    }

    fn run_until(&mut self, limit_ms: u64, mut done: impl FnMut(&Pair) -> bool) -> bool {
        for _ in 0..limit_ms {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    fn publish(&mut self, payload: &str) -> Token {
        self.host
            .publish(
                Instant(self.now),
                "peers/sensor-1/seq",
                payload.as_bytes(),
                QoS::AtLeastOnce,
                false,
            )
            .unwrap()
    }

    fn done(&self) -> Vec<Token> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                HostEvent::PublishDone { token } => Some(*token),
                _ => None,
            })
            .collect()
    }

    fn count(&self, want: &HostEvent) -> usize {
        self.events.iter().filter(|(_, e)| e == want).count()
    }

    fn reboot_gateway(&mut self) {
        self.gw_nonce += 1;
        self.gw = Gateway::new(GatewayConfig::new(self.gw_nonce));
        // The old gateway's MQTT client is gone with it.
        self.broker.waiting.clear();
        self.broker.replies.clear();
        if self.broker.up {
            self.gw.handle_mqtt(
                Instant(self.now),
                MqttResult::Up {
                    session_present: false,
                },
            );
        }
    }

    /// Payloads the broker got: how often each.
    fn delivered(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for (_, p, _) in &self.broker.log {
            *m.entry(String::from_utf8_lossy(p).into_owned())
                .or_insert(0) += 1;
        }
        m
    }
}

#[test]
fn handshake_configures_the_gateway_and_a_publish_completes_on_the_brokers_ack() {
    let mut p = Pair::new(1, 115_200);
    let t = p.publish("0");
    assert!(p.run_until(2000, |p| p.done().contains(&t)));
    assert_eq!(p.broker.configures, 1);
    assert_eq!(p.delivered().get("0"), Some(&1));
    assert_eq!(p.count(&HostEvent::GatewayUp), 1);
    assert_eq!(
        p.count(&HostEvent::Up {
            session_present: false
        }),
        1
    );
    // Completion waited for the broker's ack (20 ms after it got it).
    let done_at = p
        .events
        .iter()
        .find(|(_, e)| *e == HostEvent::PublishDone { token: t })
        .unwrap()
        .0;
    assert!(done_at >= 20, "done at {done_at} ms");
}

/// 10 simulated minutes at a 1e-3 byte error rate each way, a QoS 1
/// publish every 200 ms: every one completes, the broker has every one,
/// duplicates stay rare, and the link never goes down for the noise.
#[test]
fn qos1_survives_ten_minutes_of_noise_at_1e_3() {
    for seed in [1u64, 2, 3] {
        let mut p = Pair::new(seed, 115_200);
        p.h2g.flip = 1e-3;
        p.g2h.flip = 1e-3;
        let mut tokens = Vec::new();
        for i in 0..3000u32 {
            loop {
                match p.host.publish(
                    Instant(p.now),
                    "peers/sensor-1/seq",
                    i.to_string().as_bytes(),
                    QoS::AtLeastOnce,
                    false,
                ) {
                    Ok(t) => {
                        tokens.push(t);
                        break;
                    }
                    Err(_) => p.step(),
                }
            }
            p.run_ms(200);
        }
        assert!(
            p.run_until(30_000, |p| p.done().len() == tokens.len()),
            "seed {seed}: {} of {} done",
            p.done().len(),
            tokens.len()
        );
        let delivered = p.delivered();
        for (t, pl, _) in &p.broker.log {
            if std::str::from_utf8(pl).is_err() {
                eprintln!("odd publish {t:?} {pl:?}");
            }
        }
        for i in 0..3000u32 {
            assert!(
                delivered.contains_key(&i.to_string()),
                "seed {seed}: {i} lost; unexpected payloads: {:?}",
                delivered
                    .keys()
                    .filter(|k| k.parse::<u32>().map_or(true, |n| n >= 3000))
                    .collect::<Vec<_>>()
            );
        }
        let dups: usize = delivered.values().map(|n| n - 1).sum();
        assert!(dups <= 30, "seed {seed}: {dups} duplicates");
        assert!(
            p.h2g.flipped > 50 && p.g2h.flipped > 20,
            "noise was injected: {} and {} bytes flipped",
            p.h2g.flipped,
            p.g2h.flipped
        );
        // Resynchronisation within one frame: a flipped byte costs the
        // frame it hit, never the next one (a byte flipped to 0x00 splits
        // its frame into two bad stretches).
        assert!(
            p.gw.stats().bad_frames <= 2 * p.h2g.flipped,
            "{:?}",
            p.gw.stats()
        );
        assert!(
            p.host.stats().bad_frames <= 2 * p.g2h.flipped,
            "{:?}",
            p.host.stats()
        );
        eprintln!(
            "seed {seed}: {} + {} bytes flipped, host saw {} bad frames, gateway {}, {} retransmits, {dups} duplicates",
            p.h2g.flipped,
            p.g2h.flipped,
            p.host.stats().bad_frames,
            p.gw.stats().bad_frames,
            p.host.stats().retransmits + p.gw.stats().retransmits
        );
        assert!(p.host.stats().bad_frames > 0, "the host saw bad frames");
        assert_eq!(
            p.count(&HostEvent::GatewayDown),
            0,
            "seed {seed}: noise took the link down"
        );
        assert!(p.now < 11 * 60 * 1000);
    }
}

/// After a burst of garbage the very next frame gets through: the link
/// resynchronises within one frame.
#[test]
fn the_link_resynchronises_within_one_frame_after_garbage() {
    let mut p = Pair::new(5, 115_200);
    p.run_ms(500);
    assert!(p.host.is_gateway_up());
    let before = p.gw.stats().frames_in;
    // 300 bytes of garbage without a delimiter, then normal traffic.
    let garbage: Vec<u8> = (0..300).map(|i| (i % 250 + 1) as u8).collect();
    p.h2g.send(p.now, &garbage, &mut Rng(9));
    let t = p.publish("after-garbage");
    // The garbage merges with the next frame's start at most: the frame
    // after it (the publish or its retransmission) arrives.
    assert!(p.run_until(1000, |p| p.done().contains(&t)));
    assert!(p.gw.stats().frames_in > before);
    assert!(p.gw.stats().bad_frames <= 1, "{:?}", p.gw.stats());
    assert_eq!(p.count(&HostEvent::GatewayDown), 0);
}

#[test]
fn dropped_bytes_at_1e_3_lose_no_qos1_message() {
    let mut p = Pair::new(11, 115_200);
    p.h2g.drop = 1e-3;
    p.g2h.drop = 1e-3;
    let mut tokens = Vec::new();
    for i in 0..600u32 {
        tokens.push(p.publish(&i.to_string()));
        p.run_ms(100);
    }
    assert!(p.run_until(30_000, |p| p.done().len() == tokens.len()));
    assert!(p.h2g.dropped > 0);
    let d = p.delivered();
    assert!((0..600u32).all(|i| d.contains_key(&i.to_string())));
}

/// The gateway reboots while 5 QoS 1 publishes wait for the broker: the
/// host notices, sends its configuration, its subscription and the five
/// again; none is lost.
#[test]
fn a_gateway_reboot_with_five_qos1_in_flight_loses_none() {
    let mut p = Pair::new(3, 115_200);
    let sub = p
        .host
        .subscribe(Instant(0), "cmd/#", QoS::AtLeastOnce)
        .unwrap();
    assert!(p.run_until(2000, |p| p.count(&HostEvent::SubscribeDone {
        token: sub,
        result: Ok(QoS::AtLeastOnce)
    }) == 1));
    p.broker.up = false;
    let tokens: Vec<Token> = (0..5).map(|i| p.publish(&format!("m{i}"))).collect();
    p.run_ms(500);
    assert_eq!(p.gw.queued(), 5, "all five reached the gateway");
    assert!(p.done().is_empty());
    p.reboot_gateway();
    p.broker.up = true;
    p.gw.handle_mqtt(
        Instant(p.now),
        MqttResult::Up {
            session_present: false,
        },
    );
    assert!(p.run_until(5000, |p| tokens.iter().all(|t| p.done().contains(t))));
    let d = p.delivered();
    for i in 0..5 {
        assert_eq!(d.get(&format!("m{i}")), Some(&1), "m{i}");
    }
    assert_eq!(p.broker.configures, 2, "configuration sent again");
    assert_eq!(
        p.broker.subscribes.iter().filter(|f| *f == "cmd/#").count(),
        2,
        "subscription restored"
    );
    assert!(p.count(&HostEvent::GatewayDown) >= 1);
    assert_eq!(p.count(&HostEvent::GatewayUp), 2);
}

/// The reboot announcement is lost too (the line was cut while the
/// gateway rebooted): the host's next frame meets a gateway with no
/// session, which answers Reset.
#[test]
fn a_gateway_reboot_unannounced_is_noticed_at_the_next_frame() {
    let mut p = Pair::new(4, 115_200);
    p.run_ms(300);
    p.g2h.cut = true;
    p.reboot_gateway();
    p.run_ms(5);
    p.g2h.cut = false;
    let t = p.publish("x");
    assert!(p.run_until(5000, |p| p.done().contains(&t)));
    assert_eq!(p.broker.configures, 2);
}

/// The cable is pulled for 30 s: the host sees the gateway go down within
/// the link timeout, publishes made meanwhile wait in its outbox, and all
/// complete once it is plugged back in.
#[test]
fn a_cable_pulled_for_30_s_delays_but_loses_nothing() {
    let mut p = Pair::new(6, 115_200);
    p.run_ms(300);
    p.h2g.cut = true;
    p.g2h.cut = true;
    let cut_at = p.now;
    let tokens: Vec<Token> = (0..10)
        .map(|i| {
            let t = p.publish(&format!("c{i}"));
            p.run_ms(1000);
            t
        })
        .collect();
    let down_at = p
        .events
        .iter()
        .find(|(_, e)| *e == HostEvent::GatewayDown)
        .expect("gateway down")
        .0;
    assert!(
        down_at - cut_at <= 3600,
        "down after {} ms",
        down_at - cut_at
    );
    p.run_ms(20_000);
    assert!(p.done().is_empty());
    p.h2g.cut = false;
    p.g2h.cut = false;
    let plugged = p.now;
    assert!(p.run_until(5000, |p| tokens.iter().all(|t| p.done().contains(t))));
    assert!(
        p.now - plugged < 2000,
        "recovered in {} ms",
        p.now - plugged
    );
    let d = p.delivered();
    assert!((0..10).all(|i| d.get(&format!("c{i}")) == Some(&1)));
}

/// The broker is unreachable: the gateway queues the host's publishes up
/// to its capacity and reports the queue; the host keeps the rest; all go
/// out when the broker is back.
#[test]
fn a_broker_outage_is_queued_bounded_and_reported() {
    let mut p = Pair::new(8, 115_200);
    // A gateway queue smaller than the host's outbox, so that it fills.
    let mut cfg = GatewayConfig::new(2000);
    cfg.queue_capacity = 8;
    p.gw = Gateway::new(cfg);
    p.gw.handle_mqtt(
        Instant(0),
        MqttResult::Up {
            session_present: false,
        },
    );
    p.run_ms(300);
    p.broker.up = false;
    p.gw.handle_mqtt(Instant(p.now), MqttResult::Down);
    let tokens: Vec<Token> = (0..16)
        .map(|i| {
            let t = p.publish(&format!("q{i}"));
            p.run_ms(10);
            t
        })
        .collect();
    assert_eq!(
        p.host
            .publish(Instant(p.now), "t", b"x", QoS::AtLeastOnce, false),
        Err(resilient_mqtt_bridge::HostError::Full),
        "the host's outbox is full"
    );
    p.run_ms(2000);
    assert_eq!(p.count(&HostEvent::Down), 1);
    let max_q = p
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            HostEvent::QueueState { queued, capacity } => Some((*queued, *capacity)),
            _ => None,
        })
        .max()
        .expect("queue state reported");
    assert_eq!(max_q, (8, 8), "the gateway's queue filled to its bound");
    assert_eq!(p.gw.queued(), 8);
    assert_eq!(p.host.pending(), 16, "the host holds all 16");
    assert!(p.done().is_empty());
    p.broker.up = true;
    p.gw.handle_mqtt(
        Instant(p.now),
        MqttResult::Up {
            session_present: true,
        },
    );
    assert!(p.run_until(10_000, |p| tokens.iter().all(|t| p.done().contains(t))));
    assert_eq!(
        p.count(&HostEvent::Up {
            session_present: true
        }),
        1
    );
    let d = p.delivered();
    assert!((0..16).all(|i| d.get(&format!("q{i}")) == Some(&1)));
}

/// A host that does not read its events for 5 s while 50 QoS 1 messages
/// arrive for it loses none: the window closes and the gateway holds them.
#[test]
fn a_slow_host_makes_the_gateway_hold_messages_not_lose_them() {
    let mut p = Pair::new(9, 115_200);
    p.run_ms(300);
    p.reading = false;
    for i in 0..50 {
        assert!(p.gw.can_accept_message() || i >= 32);
        p.gw.handle_mqtt(
            Instant(p.now),
            MqttResult::Message {
                topic: "cmd/x".into(),
                payload: format!("{i}").into_bytes(),
                qos: QoS::AtLeastOnce,
                retain: false,
            },
        );
    }
    p.run_ms(5000);
    assert!(!p.gw.can_accept_message() || p.events.is_empty());
    p.reading = true;
    p.run_ms(3000);
    let got: Vec<String> = p
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            HostEvent::Message { payload, .. } => {
                Some(String::from_utf8_lossy(payload).into_owned())
            }
            _ => None,
        })
        .collect();
    let want: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
}

/// The host reboots (a new nonce): the gateway forgets the old host's
/// requests and takes the new configuration.
#[test]
fn a_host_reboot_starts_a_new_session_at_the_gateway() {
    let mut p = Pair::new(10, 115_200);
    let t = p.publish("a");
    assert!(p.run_until(2000, |p| p.done().contains(&t)));
    p.host = Host::new(HostConfig::new("sensor-1", 8).unwrap());
    p.events.clear();
    let t2 = p.publish("b");
    assert!(
        p.run_until(3000, |p| p.done().contains(&t2)),
        "{:?}",
        p.events
    );
    assert_eq!(p.delivered().get("b"), Some(&1));
}

/// The host reboots with another client id while three of its publishes
/// wait for an unreachable broker: the gateway builds a new client and
/// issues the three to it again (the old host's publishes still reach the
/// broker), and the new host's own publish completes.
#[test]
fn a_new_identity_reissues_what_the_old_client_had_not_finished() {
    let mut p = Pair::new(12, 115_200);
    p.run_ms(300);
    p.broker.up = false;
    for i in 0..3 {
        p.publish(&format!("old{i}"));
    }
    p.run_ms(500);
    assert_eq!(p.gw.queued(), 3);
    p.host = Host::new(HostConfig::new("sensor-2", 99).unwrap());
    p.events.clear();
    let t = p.publish("new");
    p.run_ms(1000);
    assert_eq!(p.broker.client_ids, ["sensor-1", "sensor-2"]);
    p.broker.up = true;
    assert!(p.run_until(5000, |p| p.done().contains(&t)));
    p.run_ms(500);
    let d = p.delivered();
    for k in ["old0", "old1", "old2", "new"] {
        assert_eq!(d.get(k), Some(&1), "{k}: {d:?}");
    }
    assert_eq!(p.gw.queued(), 0);
}

/// The gateway's answers are lost (its line to the host is cut) after it
/// forwarded five QoS 2 publishes: the host's link times out, it shakes
/// hands again with the same gateway and sends the five again; the gateway
/// recognises them, so the broker has each exactly once.
#[test]
fn requests_repeated_after_a_link_outage_reach_the_broker_once() {
    let mut p = Pair::new(13, 115_200);
    p.run_ms(300);
    p.broker.ack_ms = 1500;
    let tokens: Vec<Token> = (0..5)
        .map(|i| {
            p.host
                .publish(
                    Instant(p.now),
                    "t",
                    format!("x{i}").as_bytes(),
                    QoS::ExactlyOnce,
                    false,
                )
                .unwrap()
        })
        .collect();
    p.run_ms(200);
    assert_eq!(p.gw.queued(), 5, "the gateway has them");
    p.g2h.cut = true;
    p.run_ms(5000);
    assert!(p.count(&HostEvent::GatewayDown) >= 1);
    p.g2h.cut = false;
    assert!(p.run_until(5000, |p| tokens.iter().all(|t| p.done().contains(t))));
    assert_eq!(p.count(&HostEvent::GatewayUp), 2);
    let d = p.delivered();
    for i in 0..5 {
        assert_eq!(d.get(&format!("x{i}")), Some(&1), "x{i}: {d:?}");
    }
    assert_eq!(p.broker.configures, 1, "same gateway, same client");
}
