//! MQTT 5.0 codec: every control packet, property and reason code, encoded
//! into and decoded from byte slices with no allocation and no panic on any
//! input, next to the 3.1.1 codec in [`crate::codec`] and sharing its frame,
//! its [`Codec`] trait and its primitives (reader, writer, variable byte
//! integers, strings, packet ids, lists, the CONNECT header and the PUBLISH
//! flags); this module adds what version 5 changes.
//!
//! The same two phases, from the same code: [`check`] reads the fixed
//! header only ("need more bytes" or "invalid", and the size limit, before
//! the body arrives), then [`decode`] parses a complete frame into a
//! [`Packet`] that borrows from the input. Properties ([`Properties`]) and lists stay borrowed raw bytes
//! after validation. Everything the decoder refuses is a [`DecodeError`];
//! the encoder checks the same rules first ([`EncodeError`]), so whatever
//! encodes decodes back to the same packet. The short forms of the acks,
//! DISCONNECT and AUTH are accepted; the encoder writes the shortest form.
//!
//! This is the codec only: session behaviour for MQTT 5 (session expiry,
//! receive maximum, topic aliases, ...) is not here.

mod ack;
mod connack;
mod connect;
mod error;
mod property;
mod publish;
mod reason;
mod subscribe;
mod varint;

#[cfg(test)]
mod tests;

pub use ack::{Ack, Auth, Disconnect};
pub use connack::ConnAck;
pub use connect::{Connect, Will, PROTOCOL_LEVEL};
pub use error::{DecodeError, EncodeError, PropertyError};
pub use property::{Properties, Property, PropertyContext, PropertyId, PropertyIter};
pub use publish::Publish;
pub use reason::ReasonCode;
pub use subscribe::{
    RetainHandling, SubAck, Subscribe, SubscribeTopic, SubscriptionOptions, UnsubAck, Unsubscribe,
};
pub use varint::MAX_VARINT;

/// Shared with the 3.1.1 codec.
pub use super::{Codec, List, Pid, QoS, QosPid, DEFAULT_MAX_PACKET_SIZE, MAX_REMAINING_LENGTH};

use super::frame;
use super::{Reader, Writer};
use ack::Tail;

/// The packet types of MQTT 5.0 (fixed header, high nibble): 3.1.1's and
/// AUTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum PacketType {
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
    Auth = 15,
}

impl PacketType {
    /// The type for a high nibble, or `None` for the reserved value 0.
    pub fn from_nibble(n: u8) -> Option<Self> {
        match n {
            15 => Some(PacketType::Auth),
            n => super::PacketType::from_nibble(n).map(Self::from),
        }
    }

    /// The upper-case name used in logs and traces.
    pub fn name(self) -> &'static str {
        match super::PacketType::from_nibble(self as u8) {
            Some(t) => t.name(),
            None => "AUTH",
        }
    }
}

impl From<super::PacketType> for PacketType {
    fn from(t: super::PacketType) -> Self {
        use super::PacketType as T;
        match t {
            T::Connect => PacketType::Connect,
            T::ConnAck => PacketType::ConnAck,
            T::Publish => PacketType::Publish,
            T::PubAck => PacketType::PubAck,
            T::PubRec => PacketType::PubRec,
            T::PubRel => PacketType::PubRel,
            T::PubComp => PacketType::PubComp,
            T::Subscribe => PacketType::Subscribe,
            T::SubAck => PacketType::SubAck,
            T::Unsubscribe => PacketType::Unsubscribe,
            T::UnsubAck => PacketType::UnsubAck,
            T::PingReq => PacketType::PingReq,
            T::PingResp => PacketType::PingResp,
            T::Disconnect => PacketType::Disconnect,
        }
    }
}

/// One MQTT 5.0 control packet. Decoded packets borrow from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    Connect(Connect<'a>),
    ConnAck(ConnAck<'a>),
    Publish(Publish<'a>),
    PubAck(Ack<'a>),
    PubRec(Ack<'a>),
    PubRel(Ack<'a>),
    PubComp(Ack<'a>),
    Subscribe(Subscribe<'a>),
    SubAck(SubAck<'a>),
    Unsubscribe(Unsubscribe<'a>),
    UnsubAck(UnsubAck<'a>),
    PingReq,
    PingResp,
    Disconnect(Disconnect<'a>),
    Auth(Auth<'a>),
}

/// What the fixed header of a complete-enough buffer says (phase one).
pub type FrameHeader = frame::FrameHeader<PacketType>;

/// The result of decoding a byte slice: `Decoded::Incomplete { needed }`
/// (the buffer holds the start of a valid packet; read more: `needed` is
/// the total packet length once the fixed header is complete), or
/// `Decoded::Packet { packet, len }` (a packet, and how many bytes of the
/// input it took).
pub type Decoded<'a> = frame::Decoded<Packet<'a>>;

/// Phase one: reads the fixed header only. `Ok(None)` means the header itself
/// is not complete yet. Rejects type 0, wrong flags, a malformed remaining
/// length (a fifth byte, or longer than its shortest form), and packets
/// larger than `max_packet_size`, before the body arrives.
pub fn check(buf: &[u8], max_packet_size: usize) -> Result<Option<FrameHeader>, DecodeError> {
    frame::check::<Mqtt5>(buf, max_packet_size)
}

/// Decodes the first packet in `buf`: need more bytes, a packet and its
/// length, or a typed error. Never panics.
pub fn decode(buf: &[u8], max_packet_size: usize) -> Result<Decoded<'_>, DecodeError> {
    frame::decode::<Mqtt5>(buf, max_packet_size)
}

/// MQTT 5.0 in the shared frame.
struct Mqtt5;

impl frame::Version for Mqtt5 {
    type PacketType = PacketType;
    type Packet<'a> = Packet<'a>;
    type DecodeError = DecodeError;
    const SHORTEST_LENGTH_ONLY: bool = true;

    fn packet_type(nibble: u8) -> Option<PacketType> {
        PacketType::from_nibble(nibble)
    }

    /// Phase two: parses a body whose header [`check`] accepted.
    fn parse<'a>(header: &FrameHeader, r: &mut Reader<'a>) -> Result<Packet<'a>, DecodeError> {
        let t = header.packet_type;
        Ok(match t {
            PacketType::Connect => Packet::Connect(Connect::read(r)?),
            PacketType::ConnAck => Packet::ConnAck(ConnAck::read(r)?),
            PacketType::Publish => Packet::Publish(Publish::read(header.flags, r)?),
            PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp => {
                let pid = Pid::read(r)?;
                let Tail {
                    reason, properties, ..
                } = Tail::read(t, r)?;
                let a = Ack {
                    pid,
                    reason,
                    properties,
                };
                match t {
                    PacketType::PubAck => Packet::PubAck(a),
                    PacketType::PubRec => Packet::PubRec(a),
                    PacketType::PubRel => Packet::PubRel(a),
                    _ => Packet::PubComp(a),
                }
            }
            PacketType::Subscribe => Packet::Subscribe(Subscribe::read(r)?),
            PacketType::SubAck => Packet::SubAck(SubAck::read(r)?),
            PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::read(r)?),
            PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::read(r)?),
            PacketType::PingReq => Packet::PingReq,
            PacketType::PingResp => Packet::PingResp,
            PacketType::Disconnect => {
                let Tail {
                    reason, properties, ..
                } = Tail::read(t, r)?;
                Packet::Disconnect(Disconnect { reason, properties })
            }
            PacketType::Auth => {
                let Tail {
                    reason, properties, ..
                } = Tail::read(t, r)?;
                Packet::Auth(Auth { reason, properties })
            }
        })
    }
}

impl<'a> Packet<'a> {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// The reason code and properties of the packets that end in them.
    fn tail(&self) -> Option<Tail<'a>> {
        let t = self.packet_type();
        match *self {
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                Some(Tail::new(t, a.reason, a.properties))
            }
            Packet::Disconnect(d) => Some(Tail::new(t, d.reason, d.properties)),
            Packet::Auth(a) => Some(Tail::new(t, a.reason, a.properties)),
            _ => None,
        }
    }

    /// The number of bytes [`Packet::encode`] will write, after checking
    /// the packet: when this is `Ok(n)`, `encode` into `n` bytes succeeds,
    /// and when it is an error, `encode` fails with the same error.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        frame::encoded_len(self)
    }

    /// Encodes the packet at the start of `buf`; returns the bytes written.
    /// On error the contents of `buf` are unspecified.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        frame::encode(self, buf)
    }

    /// Checks and sizes the packet once, to be written into a buffer of
    /// the length it gives ([`Packet::encoded_len`] then
    /// [`Packet::encode`] without checking twice).
    /// (Used by the session, which speaks MQTT 5 only with `alloc`.)
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) fn checked(&self) -> Result<super::Checked<'_, Self>, EncodeError> {
        frame::checked(self)
    }

    /// Encodes onto the end of a vector. On error the vector is left as it
    /// was: nothing half-written is ever queued for sending.
    #[cfg(feature = "alloc")]
    pub fn encode_to_vec(&self, out: &mut alloc::vec::Vec<u8>) -> Result<usize, EncodeError> {
        frame::encode_to_vec(self, out)
    }
}

impl frame::Framed for Packet<'_> {
    type EncodeError = EncodeError;

    fn first_byte(&self) -> u8 {
        let nibble = self.packet_type() as u8;
        let flags = match self {
            Packet::Publish(p) => p.flags(),
            _ => frame::required_flags(nibble).unwrap_or(0),
        };
        (nibble << 4) | flags
    }

    /// Checks every rule the decoder enforces, so that whatever encodes
    /// also decodes back to the same packet.
    fn validate(&self) -> Result<(), EncodeError> {
        if let Some(tail) = self.tail() {
            return tail.validate();
        }
        match self {
            Packet::Connect(c) => c.validate(),
            Packet::ConnAck(c) => c.validate(),
            Packet::Publish(p) => p.validate(),
            Packet::Subscribe(s) => s.validate(),
            Packet::SubAck(s) => s.validate(),
            Packet::Unsubscribe(u) => u.validate(),
            Packet::UnsubAck(u) => u.validate(),
            _ => Ok(()),
        }
    }

    fn body_len(&self) -> Result<usize, EncodeError> {
        match self {
            Packet::Connect(c) => c.encoded_len(),
            Packet::ConnAck(c) => c.encoded_len(),
            Packet::Publish(p) => p.encoded_len(),
            Packet::PubAck(_) | Packet::PubRec(_) | Packet::PubRel(_) | Packet::PubComp(_) => {
                Ok(2 + self.tail().map_or(Ok(0), |t| t.encoded_len())?)
            }
            Packet::Disconnect(_) | Packet::Auth(_) => {
                self.tail().map_or(Ok(0), |t| t.encoded_len())
            }
            Packet::Subscribe(s) => s.encoded_len(),
            Packet::SubAck(s) => s.encoded_len(),
            Packet::Unsubscribe(u) => u.encoded_len(),
            Packet::UnsubAck(u) => u.encoded_len(),
            Packet::PingReq | Packet::PingResp => Ok(0),
        }
    }

    fn write_body(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if let Some(tail) = self.tail() {
            if let Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) =
                self
            {
                a.pid.encode(w)?;
            }
            return tail.write(w);
        }
        match self {
            Packet::Connect(c) => c.encode(w),
            Packet::ConnAck(c) => c.encode(w),
            Packet::Publish(p) => p.encode(w),
            Packet::Subscribe(s) => s.encode(w),
            Packet::SubAck(s) => s.encode(w),
            Packet::Unsubscribe(u) => u.encode(w),
            Packet::UnsubAck(u) => u.encode(w),
            _ => Ok(()),
        }
    }
}
