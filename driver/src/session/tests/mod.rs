//! Session tests without a runtime: a [`Pair`] drives the session and an
//! in-memory broker model in virtual time (the quinn-proto `Pair` pattern),
//! so each test runs in microseconds and names the behaviour id it proves.

mod adaptive;
#[cfg(not(feature = "alloc"))]
mod bounded;
mod config;
mod connecting;
mod other;
mod outage;
mod publish;
mod qos2;
mod queue;
mod rejected;
mod subscribe;
#[cfg(feature = "alloc")]
mod v5;

use alloc::collections::{BTreeSet, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::*;

/// Owned text for a configuration or an expected event (either build).
pub(super) fn t(s: &str) -> store::Text {
    store::text(s).expect("fits")
}

/// An owned payload (either build).
pub(super) fn b(x: &[u8]) -> store::Bytes {
    store::bytes(x).expect("fits")
}
use crate::codec::{
    self, ConnAck, ConnectReturnCode, Decoded, List, Packet, Pid, QoS, QosPid, SubAck, SubAckCode,
};

/// What the broker model saw a client send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Connect {
        client_id: String,
        clean: bool,
        keep_alive: u16,
        will_topic: Option<String>,
        user: Option<String>,
    },
    Publish {
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        pid: Option<u16>,
        dup: bool,
        retain: bool,
    },
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe {
        pid: u16,
        filter: String,
        qos: QoS,
    },
    Unsubscribe {
        pid: u16,
        filter: String,
    },
    PingReq,
    Disconnect,
}

/// A small broker: answers CONNECT, PUBLISH, SUBSCRIBE, PINGREQ, with
/// knobs for the faults the tests need.
#[derive(Debug, Default)]
pub struct BrokerModel {
    rx: Vec<u8>,
    pub seen: Vec<(Instant, Seen)>,
    /// Refuse CONNECT with this code.
    pub refuse: Option<ConnectReturnCode>,
    /// Answer CONNACK with session present (when the client asked unclean).
    pub has_session: bool,
    /// Drop the next N PUBACKs.
    pub drop_pubacks: u32,
    /// Drop the next N PUBRECs (QoS 2, P5).
    pub drop_pubrecs: u32,
    /// Drop the next N PUBCOMPs (QoS 2, P5).
    pub drop_pubcomps: u32,
    /// Refuse subscriptions (SUBACK 0x80).
    pub refuse_subs: bool,
    /// Answer nothing at all.
    pub silent: bool,
    /// Ignore the next N SUBSCRIBEs (no SUBACK).
    pub ignore_subs: u32,
}

impl BrokerModel {
    /// Feeds bytes from the client; returns the broker's replies.
    fn feed(&mut self, now: Instant, bytes: &[u8]) -> Vec<u8> {
        self.rx.extend_from_slice(bytes);
        let mut out = Vec::new();
        let rx = core::mem::take(&mut self.rx);
        let mut at = 0;
        loop {
            match codec::decode(&rx[at..], codec::DEFAULT_MAX_PACKET_SIZE)
                .expect("client sent valid MQTT")
            {
                Decoded::Incomplete { .. } => break,
                Decoded::Packet { packet, len } => {
                    let seen = self.answer(packet, &mut out);
                    self.seen.push((now, seen));
                    at += len;
                }
            }
        }
        self.rx = rx[at..].to_vec();
        if self.silent {
            out.clear();
        }
        out
    }

    fn answer(&mut self, packet: Packet<'_>, out: &mut Vec<u8>) -> Seen {
        let mut send = |p: Packet<'_>| {
            p.encode_to_vec(out).unwrap();
        };
        match packet {
            Packet::Connect(c) => {
                let code = self.refuse.unwrap_or(ConnectReturnCode::Accepted);
                let session_present =
                    code == ConnectReturnCode::Accepted && !c.clean_session && self.has_session;
                send(Packet::ConnAck(ConnAck {
                    session_present,
                    code,
                }));
                if code == ConnectReturnCode::Accepted {
                    self.has_session = !c.clean_session;
                }
                Seen::Connect {
                    client_id: c.client_id.to_string(),
                    clean: c.clean_session,
                    keep_alive: c.keep_alive,
                    will_topic: c.will.map(|w| w.topic.to_string()),
                    user: c.username.map(|u| u.to_string()),
                }
            }
            Packet::Publish(p) => {
                match p.qospid {
                    QosPid::AtLeastOnce(pid) => {
                        if self.drop_pubacks > 0 {
                            self.drop_pubacks -= 1;
                        } else {
                            send(Packet::PubAck(codec::PubAck(pid)));
                        }
                    }
                    QosPid::ExactlyOnce(pid) => {
                        if self.drop_pubrecs > 0 {
                            self.drop_pubrecs -= 1;
                        } else {
                            send(Packet::PubRec(codec::PubRec(pid)));
                        }
                    }
                    QosPid::AtMostOnce => {}
                }
                Seen::Publish {
                    topic: p.topic.to_string(),
                    payload: p.payload.to_vec(),
                    qos: p.qospid.qos(),
                    pid: p.qospid.pid().map(Pid::get),
                    dup: p.dup,
                    retain: p.retain,
                }
            }
            Packet::PubRel(codec::PubRel(pid)) => {
                if self.drop_pubcomps > 0 {
                    self.drop_pubcomps -= 1;
                } else {
                    send(Packet::PubComp(codec::PubComp(pid)));
                }
                Seen::PubRel(pid.get())
            }
            Packet::PubAck(codec::PubAck(pid)) => Seen::PubAck(pid.get()),
            Packet::PubRec(codec::PubRec(pid)) => Seen::PubRec(pid.get()),
            Packet::PubComp(codec::PubComp(pid)) => Seen::PubComp(pid.get()),
            Packet::Subscribe(s) => {
                let t = s.topics.iter().next().unwrap();
                let code = if self.refuse_subs {
                    SubAckCode::Failure
                } else {
                    SubAckCode::Granted(t.qos)
                };
                if self.ignore_subs > 0 {
                    self.ignore_subs -= 1;
                } else {
                    let codes = [code];
                    send(Packet::SubAck(SubAck {
                        pid: s.pid,
                        codes: List::new(&codes),
                    }));
                }
                Seen::Subscribe {
                    pid: s.pid.get(),
                    filter: t.filter.to_string(),
                    qos: t.qos,
                }
            }
            Packet::Unsubscribe(u) => {
                send(Packet::UnsubAck(codec::UnsubAck(u.pid)));
                Seen::Unsubscribe {
                    pid: u.pid.get(),
                    filter: u.topics.iter().next().unwrap().to_string(),
                }
            }
            Packet::PingReq => {
                send(Packet::PingResp);
                Seen::PingReq
            }
            Packet::Disconnect => Seen::Disconnect,
            other => panic!("client sent a server packet: {other:?}"),
        }
    }

    /// Any packet from the broker to the client, encoded.
    pub fn packet_bytes(p: Packet<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        p.encode_to_vec(&mut out).unwrap();
        out
    }

    /// Publishes from the broker to the client.
    pub fn publish_bytes(
        topic: &str,
        payload: &[u8],
        qospid: QosPid,
        retain: bool,
        dup: bool,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        Packet::Publish(codec::Publish {
            dup,
            qospid,
            retain,
            topic,
            payload,
        })
        .encode_to_vec(&mut out)
        .unwrap();
        out
    }
}

/// A session and a broker model joined by a link and a transport, in
/// virtual time. `latency` delays the broker's replies.
pub struct Pair {
    pub session: Session,
    pub broker: BrokerModel,
    pub now: Instant,
    /// Whether the (simulated) WiFi can be brought up.
    pub wifi_available: bool,
    /// The link state as the session last heard it.
    pub link_up: bool,
    /// Whether the broker accepts TCP connections.
    pub broker_reachable: bool,
    /// Packets vanish in both directions (link up, nothing gets through).
    pub blackhole: bool,
    pub transport_open: bool,
    pub latency: Duration,
    in_flight: VecDeque<(Instant, Vec<u8>)>,
    pub events: Vec<(Instant, Event)>,
    pub actions: Vec<(Instant, Action)>,
}

impl Pair {
    pub fn new(config: Config) -> Pair {
        Pair {
            session: Session::new(config).expect("valid config"),
            broker: BrokerModel::default(),
            now: Instant::ZERO,
            wifi_available: true,
            link_up: false,
            broker_reachable: true,
            blackhole: false,
            transport_open: false,
            latency: Duration::ZERO,
            in_flight: VecDeque::new(),
            events: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// A pair with the link already up and `connect(quick)` done.
    pub fn connected(config: Config) -> Pair {
        let mut pair = Pair::new(config);
        pair.connect(true);
        pair.run_for(Duration::from_millis(1));
        assert!(
            pair.session.is_connected(),
            "setup: not connected: {:?}",
            pair.events
        );
        pair
    }

    pub fn connect(&mut self, quick: bool) {
        self.link_up = self.wifi_available;
        self.session.handle_link(self.now, self.link_up);
        self.session.connect(self.now, quick).unwrap();
        self.pump();
    }

    /// Moves bytes, actions and events until nothing changes at `now`.
    pub fn pump(&mut self) {
        loop {
            let mut progress = false;
            if !self.session.pending_transmit().is_empty() {
                let bytes = self.session.pending_transmit().to_vec();
                self.session.clear_transmit();
                progress = true;
                if self.transport_open && self.link_up && !self.blackhole {
                    let reply = self.broker.feed(self.now, &bytes);
                    if !reply.is_empty() {
                        self.in_flight.push_back((self.now + self.latency, reply));
                    }
                }
            }
            if let Some(action) = self.session.poll_action() {
                progress = true;
                self.actions.push((self.now, action.clone()));
                match action {
                    Action::OpenTransport => {
                        if self.link_up && self.broker_reachable && !self.blackhole {
                            self.transport_open = true;
                            self.broker.rx.clear();
                            self.session.handle_transport_connected(self.now);
                        } else if self.link_up && self.blackhole {
                            // SYN vanishes: the session's own deadline fires.
                        } else {
                            self.session
                                .handle_transport_failed(self.now, "connection refused");
                        }
                    }
                    Action::CloseTransport => {
                        self.transport_open = false;
                        self.in_flight.clear();
                    }
                    Action::BringLinkUp => {
                        if self.wifi_available && !self.link_up {
                            self.link_up = true;
                            self.session.handle_link(self.now, true);
                        }
                    }
                    Action::TakeLinkDown => {
                        self.link_up = false;
                        self.session.handle_link(self.now, false);
                    }
                }
            }
            while self.in_flight.front().is_some_and(|(t, _)| *t <= self.now) {
                let (_, bytes) = self.in_flight.pop_front().unwrap();
                progress = true;
                if self.transport_open && self.link_up && !self.blackhole {
                    self.session.handle_bytes(self.now, &bytes);
                }
            }
            while let Some(e) = self.session.poll_event() {
                progress = true;
                self.events.push((self.now, e));
            }
            if !progress {
                break;
            }
        }
    }

    /// Advances virtual time to `until`, stopping at every deadline.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            self.pump();
            let next_timer = self.session.poll_timeout();
            let next_delivery = self.in_flight.front().map(|(t, _)| *t);
            let next = [next_timer, next_delivery].into_iter().flatten().min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    self.session.handle_timeout(self.now);
                }
                _ => {
                    self.now = until;
                    self.session.handle_timeout(self.now);
                    self.pump();
                    return;
                }
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// WiFi drops now (D2).
    pub fn wifi_down(&mut self) {
        self.wifi_available = false;
        self.link_up = false;
        self.transport_open = false;
        self.in_flight.clear();
        self.session.handle_link(self.now, false);
        self.pump();
    }

    /// WiFi can come back; it comes up when the session asks (or now, as
    /// an unsolicited report).
    pub fn wifi_up(&mut self) {
        self.wifi_available = true;
        self.link_up = true;
        self.session.handle_link(self.now, true);
        self.pump();
    }

    /// The broker dies: the connection is closed by the peer (B2).
    pub fn broker_crash(&mut self) {
        self.broker_reachable = false;
        if self.transport_open {
            self.transport_open = false;
            self.in_flight.clear();
            self.session.handle_transport_closed(self.now);
        }
        self.pump();
    }

    /// Sends a packet from the broker to the client now.
    pub fn broker_sends(&mut self, bytes: Vec<u8>) {
        self.session.handle_bytes(self.now, &bytes);
        self.pump();
    }

    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> Token {
        let t = self
            .session
            .publish(self.now, topic, payload, qos, false)
            .unwrap();
        self.pump();
        t
    }

    /// Publishes during an outage: accepted, or (only without alloc, once
    /// the outbox's capacity is held) refused as `QueueFull`.
    pub fn publish_held(&mut self, topic: &str, payload: &[u8], qos: QoS) {
        match self.session.publish(self.now, topic, payload, qos, false) {
            Ok(_) => {}
            Err(RequestError::QueueFull) if cfg!(not(feature = "alloc")) => {}
            Err(e) => panic!("publish refused: {e}"),
        }
        self.pump();
    }

    /// Every PUBLISH the broker saw, with its time.
    pub fn seen_publishes(&self) -> Vec<(Instant, Seen)> {
        self.broker
            .seen
            .iter()
            .filter(|(_, s)| matches!(s, Seen::Publish { .. }))
            .cloned()
            .collect()
    }

    pub fn seen_connects(&self) -> Vec<(Instant, Seen)> {
        self.broker
            .seen
            .iter()
            .filter(|(_, s)| matches!(s, Seen::Connect { .. }))
            .cloned()
            .collect()
    }

    pub fn count_seen(&self, f: impl Fn(&Seen) -> bool) -> usize {
        self.broker.seen.iter().filter(|(_, s)| f(s)).count()
    }

    /// When the first event matching `f` happened.
    pub fn event_time(&self, f: impl Fn(&Event) -> bool) -> Option<Instant> {
        self.events.iter().find(|(_, e)| f(e)).map(|(t, _)| *t)
    }

    pub fn has_event(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(|(_, e)| f(e))
    }

    pub fn count_events(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }

    pub fn done(&self, token: Token) -> bool {
        self.has_event(|e| *e == Event::PublishDone { token })
    }
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn at_ms(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
