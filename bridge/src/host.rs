//! The host core: the microcontroller's side of the bridge, sans-IO.
//!
//! Bytes read from the UART and the time go in; bytes to write, events and
//! the next deadline come out. The application's publishes and
//! subscriptions are kept in fixed-capacity storage ([`OUTBOX`] requests,
//! [`MAX_SUBS`] subscriptions) until the gateway reports the broker's
//! answer, so they survive a link outage and a gateway reboot: after every
//! handshake the host sends its configuration, its subscriptions and every
//! request not yet answered (the gateway recognises requests it already
//! has by their token). No allocator is needed.
//!
//! ```
//! use resilient_mqtt_bridge::{Host, HostConfig, HostEvent, Instant, QoS};
//! let mut host = Host::new(HostConfig::new("sensor-1", 0x1234).unwrap());
//! let token = host.publish(Instant::ZERO, "sensors/t", b"21.5", QoS::AtLeastOnce, false).unwrap();
//! let mut out = [0u8; 256];
//! let n = host.poll_transmit(Instant::ZERO, &mut out); // the first Hello: write it to the UART
//! assert!(n > 0);
//! // ... host.handle_input(now, &bytes_read); then poll_event() until
//! // HostEvent::PublishDone { token } says the broker has it.
//! # let _ = token;
//! ```
//!
//! [`OUTBOX`]: crate::caps::OUTBOX
//! [`MAX_SUBS`]: crate::caps::MAX_SUBS

use heapless::{Deque, String, Vec};

use crate::caps::{
    EVENTS, EVENT_RESERVE, MAX_CLIENT_ID, MAX_PAYLOAD, MAX_SUBS, MAX_TOPIC, OUTBOX, WINDOW,
};
use crate::link::{Link, LinkConfig, LinkStats, LinkUser};
use crate::wire::{FailReason, Msg, Role};
use crate::{Instant, QoS};

/// The host's configuration, sent to the gateway after every handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// The MQTT client id the gateway connects with.
    pub client_id: String<MAX_CLIENT_ID>,
    /// MQTT keepalive (s) for the gateway's connection.
    pub keepalive_s: u16,
    /// Clean session for the gateway's connection. Default false, so that
    /// QoS 1 messages to the host are kept by the broker across outages.
    pub clean_session: bool,
    pub link: LinkConfig,
    /// A number that differs at every boot (a hardware RNG, or a boot
    /// counter kept in flash): the gateway tells a rebooted host from a
    /// link outage by it.
    pub nonce: u32,
}

impl HostConfig {
    /// Defaults for `client_id` (at most [`MAX_CLIENT_ID`] bytes).
    pub fn new(client_id: &str, nonce: u32) -> Result<HostConfig, HostError> {
        Ok(HostConfig {
            client_id: String::try_from(client_id).map_err(|_| HostError::TooLong)?,
            keepalive_s: 60,
            clean_session: false,
            link: LinkConfig::default(),
            nonce,
        })
    }
}

/// Names one publish, subscribe or unsubscribe until its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub u16);

/// The broker refused a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

/// What the host tells its application.
// No allocator: a message is held inline, so the enum is as large as its
// largest variant by design.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// The serial link is up: handshake done with the gateway.
    GatewayUp,
    /// The serial link is down (silence, or the gateway rebooted).
    GatewayDown,
    /// The gateway's MQTT connection is up.
    Up {
        session_present: bool,
    },
    /// The gateway's MQTT connection is down (also sent after
    /// `GatewayDown` if it was up: nothing reaches the broker then).
    Down,
    /// The broker acknowledged the publish (QoS 1: PUBACK, QoS 2: PUBCOMP;
    /// QoS 0: the gateway sent it).
    PublishDone {
        token: Token,
    },
    PublishFailed {
        token: Token,
        error: FailReason,
    },
    SubscribeDone {
        token: Token,
        result: Result<QoS, Refused>,
    },
    UnsubscribeDone {
        token: Token,
    },
    /// A message for one of the host's subscriptions.
    Message {
        topic: String<MAX_TOPIC>,
        payload: Vec<u8, MAX_PAYLOAD>,
        qos: QoS,
        retain: bool,
    },
    /// The gateway's queue of this host's publishes (waiting for the
    /// broker), reported while the broker is unreachable and when it changes
    /// state.
    QueueState {
        queued: u16,
        capacity: u16,
    },
    /// The gateway speaks another link protocol version: no link.
    VersionMismatch {
        gateway: u8,
    },
}

/// Why a request was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostError {
    /// The outbox (or the subscription table) is full: try again after a
    /// `PublishDone`/`SubscribeDone`.
    Full,
    /// Topic, payload or client id longer than its limit.
    TooLong,
    /// An empty topic, or a wildcard in a publish topic.
    BadTopic,
}

impl core::fmt::Display for HostError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HostError::Full => f.write_str("the host's outbox is full"),
            HostError::TooLong => f.write_str("topic, payload or client id too long"),
            HostError::BadTopic => f.write_str("empty topic, or a wildcard in a publish topic"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HostError {}

// Inline storage, no allocator (see HostEvent).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Req {
    Publish {
        qos: QoS,
        retain: bool,
        topic: String<MAX_TOPIC>,
        payload: Vec<u8, MAX_PAYLOAD>,
    },
    Subscribe {
        qos: QoS,
        filter: String<MAX_TOPIC>,
    },
    Unsubscribe {
        filter: String<MAX_TOPIC>,
    },
}

#[derive(Debug, Clone)]
struct Pending {
    token: u16,
    req: Req,
    /// Sent in the current link session.
    sent: bool,
    /// A QoS 0 publish lost with a rebooted gateway: reported by
    /// `poll_event`.
    lost: bool,
}

#[derive(Debug, Clone)]
struct Sub {
    token: u16,
    qos: QoS,
    filter: String<MAX_TOPIC>,
    /// Sent again in the current link session.
    restored: bool,
}

struct App {
    cfg: HostConfig,
    config_sent: bool,
    gateway: Option<u32>,
    gateway_up: bool,
    mqtt_up: bool,
    queue: Option<(u16, u16)>,
    mismatch_reported: bool,
    events: Deque<HostEvent, EVENTS>,
    outbox: Vec<Pending, OUTBOX>,
    subs: Vec<Sub, MAX_SUBS>,
    next_token: u16,
}

/// The host's side of the bridge. See the [module docs](self).
pub struct Host {
    link: Link,
    app: App,
}

impl Host {
    pub fn new(cfg: HostConfig) -> Host {
        Host {
            link: Link::new(Role::Host, cfg.link, cfg.nonce),
            app: App {
                cfg,
                config_sent: false,
                gateway: None,
                gateway_up: false,
                mqtt_up: false,
                queue: None,
                mismatch_reported: false,
                events: Deque::new(),
                outbox: Vec::new(),
                subs: Vec::new(),
                next_token: 1,
            },
        }
    }

    /// Bytes read from the UART.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.link.handle_input(now, bytes, &mut self.app);
    }

    /// Bytes to write to the UART (any buffer size; call until it returns 0).
    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> usize {
        self.link.poll_transmit(now, out, &mut self.app)
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.link.handle_timeout(now, &mut self.app);
    }

    /// When `handle_timeout` is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.link.poll_timeout()
    }

    pub fn poll_event(&mut self) -> Option<HostEvent> {
        let before = self.app.room();
        let ev = match self.app.events.pop_front() {
            Some(ev) => Some(ev),
            None => self.app.take_lost(),
        };
        if before < WINDOW && ev.is_some() {
            self.link.room_changed();
        }
        ev
    }

    /// Queues a publish; it completes with `PublishDone` when the gateway
    /// reports the broker's acknowledgement. Kept across link outages and
    /// gateway reboots (QoS 1 and 2; QoS 0 is not sent twice to a new
    /// gateway).
    pub fn publish(
        &mut self,
        _now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Token, HostError> {
        if topic.is_empty() || topic.contains(['+', '#']) {
            return Err(HostError::BadTopic);
        }
        let topic = String::try_from(topic).map_err(|_| HostError::TooLong)?;
        let payload = Vec::from_slice(payload).map_err(|_| HostError::TooLong)?;
        self.app.push(Req::Publish {
            qos,
            retain,
            topic,
            payload,
        })
    }

    pub fn subscribe(&mut self, _now: Instant, filter: &str, qos: QoS) -> Result<Token, HostError> {
        if filter.is_empty() {
            return Err(HostError::BadTopic);
        }
        let known = self.app.subs.iter().any(|s| s.filter == filter);
        if !known && self.app.subs.len() == MAX_SUBS {
            return Err(HostError::Full);
        }
        let filter = String::try_from(filter).map_err(|_| HostError::TooLong)?;
        self.app.push(Req::Subscribe { qos, filter })
    }

    pub fn unsubscribe(&mut self, _now: Instant, filter: &str) -> Result<Token, HostError> {
        if filter.is_empty() {
            return Err(HostError::BadTopic);
        }
        let filter = String::try_from(filter).map_err(|_| HostError::TooLong)?;
        self.app.push(Req::Unsubscribe { filter })
    }

    /// Whether the serial link is up.
    pub fn is_gateway_up(&self) -> bool {
        self.app.gateway_up
    }

    /// Whether the gateway's MQTT connection is up, as last reported.
    pub fn is_mqtt_up(&self) -> bool {
        self.app.mqtt_up
    }

    /// Requests not yet answered.
    pub fn pending(&self) -> usize {
        self.app.outbox.len()
    }

    /// Room in the outbox for more requests.
    pub fn outbox_free(&self) -> usize {
        OUTBOX - self.app.outbox.len()
    }

    pub fn stats(&self) -> LinkStats {
        self.link.stats()
    }
}

impl App {
    fn push(&mut self, req: Req) -> Result<Token, HostError> {
        if self.outbox.is_full() {
            return Err(HostError::Full);
        }
        let mut token = self.next_token;
        while token == 0
            || self.outbox.iter().any(|p| p.token == token)
            || self.subs.iter().any(|s| s.token == token)
        {
            token = token.wrapping_add(1);
        }
        self.next_token = token.wrapping_add(1);
        let _ = self.outbox.push(Pending {
            token,
            req,
            sent: false,
            lost: false,
        });
        Ok(Token(token))
    }

    /// A link-local event: kept if there is room (the reserve), else the
    /// state queries ([`Host::is_gateway_up`]) still tell the truth.
    fn local(&mut self, ev: HostEvent) {
        let _ = self.events.push_back(ev);
    }

    fn take_lost(&mut self) -> Option<HostEvent> {
        let i = self.outbox.iter().position(|p| p.lost)?;
        let p = self.outbox.remove(i);
        Some(HostEvent::PublishFailed {
            token: Token(p.token),
            error: FailReason::GatewayLost,
        })
    }

    fn take(&mut self, id: u16, what: fn(&Req) -> bool) -> Option<Pending> {
        let i = self
            .outbox
            .iter()
            .position(|p| p.token == id && what(&p.req) && !p.lost)?;
        Some(self.outbox.remove(i))
    }
}

fn is_pub(r: &Req) -> bool {
    matches!(r, Req::Publish { .. })
}
fn is_sub(r: &Req) -> bool {
    matches!(r, Req::Subscribe { .. })
}
fn is_unsub(r: &Req) -> bool {
    matches!(r, Req::Unsubscribe { .. })
}

impl LinkUser for App {
    fn room(&self) -> usize {
        EVENTS.saturating_sub(EVENT_RESERVE + self.events.len())
    }

    fn deliver(&mut self, _now: Instant, body: &[u8]) {
        let Ok(msg) = Msg::decode(body) else {
            return;
        };
        let ev = match msg {
            Msg::Status {
                mqtt_up,
                session_present,
                queued,
                capacity,
            } => {
                if mqtt_up != self.mqtt_up {
                    self.mqtt_up = mqtt_up;
                    let ev = if mqtt_up {
                        HostEvent::Up { session_present }
                    } else {
                        HostEvent::Down
                    };
                    let _ = self.events.push_back(ev);
                }
                if self.queue != Some((queued, capacity)) {
                    self.queue = Some((queued, capacity));
                    HostEvent::QueueState { queued, capacity }
                } else {
                    return;
                }
            }
            Msg::PubDone { id } => match self.take(id, is_pub) {
                Some(_) => HostEvent::PublishDone { token: Token(id) },
                None => return,
            },
            Msg::PubFailed { id, reason } => match self.take(id, is_pub) {
                Some(_) => HostEvent::PublishFailed {
                    token: Token(id),
                    error: reason,
                },
                None => return,
            },
            Msg::SubDone { id, granted } => {
                let Some(p) = self.take(id, is_sub) else {
                    return; // a restored subscription: already reported
                };
                if let (Req::Subscribe { filter, .. }, Some(qos)) = (p.req, granted) {
                    if let Some(s) = self.subs.iter_mut().find(|s| s.filter == filter) {
                        s.qos = qos;
                        s.token = id;
                    } else {
                        let _ = self.subs.push(Sub {
                            token: id,
                            qos,
                            filter,
                            restored: true,
                        });
                    }
                }
                HostEvent::SubscribeDone {
                    token: Token(id),
                    result: granted.ok_or(Refused),
                }
            }
            Msg::UnsubDone { id } => {
                let Some(p) = self.take(id, is_unsub) else {
                    return;
                };
                if let Req::Unsubscribe { filter } = p.req {
                    self.subs.retain(|s| s.filter != filter);
                }
                HostEvent::UnsubscribeDone { token: Token(id) }
            }
            Msg::Message {
                qos,
                retain,
                topic,
                payload,
            } => HostEvent::Message {
                topic: String::try_from(topic).unwrap_or_default(),
                payload: Vec::from_slice(payload).unwrap_or_default(),
                qos,
                retain,
            },
            // Host-to-gateway messages: not for us.
            _ => return,
        };
        let _ = self.events.push_back(ev);
    }

    fn next_message(&mut self, out: &mut [u8]) -> Option<usize> {
        if !self.config_sent {
            self.config_sent = true;
            let m = Msg::Configure {
                client_id: &self.cfg.client_id,
                keepalive_s: self.cfg.keepalive_s,
                clean_session: self.cfg.clean_session,
            };
            return m.encode(out).ok();
        }
        if let Some(s) = self.subs.iter_mut().find(|s| !s.restored) {
            s.restored = true;
            let m = Msg::Subscribe {
                id: s.token,
                qos: s.qos,
                filter: &s.filter,
            };
            return m.encode(out).ok();
        }
        let p = self.outbox.iter_mut().find(|p| !p.sent && !p.lost)?;
        p.sent = true;
        let id = p.token;
        let m = match &p.req {
            Req::Publish {
                qos,
                retain,
                topic,
                payload,
            } => Msg::Publish {
                id,
                qos: *qos,
                retain: *retain,
                topic,
                payload,
            },
            Req::Subscribe { qos, filter } => Msg::Subscribe {
                id,
                qos: *qos,
                filter,
            },
            Req::Unsubscribe { filter } => Msg::Unsubscribe { id, filter },
        };
        m.encode(out).ok()
    }

    fn link_up(&mut self, _now: Instant, peer: u32) {
        let rebooted = self.gateway.is_some_and(|g| g != peer);
        self.gateway = Some(peer);
        self.gateway_up = true;
        self.local(HostEvent::GatewayUp);
        self.config_sent = false;
        for s in self.subs.iter_mut() {
            s.restored = false;
        }
        for p in self.outbox.iter_mut() {
            let qos0 = matches!(
                p.req,
                Req::Publish {
                    qos: QoS::AtMostOnce,
                    ..
                }
            );
            if rebooted && p.sent && qos0 {
                p.lost = true;
            }
            p.sent = false;
        }
        if rebooted {
            self.queue = None;
        }
    }

    fn link_down(&mut self, _now: Instant) {
        self.gateway_up = false;
        self.local(HostEvent::GatewayDown);
        if self.mqtt_up {
            self.mqtt_up = false;
            self.local(HostEvent::Down);
        }
    }

    fn requeue(&mut self, _body: &[u8]) {
        // Everything unanswered is sent again after the next handshake.
    }

    fn version_mismatch(&mut self, version: u8) {
        if !self.mismatch_reported {
            self.mismatch_reported = true;
            self.local(HostEvent::VersionMismatch { gateway: version });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::MAX_ENCODED;
    use crate::frame::{encode, Header, Kind};
    use crate::wire::Hello;

    fn host() -> Host {
        Host::new(HostConfig::new("h", 7).unwrap())
    }

    #[test]
    fn a_gateway_of_another_version_is_reported_and_the_link_stays_down() {
        let mut h = host();
        let mut out = [0u8; 256];
        assert!(
            h.poll_transmit(Instant::ZERO, &mut out) > 0,
            "the first hello"
        );
        let hello = Hello {
            version: crate::VERSION + 1,
            role: Role::Gateway,
            nonce: 5,
            peer: 7,
            session: 1,
        };
        let mut frame = [0u8; MAX_ENCODED];
        let header = Header {
            kind: Kind::Hello,
            seq: 0,
            ack: 0,
            win: 4,
        };
        let n = encode(&header, &hello.encode(), &mut frame).unwrap();
        h.handle_input(Instant(1), &frame[..n]);
        h.handle_input(Instant(2), &frame[..n]);
        assert_eq!(
            h.poll_event(),
            Some(HostEvent::VersionMismatch {
                gateway: crate::VERSION + 1
            })
        );
        assert_eq!(h.poll_event(), None, "reported once");
        assert!(!h.is_gateway_up());
    }

    #[test]
    fn bad_requests_are_refused_and_a_full_outbox_says_so() {
        let mut h = host();
        let now = Instant::ZERO;
        assert_eq!(
            h.publish(now, "", b"", QoS::AtMostOnce, false),
            Err(HostError::BadTopic)
        );
        assert_eq!(
            h.publish(now, "a/+", b"", QoS::AtMostOnce, false),
            Err(HostError::BadTopic)
        );
        let long = [b'x'; MAX_TOPIC + 1];
        let long = core::str::from_utf8(&long).unwrap();
        assert_eq!(
            h.publish(now, long, b"", QoS::AtMostOnce, false),
            Err(HostError::TooLong)
        );
        assert_eq!(
            h.publish(now, "t", &[0; MAX_PAYLOAD + 1], QoS::AtMostOnce, false),
            Err(HostError::TooLong)
        );
        assert_eq!(
            h.subscribe(now, "", QoS::AtMostOnce),
            Err(HostError::BadTopic)
        );
        for _ in 0..OUTBOX {
            h.publish(now, "t", b"p", QoS::AtLeastOnce, false).unwrap();
        }
        assert_eq!(
            h.publish(now, "t", b"p", QoS::AtLeastOnce, false),
            Err(HostError::Full)
        );
        assert_eq!(h.pending(), OUTBOX);
        assert_eq!(h.outbox_free(), 0);
        assert!(
            HostConfig::new(core::str::from_utf8(&[b'c'; MAX_CLIENT_ID + 1]).unwrap(), 1).is_err()
        );
    }
}

#[cfg(test)]
mod size {
    /// The README states the host's memory: keep it true.
    #[test]
    fn the_host_fits_in_24_kib() {
        let n = core::mem::size_of::<super::Host>();
        assert!(n <= 24 * 1024, "Host is {n} bytes");
        assert!(n >= 16 * 1024, "Host is {n} bytes: update the README");
    }
}
