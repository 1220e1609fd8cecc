//! MQTT 3.1.1 codec: every control packet, encoded into and decoded from byte
//! slices, with no allocation and no panic on any input.
//!
//! Decoding is two-phase, like mini-redis's `Frame::check` then `Frame::parse`:
//! [`check`] reads only the fixed header and tells "need more bytes" from
//! "invalid" cheaply; [`decode`] then parses a complete frame into a
//! [`Packet`] that borrows from the input. Everything that can be wrong in a
//! byte stream is a [`DecodeError`]; nothing in this module indexes out of
//! bounds or unwraps.
//!
//! Encoding writes into a caller-provided slice ([`Packet::encode`]) after
//! [`Packet::encoded_len`] says how much room is needed. The encoder refuses
//! (with an [`EncodeError`]) every packet the decoder would reject, so
//! whatever encodes decodes back to the same packet; the tests in `tests/`
//! and the fuzz target in `driver/fuzz/` check both directions.
//!
//! The frame (fixed header, both phases, the encoder's sizing), the
//! [`Codec`] trait every element implements and the primitives (reader,
//! writer, variable byte integers, strings, packet ids, lists) are shared
//! with the MQTT 5 codec in [`v5`]: they live in `frame.rs`,
//! `primitives.rs` and `list.rs`; this module adds the 3.1.1 packets.

mod ack;
mod connack;
mod connect;
mod error;
mod frame;
mod list;
mod primitives;
mod publish;
mod subscribe;
pub mod v5;

#[cfg(test)]
mod tests;

pub use ack::{PubAck, PubComp, PubRec, PubRel, UnsubAck};
pub use connack::{ConnAck, ConnectReturnCode};
pub use connect::{Connect, Will};
pub use error::{DecodeError, EncodeError};
pub(crate) use frame::Checked;
/// [`Codec`] under the name it had when only list entries implemented it.
pub use frame::Codec as Entry;
pub use frame::Codec;
pub use list::{List, ListIter};
pub use primitives::{Pid, QoS};
pub use publish::{Publish, QosPid};
pub use subscribe::{SubAck, SubAckCode, Subscribe, SubscribeTopic, Unsubscribe};

pub use primitives::{valid_topic_filter, valid_topic_name, Reader, Writer};

/// The largest remaining length MQTT 3.1.1 can express (four length bytes).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The default maximum size of one packet accepted by [`decode`]: the whole
/// range the protocol allows. Devices usually set far less.
pub const DEFAULT_MAX_PACKET_SIZE: usize = MAX_REMAINING_LENGTH + 5;

/// The packet types of MQTT 3.1.1 (fixed header, high nibble).
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
}

impl PacketType {
    /// The type for a high nibble, or `None` for the reserved values 0 and 15.
    pub fn from_nibble(n: u8) -> Option<Self> {
        use PacketType::*;
        Some(match n {
            1 => Connect,
            2 => ConnAck,
            3 => Publish,
            4 => PubAck,
            5 => PubRec,
            6 => PubRel,
            7 => PubComp,
            8 => Subscribe,
            9 => SubAck,
            10 => Unsubscribe,
            11 => UnsubAck,
            12 => PingReq,
            13 => PingResp,
            14 => Disconnect,
            _ => return None,
        })
    }

    /// The upper-case name used in logs and traces.
    pub fn name(self) -> &'static str {
        use PacketType::*;
        match self {
            Connect => "CONNECT",
            ConnAck => "CONNACK",
            Publish => "PUBLISH",
            PubAck => "PUBACK",
            PubRec => "PUBREC",
            PubRel => "PUBREL",
            PubComp => "PUBCOMP",
            Subscribe => "SUBSCRIBE",
            SubAck => "SUBACK",
            Unsubscribe => "UNSUBSCRIBE",
            UnsubAck => "UNSUBACK",
            PingReq => "PINGREQ",
            PingResp => "PINGRESP",
            Disconnect => "DISCONNECT",
        }
    }
}

/// One MQTT 3.1.1 control packet. Decoded packets borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    Connect(Connect<'a>),
    ConnAck(ConnAck),
    Publish(Publish<'a>),
    PubAck(PubAck),
    PubRec(PubRec),
    PubRel(PubRel),
    PubComp(PubComp),
    Subscribe(Subscribe<'a>),
    SubAck(SubAck<'a>),
    Unsubscribe(Unsubscribe<'a>),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect,
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
/// is not complete yet. Rejects reserved types, wrong flags, a fifth length
/// byte, and packets larger than `max_packet_size`, before the body arrives.
pub fn check(buf: &[u8], max_packet_size: usize) -> Result<Option<FrameHeader>, DecodeError> {
    frame::check::<Mqtt311>(buf, max_packet_size)
}

/// Decodes the first packet in `buf`: need more bytes, a packet and its
/// length, or a typed error. Never panics.
pub fn decode(buf: &[u8], max_packet_size: usize) -> Result<Decoded<'_>, DecodeError> {
    frame::decode::<Mqtt311>(buf, max_packet_size)
}

/// MQTT 3.1.1 in the shared frame.
struct Mqtt311;

impl frame::Version for Mqtt311 {
    type PacketType = PacketType;
    type Packet<'a> = Packet<'a>;
    type DecodeError = DecodeError;
    const SHORTEST_LENGTH_ONLY: bool = false;

    fn packet_type(nibble: u8) -> Option<PacketType> {
        PacketType::from_nibble(nibble)
    }

    /// Phase two: parses a body whose header [`check`] accepted.
    fn parse<'a>(header: &FrameHeader, r: &mut Reader<'a>) -> Result<Packet<'a>, DecodeError> {
        Ok(match header.packet_type {
            PacketType::Connect => Packet::Connect(Connect::read(r)?),
            PacketType::ConnAck => Packet::ConnAck(ConnAck::read(r)?),
            PacketType::Publish => Packet::Publish(Publish::read(header.flags, r)?),
            PacketType::PubAck => Packet::PubAck(PubAck(Pid::read(r)?)),
            PacketType::PubRec => Packet::PubRec(PubRec(Pid::read(r)?)),
            PacketType::PubRel => Packet::PubRel(PubRel(Pid::read(r)?)),
            PacketType::PubComp => Packet::PubComp(PubComp(Pid::read(r)?)),
            PacketType::Subscribe => Packet::Subscribe(Subscribe::read(r)?),
            PacketType::SubAck => Packet::SubAck(SubAck::read(r)?),
            PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::read(r)?),
            PacketType::UnsubAck => Packet::UnsubAck(UnsubAck(Pid::read(r)?)),
            PacketType::PingReq => Packet::PingReq,
            PacketType::PingResp => Packet::PingResp,
            PacketType::Disconnect => Packet::Disconnect,
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
            Packet::Disconnect => PacketType::Disconnect,
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
    pub(crate) fn checked(&self) -> Result<Checked<'_, Self>, EncodeError> {
        frame::checked(self)
    }

    /// Encodes onto the end of a vector. On error the vector is left as it
    /// was: nothing half-written is ever queued for sending.
    #[cfg(any(feature = "alloc", test))]
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
        match self {
            Packet::Connect(c) => c.validate(),
            Packet::ConnAck(c) => c.validate(),
            Packet::Publish(p) => p.validate(),
            Packet::Subscribe(s) => s.validate(),
            Packet::SubAck(s) => s.validate(),
            Packet::Unsubscribe(u) => u.validate(),
            Packet::PubAck(_)
            | Packet::PubRec(_)
            | Packet::PubRel(_)
            | Packet::PubComp(_)
            | Packet::UnsubAck(_)
            | Packet::PingReq
            | Packet::PingResp
            | Packet::Disconnect => Ok(()),
        }
    }

    fn body_len(&self) -> Result<usize, EncodeError> {
        match self {
            Packet::Connect(c) => c.encoded_len(),
            Packet::ConnAck(c) => c.encoded_len(),
            Packet::Publish(p) => p.encoded_len(),
            Packet::PubAck(_)
            | Packet::PubRec(_)
            | Packet::PubRel(_)
            | Packet::PubComp(_)
            | Packet::UnsubAck(_) => Ok(2),
            Packet::Subscribe(s) => s.encoded_len(),
            Packet::SubAck(s) => s.encoded_len(),
            Packet::Unsubscribe(u) => u.encoded_len(),
            Packet::PingReq | Packet::PingResp | Packet::Disconnect => Ok(0),
        }
    }

    fn write_body(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match self {
            Packet::Connect(c) => c.encode(w),
            Packet::ConnAck(c) => c.encode(w),
            Packet::Publish(p) => p.encode(w),
            Packet::PubAck(PubAck(pid))
            | Packet::PubRec(PubRec(pid))
            | Packet::PubRel(PubRel(pid))
            | Packet::PubComp(PubComp(pid))
            | Packet::UnsubAck(UnsubAck(pid)) => pid.encode(w),
            Packet::Subscribe(s) => s.encode(w),
            Packet::SubAck(s) => s.encode(w),
            Packet::Unsubscribe(u) => u.encode(w),
            Packet::PingReq | Packet::PingResp | Packet::Disconnect => Ok(()),
        }
    }
}
