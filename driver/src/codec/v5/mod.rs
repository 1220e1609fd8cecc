//! MQTT 5.0 codec: every control packet, property and reason code, encoded
//! into and decoded from byte slices with no allocation and no panic on any
//! input, next to (and built from the primitives of) the 3.1.1 codec in
//! [`crate::codec`].
//!
//! The same two phases: [`check`] reads the fixed header only ("need more
//! bytes" or "invalid", and the size limit, before the body arrives), then
//! [`decode`] parses a complete frame into a [`Packet`] that borrows from
//! the input. Properties ([`Properties`]) and lists stay borrowed raw bytes
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
pub use super::{List, Pid, QoS, QosPid, DEFAULT_MAX_PACKET_SIZE, MAX_REMAINING_LENGTH};

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

    /// The flags the fixed header must carry for this type (PUBLISH excepted).
    fn required_flags(self) -> u8 {
        match self {
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub packet_type: PacketType,
    /// The low nibble of the first byte.
    pub flags: u8,
    /// Bytes taken by the fixed header (1 + length bytes).
    pub header_len: usize,
    /// The remaining length.
    pub remaining_len: usize,
}

impl FrameHeader {
    /// The length of the whole packet.
    pub fn total_len(&self) -> usize {
        self.header_len + self.remaining_len
    }
}

/// The result of decoding a byte slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// The buffer holds the start of a valid packet; read more. `needed` is
    /// the total packet length when the fixed header is already complete.
    Incomplete { needed: Option<usize> },
    /// A packet, and how many bytes of the input it took.
    Packet { packet: Packet<'a>, len: usize },
}

/// Phase one: reads the fixed header only. `Ok(None)` means the header itself
/// is not complete yet. Rejects type 0, wrong flags, a malformed remaining
/// length (a fifth byte, or longer than its shortest form), and packets
/// larger than `max_packet_size`, before the body arrives.
pub fn check(buf: &[u8], max_packet_size: usize) -> Result<Option<FrameHeader>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let packet_type =
        PacketType::from_nibble(first >> 4).ok_or(DecodeError::ReservedPacketType(first >> 4))?;
    let flags = first & 0x0f;
    if packet_type == PacketType::Publish {
        if flags & 0b0110 == 0b0110 {
            return Err(DecodeError::InvalidQoS(3));
        }
        if flags & 0b0110 == 0 && flags & 0b1000 != 0 {
            return Err(DecodeError::DupWithQoS0);
        }
    } else if flags != packet_type.required_flags() {
        return Err(DecodeError::InvalidFlags { packet_type, flags });
    }
    let (remaining_len, len_bytes) = match varint::parse(&buf[1..])? {
        varint::Partial::Done(value, len) => (value as usize, len),
        varint::Partial::Incomplete => return Ok(None),
    };
    let header = FrameHeader {
        packet_type,
        flags,
        header_len: 1 + len_bytes,
        remaining_len,
    };
    if header.total_len() > max_packet_size {
        return Err(DecodeError::PacketTooLarge {
            size: header.total_len(),
            max: max_packet_size,
        });
    }
    Ok(Some(header))
}

/// Decodes the first packet in `buf`: need more bytes, a packet and its
/// length, or a typed error. Never panics.
pub fn decode(buf: &[u8], max_packet_size: usize) -> Result<Decoded<'_>, DecodeError> {
    let Some(header) = check(buf, max_packet_size)? else {
        return Ok(Decoded::Incomplete { needed: None });
    };
    let total = header.total_len();
    let Some(frame) = buf.get(..total) else {
        return Ok(Decoded::Incomplete {
            needed: Some(total),
        });
    };
    let packet = parse(header, &frame[header.header_len..])?;
    Ok(Decoded::Packet { packet, len: total })
}

/// Phase two: parses a body whose header [`check`] accepted.
fn parse(header: FrameHeader, body: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let t = header.packet_type;
    let packet = match t {
        PacketType::Connect => Packet::Connect(Connect::read(&mut r)?),
        PacketType::ConnAck => Packet::ConnAck(ConnAck::read(&mut r)?),
        PacketType::Publish => Packet::Publish(Publish::read(header.flags, &mut r)?),
        PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp => {
            let pid = Pid::read(&mut r)?;
            let Tail {
                reason, properties, ..
            } = Tail::read(t, &mut r)?;
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
        PacketType::Subscribe => Packet::Subscribe(Subscribe::read(&mut r)?),
        PacketType::SubAck => Packet::SubAck(SubAck::read(&mut r)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::read(&mut r)?),
        PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::read(&mut r)?),
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => {
            let Tail {
                reason, properties, ..
            } = Tail::read(t, &mut r)?;
            Packet::Disconnect(Disconnect { reason, properties })
        }
        PacketType::Auth => {
            let Tail {
                reason, properties, ..
            } = Tail::read(t, &mut r)?;
            Packet::Auth(Auth { reason, properties })
        }
    };
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes {
            packet_type: t,
            extra: r.remaining(),
        });
    }
    Ok(packet)
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

    fn flags(&self) -> u8 {
        match self {
            Packet::Publish(p) => p.flags(),
            other => other.packet_type().required_flags(),
        }
    }

    fn remaining_len(&self) -> Result<usize, EncodeError> {
        let len = match self {
            Packet::Connect(c) => c.body_len()?,
            Packet::ConnAck(c) => c.body_len()?,
            Packet::Publish(p) => p.body_len()?,
            Packet::PubAck(_) | Packet::PubRec(_) | Packet::PubRel(_) | Packet::PubComp(_) => {
                2 + self.tail().map_or(Ok(0), |t| t.encoded_len())?
            }
            Packet::Disconnect(_) | Packet::Auth(_) => {
                self.tail().map_or(Ok(0), |t| t.encoded_len())?
            }
            Packet::Subscribe(s) => s.body_len()?,
            Packet::SubAck(s) => s.body_len()?,
            Packet::Unsubscribe(u) => u.body_len()?,
            Packet::UnsubAck(u) => u.body_len()?,
            Packet::PingReq | Packet::PingResp => 0,
        };
        if len > MAX_REMAINING_LENGTH {
            return Err(EncodeError::PacketTooLarge(len));
        }
        Ok(len)
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

    /// The number of bytes [`Packet::encode`] will write, after checking
    /// the packet: when this is `Ok(n)`, `encode` into `n` bytes succeeds,
    /// and when it is an error, `encode` fails with the same error.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        self.validate()?;
        let rem = self.remaining_len()?;
        Ok(1 + varint::len(rem) + rem)
    }

    /// Encodes the packet at the start of `buf`; returns the bytes written.
    /// On error the contents of `buf` are unspecified.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        self.validate()?;
        let rem = self.remaining_len()?;
        let total = 1 + varint::len(rem) + rem;
        if buf.len() < total {
            return Err(EncodeError::BufferTooSmall {
                needed: total,
                available: buf.len(),
            });
        }
        let mut w = Writer::new(&mut buf[..total]);
        w.u8(((self.packet_type() as u8) << 4) | self.flags())?;
        w.remaining_length(rem)?;
        if let Some(tail) = self.tail() {
            if let Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) =
                self
            {
                a.pid.write(&mut w)?;
            }
            tail.write(&mut w)?;
        }
        match self {
            Packet::Connect(c) => c.write(&mut w)?,
            Packet::ConnAck(c) => c.write(&mut w)?,
            Packet::Publish(p) => p.write(&mut w)?,
            Packet::Subscribe(s) => s.write(&mut w)?,
            Packet::SubAck(s) => s.write(&mut w)?,
            Packet::Unsubscribe(u) => u.write(&mut w)?,
            Packet::UnsubAck(u) => u.write(&mut w)?,
            _ => {}
        }
        Ok(w.position())
    }

    /// Encodes onto the end of a vector. On error the vector is left as it
    /// was: nothing half-written is ever queued for sending.
    #[cfg(feature = "alloc")]
    pub fn encode_to_vec(&self, out: &mut alloc::vec::Vec<u8>) -> Result<usize, EncodeError> {
        let len = self.encoded_len()?;
        let start = out.len();
        out.resize(start + len, 0);
        let result = self.encode(&mut out[start..]);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}
