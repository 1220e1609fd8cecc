//! The gateway core: the radio module's side of the bridge, sans-IO, one
//! host per serial link.
//!
//! Serial side: the same link as the host (`handle_input`,
//! `poll_transmit`, `handle_timeout`, `poll_timeout`). MQTT side: the shell
//! that owns an MQTT client takes [`MqttRequest`]s from [`Gateway::poll_mqtt`]
//! and reports their outcome with [`Gateway::handle_mqtt`].
//!
//! - Requests from the host are forwarded once: a request the host sends
//!   again after a link outage (same host boot, same token) is recognised
//!   and answered when its first copy completes.
//! - The host's publishes waiting for the broker form a bounded per-host
//!   queue ([`GatewayConfig::queue_capacity`]): when it is full the link's
//!   window closes, so the host keeps the rest, and the queue's length is
//!   reported to the host while the broker is unreachable.
//! - Messages for the host wait in a queue of [`DOWNLINK`] until the host's
//!   window lets them through; the shell asks
//!   [`Gateway::can_accept_message`] before taking more from the client.
//! - A gateway reboot is a new `Gateway` value: it announces itself, the
//!   host sends its configuration, subscriptions and unanswered requests
//!   again.

#[cfg(feature = "gateway")]
mod shell;
#[cfg(feature = "gateway")]
pub use shell::run;

use std::collections::{BTreeMap, VecDeque};

use crate::link::{Link, LinkConfig, LinkStats, LinkUser};
use crate::wire::{FailReason, Msg, Role};
use crate::{Instant, QoS};

/// Messages for the host the gateway holds before it stops taking more
/// from its MQTT client.
pub const DOWNLINK: usize = 32;
/// Completed requests remembered to answer a repeated one.
const RECENT: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Publishes of the host the gateway holds for the broker.
    pub queue_capacity: u16,
    pub link: LinkConfig,
    /// Differs at every boot (the host notices a reboot by it).
    pub nonce: u32,
}

impl GatewayConfig {
    pub fn new(nonce: u32) -> GatewayConfig {
        GatewayConfig {
            queue_capacity: 16,
            link: LinkConfig::default(),
            nonce,
        }
    }
}

/// What the gateway asks of its MQTT client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttRequest {
    /// (Re)connect with the host's identity. Sent after the first
    /// configuration and whenever a host sends a different one.
    Configure {
        client_id: String,
        keepalive_s: u16,
        clean_session: bool,
    },
    Publish {
        id: u32,
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        retain: bool,
    },
    Subscribe {
        id: u32,
        filter: String,
        qos: QoS,
    },
    Unsubscribe {
        id: u32,
        filter: String,
    },
}

/// What the MQTT client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttResult {
    Up {
        session_present: bool,
    },
    Down,
    PublishDone {
        id: u32,
    },
    PublishFailed {
        id: u32,
        error: String,
    },
    /// `granted` is `None` when the broker refused.
    SubscribeDone {
        id: u32,
        granted: Option<QoS>,
    },
    UnsubscribeDone {
        id: u32,
    },
    Message {
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        retain: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    PubDone(u16),
    PubFailed(u16, FailReason),
    SubDone(u16, Option<QoS>),
    UnsubDone(u16),
}

impl Report {
    fn id(&self) -> u16 {
        match *self {
            Report::PubDone(id)
            | Report::PubFailed(id, _)
            | Report::SubDone(id, _)
            | Report::UnsubDone(id) => id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Publish,
    Subscribe,
    Unsubscribe,
}

#[derive(Debug, Clone)]
struct InFlight {
    host: u32,
    host_id: u16,
    kind: Kind,
    /// Issued again to a client rebuilt for a new configuration.
    request: MqttRequest,
}

#[derive(Debug, Clone)]
struct Down {
    topic: String,
    payload: Vec<u8>,
    qos: QoS,
    retain: bool,
}

struct App {
    capacity: u16,
    host: Option<u32>,
    host_cfg: Option<(String, u16, bool)>,
    mqtt_up: bool,
    session_present: bool,
    inflight: BTreeMap<u32, InFlight>,
    by_host: BTreeMap<u16, u32>,
    recent: VecDeque<Report>,
    reports: VecDeque<Report>,
    down: VecDeque<Down>,
    mqtt_out: VecDeque<MqttRequest>,
    next_id: u32,
    status_due: bool,
}

/// The gateway's side of the bridge. See the [module docs](self).
pub struct Gateway {
    link: Link,
    app: App,
}

impl Gateway {
    pub fn new(cfg: GatewayConfig) -> Gateway {
        Gateway {
            link: Link::new(Role::Gateway, cfg.link, cfg.nonce),
            app: App {
                capacity: cfg.queue_capacity,
                host: None,
                host_cfg: None,
                mqtt_up: false,
                session_present: false,
                inflight: BTreeMap::new(),
                by_host: BTreeMap::new(),
                recent: VecDeque::new(),
                reports: VecDeque::new(),
                down: VecDeque::new(),
                mqtt_out: VecDeque::new(),
                next_id: 1,
                status_due: false,
            },
        }
    }

    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.link.handle_input(now, bytes, &mut self.app);
    }

    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> usize {
        self.link.poll_transmit(now, out, &mut self.app)
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.link.handle_timeout(now, &mut self.app);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.link.poll_timeout()
    }

    /// The next request for the MQTT client.
    pub fn poll_mqtt(&mut self) -> Option<MqttRequest> {
        self.app.mqtt_out.pop_front()
    }

    /// An outcome or event from the MQTT client.
    pub fn handle_mqtt(&mut self, _now: Instant, ev: MqttResult) {
        let app = &mut self.app;
        match ev {
            MqttResult::Up { session_present } => {
                app.mqtt_up = true;
                app.session_present = session_present;
                app.status_due = true;
            }
            MqttResult::Down => {
                app.mqtt_up = false;
                app.status_due = true;
            }
            MqttResult::PublishDone { id } => app.complete(id, Report::PubDone),
            MqttResult::PublishFailed { id, .. } => {
                app.complete(id, |h| Report::PubFailed(h, FailReason::Refused))
            }
            MqttResult::SubscribeDone { id, granted } => {
                app.complete(id, |h| Report::SubDone(h, granted))
            }
            MqttResult::UnsubscribeDone { id } => app.complete(id, Report::UnsubDone),
            MqttResult::Message {
                topic,
                payload,
                qos,
                retain,
            } => app.down.push_back(Down {
                topic,
                payload,
                qos,
                retain,
            }),
        }
        self.link.room_changed();
    }

    /// Whether the shell may take another message from its client for
    /// the host (the downlink queue has room).
    pub fn can_accept_message(&self) -> bool {
        self.app.down.len() < DOWNLINK
    }

    /// Whether the serial link to the host is up.
    pub fn is_host_up(&self) -> bool {
        self.link.is_up()
    }

    /// The host's publishes waiting for the broker.
    pub fn queued(&self) -> usize {
        self.app.queued()
    }

    pub fn stats(&self) -> LinkStats {
        self.link.stats()
    }
}

impl App {
    fn queued(&self) -> usize {
        self.inflight
            .values()
            .filter(|f| f.kind == Kind::Publish)
            .count()
    }

    fn complete(&mut self, id: u32, report: impl FnOnce(u16) -> Report) {
        let Some(f) = self.inflight.remove(&id) else {
            return;
        };
        if f.kind == Kind::Publish && !self.mqtt_up {
            self.status_due = true;
        }
        if Some(f.host) != self.host {
            return; // for a host that has since rebooted
        }
        self.by_host.remove(&f.host_id);
        let r = report(f.host_id);
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(r);
        self.reports.push_back(r);
    }

    /// A request from the host: forwarded unless it is one we have.
    fn request(&mut self, id: u16, kind: Kind, make: impl FnOnce(u32) -> MqttRequest) {
        if self.by_host.contains_key(&id) {
            return; // in progress: answered when done
        }
        if let Some(r) = self.recent.iter().find(|r| r.id() == id) {
            let r = *r;
            self.reports.push_back(r);
            return;
        }
        let mid = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let request = make(mid);
        self.inflight.insert(
            mid,
            InFlight {
                host: self.host.unwrap_or(0),
                host_id: id,
                kind,
                request: request.clone(),
            },
        );
        self.by_host.insert(id, mid);
        self.mqtt_out.push_back(request);
        if kind == Kind::Publish && !self.mqtt_up {
            self.status_due = true;
        }
    }
}

impl LinkUser for App {
    fn room(&self) -> usize {
        (self.capacity as usize).saturating_sub(self.inflight.len())
    }

    fn deliver(&mut self, _now: Instant, body: &[u8]) {
        let Ok(msg) = Msg::decode(body) else {
            return;
        };
        match msg {
            Msg::Configure {
                client_id,
                keepalive_s,
                clean_session,
            } => {
                let cfg = (client_id.to_string(), keepalive_s, clean_session);
                if self.host_cfg.as_ref() != Some(&cfg) {
                    let again = self.host_cfg.is_some();
                    self.host_cfg = Some(cfg.clone());
                    // The shell builds a new client: what the old one had
                    // not finished is issued to it again.
                    self.mqtt_out.clear();
                    self.mqtt_out.push_back(MqttRequest::Configure {
                        client_id: cfg.0,
                        keepalive_s,
                        clean_session,
                    });
                    if again {
                        self.mqtt_up = false;
                    }
                    let pending = self.inflight.values().map(|f| f.request.clone());
                    self.mqtt_out.extend(pending);
                }
                self.status_due = true;
            }
            Msg::Publish {
                id,
                qos,
                retain,
                topic,
                payload,
            } => self.request(id, Kind::Publish, |mid| MqttRequest::Publish {
                id: mid,
                topic: topic.to_string(),
                payload: payload.to_vec(),
                qos,
                retain,
            }),
            Msg::Subscribe { id, qos, filter } => {
                self.request(id, Kind::Subscribe, |mid| MqttRequest::Subscribe {
                    id: mid,
                    filter: filter.to_string(),
                    qos,
                })
            }
            Msg::Unsubscribe { id, filter } => {
                self.request(id, Kind::Unsubscribe, |mid| MqttRequest::Unsubscribe {
                    id: mid,
                    filter: filter.to_string(),
                })
            }
            _ => {}
        }
    }

    fn next_message(&mut self, out: &mut [u8]) -> Option<usize> {
        if self.status_due {
            self.status_due = false;
            let m = Msg::Status {
                mqtt_up: self.mqtt_up,
                session_present: self.session_present,
                queued: self.queued().min(u16::MAX as usize) as u16,
                capacity: self.capacity,
            };
            return m.encode(out).ok();
        }
        if let Some(r) = self.reports.pop_front() {
            let m = match r {
                Report::PubDone(id) => Msg::PubDone { id },
                Report::PubFailed(id, reason) => Msg::PubFailed { id, reason },
                Report::SubDone(id, granted) => Msg::SubDone { id, granted },
                Report::UnsubDone(id) => Msg::UnsubDone { id },
            };
            return m.encode(out).ok();
        }
        let d = self.down.pop_front()?;
        let m = Msg::Message {
            qos: d.qos,
            retain: d.retain,
            topic: &d.topic,
            payload: &d.payload,
        };
        match m.encode(out) {
            Ok(n) => Some(n),
            // Longer than the host can take: not deliverable over the bridge.
            Err(_) => self.next_message(out),
        }
    }

    fn link_up(&mut self, _now: Instant, peer: u32) {
        if self.host != Some(peer) {
            // A new host, or the host rebooted: its requests are gone.
            self.host = Some(peer);
            self.by_host.clear();
            self.recent.clear();
            self.reports.clear();
        }
        self.status_due = true;
    }

    fn link_down(&mut self, _now: Instant) {}

    fn requeue(&mut self, body: &[u8]) {
        // Reports are sent again when the host repeats the request; only
        // messages for the host must be put back.
        if let Ok(Msg::Message {
            qos,
            retain,
            topic,
            payload,
        }) = Msg::decode(body)
        {
            self.down.push_front(Down {
                topic: topic.to_string(),
                payload: payload.to_vec(),
                qos,
                retain,
            });
        }
    }

    fn version_mismatch(&mut self, _version: u8) {}
}
