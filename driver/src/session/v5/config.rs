//! The MQTT 5 options a user can set (on the connection, on a publish, on
//! a subscription) and the properties reported back (on a received
//! message, in the server's CONNACK). Plain data: the rules live in
//! [`super`] and the checks in [`V5Config::validate`].

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

use crate::session::store::{Bytes, Many, Text};

pub use crate::codec::v5::{ReasonCode, RetainHandling};

/// Which protocol the session speaks. The default stays MQTT 3.1.1, so a
/// configuration that does not name one behaves as before.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Protocol {
    /// MQTT 3.1.1 (protocol level 4).
    #[default]
    V311,
    /// MQTT 5.0 (protocol level 5) with these options (boxed: a 3.1.1
    /// configuration stays as small as before). See [`Protocol::v5`].
    /// Needs the `alloc` feature: the allocation-free build speaks 3.1.1.
    #[cfg(feature = "alloc")]
    V5(Box<V5Config>),
}

#[cfg(feature = "alloc")]
impl Protocol {
    /// MQTT 5 with these options.
    pub fn v5(options: V5Config) -> Protocol {
        Protocol::V5(Box::new(options))
    }
}

/// Connection options of MQTT 5 (behaviours V1, V2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V5Config {
    /// Session Expiry Interval sent in CONNECT, in seconds (0xFFFF_FFFF =
    /// never). The session's clean start flag follows `clean_init` /
    /// `clean` exactly as 3.1.1's clean session flag does; `clean = false`
    /// needs a non-zero expiry (with 0 the server ends the session when
    /// the connection closes, which is what `clean = true` already means).
    /// Default 0.
    pub session_expiry: u32,
    /// Receive Maximum we advertise: the most QoS 1/2 publishes the server
    /// may have unacknowledged towards us. A server that exceeds it is
    /// disconnected with reason 0x93. 1..=65535, default 32.
    pub receive_maximum: u16,
    /// Topic Alias Maximum we advertise (aliases the server may use
    /// towards us; 0 = none). Default 16.
    pub topic_alias_maximum: u16,
    /// Use topic aliases on outgoing publishes when the server allows them
    /// (its CONNACK Topic Alias Maximum). Default true.
    pub use_topic_aliases: bool,
    /// User properties sent in CONNECT, in order.
    pub user_properties: Many<(Text, Text), 8>,
    /// Properties of the will (`Config::will`); ignored without a will.
    pub will: WillProperties,
}

impl Default for V5Config {
    fn default() -> Self {
        V5Config {
            session_expiry: 0,
            receive_maximum: 32,
            topic_alias_maximum: 16,
            use_topic_aliases: true,
            user_properties: Many::new(),
            will: WillProperties::default(),
        }
    }
}

/// The will's MQTT 5 properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WillProperties {
    /// Will Delay Interval in seconds: the server waits this long after an
    /// unclean end of the connection before publishing the will (and not at
    /// all if we reconnect in time). 0 = at once.
    pub delay_interval: u32,
    /// The rest: as on a publish.
    pub message: PublishProperties,
}

/// Optional properties of an outgoing PUBLISH (V1, V2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishProperties {
    /// Payload Format Indicator: `Some(true)` = UTF-8 text.
    pub payload_is_utf8: Option<bool>,
    /// Message Expiry Interval in seconds.
    pub message_expiry: Option<u32>,
    pub content_type: Option<Text>,
    /// A topic name (no wildcards).
    pub response_topic: Option<Text>,
    pub correlation_data: Option<Bytes>,
    /// User properties, in order; names may repeat.
    pub user_properties: Many<(Text, Text), 8>,
}

impl PublishProperties {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == PublishProperties::default()
    }
}

/// The properties of a received MQTT 5 message (V1): what the sender
/// set, plus the identifiers of our subscriptions that matched it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageProperties {
    pub payload_is_utf8: Option<bool>,
    pub message_expiry: Option<u32>,
    pub content_type: Option<Text>,
    pub response_topic: Option<Text>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: Many<(Text, Text), 8>,
    /// Subscription Identifiers of the matching subscriptions (V2).
    pub subscription_identifiers: Many<u32, 4>,
}

/// MQTT 5 options of one subscription (V2). `Default` is what 3.1.1
/// does implicitly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeOptions {
    /// Do not receive our own publications.
    pub no_local: bool,
    /// Keep the RETAIN flag of forwarded messages as published.
    pub retain_as_published: bool,
    /// When the server sends retained messages.
    pub retain_handling: RetainHandling,
    /// Subscription Identifier (1..=268,435,455), reported back on the
    /// messages this subscription matches.
    pub subscription_identifier: Option<u32>,
    /// User properties of the SUBSCRIBE.
    pub user_properties: Many<(Text, Text), 8>,
}

impl SubscribeOptions {
    /// Whether these are the implicit 3.1.1 options.
    pub fn is_default(&self) -> bool {
        *self == SubscribeOptions::default()
    }
}

/// What the server announced in its CONNACK, with the defaults MQTT 5
/// gives an absent property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Receive Maximum: QoS 1/2 publishes we may have in flight (65535).
    pub receive_maximum: u16,
    /// Maximum Packet Size the server accepts (no limit when absent).
    pub maximum_packet_size: Option<u32>,
    /// Topic Alias Maximum: aliases we may use towards the server (0).
    pub topic_alias_maximum: u16,
    /// Maximum QoS (2).
    pub maximum_qos: u8,
    /// Retain Available (true).
    pub retain_available: bool,
    /// Server Keep Alive, in seconds, when the server overrides ours.
    pub server_keep_alive: Option<u16>,
    /// Subscription Identifiers Available (true).
    pub subscription_identifiers_available: bool,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            receive_maximum: u16::MAX,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            maximum_qos: 2,
            retain_available: true,
            server_keep_alive: None,
            subscription_identifiers_available: true,
        }
    }
}

/// The reason code of an MQTT 5 ack and its optional reason string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckReason {
    pub code: ReasonCode,
    pub reason_string: Option<Text>,
}
