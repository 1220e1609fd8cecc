//! PUBLISH (MQTT 5.0 §3.3): topic (empty when a topic alias stands for it),
//! packet id (QoS 1 and 2), properties, payload.

use super::{DecodeError, EncodeError, Properties, PropertyContext, PropertyId};
use crate::codec::primitives::field_len;
use crate::codec::{valid_topic_name, Pid, QoS, QosPid, Reader, Writer};

/// PUBLISH packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a> {
    /// Set on resends; never with QoS 0.
    pub dup: bool,
    pub qospid: QosPid,
    pub retain: bool,
    /// Empty only with a Topic Alias property (the alias names the topic).
    pub topic: &'a str,
    pub properties: Properties<'a>,
    pub payload: &'a [u8],
}

/// A topic name, or an empty one when a topic alias stands for it.
fn topic_ok(topic: &str, properties: &Properties<'_>) -> bool {
    if topic.is_empty() {
        properties.get(PropertyId::TopicAlias).is_some()
    } else {
        valid_topic_name(topic)
    }
}

impl<'a> Publish<'a> {
    pub(crate) fn flags(&self) -> u8 {
        ((self.dup as u8) << 3) | ((self.qospid.qos() as u8) << 1) | self.retain as u8
    }

    /// `flags` were checked by the fixed header (QoS not 3, no DUP at QoS 0).
    pub(crate) fn read(flags: u8, r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let qos_bits = (flags >> 1) & 0x03;
        let qos = QoS::from_u8(qos_bits).ok_or(DecodeError::InvalidQoS(qos_bits))?;
        let topic = r.string()?;
        let qospid = match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            _ => QosPid::from_qos(qos, Pid::read(r)?),
        };
        let properties = Properties::read(r, PropertyContext::Publish)?;
        if !topic_ok(topic, &properties) {
            return Err(DecodeError::InvalidTopicName);
        }
        Ok(Publish {
            dup: flags & 0x08 != 0,
            qospid,
            retain: flags & 0x01 != 0,
            topic,
            properties,
            payload: r.rest(),
        })
    }

    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        let pid = if self.qospid.pid().is_some() { 2 } else { 0 };
        Ok(
            field_len(self.topic.len())?
                + pid
                + self.properties.encoded_len()?
                + self.payload.len(),
        )
    }

    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        if self.dup && self.qospid == QosPid::AtMostOnce {
            return Err(EncodeError::DupWithQoS0);
        }
        self.properties.validate(PropertyContext::Publish)?;
        if !topic_ok(self.topic, &self.properties) {
            return Err(EncodeError::InvalidTopicName);
        }
        Ok(())
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(self.topic)?;
        if let Some(pid) = self.qospid.pid() {
            pid.write(w)?;
        }
        self.properties.write(w)?;
        w.bytes(self.payload)?;
        Ok(())
    }
}
