//! PUBLISH: topic, packet id (QoS 1 and 2 only), DUP, RETAIN, payload.

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
        ((self.dup as u8) << 3) | ((self.qospid.qos() as u8) << 1) | self.retain as u8
    }

    pub(crate) fn read(flags: u8, r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let qos_bits = (flags >> 1) & 0x03;
        let qos = QoS::from_u8(qos_bits).ok_or(DecodeError::InvalidQoS(qos_bits))?;
        let topic = r.string()?;
        if !valid_topic_name(topic) {
            return Err(DecodeError::InvalidTopicName);
        }
        let qospid = match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            _ => QosPid::from_qos(qos, Pid::read(r)?),
        };
        Ok(Publish {
            dup: flags & 0x08 != 0,
            qospid,
            retain: flags & 0x01 != 0,
            topic,
            payload: r.rest(),
        })
    }

    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        let pid = if self.qospid.pid().is_some() { 2 } else { 0 };
        Ok(field_len(self.topic.len())? + pid + self.payload.len())
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

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.validate()?;
        w.string(self.topic)?;
        if let Some(pid) = self.qospid.pid() {
            pid.write(w)?;
        }
        w.bytes(self.payload)
    }
}
