//! Packets that end in a reason code and properties, with the short forms
//! the specification allows: PUBACK, PUBREC, PUBREL and PUBCOMP (§3.4-3.7:
//! remaining length 2 means success without properties, 3 a reason code
//! without properties), DISCONNECT (§3.14: 0 and 1 likewise) and AUTH
//! (§3.15: 0 means success; otherwise code and properties). The encoder
//! always writes the shortest form, so a decoded long form with nothing in
//! it re-encodes shorter and decodes to the same packet.

use super::{DecodeError, EncodeError, PacketType, Properties, PropertyContext, ReasonCode};
use crate::codec::{Pid, Reader, Writer};

/// PUBACK, PUBREC, PUBREL or PUBCOMP: which one is the [`Packet`]
/// variant that holds it.
///
/// [`Packet`]: super::Packet
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack<'a> {
    pub pid: Pid,
    pub reason: ReasonCode,
    pub properties: Properties<'a>,
}

/// DISCONNECT packet; [`ReasonCode::Success`] is "normal disconnection".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect<'a> {
    pub reason: ReasonCode,
    pub properties: Properties<'a>,
}

/// AUTH packet (enhanced authentication).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auth<'a> {
    pub reason: ReasonCode,
    pub properties: Properties<'a>,
}

impl Default for Disconnect<'_> {
    /// A normal disconnection without properties.
    fn default() -> Self {
        Disconnect {
            reason: ReasonCode::Success,
            properties: Properties::EMPTY,
        }
    }
}

impl<'a> Ack<'a> {
    /// A success without properties (the two-byte form).
    pub fn success(pid: Pid) -> Self {
        Ack {
            pid,
            reason: ReasonCode::Success,
            properties: Properties::EMPTY,
        }
    }
}

/// The tail shared by all of these packets: a reason code and properties,
/// either of which the short forms leave out.
#[derive(Clone, Copy)]
pub(crate) struct Tail<'a> {
    pub reason: ReasonCode,
    pub properties: Properties<'a>,
    pub packet_type: PacketType,
    /// PUB* and DISCONNECT may end after the reason code; AUTH may not.
    pub reason_only_form: bool,
}

impl PacketType {
    fn tail_context(self) -> PropertyContext {
        match self {
            PacketType::PubAck => PropertyContext::PubAck,
            PacketType::PubRec => PropertyContext::PubRec,
            PacketType::PubRel => PropertyContext::PubRel,
            PacketType::PubComp => PropertyContext::PubComp,
            PacketType::Auth => PropertyContext::Auth,
            _ => PropertyContext::Disconnect,
        }
    }
}

impl<'a> Tail<'a> {
    pub(crate) fn new(
        packet_type: PacketType,
        reason: ReasonCode,
        properties: Properties<'a>,
    ) -> Self {
        Tail {
            reason,
            properties,
            packet_type,
            reason_only_form: packet_type != PacketType::Auth,
        }
    }

    pub(crate) fn read(packet_type: PacketType, r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let mut tail = Tail::new(packet_type, ReasonCode::Success, Properties::EMPTY);
        if r.is_empty() {
            return Ok(tail);
        }
        tail.reason = ReasonCode::read(r, packet_type)?;
        if r.is_empty() && tail.reason_only_form {
            return Ok(tail);
        }
        tail.properties = Properties::read(r, packet_type.tail_context())?;
        Ok(tail)
    }

    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        self.reason.check(self.packet_type)?;
        self.properties.validate(self.packet_type.tail_context())
    }

    pub(crate) fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(if self.properties.is_empty() {
            match (self.reason, self.reason_only_form) {
                (ReasonCode::Success, _) => 0,
                (_, true) => 1,
                (_, false) => 2,
            }
        } else {
            1 + self.properties.encoded_len()?
        })
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match self.encoded_len()? {
            0 => Ok(()),
            1 => Ok(w.u8(self.reason as u8)?),
            _ => {
                w.u8(self.reason as u8)?;
                self.properties.write(w)
            }
        }
    }
}
