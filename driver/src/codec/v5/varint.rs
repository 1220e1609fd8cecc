//! Variable byte integers (MQTT 5.0 §1.5.5): one to four bytes, seven bits
//! each, least significant group first. Used for the remaining length, the
//! property length, property identifiers and subscription identifiers. The
//! decoder refuses a fifth byte and any encoding longer than the shortest
//! one (MQTT-1.5.5-1), so every accepted value has exactly one encoding.

use super::DecodeError;
use crate::codec::Reader;

/// The largest value four bytes can carry.
pub const MAX_VARINT: u32 = 268_435_455;

/// Outcome of reading a variable byte integer from the start of a buffer
/// that may not be complete yet.
pub(crate) enum Partial {
    /// The value and the bytes it took.
    Done(u32, usize),
    /// The buffer ends inside the integer.
    Incomplete,
}

/// Reads a variable byte integer from the start of `buf`, which may end
/// inside it (a fixed header still arriving).
pub(crate) fn parse(buf: &[u8]) -> Result<Partial, DecodeError> {
    let mut r = Reader::new(buf);
    match read(&mut r) {
        Ok(value) => Ok(Partial::Done(value, buf.len() - r.remaining())),
        Err(DecodeError::UnexpectedEnd) => Ok(Partial::Incomplete),
        Err(e) => Err(e),
    }
}

/// Reads a variable byte integer inside a packet body; the body ending
/// inside it is [`DecodeError::UnexpectedEnd`].
pub(crate) fn read(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let mut value: u32 = 0;
    for i in 0..4 {
        let byte = r.u8()?;
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // A zero last byte after others: a shorter encoding exists.
            if i > 0 && byte == 0 {
                return Err(DecodeError::MalformedVarInt);
            }
            return Ok(value);
        }
    }
    Err(DecodeError::MalformedVarInt)
}

/// How many bytes the shortest encoding of `value` takes.
pub(crate) fn len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}
