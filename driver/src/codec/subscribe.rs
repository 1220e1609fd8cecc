//! SUBSCRIBE, SUBACK and UNSUBSCRIBE: packets that carry a list of entries.

use super::frame::Codec;
use super::primitives::{field_len, valid_topic_filter};
use super::{DecodeError, EncodeError, List, PacketType, Pid, QoS, Reader, Writer};

/// One SUBSCRIBE entry: a topic filter and its maximum QoS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeTopic<'a> {
    pub filter: &'a str,
    pub qos: QoS,
}

impl<'a> Codec<'a> for SubscribeTopic<'a> {
    type DecodeError = DecodeError;
    type EncodeError = EncodeError;
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let filter = r.string()?;
        if !valid_topic_filter(filter) {
            return Err(DecodeError::InvalidTopicFilter);
        }
        let q = r.u8()?;
        // The upper six bits are reserved and must be zero.
        let qos = QoS::from_u8(q).ok_or(DecodeError::InvalidQoS(q))?;
        Ok(SubscribeTopic { filter, qos })
    }
    fn validate(&self) -> Result<(), EncodeError> {
        if !valid_topic_filter(self.filter) {
            return Err(EncodeError::InvalidTopicFilter);
        }
        Ok(())
    }
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(self.filter)?;
        w.u8(self.qos as u8)
    }
    fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(field_len(self.filter.len())? + 1)
    }
}

/// An UNSUBSCRIBE entry is a bare topic filter.
impl<'a> Codec<'a> for &'a str {
    type DecodeError = DecodeError;
    type EncodeError = EncodeError;
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let filter = r.string()?;
        if !valid_topic_filter(filter) {
            return Err(DecodeError::InvalidTopicFilter);
        }
        Ok(filter)
    }
    fn validate(&self) -> Result<(), EncodeError> {
        if !valid_topic_filter(self) {
            return Err(EncodeError::InvalidTopicFilter);
        }
        Ok(())
    }
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(self)
    }
    fn encoded_len(&self) -> Result<usize, EncodeError> {
        field_len(str::len(self))
    }
}

/// A SUBACK return code: the granted QoS or failure (0x80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubAckCode {
    Granted(QoS),
    Failure,
}

impl<'a> Codec<'a> for SubAckCode {
    type DecodeError = DecodeError;
    type EncodeError = EncodeError;
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        match r.u8()? {
            0x80 => Ok(SubAckCode::Failure),
            q => QoS::from_u8(q)
                .map(SubAckCode::Granted)
                .ok_or(DecodeError::InvalidSubAckCode(q)),
        }
    }
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(match self {
            SubAckCode::Granted(q) => *q as u8,
            SubAckCode::Failure => 0x80,
        })
    }
    fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(1)
    }
}

/// SUBSCRIBE packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribe<'a> {
    pub pid: Pid,
    pub topics: List<'a, SubscribeTopic<'a>>,
}

/// SUBACK packet: one code per requested filter, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubAck<'a> {
    pub pid: Pid,
    pub codes: List<'a, SubAckCode>,
}

/// UNSUBSCRIBE packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    pub pid: Pid,
    pub topics: List<'a, &'a str>,
}

/// The three list packets share one layout: a packet id, then a non-empty
/// list; `$list` names it.
macro_rules! list_packet {
    ($ty:ident, $list:ident) => {
        impl<'a> Codec<'a> for $ty<'a> {
            type DecodeError = DecodeError;
            type EncodeError = EncodeError;
            fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                let pid = Pid::read(r)?;
                let empty = DecodeError::EmptyList(PacketType::$ty);
                let $list = List::read_non_empty(r, empty, Codec::read)?;
                Ok($ty { pid, $list })
            }
            fn validate(&self) -> Result<(), EncodeError> {
                self.$list.validate_non_empty(Codec::validate)
            }
            fn encoded_len(&self) -> Result<usize, EncodeError> {
                Ok(2 + self.$list.encoded_len()?)
            }
            fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                self.pid.encode(w)?;
                self.$list.encode(w)
            }
        }
    };
}

list_packet!(Subscribe, topics);
list_packet!(SubAck, codes);
list_packet!(Unsubscribe, topics);
