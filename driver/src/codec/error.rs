//! The codec's typed errors: everything that can be wrong in bytes read from
//! the network, and everything that can stop a packet from being written.

use core::fmt;

use super::frame::FrameError;
use super::PacketType;

/// Why a byte sequence is not a valid MQTT 3.1.1 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Packet type 0 or 15.
    ReservedPacketType(u8),
    /// Fixed-header flags other than the ones the type requires.
    InvalidFlags { packet_type: PacketType, flags: u8 },
    /// A QoS of 3 (PUBLISH flags or will QoS).
    InvalidQoS(u8),
    /// DUP set on a QoS 0 PUBLISH.
    DupWithQoS0,
    /// A fifth remaining-length byte.
    MalformedRemainingLength,
    /// The packet is larger than the configured maximum.
    PacketTooLarge { size: usize, max: usize },
    /// The body ended before a field it announced.
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
    /// CONNECT with a protocol level other than 4. A server answers this
    /// with return code 1.
    UnsupportedProtocolLevel(u8),
    /// CONNECT flags: reserved bit set, or will/password flags inconsistent.
    InvalidConnectFlags(u8),
    /// CONNACK flags other than session-present, or a return code above 5.
    InvalidConnAck { flags: u8, code: u8 },
    /// A PUBLISH topic that is empty or holds `+` or `#`.
    InvalidTopicName,
    /// A topic filter that is empty or misuses `+` or `#`.
    InvalidTopicFilter,
    /// SUBSCRIBE, SUBACK or UNSUBSCRIBE with no entries.
    EmptyList(PacketType),
    /// A SUBACK return code other than 0, 1, 2 or 0x80.
    InvalidSubAckCode(u8),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::ReservedPacketType(t) => write!(f, "reserved packet type {t}"),
            DecodeError::InvalidFlags { packet_type, flags } => {
                write!(
                    f,
                    "invalid fixed-header flags {flags:#06b} for {}",
                    packet_type.name()
                )
            }
            DecodeError::InvalidQoS(q) => write!(f, "invalid QoS {q}"),
            DecodeError::DupWithQoS0 => write!(f, "DUP flag set on a QoS 0 PUBLISH"),
            DecodeError::MalformedRemainingLength => {
                write!(f, "remaining length has more than 4 bytes")
            }
            DecodeError::PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum of {max}")
            }
            DecodeError::UnexpectedEnd => write!(f, "packet body ends before its fields"),
            DecodeError::TrailingBytes { packet_type, extra } => {
                write!(
                    f,
                    "{} has {extra} unexpected trailing bytes",
                    packet_type.name()
                )
            }
            DecodeError::InvalidString => write!(f, "string is not valid MQTT UTF-8"),
            DecodeError::ZeroPacketId => write!(f, "packet identifier 0"),
            DecodeError::InvalidProtocolName => write!(f, "protocol name is not \"MQTT\""),
            DecodeError::UnsupportedProtocolLevel(l) => write!(f, "unsupported protocol level {l}"),
            DecodeError::InvalidConnectFlags(b) => write!(f, "invalid CONNECT flags {b:#010b}"),
            DecodeError::InvalidConnAck { flags, code } => {
                write!(
                    f,
                    "invalid CONNACK (flags {flags:#04x}, return code {code})"
                )
            }
            DecodeError::InvalidTopicName => write!(f, "invalid topic name"),
            DecodeError::InvalidTopicFilter => write!(f, "invalid topic filter"),
            DecodeError::EmptyList(t) => write!(f, "{} carries no entries", t.name()),
            DecodeError::InvalidSubAckCode(c) => write!(f, "invalid SUBACK return code {c:#04x}"),
        }
    }
}

impl core::error::Error for DecodeError {}

impl From<FrameError<PacketType>> for DecodeError {
    fn from(e: FrameError<PacketType>) -> Self {
        match e {
            FrameError::ReservedPacketType(t) => DecodeError::ReservedPacketType(t),
            FrameError::InvalidFlags { packet_type, flags } => {
                DecodeError::InvalidFlags { packet_type, flags }
            }
            FrameError::InvalidQoS3 => DecodeError::InvalidQoS(3),
            FrameError::DupWithQoS0 => DecodeError::DupWithQoS0,
            FrameError::MalformedLength => DecodeError::MalformedRemainingLength,
            FrameError::PacketTooLarge { size, max } => DecodeError::PacketTooLarge { size, max },
            FrameError::TrailingBytes { packet_type, extra } => {
                DecodeError::TrailingBytes { packet_type, extra }
            }
        }
    }
}

/// Why a packet could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The output slice is too short.
    BufferTooSmall { needed: usize, available: usize },
    /// A string or binary field longer than 65,535 bytes.
    FieldTooLong(usize),
    /// A remaining length above 268,435,455.
    PacketTooLarge(usize),
    /// A topic name that is empty or holds wildcards.
    InvalidTopicName,
    /// A topic filter that is empty or misuses wildcards.
    InvalidTopicFilter,
    /// A string containing U+0000.
    InvalidString,
    /// A password without a user name (not allowed in 3.1.1).
    PasswordWithoutUsername,
    /// SUBSCRIBE, SUBACK or UNSUBSCRIBE with no entries.
    EmptyList,
    /// DUP set on a QoS 0 PUBLISH (MQTT-3.3.1-2).
    DupWithQoS0,
    /// CONNACK with session-present set and a non-zero return code
    /// (MQTT-3.2.2-4).
    SessionPresentWithError,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed, available } => {
                write!(f, "buffer of {available} bytes, {needed} needed")
            }
            EncodeError::FieldTooLong(n) => write!(f, "field of {n} bytes exceeds 65535"),
            EncodeError::PacketTooLarge(n) => write!(f, "remaining length {n} exceeds 268435455"),
            EncodeError::InvalidTopicName => write!(f, "invalid topic name"),
            EncodeError::InvalidTopicFilter => write!(f, "invalid topic filter"),
            EncodeError::InvalidString => write!(f, "string contains U+0000"),
            EncodeError::PasswordWithoutUsername => {
                write!(f, "a password needs a user name in MQTT 3.1.1")
            }
            EncodeError::EmptyList => write!(f, "list needs at least one entry"),
            EncodeError::DupWithQoS0 => write!(f, "DUP flag set on a QoS 0 PUBLISH"),
            EncodeError::SessionPresentWithError => {
                write!(f, "CONNACK with session present and a non-zero return code")
            }
        }
    }
}

impl core::error::Error for EncodeError {}
