//! PUBLISH: topic, packet id (QoS 1 and 2 only), DUP, RETAIN, payload.

use super::frame::Codec;
use super::primitives::{field_len, valid_topic_name};
use super::{DecodeError, EncodeError, Pid, QoS, Reader, Writer};

/// QoS and packet id together: QoS 0 has no id, QoS 1 and 2 always one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosPid {
    AtMostOnce,
    AtLeastOnce(Pid),
    ExactlyOnce(Pid),
}

impl QosPid {
    /// The QoS level.
    pub fn qos(self) -> QoS {
        match self {
            QosPid::AtMostOnce => QoS::AtMostOnce,
            QosPid::AtLeastOnce(_) => QoS::AtLeastOnce,
            QosPid::ExactlyOnce(_) => QoS::ExactlyOnce,
        }
    }

    /// The packet id, if the QoS has one.
    pub fn pid(self) -> Option<Pid> {
        match self {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(p) | QosPid::ExactlyOnce(p) => Some(p),
        }
    }

    /// Combines a QoS with an id (ignored for QoS 0).
    pub fn from_qos(qos: QoS, pid: Pid) -> Self {
        match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(pid),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(pid),
        }
    }

    /// Reads the packet id a PUBLISH carries at `qos` 1 and 2.
    pub(crate) fn read(qos: QoS, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            _ => QosPid::from_qos(qos, Pid::read(r)?),
        })
    }

    /// Bytes of the packet id: 0 at QoS 0, else 2.
    pub(crate) fn encoded_len(self) -> usize {
        if self.pid().is_some() {
            2
        } else {
            0
        }
    }

    pub(crate) fn encode(self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match self.pid() {
            Some(pid) => pid.encode(w),
            None => Ok(()),
        }
    }
}

/// A PUBLISH's fixed-header flags, the same in both versions: DUP, QoS,
/// RETAIN. The frame refused QoS 3 and DUP at QoS 0 already.
pub(crate) struct PublishFlags {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
}

impl PublishFlags {
    pub(crate) fn read(flags: u8) -> Result<Self, DecodeError> {
        let qos_bits = (flags >> 1) & 0x03;
        Ok(PublishFlags {
            dup: flags & 0x08 != 0,
            qos: QoS::from_u8(qos_bits).ok_or(DecodeError::InvalidQoS(qos_bits))?,
            retain: flags & 0x01 != 0,
        })
    }

    pub(crate) fn to_u8(dup: bool, qospid: QosPid, retain: bool) -> u8 {
        ((dup as u8) << 3) | ((qospid.qos() as u8) << 1) | retain as u8
    }
}

/// PUBLISH packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a> {
    /// Set on resends; never with QoS 0 (encoding refuses it with
    /// [`EncodeError::DupWithQoS0`]).
    pub dup: bool,
    pub qospid: QosPid,
    pub retain: bool,
    pub topic: &'a str,
    pub payload: &'a [u8],
}

impl<'a> Publish<'a> {
    pub(crate) fn flags(&self) -> u8 {
        PublishFlags::to_u8(self.dup, self.qospid, self.retain)
    }

    pub(crate) fn read(flags: u8, r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let PublishFlags { dup, qos, retain } = PublishFlags::read(flags)?;
        let topic = r.string()?;
        if !valid_topic_name(topic) {
            return Err(DecodeError::InvalidTopicName);
        }
        let qospid = QosPid::read(qos, r)?;
        Ok(Publish {
            dup,
            qospid,
            retain,
            topic,
            payload: r.rest(),
        })
    }

    pub(crate) fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(field_len(self.topic.len())? + self.qospid.encoded_len() + self.payload.len())
    }

    /// The rules the decoder enforces. DUP on QoS 0 is refused rather than
    /// silently cleared: whatever encodes decodes back to the same packet.
    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        if self.dup && self.qospid == QosPid::AtMostOnce {
            return Err(EncodeError::DupWithQoS0);
        }
        if !valid_topic_name(self.topic) {
            return Err(EncodeError::InvalidTopicName);
        }
        Ok(())
    }

    pub(crate) fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(self.topic)?;
        self.qospid.encode(w)?;
        w.bytes(self.payload)
    }
}
