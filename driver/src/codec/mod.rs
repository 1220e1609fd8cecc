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

mod ack;
mod connack;
mod connect;
mod error;
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
pub use list::{Entry, List, ListIter};
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

    /// The flags the fixed header must carry for this type (PUBLISH excepted).
    fn required_flags(self) -> u8 {
        match self {
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
        }
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
/// is not complete yet. Rejects reserved types, wrong flags, a fifth length
/// byte, and packets larger than `max_packet_size`, before the body arrives.
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
    let mut remaining_len: usize = 0;
    let mut shift = 0;
    let mut i = 1;
    loop {
        if i > 4 {
            return Err(DecodeError::MalformedRemainingLength);
        }
        let Some(&byte) = buf.get(i) else {
            return Ok(None);
        };
        remaining_len |= ((byte & 0x7f) as usize) << shift;
        i += 1;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let header = FrameHeader {
        packet_type,
        flags,
        header_len: i,
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
    let body = &frame[header.header_len..];
    let packet = parse(header, body)?;
    Ok(Decoded::Packet { packet, len: total })
}

/// Phase two: parses a body whose header [`check`] accepted.
fn parse(header: FrameHeader, body: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let packet = match header.packet_type {
        PacketType::Connect => Packet::Connect(Connect::read(&mut r)?),
        PacketType::ConnAck => Packet::ConnAck(ConnAck::read(&mut r)?),
        PacketType::Publish => Packet::Publish(Publish::read(header.flags, &mut r)?),
        PacketType::PubAck => Packet::PubAck(PubAck(Pid::read(&mut r)?)),
        PacketType::PubRec => Packet::PubRec(PubRec(Pid::read(&mut r)?)),
        PacketType::PubRel => Packet::PubRel(PubRel(Pid::read(&mut r)?)),
        PacketType::PubComp => Packet::PubComp(PubComp(Pid::read(&mut r)?)),
        PacketType::Subscribe => Packet::Subscribe(Subscribe::read(&mut r)?),
        PacketType::SubAck => Packet::SubAck(SubAck::read(&mut r)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::read(&mut r)?),
        PacketType::UnsubAck => Packet::UnsubAck(UnsubAck(Pid::read(&mut r)?)),
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect,
    };
    r.finish(header.packet_type)?;
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
            Packet::Disconnect => PacketType::Disconnect,
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
            Packet::ConnAck(_) => 2,
            Packet::Publish(p) => p.body_len()?,
            Packet::PubAck(_)
            | Packet::PubRec(_)
            | Packet::PubRel(_)
            | Packet::PubComp(_)
            | Packet::UnsubAck(_) => 2,
            Packet::Subscribe(s) => s.body_len()?,
            Packet::SubAck(s) => s.body_len()?,
            Packet::Unsubscribe(u) => u.body_len()?,
            Packet::PingReq | Packet::PingResp | Packet::Disconnect => 0,
        };
        if len > MAX_REMAINING_LENGTH {
            return Err(EncodeError::PacketTooLarge(len));
        }
        Ok(len)
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

    /// The number of bytes [`Packet::encode`] will write, after checking
    /// the packet: when this is `Ok(n)`, `encode` into `n` bytes succeeds,
    /// and when it is an error, `encode` fails with the same error.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        self.validate()?;
        let rem = self.remaining_len()?;
        Ok(1 + length_bytes(rem) + rem)
    }

    /// Encodes the packet at the start of `buf`; returns the bytes written.
    /// On error the contents of `buf` are unspecified.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        self.validate()?;
        let rem = self.remaining_len()?;
        let total = 1 + length_bytes(rem) + rem;
        if buf.len() < total {
            return Err(EncodeError::BufferTooSmall {
                needed: total,
                available: buf.len(),
            });
        }
        let mut w = Writer::new(&mut buf[..total]);
        w.u8(((self.packet_type() as u8) << 4) | self.flags())?;
        w.remaining_length(rem)?;
        match self {
            Packet::Connect(c) => c.write(&mut w)?,
            Packet::ConnAck(c) => c.write(&mut w)?,
            Packet::Publish(p) => p.write(&mut w)?,
            Packet::PubAck(PubAck(pid))
            | Packet::PubRec(PubRec(pid))
            | Packet::PubRel(PubRel(pid))
            | Packet::PubComp(PubComp(pid))
            | Packet::UnsubAck(UnsubAck(pid)) => pid.write(&mut w)?,
            Packet::Subscribe(s) => s.write(&mut w)?,
            Packet::SubAck(s) => s.write(&mut w)?,
            Packet::Unsubscribe(u) => u.write(&mut w)?,
            Packet::PingReq | Packet::PingResp | Packet::Disconnect => {}
        }
        Ok(w.position())
    }

    /// Encodes onto the end of a vector. On error the vector is left as it
    /// was: nothing half-written is ever queued for sending.
    #[cfg(any(feature = "alloc", test))]
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

/// How many bytes the remaining-length field takes for `len`.
fn length_bytes(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}
