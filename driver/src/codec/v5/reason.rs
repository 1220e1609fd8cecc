//! Reason codes (MQTT 5.0 §2.4, Table 2-6): one enum for every code the
//! specification defines, and for each packet the codes it may carry
//! (CONNACK §3.2.2.2, PUBACK/PUBREC §3.4.2.1/§3.5.2.1, PUBREL/PUBCOMP
//! §3.6.2.1/§3.7.2.1, SUBACK §3.9.3, UNSUBACK §3.11.3, DISCONNECT §3.14.2.1,
//! AUTH §3.15.2.1). A code outside a packet's set is a decode error and is
//! refused before encoding.

use core::fmt;

use super::PacketType;

macro_rules! reason_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $text:literal;)*) => {
        /// A reason code. `0x00` is one variant, [`ReasonCode::Success`],
        /// which the specification also calls "Normal disconnection"
        /// (DISCONNECT) and "Granted QoS 0" (SUBACK).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum ReasonCode {
            $($(#[$doc])* $name = $code,)*
        }

        impl ReasonCode {
            /// The code for a byte, if MQTT 5.0 defines it.
            pub fn from_u8(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(ReasonCode::$name),)*
                    _ => None,
                }
            }

            /// The specification's name for the code.
            pub fn name(self) -> &'static str {
                match self {
                    $(ReasonCode::$name => $text,)*
                }
            }

            /// Every defined code, in numeric order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$name,)*];
        }
    };
}

reason_codes! {
    /// Success; Normal disconnection; Granted QoS 0.
    Success = 0x00, "success";
    GrantedQoS1 = 0x01, "granted QoS 1";
    GrantedQoS2 = 0x02, "granted QoS 2";
    DisconnectWithWillMessage = 0x04, "disconnect with will message";
    NoMatchingSubscribers = 0x10, "no matching subscribers";
    NoSubscriptionExisted = 0x11, "no subscription existed";
    ContinueAuthentication = 0x18, "continue authentication";
    ReAuthenticate = 0x19, "re-authenticate";
    UnspecifiedError = 0x80, "unspecified error";
    MalformedPacket = 0x81, "malformed packet";
    ProtocolError = 0x82, "protocol error";
    ImplementationSpecificError = 0x83, "implementation specific error";
    UnsupportedProtocolVersion = 0x84, "unsupported protocol version";
    ClientIdentifierNotValid = 0x85, "client identifier not valid";
    BadUserNameOrPassword = 0x86, "bad user name or password";
    NotAuthorized = 0x87, "not authorized";
    ServerUnavailable = 0x88, "server unavailable";
    ServerBusy = 0x89, "server busy";
    Banned = 0x8A, "banned";
    ServerShuttingDown = 0x8B, "server shutting down";
    BadAuthenticationMethod = 0x8C, "bad authentication method";
    KeepAliveTimeout = 0x8D, "keep alive timeout";
    SessionTakenOver = 0x8E, "session taken over";
    TopicFilterInvalid = 0x8F, "topic filter invalid";
    TopicNameInvalid = 0x90, "topic name invalid";
    PacketIdentifierInUse = 0x91, "packet identifier in use";
    PacketIdentifierNotFound = 0x92, "packet identifier not found";
    ReceiveMaximumExceeded = 0x93, "receive maximum exceeded";
    TopicAliasInvalid = 0x94, "topic alias invalid";
    PacketTooLarge = 0x95, "packet too large";
    MessageRateTooHigh = 0x96, "message rate too high";
    QuotaExceeded = 0x97, "quota exceeded";
    AdministrativeAction = 0x98, "administrative action";
    PayloadFormatInvalid = 0x99, "payload format invalid";
    RetainNotSupported = 0x9A, "retain not supported";
    QoSNotSupported = 0x9B, "QoS not supported";
    UseAnotherServer = 0x9C, "use another server";
    ServerMoved = 0x9D, "server moved";
    SharedSubscriptionsNotSupported = 0x9E, "shared subscriptions not supported";
    ConnectionRateExceeded = 0x9F, "connection rate exceeded";
    MaximumConnectTime = 0xA0, "maximum connect time";
    SubscriptionIdentifiersNotSupported = 0xA1, "subscription identifiers not supported";
    WildcardSubscriptionsNotSupported = 0xA2, "wildcard subscriptions not supported";
}

const CONNACK: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
const PUBACK_PUBREC: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_PUBCOMP: &[u8] = &[0x00, 0x92];
const SUBACK: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
const UNSUBACK: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
const DISCONNECT: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
const AUTH: &[u8] = &[0x00, 0x18, 0x19];

impl ReasonCode {
    /// The codes `packet_type` may carry (empty for packets without one).
    pub fn allowed_in(packet_type: PacketType) -> &'static [u8] {
        match packet_type {
            PacketType::ConnAck => CONNACK,
            PacketType::PubAck | PacketType::PubRec => PUBACK_PUBREC,
            PacketType::PubRel | PacketType::PubComp => PUBREL_PUBCOMP,
            PacketType::SubAck => SUBACK,
            PacketType::UnsubAck => UNSUBACK,
            PacketType::Disconnect => DISCONNECT,
            PacketType::Auth => AUTH,
            _ => &[],
        }
    }

    /// The code for a byte read from a `packet_type`, if that packet may
    /// carry it.
    pub fn for_packet(code: u8, packet_type: PacketType) -> Option<Self> {
        if Self::allowed_in(packet_type).contains(&code) {
            Self::from_u8(code)
        } else {
            None
        }
    }

    /// Whether the code reports a failure (0x80 and above).
    pub fn is_error(self) -> bool {
        self as u8 >= 0x80
    }

    /// Reads one code that `packet_type` may carry.
    pub(crate) fn read(
        r: &mut crate::codec::Reader<'_>,
        packet_type: PacketType,
    ) -> Result<Self, super::DecodeError> {
        let code = r.u8()?;
        Self::for_packet(code, packet_type)
            .ok_or(super::DecodeError::InvalidReasonCode { packet_type, code })
    }

    /// Checks, before encoding, that `packet_type` may carry this code.
    pub(crate) fn check(self, packet_type: PacketType) -> Result<(), super::EncodeError> {
        if Self::allowed_in(packet_type).contains(&(self as u8)) {
            Ok(())
        } else {
            Err(super::EncodeError::InvalidReasonCode {
                packet_type,
                code: self as u8,
            })
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#04x})", self.name(), *self as u8)
    }
}

/// SUBACK and UNSUBACK codes form a [`List`](crate::codec::List): any
/// defined code is read here; the packet reads and checks its own set
/// ([`ReasonCode::read`], [`ReasonCode::check`]) first.
impl<'a> crate::codec::Codec<'a> for ReasonCode {
    type DecodeError = super::DecodeError;
    type EncodeError = super::EncodeError;
    fn read(r: &mut crate::codec::Reader<'a>) -> Result<Self, super::DecodeError> {
        let code = r.u8()?;
        ReasonCode::from_u8(code).ok_or(super::DecodeError::InvalidReasonCode {
            packet_type: PacketType::SubAck,
            code,
        })
    }
    fn encode(&self, w: &mut crate::codec::Writer<'_>) -> Result<(), super::EncodeError> {
        Ok(w.u8(*self as u8)?)
    }
    fn encoded_len(&self) -> Result<usize, super::EncodeError> {
        Ok(1)
    }
}
