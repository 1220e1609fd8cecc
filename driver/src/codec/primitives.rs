//! The building blocks every packet of both versions is made of: a
//! bounds-checked reader and writer, variable byte integers, packet
//! identifiers, QoS levels, UTF-8 strings and topic checks.

use core::num::NonZeroU16;

use super::frame::{Codec, VarIntError};
use super::{DecodeError, EncodeError};

/// A packet identifier: 1..=65535 (0 is not a valid identifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid(NonZeroU16);

impl Pid {
    /// The identifier for `n`, or `None` for 0.
    pub const fn new(n: u16) -> Option<Self> {
        match NonZeroU16::new(n) {
            Some(n) => Some(Pid(n)),
            None => None,
        }
    }

    /// The identifier as a number.
    pub const fn get(self) -> u16 {
        self.0.get()
    }

    /// The identifier that follows this one, wrapping from 65535 to 1.
    pub fn next(self) -> Self {
        match self.0.get().checked_add(1) {
            Some(n) => Pid::new(n).unwrap_or(Pid::MIN),
            None => Pid::MIN,
        }
    }

    /// Identifier 1.
    pub const MIN: Pid = Pid(NonZeroU16::MIN);
}

/// Two bytes, never 0.
impl<'a> Codec<'a> for Pid {
    type DecodeError = DecodeError;
    type EncodeError = EncodeError;
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Pid::new(r.u16()?).ok_or(DecodeError::ZeroPacketId)
    }
    fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(2)
    }
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(self.get())
    }
}

impl core::fmt::Display for Pid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// Quality of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum QoS {
    #[default]
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    /// The level for 0, 1 or 2.
    pub fn from_u8(n: u8) -> Option<Self> {
        match n {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// Reads fields from a packet body; every read is bounds-checked.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::UnexpectedEnd)?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::UnexpectedEnd)?;
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A variable byte integer (MQTT 3.1.1 §2.2.3, MQTT 5.0 §1.5.5): one
    /// to four bytes, seven bits each, least significant group first. A
    /// fifth byte is malformed; so is, with `shortest_only` (MQTT 5,
    /// MQTT-1.5.5-1), an encoding longer than needed, so that every
    /// accepted value has exactly one encoding.
    #[inline]
    pub(crate) fn varint(&mut self, shortest_only: bool) -> Result<u32, VarIntError> {
        let mut value: u32 = 0;
        for i in 0..4 {
            let byte = self.u8().map_err(|_| VarIntError::End)?;
            value |= u32::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                // A zero last byte after others: a shorter encoding exists.
                if shortest_only && i > 0 && byte == 0 {
                    return Err(VarIntError::Malformed);
                }
                return Ok(value);
            }
        }
        Err(VarIntError::Malformed)
    }

    /// A length-prefixed binary field.
    pub(crate) fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()? as usize;
        self.take(len)
    }

    /// A length-prefixed UTF-8 string without U+0000.
    pub(crate) fn string(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.binary()?;
        let s = core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidString)?;
        if s.contains('\0') {
            return Err(DecodeError::InvalidString);
        }
        Ok(s)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
}

/// Writes fields into a slice sized by `encoded_len`; never panics.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> Result<(), EncodeError> {
        let capacity = self.buf.len();
        let end = self.pos.saturating_add(b.len());
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferTooSmall {
                needed: end,
                available: capacity,
            })?;
        dst.copy_from_slice(b);
        self.pos = end;
        Ok(())
    }

    pub(crate) fn u8(&mut self, v: u8) -> Result<(), EncodeError> {
        self.bytes(&[v])
    }

    pub(crate) fn u16(&mut self, v: u16) -> Result<(), EncodeError> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> Result<(), EncodeError> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn binary(&mut self, b: &[u8]) -> Result<(), EncodeError> {
        let len = u16::try_from(b.len()).map_err(|_| EncodeError::FieldTooLong(b.len()))?;
        self.u16(len)?;
        self.bytes(b)
    }

    pub(crate) fn string(&mut self, s: &str) -> Result<(), EncodeError> {
        if s.contains('\0') {
            return Err(EncodeError::InvalidString);
        }
        self.binary(s.as_bytes())
    }

    /// A variable byte integer in its shortest encoding ([`varint_len`]
    /// bytes): the remaining length, and MQTT 5's property lengths and
    /// identifiers.
    pub(crate) fn remaining_length(&mut self, mut len: usize) -> Result<(), EncodeError> {
        loop {
            let mut byte = (len % 128) as u8;
            len /= 128;
            if len > 0 {
                byte |= 0x80;
            }
            self.u8(byte)?;
            if len == 0 {
                return Ok(());
            }
        }
    }
}

/// How many bytes the shortest encoding of a variable byte integer takes.
pub(crate) fn varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// The encoded size of a length-prefixed field, checking its length.
pub(crate) fn field_len(len: usize) -> Result<usize, EncodeError> {
    if len > u16::MAX as usize {
        return Err(EncodeError::FieldTooLong(len));
    }
    Ok(2 + len)
}

/// A topic name as PUBLISH carries it: non-empty, no wildcards.
pub fn valid_topic_name(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#']) && !topic.contains('\0')
}

/// A topic filter as SUBSCRIBE carries it: non-empty; `#` only as the whole
/// last level; `+` only as a whole level.
pub fn valid_topic_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') {
        return false;
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        if level.contains('#') && (level != "#" || !last) {
            return false;
        }
        if level.contains('+') && level != "+" {
            return false;
        }
    }
    true
}
