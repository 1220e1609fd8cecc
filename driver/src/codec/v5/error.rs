//! The MQTT 5 codec's typed errors. They extend the 3.1.1 codec's errors
//! with what version 5 adds: variable byte integers, properties (unknown,
//! in the wrong packet, repeated, out of range), reason codes that a packet
//! may not carry, subscription options and topic aliases.

use core::fmt;

use super::{PacketType, PropertyContext, PropertyId};
use crate::codec;
use crate::codec::frame::FrameError;

/// Why a property block is not valid for the packet that carries it. The
/// same rules hold when decoding and before encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyError {
    /// An identifier MQTT 5.0 does not define.
    Unknown(u32),
    /// A property this packet (or the will) may not carry.
    NotAllowed {
        id: PropertyId,
        context: PropertyContext,
    },
    /// A property given twice that may appear only once.
    Duplicate(PropertyId),
    /// A value the specification forbids (a boolean other than 0 or 1, a
    /// zero receive maximum, packet size, topic alias or subscription
    /// identifier, a maximum QoS of 2, a response topic with wildcards...).
    InvalidValue(PropertyId),
    /// Authentication data without an authentication method.
    AuthDataWithoutMethod,
}

impl fmt::Display for PropertyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyError::Unknown(id) => write!(f, "unknown property identifier {id:#04x}"),
            PropertyError::NotAllowed { id, context } => {
                write!(
                    f,
                    "property {} is not allowed in {}",
                    id.name(),
                    context.name()
                )
            }
            PropertyError::Duplicate(id) => write!(f, "property {} given twice", id.name()),
            PropertyError::InvalidValue(id) => {
                write!(f, "invalid value for property {}", id.name())
            }
            PropertyError::AuthDataWithoutMethod => {
                write!(f, "authentication data without an authentication method")
            }
        }
    }
}

/// Why a byte sequence is not a valid MQTT 5.0 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Packet type 0.
    ReservedPacketType(u8),
    /// Fixed-header flags other than the ones the type requires.
    InvalidFlags { packet_type: PacketType, flags: u8 },
    /// A QoS of 3 (PUBLISH flags, will QoS, subscription options).
    InvalidQoS(u8),
    /// DUP set on a QoS 0 PUBLISH.
    DupWithQoS0,
    /// A variable byte integer (remaining length, property length or
    /// identifier, subscription identifier) with a fifth byte or longer than
    /// its shortest encoding.
    MalformedVarInt,
    /// The packet is larger than the configured maximum.
    PacketTooLarge { size: usize, max: usize },
    /// The body (or a property block) ended before a field it announced.
    UnexpectedEnd,
    /// The body is longer than its fields.
    TrailingBytes {
        packet_type: PacketType,
        extra: usize,
    },
    /// A string that is not UTF-8 or contains U+0000.
    InvalidString,
    /// Packet identifier 0.
    ZeroPacketId,
    /// CONNECT with a protocol name other than "MQTT".
    InvalidProtocolName,
    /// CONNECT with a protocol level other than 5 (a server answers with
    /// reason code 0x84, or a 3.1.1 CONNACK for level 3 or 4).
    UnsupportedProtocolLevel(u8),
    /// CONNECT flags: reserved bit set, or will QoS/retain without a will.
    InvalidConnectFlags(u8),
    /// CONNACK acknowledge flags with a reserved bit set.
    InvalidConnAckFlags(u8),
    /// CONNACK with session present and a failure reason code
    /// (MQTT-3.2.2-6).
    SessionPresentWithError,
    /// A PUBLISH topic holding `+` or `#`, or an empty topic without a
    /// topic alias; a will topic that is empty or holds wildcards.
    InvalidTopicName,
    /// A topic filter that is empty or misuses `+` or `#`.
    InvalidTopicFilter,
    /// SUBSCRIBE, SUBACK, UNSUBSCRIBE or UNSUBACK with no entries.
    EmptyList(PacketType),
    /// A reason code that MQTT 5.0 does not define, or that this packet
    /// may not carry.
    InvalidReasonCode { packet_type: PacketType, code: u8 },
    /// Subscription options with reserved bits set or retain handling 3.
    InvalidSubscriptionOptions(u8),
    /// No Local on a shared subscription (MQTT-3.8.3-4).
    NoLocalOnSharedSubscription,
    /// A property block that breaks a rule.
    Property(PropertyError),
}

impl From<PropertyError> for DecodeError {
    fn from(e: PropertyError) -> Self {
        DecodeError::Property(e)
    }
}

/// The shared frame's errors, as their version-5 variants.
impl From<FrameError<PacketType>> for DecodeError {
    fn from(e: FrameError<PacketType>) -> Self {
        match e {
            FrameError::ReservedPacketType(t) => DecodeError::ReservedPacketType(t),
            FrameError::InvalidFlags { packet_type, flags } => {
                DecodeError::InvalidFlags { packet_type, flags }
            }
            FrameError::InvalidQoS3 => DecodeError::InvalidQoS(3),
            FrameError::DupWithQoS0 => DecodeError::DupWithQoS0,
            FrameError::MalformedLength => DecodeError::MalformedVarInt,
            FrameError::PacketTooLarge { size, max } => DecodeError::PacketTooLarge { size, max },
            FrameError::TrailingBytes { packet_type, extra } => {
                DecodeError::TrailingBytes { packet_type, extra }
            }
        }
    }
}

/// The 3.1.1 primitives (reader, packet ids, strings, lists) report in the
/// 3.1.1 error type; each has a version-5 counterpart.
impl From<codec::DecodeError> for DecodeError {
    fn from(e: codec::DecodeError) -> Self {
        use codec::DecodeError as E;
        match e {
            E::ReservedPacketType(t) => DecodeError::ReservedPacketType(t),
            E::InvalidFlags { packet_type, flags } => DecodeError::InvalidFlags {
                packet_type: packet_type.into(),
                flags,
            },
            E::InvalidQoS(q) => DecodeError::InvalidQoS(q),
            E::DupWithQoS0 => DecodeError::DupWithQoS0,
            E::MalformedRemainingLength => DecodeError::MalformedVarInt,
            E::PacketTooLarge { size, max } => DecodeError::PacketTooLarge { size, max },
            E::UnexpectedEnd => DecodeError::UnexpectedEnd,
            E::TrailingBytes { packet_type, extra } => DecodeError::TrailingBytes {
                packet_type: packet_type.into(),
                extra,
            },
            E::InvalidString => DecodeError::InvalidString,
            E::ZeroPacketId => DecodeError::ZeroPacketId,
            E::InvalidProtocolName => DecodeError::InvalidProtocolName,
            E::UnsupportedProtocolLevel(l) => DecodeError::UnsupportedProtocolLevel(l),
            E::InvalidConnectFlags(f) => DecodeError::InvalidConnectFlags(f),
            E::InvalidConnAck { flags, .. } => DecodeError::InvalidConnAckFlags(flags),
            E::InvalidTopicName => DecodeError::InvalidTopicName,
            E::InvalidTopicFilter => DecodeError::InvalidTopicFilter,
            E::EmptyList(t) => DecodeError::EmptyList(t.into()),
            E::InvalidSubAckCode(code) => DecodeError::InvalidReasonCode {
                packet_type: PacketType::SubAck,
                code,
            },
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::ReservedPacketType(t) => write!(f, "reserved packet type {t}"),
            DecodeError::InvalidFlags { packet_type, flags } => write!(
                f,
                "invalid fixed-header flags {flags:#06b} for {}",
                packet_type.name()
            ),
            DecodeError::InvalidQoS(q) => write!(f, "invalid QoS {q}"),
            DecodeError::DupWithQoS0 => write!(f, "DUP flag set on a QoS 0 PUBLISH"),
            DecodeError::MalformedVarInt => write!(
                f,
                "variable byte integer longer than 4 bytes or than its shortest form"
            ),
            DecodeError::PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum of {max}")
            }
            DecodeError::UnexpectedEnd => write!(f, "packet body ends before its fields"),
            DecodeError::TrailingBytes { packet_type, extra } => write!(
                f,
                "{} has {extra} unexpected trailing bytes",
                packet_type.name()
            ),
            DecodeError::InvalidString => write!(f, "string is not valid MQTT UTF-8"),
            DecodeError::ZeroPacketId => write!(f, "packet identifier 0"),
            DecodeError::InvalidProtocolName => write!(f, "protocol name is not \"MQTT\""),
            DecodeError::UnsupportedProtocolLevel(l) => {
                write!(f, "protocol level {l} is not MQTT 5 (level 5)")
            }
            DecodeError::InvalidConnectFlags(b) => write!(f, "invalid CONNECT flags {b:#010b}"),
            DecodeError::InvalidConnAckFlags(b) => write!(f, "invalid CONNACK flags {b:#04x}"),
            DecodeError::SessionPresentWithError => {
                write!(f, "CONNACK with session present and a failure reason code")
            }
            DecodeError::InvalidTopicName => write!(f, "invalid topic name"),
            DecodeError::InvalidTopicFilter => write!(f, "invalid topic filter"),
            DecodeError::EmptyList(t) => write!(f, "{} carries no entries", t.name()),
            DecodeError::InvalidReasonCode { packet_type, code } => {
                write!(
                    f,
                    "reason code {code:#04x} is not valid in {}",
                    packet_type.name()
                )
            }
            DecodeError::InvalidSubscriptionOptions(b) => {
                write!(f, "invalid subscription options {b:#010b}")
            }
            DecodeError::NoLocalOnSharedSubscription => {
                write!(f, "No Local set on a shared subscription")
            }
            DecodeError::Property(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why a packet could not be encoded: every rule the decoder enforces is
/// checked first, so whatever encodes decodes back to the same packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The output slice is too short.
    BufferTooSmall { needed: usize, available: usize },
    /// A string or binary field longer than 65,535 bytes.
    FieldTooLong(usize),
    /// A remaining length or property block above 268,435,455 bytes.
    PacketTooLarge(usize),
    /// A topic name holding wildcards, or empty without a topic alias.
    InvalidTopicName,
    /// A topic filter that is empty or misuses wildcards.
    InvalidTopicFilter,
    /// A string containing U+0000.
    InvalidString,
    /// SUBSCRIBE, SUBACK, UNSUBSCRIBE or UNSUBACK with no entries.
    EmptyList,
    /// DUP set on a QoS 0 PUBLISH (MQTT-3.3.1-2).
    DupWithQoS0,
    /// CONNACK with session present and a failure reason code.
    SessionPresentWithError,
    /// A reason code this packet may not carry.
    InvalidReasonCode { packet_type: PacketType, code: u8 },
    /// No Local on a shared subscription.
    NoLocalOnSharedSubscription,
    /// A property block that breaks a rule.
    Property(PropertyError),
}

impl From<PropertyError> for EncodeError {
    fn from(e: PropertyError) -> Self {
        EncodeError::Property(e)
    }
}

impl From<codec::EncodeError> for EncodeError {
    fn from(e: codec::EncodeError) -> Self {
        use codec::EncodeError as E;
        match e {
            E::BufferTooSmall { needed, available } => {
                EncodeError::BufferTooSmall { needed, available }
            }
            E::FieldTooLong(n) => EncodeError::FieldTooLong(n),
            E::PacketTooLarge(n) => EncodeError::PacketTooLarge(n),
            E::InvalidTopicName => EncodeError::InvalidTopicName,
            E::InvalidTopicFilter => EncodeError::InvalidTopicFilter,
            E::InvalidString => EncodeError::InvalidString,
            // Allowed in MQTT 5; the v5 encoder never reports it.
            E::PasswordWithoutUsername => EncodeError::InvalidString,
            E::EmptyList => EncodeError::EmptyList,
            E::DupWithQoS0 => EncodeError::DupWithQoS0,
            E::SessionPresentWithError => EncodeError::SessionPresentWithError,
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed, available } => {
                write!(f, "buffer of {available} bytes, {needed} needed")
            }
            EncodeError::FieldTooLong(n) => write!(f, "field of {n} bytes exceeds 65535"),
            EncodeError::PacketTooLarge(n) => write!(f, "length {n} exceeds 268435455"),
            EncodeError::InvalidTopicName => write!(f, "invalid topic name"),
            EncodeError::InvalidTopicFilter => write!(f, "invalid topic filter"),
            EncodeError::InvalidString => write!(f, "string contains U+0000"),
            EncodeError::EmptyList => write!(f, "list needs at least one entry"),
            EncodeError::DupWithQoS0 => write!(f, "DUP flag set on a QoS 0 PUBLISH"),
            EncodeError::SessionPresentWithError => {
                write!(f, "CONNACK with session present and a failure reason code")
            }
            EncodeError::InvalidReasonCode { packet_type, code } => {
                write!(
                    f,
                    "reason code {code:#04x} is not valid in {}",
                    packet_type.name()
                )
            }
            EncodeError::NoLocalOnSharedSubscription => {
                write!(f, "No Local set on a shared subscription")
            }
            EncodeError::Property(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for EncodeError {}
