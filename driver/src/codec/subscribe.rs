//! SUBSCRIBE, SUBACK and UNSUBSCRIBE: packets that carry a list of entries.

use super::list::Entry;
use super::primitives::{field_len, valid_topic_filter};
use super::{DecodeError, EncodeError, List, PacketType, Pid, QoS, Reader, Writer};

/// One SUBSCRIBE entry: a topic filter and its maximum QoS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeTopic<'a> {
    pub filter: &'a str,
    pub qos: QoS,
}

impl<'a> Entry<'a> for SubscribeTopic<'a> {
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
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.validate()?;
        w.string(self.filter)?;
        w.u8(self.qos as u8)
    }
    fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(field_len(self.filter.len())? + 1)
    }
}

/// An UNSUBSCRIBE entry is a bare topic filter.
impl<'a> Entry<'a> for &'a str {
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
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.validate()?;
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

impl<'a> Entry<'a> for SubAckCode {
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        match r.u8()? {
            0x80 => Ok(SubAckCode::Failure),
            q => QoS::from_u8(q)
                .map(SubAckCode::Granted)
                .ok_or(DecodeError::InvalidSubAckCode(q)),
        }
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
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

/// Reads the packet id and a non-empty list.
fn read_list<'a, T: Entry<'a>>(
    r: &mut Reader<'a>,
    t: PacketType,
) -> Result<(Pid, List<'a, T>), DecodeError> {
    let pid = Pid::read(r)?;
    let list = List::read(r)?;
    if list.is_empty() {
        return Err(DecodeError::EmptyList(t));
    }
    Ok((pid, list))
}

/// Checks a list before encoding: not empty, every entry valid.
fn validate_list<'a, T: Entry<'a>>(list: &List<'a, T>) -> Result<(), EncodeError> {
    if list.is_empty() {
        return Err(EncodeError::EmptyList);
    }
    list.validate()
}

fn list_body_len<'a, T: Entry<'a>>(list: &List<'a, T>) -> Result<usize, EncodeError> {
    if list.is_empty() {
        return Err(EncodeError::EmptyList);
    }
    Ok(2 + list.encoded_len()?)
}

fn write_list<'a, T: Entry<'a>>(
    pid: Pid,
    list: &List<'a, T>,
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    pid.write(w)?;
    list.write(w)
}

impl<'a> Subscribe<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let (pid, topics) = read_list(r, PacketType::Subscribe)?;
        Ok(Subscribe { pid, topics })
    }
    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        validate_list(&self.topics)
    }
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        list_body_len(&self.topics)
    }
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        write_list(self.pid, &self.topics, w)
    }
}

impl<'a> SubAck<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let (pid, codes) = read_list(r, PacketType::SubAck)?;
        Ok(SubAck { pid, codes })
    }
    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        validate_list(&self.codes)
    }
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        list_body_len(&self.codes)
    }
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        write_list(self.pid, &self.codes, w)
    }
}

impl<'a> Unsubscribe<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let (pid, topics) = read_list(r, PacketType::Unsubscribe)?;
        Ok(Unsubscribe { pid, topics })
    }
    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        validate_list(&self.topics)
    }
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        list_body_len(&self.topics)
    }
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        write_list(self.pid, &self.topics, w)
    }
}
