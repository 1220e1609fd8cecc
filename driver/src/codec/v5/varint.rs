//! Variable byte integers (MQTT 5.0 §1.5.5) inside packet bodies: the
//! property length, property identifiers and subscription identifiers. The
//! shared reader ([`Reader::varint`]) refuses a fifth byte and, as MQTT 5
//! asks (MQTT-1.5.5-1), any encoding longer than the shortest one, so every
//! accepted value has exactly one encoding; the fixed header's remaining
//! length is read by the same code in the shared frame.

use super::DecodeError;
use crate::codec::frame::VarIntError;
use crate::codec::Reader;

pub(crate) use crate::codec::primitives::varint_len as len;

/// The largest value four bytes can carry.
pub const MAX_VARINT: u32 = 268_435_455;

/// Reads a variable byte integer inside a packet body; the body ending
/// inside it is [`DecodeError::UnexpectedEnd`].
#[inline]
pub(crate) fn read(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    r.varint(true).map_err(|e| match e {
        VarIntError::End => DecodeError::UnexpectedEnd,
        VarIntError::Malformed => DecodeError::MalformedVarInt,
    })
}
