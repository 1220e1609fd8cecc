//! The shape both codecs share, written once so that a fix lands once: the
//! [`Codec`] trait every wire element implements (the rustls habit:
//! `rustls/src/msgs/codec.rs`), the fixed header of every control packet
//! (type nibble, flags, remaining length), and the two phases of decoding
//! (mini-redis's `Frame::check` then `Frame::parse`): [`check`] reads only
//! the fixed header and tells "incomplete" from "invalid" cheaply, then
//! [`decode`] parses a complete frame. Encoding is the mirror image:
//! [`encoded_len`] and [`encode`] check the packet, size it and write the
//! fixed header around the body.
//!
//! The MQTT 3.1.1 codec ([`crate::codec`]) and the MQTT 5 codec
//! ([`crate::codec::v5`]) each plug in what differs through [`Version`]
//! (their packet types, packets and errors, and whether the remaining
//! length must use its shortest encoding) and [`Framed`] (their packets'
//! bodies); their public `check`, `decode`, `encoded_len` and `encode` are
//! thin wrappers over the generic functions here, so nothing is copied and
//! nothing is looked up at run time.

use super::primitives::{varint_len, Reader, Writer};
use super::{EncodeError, MAX_REMAINING_LENGTH};

/// One element of a packet with a fixed layout (a packet body, a list
/// entry, a packet identifier): how it is read, which rules the decoder
/// enforces on it (checked again before encoding, so whatever encodes
/// decodes back to the same value), how long it is and how it is written.
/// Each version reports in its own error types.
pub trait Codec<'a>: Sized {
    /// What [`Codec::read`] reports.
    type DecodeError;
    /// What [`Codec::validate`], [`Codec::encoded_len`] and
    /// [`Codec::encode`] report.
    type EncodeError;
    /// Reads and validates one element.
    fn read(r: &mut Reader<'a>) -> Result<Self, Self::DecodeError>;
    /// The rules [`Codec::read`] enforces, checked before encoding.
    fn validate(&self) -> Result<(), Self::EncodeError> {
        Ok(())
    }
    /// The number of bytes [`Codec::encode`] writes.
    fn encoded_len(&self) -> Result<usize, Self::EncodeError>;
    /// Writes the element; [`Codec::validate`] has been checked.
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Self::EncodeError>;
}

/// What the fixed header of a complete-enough buffer says (phase one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader<T> {
    pub packet_type: T,
    /// The low nibble of the first byte.
    pub flags: u8,
    /// Bytes taken by the fixed header (1 + length bytes).
    pub header_len: usize,
    /// The remaining length.
    pub remaining_len: usize,
}

impl<T> FrameHeader<T> {
    /// The length of the whole packet.
    pub fn total_len(&self) -> usize {
        self.header_len + self.remaining_len
    }
}

/// The result of decoding a byte slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<P> {
    /// The buffer holds the start of a valid packet; read more. `needed` is
    /// the total packet length when the fixed header is already complete.
    Incomplete { needed: Option<usize> },
    /// A packet, and how many bytes of the input it took.
    Packet { packet: P, len: usize },
}

/// What the frame itself can get wrong; each version turns these into its
/// own `DecodeError` variants of the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameError<T> {
    /// A type nibble the version does not define.
    ReservedPacketType(u8),
    /// Fixed-header flags other than the ones the type requires.
    InvalidFlags { packet_type: T, flags: u8 },
    /// PUBLISH flags with QoS 3.
    InvalidQoS3,
    /// DUP set on a QoS 0 PUBLISH.
    DupWithQoS0,
    /// A fifth remaining-length byte, or (where the version requires the
    /// shortest encoding) a longer one.
    MalformedLength,
    /// The packet is larger than the caller's maximum.
    PacketTooLarge { size: usize, max: usize },
    /// The body is longer than its fields.
    TrailingBytes { packet_type: T, extra: usize },
}

/// What one protocol version plugs into [`check`] and [`decode`].
pub(crate) trait Version {
    /// The version's packet types.
    type PacketType: Copy;
    /// A decoded packet, borrowing from the input.
    type Packet<'a>;
    type DecodeError: From<FrameError<Self::PacketType>>;
    /// MQTT 5 refuses a remaining length longer than its shortest encoding
    /// (MQTT-1.5.5-1); MQTT 3.1.1 accepts it.
    const SHORTEST_LENGTH_ONLY: bool;
    /// The type for a high nibble, `None` for a reserved one.
    fn packet_type(nibble: u8) -> Option<Self::PacketType>;
    /// Phase two: reads the body of a frame [`check`] accepted. Bytes it
    /// leaves unread are [`FrameError::TrailingBytes`].
    fn parse<'a>(
        header: &FrameHeader<Self::PacketType>,
        body: &mut Reader<'a>,
    ) -> Result<Self::Packet<'a>, Self::DecodeError>;
}

/// The flags the fixed header must carry for the type with this nibble, or
/// `None` for PUBLISH, whose flags are DUP, QoS and RETAIN (the same in
/// both versions: MQTT 3.1.1 §2.2.2, MQTT 5.0 §2.1.3).
pub(crate) fn required_flags(nibble: u8) -> Option<u8> {
    match nibble {
        3 => None,
        // PUBREL, SUBSCRIBE, UNSUBSCRIBE.
        6 | 8 | 10 => Some(0b0010),
        _ => Some(0),
    }
}

/// Phase one: reads the fixed header only. `Ok(None)` means the header
/// itself is not complete yet. Rejects reserved types, wrong flags, a
/// malformed remaining length, and packets larger than `max_packet_size`,
/// before the body arrives.
#[inline]
pub(crate) fn check<V: Version>(
    buf: &[u8],
    max_packet_size: usize,
) -> Result<Option<FrameHeader<V::PacketType>>, V::DecodeError> {
    let Some((&first, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let nibble = first >> 4;
    let packet_type = V::packet_type(nibble).ok_or(FrameError::ReservedPacketType(nibble))?;
    let flags = first & 0x0f;
    match required_flags(nibble) {
        None if flags & 0b0110 == 0b0110 => return Err(FrameError::InvalidQoS3.into()),
        None if flags & 0b0110 == 0 && flags & 0b1000 != 0 => {
            return Err(FrameError::DupWithQoS0.into())
        }
        Some(required) if flags != required => {
            return Err(FrameError::InvalidFlags { packet_type, flags }.into())
        }
        _ => {}
    }
    let mut r = Reader::new(rest);
    let remaining_len = match r.varint(V::SHORTEST_LENGTH_ONLY) {
        Ok(len) => len as usize,
        Err(VarIntError::End) => return Ok(None),
        Err(VarIntError::Malformed) => return Err(FrameError::MalformedLength.into()),
    };
    let header = FrameHeader {
        packet_type,
        flags,
        header_len: 1 + rest.len() - r.remaining(),
        remaining_len,
    };
    if header.total_len() > max_packet_size {
        return Err(FrameError::PacketTooLarge {
            size: header.total_len(),
            max: max_packet_size,
        }
        .into());
    }
    Ok(Some(header))
}

/// Decodes the first packet in `buf`: need more bytes, a packet and its
/// length, or a typed error. Never panics.
#[inline]
pub(crate) fn decode<V: Version>(
    buf: &[u8],
    max_packet_size: usize,
) -> Result<Decoded<V::Packet<'_>>, V::DecodeError> {
    let Some(header) = check::<V>(buf, max_packet_size)? else {
        return Ok(Decoded::Incomplete { needed: None });
    };
    let total = header.total_len();
    let Some(body) = buf.get(header.header_len..total) else {
        return Ok(Decoded::Incomplete {
            needed: Some(total),
        });
    };
    let mut r = Reader::new(body);
    let packet = V::parse(&header, &mut r)?;
    match r.remaining() {
        0 => Ok(Decoded::Packet { packet, len: total }),
        extra => Err(FrameError::TrailingBytes {
            packet_type: header.packet_type,
            extra,
        }
        .into()),
    }
}

/// Why a variable byte integer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarIntError {
    /// The input ends inside it.
    End,
    /// A fifth byte, or (when the shortest encoding is required) a longer
    /// encoding than needed.
    Malformed,
}

/// A version's packet as the encoder sees it: the first byte, and a body
/// that is checked, sized and written.
pub(crate) trait Framed {
    type EncodeError: From<EncodeError>;
    /// Type nibble and flags.
    fn first_byte(&self) -> u8;
    /// Every rule the decoder enforces.
    fn validate(&self) -> Result<(), Self::EncodeError>;
    /// The remaining length, before the limit is checked.
    fn body_len(&self) -> Result<usize, Self::EncodeError>;
    /// Writes the body; [`Framed::validate`] has been checked.
    fn write_body(&self, w: &mut Writer<'_>) -> Result<(), Self::EncodeError>;
}

/// Checks the packet and returns its remaining length.
#[inline]
fn checked_body_len<P: Framed>(p: &P) -> Result<usize, P::EncodeError> {
    p.validate()?;
    let len = p.body_len()?;
    if len > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge(len).into());
    }
    Ok(len)
}

/// A packet checked ([`Framed::validate`]) and sized once, ready to be
/// written into a buffer of [`Checked::len`] bytes: what [`encoded_len`]
/// then [`encode`] do, for a caller that sizes its buffer first, without
/// checking the packet twice.
pub(crate) struct Checked<'p, P> {
    packet: &'p P,
    /// The remaining length.
    rem: usize,
}

impl<P: Framed> Checked<'_, P> {
    /// The number of bytes [`Checked::write`] writes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        1 + varint_len(self.rem) + self.rem
    }

    /// Writes the packet at the start of `buf`; returns the bytes written.
    /// On error the contents of `buf` are unspecified.
    #[inline]
    pub(crate) fn write(&self, buf: &mut [u8]) -> Result<usize, P::EncodeError> {
        let total = self.len();
        let available = buf.len();
        let Some(frame) = buf.get_mut(..total) else {
            return Err(EncodeError::BufferTooSmall {
                needed: total,
                available,
            }
            .into());
        };
        let mut w = Writer::new(frame);
        w.u8(self.packet.first_byte())?;
        w.remaining_length(self.rem)?;
        self.packet.write_body(&mut w)?;
        Ok(w.position())
    }
}

/// Checks and sizes the packet (see [`Checked`]).
#[inline]
pub(crate) fn checked<P: Framed>(p: &P) -> Result<Checked<'_, P>, P::EncodeError> {
    Ok(Checked {
        packet: p,
        rem: checked_body_len(p)?,
    })
}

/// The number of bytes [`encode`] will write, after checking the packet:
/// when this is `Ok(n)`, `encode` into `n` bytes succeeds, and when it is
/// an error, `encode` fails with the same error.
#[inline]
pub(crate) fn encoded_len<P: Framed>(p: &P) -> Result<usize, P::EncodeError> {
    checked(p).map(|c| c.len())
}

/// Encodes the packet at the start of `buf`; returns the bytes written.
/// On error the contents of `buf` are unspecified.
#[inline]
pub(crate) fn encode<P: Framed>(p: &P, buf: &mut [u8]) -> Result<usize, P::EncodeError> {
    checked(p)?.write(buf)
}

/// Encodes onto the end of a vector. On error the vector is left as it
/// was: nothing half-written is ever queued for sending.
#[cfg(any(feature = "alloc", test))]
pub(crate) fn encode_to_vec<P: Framed>(
    p: &P,
    out: &mut alloc::vec::Vec<u8>,
) -> Result<usize, P::EncodeError> {
    let packet = checked(p)?;
    let start = out.len();
    out.resize(start + packet.len(), 0);
    let result = packet.write(&mut out[start..]);
    if result.is_err() {
        out.truncate(start);
    }
    result
}
