//! MQTT 5 in the sans-IO session (behaviours V1, V2): what changes when
//! [`Config::protocol`] is [`Protocol::V5`]. Everything else (outages,
//! resends, QoS 2, backoff, the K/D/P/S behaviours) is the shared core in
//! [`super`]; this module adds, on top of it:
//!
//! - the CONNECT with its properties (session expiry, receive maximum,
//!   topic alias maximum, maximum packet size, user properties, will
//!   properties and will delay) and the clean start flag taken from the
//!   same `clean_init` / `clean` logic as 3.1.1's clean session (K4's
//!   clean-connect-then-reconnect is not needed: clean start does not end
//!   the new session at disconnect);
//! - the CONNACK: reason codes, server redirect, the assigned client id
//!   (kept and reused on reconnect), and the server's limits for this
//!   connection ([`ServerLimits`]), honoured on every send: receive
//!   maximum (the in-flight window), maximum packet size, maximum QoS,
//!   retain available, server keep alive, topic alias maximum;
//! - incoming PUBLISH: topic aliases resolved, properties kept on the
//!   message, our receive maximum enforced (DISCONNECT 0x93; the next
//!   CONNECT waits for it to land, `Session::disconnect_linger`);
//! - acks with reason codes: success-with-reason is reported
//!   ([`Event::AckReason`]) before the completion; a failure code
//!   completes the request with [`RequestError::Rejected`], never retried;
//! - a server DISCONNECT is a down event with its reason, then the usual
//!   reconnect.
//!
//! Per-connection state ([`Negotiated`]: the server's limits and both
//! topic-alias tables) exists only between a CONNACK and the end of that
//! connection, so aliases can never leak into the next connection.
//!
//! PUBACK, PUBREC, PUBREL, PUBCOMP with success, PINGREQ and a normal
//! DISCONNECT encode to the same bytes in both versions (MQTT 5's short
//! forms), so the core sends those with the 3.1.1 encoder.

mod alias;
mod config;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

pub use config::{
    AckReason, MessageProperties, Protocol, PublishProperties, ReasonCode, RetainHandling,
    ServerLimits, SubscribeOptions, V5Config, WillProperties,
};

use super::outbox::OutPublish;
use super::store::Seq;
use super::{ConnectError, DownReason, Event, Instant, RequestError, Session};
use crate::codec::v5::{
    self as wire, Ack, ConnAck, Connect, Decoded, Disconnect, Properties, Property, PropertyId,
    SubscribeTopic, SubscriptionOptions, Will,
};
use crate::codec::{self, List, Pid, QoS, QosPid};
use alias::{AliasError, InAliases, OutAliases, OutTopic};

/// The protocol state of a session: 3.1.1, or 5 with its per-connection
/// negotiation.
#[derive(Debug)]
pub(crate) enum Wire {
    V311,
    V5(Box<V5State>),
}

/// MQTT 5 state across connections.
#[derive(Debug)]
pub(crate) struct V5State {
    pub link: Link5,
    pub client_id: ClientId,
}

/// Where the client id comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientId {
    /// Configured, or assigned by an earlier CONNACK: sent as is.
    Known,
    /// Empty in the configuration: the next accepting CONNACK must assign
    /// one.
    AwaitingAssignment,
}

/// The current network connection as far as MQTT 5 is concerned.
#[derive(Debug)]
pub(crate) enum Link5 {
    /// No CONNACK accepted on this connection (yet).
    Unnegotiated,
    /// CONNACK accepted: the limits and aliases of this connection.
    Negotiated(Negotiated),
}

/// What one CONNACK settled, valid until that connection ends.
#[derive(Debug)]
pub(crate) struct Negotiated {
    pub limits: ServerLimits,
    pub out_aliases: OutAliases,
    pub in_aliases: InAliases,
}

/// The outcome of decoding one packet from the receive buffer.
pub(crate) enum Step {
    /// More bytes are needed.
    Incomplete,
    /// A packet of this length was handled.
    Consumed(usize),
    /// The bytes are not valid; the connection was ended.
    Failed,
}

impl Wire {
    pub fn new(protocol: &Protocol, client_id_empty: bool) -> Self {
        match protocol {
            Protocol::V311 => Wire::V311,
            Protocol::V5(_) => Wire::V5(Box::new(V5State {
                link: Link5::Unnegotiated,
                client_id: if client_id_empty {
                    ClientId::AwaitingAssignment
                } else {
                    ClientId::Known
                },
            })),
        }
    }

    pub fn is_v5(&self) -> bool {
        matches!(self, Wire::V5(_))
    }
}

/// The publish properties as wire properties, in a fixed order.
fn publish_properties<'a>(p: &'a PublishProperties, out: &mut Vec<Property<'a>>) {
    if let Some(utf8) = p.payload_is_utf8 {
        out.push(Property::PayloadFormatIndicator(utf8 as u8));
    }
    if let Some(e) = p.message_expiry {
        out.push(Property::MessageExpiryInterval(e));
    }
    if let Some(c) = &p.content_type {
        out.push(Property::ContentType(c));
    }
    if let Some(t) = &p.response_topic {
        out.push(Property::ResponseTopic(t));
    }
    if let Some(d) = &p.correlation_data {
        out.push(Property::CorrelationData(d));
    }
    for (k, v) in &p.user_properties {
        out.push(Property::UserProperty(k, v));
    }
}

/// The wire properties of an outgoing PUBLISH: the topic alias, if any,
/// then the publish's own properties. Without properties of its own (the
/// common case) it needs no allocation: the alias goes in `one`, else the
/// list is built in `many`.
fn publish_wire_properties<'a>(
    alias: Option<u16>,
    properties: Option<&'a PublishProperties>,
    one: &'a mut [Property<'a>; 1],
    many: &'a mut Vec<Property<'a>>,
) -> &'a [Property<'a>] {
    match (properties, alias) {
        (None, None) => &[],
        (None, Some(a)) => {
            one[0] = Property::TopicAlias(a);
            one
        }
        (Some(p), alias) => {
            many.extend(alias.map(Property::TopicAlias));
            publish_properties(p, many);
            many
        }
    }
}

/// The properties of a received PUBLISH, owned.
fn message_properties(props: &Properties<'_>) -> MessageProperties {
    let mut m = MessageProperties::default();
    for p in props.iter() {
        match p {
            Property::PayloadFormatIndicator(v) => m.payload_is_utf8 = Some(v == 1),
            Property::MessageExpiryInterval(v) => m.message_expiry = Some(v),
            Property::ContentType(v) => m.content_type = Some(v.to_string()),
            Property::ResponseTopic(v) => m.response_topic = Some(v.to_string()),
            Property::CorrelationData(v) => m.correlation_data = Some(v.to_vec()),
            Property::UserProperty(k, v) => m.user_properties.push((k.to_string(), v.to_string())),
            Property::SubscriptionIdentifier(id) => m.subscription_identifiers.push(id),
            _ => {}
        }
    }
    m
}

fn reason_string(props: &Properties<'_>) -> Option<String> {
    match props.get(PropertyId::ReasonString) {
        Some(Property::ReasonString(s)) => Some(s.to_string()),
        _ => None,
    }
}

fn server_reference(props: &Properties<'_>) -> Option<String> {
    match props.get(PropertyId::ServerReference) {
        Some(Property::ServerReference(s)) => Some(s.to_string()),
        _ => None,
    }
}

/// The reason of an ack, when it says more than plain success.
fn ack_reason(code: ReasonCode, props: &Properties<'_>) -> Option<AckReason> {
    let reason_string = reason_string(props);
    if code == ReasonCode::Success && reason_string.is_none() {
        return None;
    }
    Some(AckReason {
        code,
        reason_string,
    })
}

fn limits_from(props: &Properties<'_>) -> ServerLimits {
    let mut l = ServerLimits::default();
    for p in props.iter() {
        match p {
            Property::ReceiveMaximum(v) => l.receive_maximum = v,
            Property::MaximumPacketSize(v) => l.maximum_packet_size = Some(v),
            Property::TopicAliasMaximum(v) => l.topic_alias_maximum = v,
            Property::MaximumQoS(v) => l.maximum_qos = v,
            Property::RetainAvailable(v) => l.retain_available = v == 1,
            Property::ServerKeepAlive(v) => l.server_keep_alive = Some(v),
            Property::SubscriptionIdentifierAvailable(v) => {
                l.subscription_identifiers_available = v == 1
            }
            _ => {}
        }
    }
    l
}

impl Session {
    /// The MQTT 5 options, when the session speaks MQTT 5.
    pub(crate) fn v5_config(&self) -> Option<&V5Config> {
        match &self.config.protocol {
            Protocol::V5(c) => Some(&**c),
            Protocol::V311 => None,
        }
    }

    /// The server's limits on the live connection (MQTT 5 only).
    pub fn server_limits(&self) -> Option<&ServerLimits> {
        if self.is_connected() {
            self.negotiated().map(|n| &n.limits)
        } else {
            None
        }
    }

    /// The negotiation of the current (or last) connection: reset when a
    /// new transport opens, set by its CONNACK.
    fn negotiated(&self) -> Option<&Negotiated> {
        match &self.wire {
            Wire::V5(s) => match &s.link {
                Link5::Negotiated(n) => Some(n),
                Link5::Unnegotiated => None,
            },
            Wire::V311 => None,
        }
    }

    fn negotiated_mut(&mut self) -> Option<&mut Negotiated> {
        match &mut self.wire {
            Wire::V5(s) => match &mut s.link {
                Link5::Negotiated(n) => Some(n),
                Link5::Unnegotiated => None,
            },
            Wire::V311 => None,
        }
    }

    /// P4 with MQTT 5: the in-flight window is the smaller of
    /// `max_inflight` and the server's Receive Maximum.
    pub(crate) fn inflight_window(&self) -> usize {
        let server = self
            .server_limits()
            .map_or(usize::MAX, |l| l.receive_maximum as usize);
        self.config.max_inflight.min(server)
    }

    /// C2 with MQTT 5: a Server Keep Alive replaces ours.
    pub(crate) fn keepalive_in_force(&self) -> core::time::Duration {
        match self.server_limits().and_then(|l| l.server_keep_alive) {
            Some(k) => core::time::Duration::from_secs(k as u64),
            None => self.config.keepalive,
        }
    }

    /// A new network connection: no negotiation yet.
    pub(crate) fn v5_reset_link(&mut self) {
        if let Wire::V5(s) = &mut self.wire {
            s.link = Link5::Unnegotiated;
        }
    }

    /// The MQTT 5 CONNECT, with `clean` as its clean start flag.
    pub(crate) fn v5_send_connect(&mut self, clean: bool) {
        let Protocol::V5(v5) = &self.config.protocol else {
            return;
        };
        let max_packet = self.config.max_packet_size.min(u32::MAX as usize) as u32;
        let mut props = Vec::new();
        if v5.session_expiry != 0 {
            props.push(Property::SessionExpiryInterval(v5.session_expiry));
        }
        props.push(Property::ReceiveMaximum(v5.receive_maximum));
        if max_packet != 0 {
            props.push(Property::MaximumPacketSize(max_packet));
        }
        if v5.topic_alias_maximum != 0 {
            props.push(Property::TopicAliasMaximum(v5.topic_alias_maximum));
        }
        for (k, v) in &v5.user_properties {
            props.push(Property::UserProperty(k, v));
        }
        let mut will_props = Vec::new();
        if v5.will.delay_interval != 0 {
            will_props.push(Property::WillDelayInterval(v5.will.delay_interval));
        }
        publish_properties(&v5.will.message, &mut will_props);
        let will = self.config.will.as_ref().map(|w| Will {
            properties: Properties::new(&will_props),
            topic: &w.topic,
            payload: &w.message,
            qos: w.qos,
            retain: w.retain,
        });
        let connect = Connect {
            clean_start: clean,
            keep_alive: self.config.keepalive.as_secs() as u16,
            properties: Properties::new(&props),
            client_id: &self.client_id,
            will,
            username: self.config.user.as_deref(),
            password: self.config.password.as_deref(),
        };
        self.tx.encode5(&wire::Packet::Connect(connect));
    }

    /// Decodes and handles one MQTT 5 packet from the front of `buf`.
    pub(crate) fn v5_step(&mut self, now: Instant, buf: &[u8]) -> Step {
        match wire::decode(buf, self.config.max_packet_size) {
            Ok(Decoded::Incomplete { .. }) => Step::Incomplete,
            Ok(Decoded::Packet { packet, len }) => {
                self.v5_packet(now, packet);
                Step::Consumed(len)
            }
            Err(e) => {
                let code = match e {
                    wire::DecodeError::PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
                    _ => ReasonCode::MalformedPacket,
                };
                self.v5_violation(now, code, e.to_string());
                Step::Failed
            }
        }
    }

    /// The server broke the protocol: on a live connection, tell it why
    /// with a DISCONNECT carrying `code`, then reconnect as after any
    /// outage; before CONNACK, the attempt fails.
    fn v5_violation(&mut self, now: Instant, code: ReasonCode, what: String) {
        if self.is_connected() {
            self.lost(
                now,
                DownReason::ClientDisconnect {
                    reason: code,
                    detail: what,
                },
            );
            // Written before the shell performs CloseTransport (the
            // transmit is always drained before the actions).
            let d = Disconnect {
                reason: code,
                properties: Properties::EMPTY,
            };
            self.tx.encode5(&wire::Packet::Disconnect(d));
        } else {
            self.attempt_failed(now, ConnectError::Protocol(what), false);
        }
    }

    fn v5_packet(&mut self, now: Instant, packet: wire::Packet<'_>) {
        use wire::Packet as P;
        if self.awaiting_connack() {
            match packet {
                P::ConnAck(ack) => self.v5_connack(now, ack),
                other => self.v5_violation(
                    now,
                    ReasonCode::ProtocolError,
                    format!("{} before CONNACK", other.packet_type().name()),
                ),
            }
            return;
        }
        if !self.note_rx(now, matches!(packet, P::PingResp)) {
            return;
        }
        match packet {
            P::PingResp => self.on_pingresp(),
            P::Publish(p) => self.v5_incoming(now, p),
            P::PubAck(a) => self.v5_pub_ack(now, a, QoS::AtLeastOnce),
            P::PubComp(a) => self.v5_pub_ack(now, a, QoS::ExactlyOnce),
            P::PubRec(a) => {
                if a.reason.is_error() {
                    // §4.3.3: a PUBREC with a failure ends the exchange.
                    self.v5_pub_ack(now, a, QoS::ExactlyOnce);
                } else {
                    self.handle_pubrec(now, a.pid);
                }
            }
            P::PubRel(a) => self.on_pubrel(a.pid),
            P::SubAck(s) => {
                let code = s
                    .codes
                    .iter()
                    .next()
                    .unwrap_or(ReasonCode::UnspecifiedError);
                let result = match code {
                    ReasonCode::Success => Ok(QoS::AtMostOnce),
                    ReasonCode::GrantedQoS1 => Ok(QoS::AtLeastOnce),
                    ReasonCode::GrantedQoS2 => Ok(QoS::ExactlyOnce),
                    code => Err(AckReason {
                        code,
                        reason_string: reason_string(&s.properties),
                    }),
                };
                self.handle_op_ack(s.pid, super::OpAck::Subscribe(result));
            }
            P::UnsubAck(u) => {
                let code = u
                    .codes
                    .iter()
                    .next()
                    .unwrap_or(ReasonCode::UnspecifiedError);
                let reason = AckReason {
                    code,
                    reason_string: reason_string(&u.properties),
                };
                let result = if code.is_error() {
                    Err(reason)
                } else {
                    Ok(ack_reason(code, &u.properties))
                };
                self.handle_op_ack(u.pid, super::OpAck::Unsubscribe(result));
            }
            P::Disconnect(d) => {
                if let Some(reference) = server_reference(&d.properties) {
                    self.events.push(Event::ServerRedirect {
                        reason: d.reason,
                        reference,
                    });
                }
                self.lost(
                    now,
                    DownReason::ServerDisconnect {
                        reason: d.reason,
                        reason_string: reason_string(&d.properties),
                    },
                );
            }
            P::Auth(_) => self.v5_violation(
                now,
                ReasonCode::ProtocolError,
                "AUTH from the server: enhanced authentication is not implemented".into(),
            ),
            other => self.v5_violation(
                now,
                ReasonCode::ProtocolError,
                format!("unexpected {} from broker", other.packet_type().name()),
            ),
        }
    }

    fn v5_connack(&mut self, now: Instant, ack: ConnAck<'_>) {
        if ack.reason.is_error() {
            if let Some(reference) = server_reference(&ack.properties) {
                self.events.push(Event::ServerRedirect {
                    reason: ack.reason,
                    reference,
                });
            }
            let error = ConnectError::RefusedV5 {
                reason: ack.reason,
                reason_string: reason_string(&ack.properties),
            };
            self.attempt_failed(now, error, true);
            return;
        }
        let assigned = match ack.properties.get(PropertyId::AssignedClientIdentifier) {
            Some(Property::AssignedClientIdentifier(id)) => Some(id.to_string()),
            _ => None,
        };
        let Protocol::V5(v5) = &self.config.protocol else {
            return;
        };
        let in_max = v5.topic_alias_maximum;
        let use_aliases = v5.use_topic_aliases;
        let Wire::V5(state) = &mut self.wire else {
            return;
        };
        if state.client_id == ClientId::AwaitingAssignment {
            let Some(id) = assigned else {
                self.attempt_failed(
                    now,
                    ConnectError::Protocol(
                        "CONNACK accepted an empty client id without assigning one".into(),
                    ),
                    false,
                );
                return;
            };
            // Kept: every reconnect resumes the session under this id.
            state.client_id = ClientId::Known;
            self.client_id = id.clone();
            self.events.push(Event::ClientIdAssigned { client_id: id });
        }
        let limits = limits_from(&ack.properties);
        let out_max = if use_aliases {
            limits.topic_alias_maximum
        } else {
            0
        };
        state.link = Link5::Negotiated(Negotiated {
            limits: limits.clone(),
            out_aliases: OutAliases::new(out_max),
            in_aliases: InAliases::new(in_max),
        });
        self.events.push(Event::ServerLimits(limits));
        // The core's CONNACK path (K4 does not apply to MQTT 5, so it
        // goes straight to Up). The limits hold from here on: publishes
        // that no longer fit this server fail before anything is resent.
        self.fail_unsendable_publishes();
        self.handle_connack(
            now,
            codec::ConnAck {
                session_present: ack.session_present,
                code: codec::ConnectReturnCode::Accepted,
            },
        );
    }

    /// Publishes (queued or in flight) that the server's limits forbid
    /// complete with an error now instead of being sent.
    fn fail_unsendable_publishes(&mut self) {
        let mut i = 0;
        while i < self.outbox.publishes.len() {
            match self.v5_check_sendable(&self.outbox.publishes[i]) {
                Ok(()) => i += 1,
                Err(error) => {
                    if let Some(p) = self.outbox.publishes.take_at(i) {
                        self.events.push(Event::PublishFailed {
                            token: p.token,
                            error,
                        });
                    }
                }
            }
        }
    }

    /// Whether the server of this connection accepts this publish (see
    /// [`ServerLimits::check_publish`]).
    pub(crate) fn v5_check_sendable(&self, p: &OutPublish) -> Result<(), RequestError> {
        let Some(limits) = self.negotiated().map(|n| &n.limits) else {
            return Ok(());
        };
        limits.check_publish(
            &p.topic,
            &p.payload,
            p.qos,
            p.retain,
            p.properties.as_deref(),
        )
    }

    /// Encodes an outgoing MQTT 5 PUBLISH, with a topic alias when the
    /// server allows them. (On every publish: no allocation unless the
    /// publish has properties of its own.)
    pub(crate) fn v5_send_publish(&mut self, i: usize, qospid: QosPid, dup: bool) {
        let Some(p) = self.outbox.publishes.get(i) else {
            return;
        };
        let out = match &mut self.wire {
            Wire::V5(s) => match &mut s.link {
                Link5::Negotiated(n) => n.out_aliases.out_topic(&p.topic),
                Link5::Unnegotiated => OutTopic::Full,
            },
            Wire::V311 => OutTopic::Full,
        };
        let (topic, alias) = match out {
            OutTopic::Full => (p.topic.as_str(), None),
            OutTopic::Assign(a) => (p.topic.as_str(), Some(a)),
            OutTopic::Alias(a) => ("", Some(a)),
        };
        let (mut one, mut many) = ([Property::TopicAlias(1)], Vec::new());
        let props = publish_wire_properties(alias, p.properties.as_deref(), &mut one, &mut many);
        let packet = wire::Publish {
            dup,
            qospid,
            retain: p.retain,
            topic,
            properties: Properties::new(props),
            payload: &p.payload,
        };
        self.tx.encode5(&wire::Packet::Publish(packet));
    }

    /// An MQTT 5 SUBSCRIBE with its options and identifier.
    pub(crate) fn v5_send_subscribe(
        &mut self,
        pid: Pid,
        filter: &str,
        qos: QoS,
        options: Option<&SubscribeOptions>,
    ) {
        let default = SubscribeOptions::default();
        let o = options.unwrap_or(&default);
        let mut props = Vec::new();
        if let Some(id) = o.subscription_identifier {
            props.push(Property::SubscriptionIdentifier(id));
        }
        for (k, v) in &o.user_properties {
            props.push(Property::UserProperty(k, v));
        }
        let topics = [SubscribeTopic {
            filter,
            options: SubscriptionOptions {
                qos,
                no_local: o.no_local,
                retain_as_published: o.retain_as_published,
                retain_handling: o.retain_handling,
            },
        }];
        let packet = wire::Subscribe {
            pid,
            properties: Properties::new(&props),
            topics: List::new(&topics),
        };
        self.tx.encode5(&wire::Packet::Subscribe(packet));
    }

    pub(crate) fn v5_send_unsubscribe(&mut self, pid: Pid, filter: &str) {
        let topics = [filter];
        let packet = wire::Unsubscribe {
            pid,
            properties: Properties::EMPTY,
            topics: List::new(&topics),
        };
        self.tx.encode5(&wire::Packet::Unsubscribe(packet));
    }

    fn v5_pub_ack(&mut self, now: Instant, a: Ack<'_>, qos: QoS) {
        // A PUBREL/PUBCOMP "packet identifier not found" (0x92) after a
        // resumed session means the server released it already: the
        // message was accepted at PUBREC, so it is a success with reason.
        let failed = a.reason.is_error()
            && !(qos == QoS::ExactlyOnce && a.reason == ReasonCode::PacketIdentifierNotFound);
        let outcome = if failed {
            Err(AckReason {
                code: a.reason,
                reason_string: reason_string(&a.properties),
            })
        } else {
            Ok(ack_reason(a.reason, &a.properties))
        };
        // A failed PUBREC answers a publish still awaiting PUBREC.
        let expect = if failed && qos == QoS::ExactlyOnce {
            super::AckKind::RefusedPubrec
        } else if qos == QoS::ExactlyOnce {
            super::AckKind::Pubcomp
        } else {
            super::AckKind::Puback
        };
        self.handle_ack(now, a.pid, expect, outcome);
    }

    fn v5_incoming(&mut self, now: Instant, p: wire::Publish<'_>) {
        let alias = match p.properties.get(PropertyId::TopicAlias) {
            Some(Property::TopicAlias(a)) => Some(a),
            _ => None,
        };
        let resolved = match self.negotiated_mut() {
            Some(n) => n.in_aliases.resolve(p.topic, alias),
            None => Ok(p.topic.to_string()),
        };
        let topic = match resolved {
            Ok(t) => t,
            Err(AliasError::OutOfRange(a)) => {
                return self.v5_violation(
                    now,
                    ReasonCode::TopicAliasInvalid,
                    format!("topic alias {a} is outside 1..=our Topic Alias Maximum"),
                )
            }
            Err(AliasError::Unknown(a)) => {
                return self.v5_violation(
                    now,
                    ReasonCode::ProtocolError,
                    format!("topic alias {a} was never set up on this connection"),
                )
            }
        };
        // Our Receive Maximum: QoS 1 is acknowledged at once, so only QoS 2
        // publishes awaiting PUBREL count.
        if let QosPid::ExactlyOnce(pid) = p.qospid {
            let limit = self.v5_config().map_or(u16::MAX, |c| c.receive_maximum) as usize;
            if !self.incoming_qos2.contains(&pid) && self.incoming_qos2.len() >= limit {
                return self.v5_violation(
                    now,
                    ReasonCode::ReceiveMaximumExceeded,
                    format!(
                        "the server sent more than our Receive Maximum of {limit} QoS 2 publishes"
                    ),
                );
            }
        }
        let properties = Box::new(message_properties(&p.properties));
        self.receive(
            now,
            p.qospid,
            p.dup,
            p.retain,
            &topic,
            p.payload,
            Some(properties),
        );
    }
}

impl ServerLimits {
    /// Whether a server with these limits accepts this publish: its Maximum
    /// QoS, Retain Available and Maximum Packet Size (counted with the full
    /// topic and, when the server allows aliases, an alias: the largest
    /// form we may send). The session checks every publish with this when
    /// it is requested on a live connection and again after each CONNACK;
    /// the tokio client checks QoS 0 publishes with it before it returns
    /// (they do not wait for the session).
    pub fn check_publish(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: Option<&PublishProperties>,
    ) -> Result<(), RequestError> {
        if (qos as u8) > self.maximum_qos {
            return Err(RequestError::NotSupportedByServer(match qos {
                QoS::ExactlyOnce => "QoS 2 (server Maximum QoS is lower)",
                _ => "QoS 1 (server Maximum QoS is 0)",
            }));
        }
        if retain && !self.retain_available {
            return Err(RequestError::NotSupportedByServer(
                "retained messages (server Retain Available is 0)",
            ));
        }
        if let Some(max) = self.maximum_packet_size {
            let alias = (self.topic_alias_maximum > 0).then_some(1);
            let size = publish_len(topic, payload, qos, retain, properties, alias)?;
            if size > max as usize {
                return Err(RequestError::TooLargeForServer { size, max });
            }
        }
        Ok(())
    }
}

/// The encoded length of a publish with the full topic (and an alias
/// property when `alias` is given), or why it cannot be encoded.
fn publish_len(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    retain: bool,
    properties: Option<&PublishProperties>,
    alias: Option<u16>,
) -> Result<usize, RequestError> {
    let (mut one, mut many) = ([Property::TopicAlias(1)], Vec::new());
    let props = publish_wire_properties(alias, properties, &mut one, &mut many);
    let packet = wire::Publish {
        dup: false,
        qospid: QosPid::from_qos(qos, Pid::MIN),
        retain,
        topic,
        properties: Properties::new(props),
        payload,
    };
    match wire::Packet::Publish(packet).encoded_len() {
        Ok(n) => Ok(n),
        Err(wire::EncodeError::PacketTooLarge(_)) => Err(RequestError::TooLarge),
        Err(_) => Err(RequestError::InvalidProperties),
    }
}

/// The checks on a publish's MQTT 5 parts, before it is queued.
pub(crate) fn check_publish5(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    retain: bool,
    properties: &PublishProperties,
) -> Result<(), RequestError> {
    if !codec::valid_topic_name(topic) {
        return Err(RequestError::InvalidTopic);
    }
    publish_len(topic, payload, qos, retain, Some(properties), None).map(|_| ())
}

/// The checks on subscription options, before the request is queued.
pub(crate) fn check_subscribe5(filter: &str, o: &SubscribeOptions) -> Result<(), RequestError> {
    if o.no_local && filter.starts_with("$share/") {
        return Err(RequestError::InvalidProperties);
    }
    if let Some(id) = o.subscription_identifier {
        if !(1..=wire::MAX_VARINT).contains(&id) {
            return Err(RequestError::InvalidProperties);
        }
    }
    if o.user_properties
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(RequestError::InvalidProperties);
    }
    Ok(())
}
