//! The application's requests and their options: `publish` (P1-P4, with
//! MQTT 5 properties), `subscribe` (with MQTT 5 subscription options) and
//! `unsubscribe` (S1). Each is checked (topic, size, protocol, the
//! server's limits, this build's capacities) before it is queued in the
//! outbox; [`super::inflight`] sends it.

use super::outbox::{Op, OpKind, OutPublish, OutState};
use super::store::{self, caps, text, Boxed, Seq, Text};
use super::v5::{PublishProperties, SubscribeOptions};
use super::{Instant, RequestError, Session, Token};
use crate::codec::{self, Packet, Pid, Publish, QoS, QosPid};

impl Session {
    /// The checks [`Session::publish`] makes on its arguments, without a
    /// session: a shell can refuse a bad publish before queueing it.
    pub fn check_publish(
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<(), RequestError> {
        if !codec::valid_topic_name(topic) {
            return Err(RequestError::InvalidTopic);
        }
        let probe = Publish {
            dup: false,
            qospid: QosPid::from_qos(qos, Pid::MIN),
            retain,
            topic,
            payload,
        };
        match Packet::Publish(probe).encoded_len() {
            Ok(n) if n <= codec::MAX_REMAINING_LENGTH => Ok(()),
            _ => Err(RequestError::TooLarge),
        }
    }

    /// P1-P4: queues a publish. It is sent at once when connected, after
    /// the outage otherwise; completion is
    /// [`Event::PublishDone`](super::Event::PublishDone).
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Token, RequestError> {
        self.check_open()?;
        Self::check_publish(topic, payload, qos, retain)?;
        self.queue_publish(now, topic, payload, qos, retain, None)
    }

    /// V1, V2: a publish with MQTT 5 properties (user properties, content
    /// type, response topic, correlation data, message expiry, payload
    /// format). Otherwise as [`Session::publish`]; on a 3.1.1 session any
    /// property is [`RequestError::NeedsMqtt5`]. While connected, a
    /// publish the server's limits forbid (Maximum Packet Size, Maximum
    /// QoS, Retain Available) is refused here; one queued during an outage
    /// completes with that error when the next CONNACK forbids it.
    pub fn publish_with(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: PublishProperties,
    ) -> Result<Token, RequestError> {
        self.check_open()?;
        if !self.wire.is_v5() {
            if !properties.is_empty() {
                return Err(RequestError::NeedsMqtt5("publish properties"));
            }
            return self.publish(now, topic, payload, qos, retain);
        }
        #[cfg(feature = "alloc")]
        {
            super::v5::check_publish5(topic, payload, qos, retain, &properties)?;
            let properties = (!properties.is_empty()).then(|| Boxed::new(properties));
            self.queue_publish(now, topic, payload, qos, retain, properties)
        }
        #[cfg(not(feature = "alloc"))]
        unreachable!("without alloc the session speaks only MQTT 3.1.1")
    }

    pub(super) fn queue_publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: Option<Boxed<PublishProperties>>,
    ) -> Result<Token, RequestError> {
        let p = OutPublish {
            token: Token(0),
            topic: text(topic).map_err(|_| RequestError::OverCapacity("topic"))?,
            payload: store::bytes(payload).map_err(|_| RequestError::OverCapacity("payload"))?,
            qos,
            retain,
            properties,
            state: OutState::Queued,
            seq: None,
        };
        if self.is_connected() {
            self.v5_check_sendable(&p)?;
        }
        self.queue_admit(topic, payload)?;
        let token = self.token();
        if self
            .outbox
            .publishes
            .try_push(OutPublish { token, ..p })
            .is_err()
        {
            // queue_admit keeps the outbox within its capacity.
            return Err(RequestError::QueueFull);
        }
        self.queue_accepted();
        self.flush(now);
        self.queue_note_held(token);
        Ok(token)
    }

    /// S1: subscribes; completion is
    /// [`Event::SubscribeDone`](super::Event::SubscribeDone) after SUBACK.
    pub fn subscribe(
        &mut self,
        now: Instant,
        filter: &str,
        qos: QoS,
    ) -> Result<Token, RequestError> {
        self.subscribe_with(now, filter, qos, SubscribeOptions::default())
    }

    /// V2: subscribes with MQTT 5 options (no local, retain as published,
    /// retain handling, subscription identifier, user properties). The
    /// options are kept for D5 restore. On a 3.1.1 session anything but
    /// the defaults is [`RequestError::NeedsMqtt5`]. A failure reason in
    /// the SUBACK completes it with [`RequestError::Rejected`].
    pub fn subscribe_with(
        &mut self,
        now: Instant,
        filter: &str,
        qos: QoS,
        options: SubscribeOptions,
    ) -> Result<Token, RequestError> {
        self.check_open()?;
        if !codec::valid_topic_filter(filter) {
            return Err(RequestError::InvalidTopic);
        }
        if !self.wire.is_v5() && !options.is_default() {
            return Err(RequestError::NeedsMqtt5("subscription options"));
        }
        #[cfg(feature = "alloc")]
        let options = {
            super::v5::check_subscribe5(filter, &options)?;
            if options.subscription_identifier.is_some()
                && self
                    .server_limits()
                    .is_some_and(|l| !l.subscription_identifiers_available)
            {
                return Err(RequestError::NotSupportedByServer(
                    "subscription identifiers",
                ));
            }
            (!options.is_default()).then(|| Boxed::new(options))
        };
        #[cfg(not(feature = "alloc"))]
        let options = {
            // Only the defaults get here (3.1.1).
            let _ = options;
            None
        };
        let filter = text(filter).map_err(|_| RequestError::OverCapacity("topic filter"))?;
        if self.restore_table_full(&filter) {
            return Err(RequestError::OverCapacity("subscriptions to restore"));
        }
        let kind = OpKind::Subscribe {
            filter,
            qos,
            options,
        };
        self.request_op(now, kind)
    }

    /// Without alloc and with `restore_subscriptions`: whether a new
    /// subscription to `filter` could not be remembered for D5 restore
    /// (the granted ones and those requested take every place). Never with
    /// alloc, nor without restore (the table is then not needed).
    pub(super) fn restore_table_full(&self, filter: &Text) -> bool {
        if !self.config.restore_subscriptions || self.subscriptions.contains_key(filter) {
            return false;
        }
        let requested = self
            .outbox
            .ops
            .iter()
            .filter(|o| matches!(&o.kind, OpKind::Subscribe { filter: f, .. } if f != filter && !self.subscriptions.contains_key(f)))
            .count();
        self.subscriptions.len() + requested >= store::limit(caps::SUBSCRIPTIONS)
    }

    /// Queues a subscribe or unsubscribe for the application.
    pub(super) fn request_op(&mut self, now: Instant, kind: OpKind) -> Result<Token, RequestError> {
        let token = self.token();
        let op = Op {
            token: Some(token),
            kind,
            sent: None,
        };
        if self.outbox.ops.try_push(op).is_err() {
            return Err(RequestError::OverCapacity("subscribe/unsubscribe requests"));
        }
        self.flush(now);
        Ok(token)
    }

    /// S1: unsubscribes; completion is
    /// [`Event::UnsubscribeDone`](super::Event::UnsubscribeDone) after
    /// UNSUBACK, also for a topic that was never subscribed.
    pub fn unsubscribe(&mut self, now: Instant, filter: &str) -> Result<Token, RequestError> {
        self.check_open()?;
        if !codec::valid_topic_filter(filter) {
            return Err(RequestError::InvalidTopic);
        }
        let kind = OpKind::Unsubscribe {
            filter: text(filter).map_err(|_| RequestError::OverCapacity("topic filter"))?,
        };
        self.request_op(now, kind)
    }
}
