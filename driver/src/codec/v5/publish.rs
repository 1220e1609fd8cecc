//! PUBLISH (MQTT 5.0 §3.3): topic (empty when a topic alias stands for it),
//! packet id (QoS 1 and 2), properties, payload.

use super::{DecodeError, EncodeError, Properties, PropertyContext, PropertyId};
use crate::codec::primitives::field_len;
use crate::codec::publish::PublishFlags;
use crate::codec::{valid_topic_name, QosPid, Reader, Writer};

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

/// A topic name, or an empty one when a topic alias stands for it
/// (`has_alias`, asked only for an empty topic).
fn topic_ok(topic: &str, has_alias: impl FnOnce() -> bool) -> bool {
    if topic.is_empty() {
        has_alias()
    } else {
        valid_topic_name(topic)
    }
}

impl<'a> Publish<'a> {
    pub(crate) fn flags(&self) -> u8 {
        PublishFlags::to_u8(self.dup, self.qospid, self.retain)
    }

    /// `flags` were checked by the fixed header (QoS not 3, no DUP at QoS 0).
    pub(crate) fn read(flags: u8, r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let PublishFlags { dup, qos, retain } = PublishFlags::read(flags)?;
        let topic = r.string()?;
        let qospid = QosPid::read(qos, r)?;
        let properties = Properties::read(r, PropertyContext::Publish)?;
        if !topic_ok(topic, || properties.get(PropertyId::TopicAlias).is_some()) {
            return Err(DecodeError::InvalidTopicName);
        }
        Ok(Publish {
            dup,
            qospid,
            retain,
            topic,
            properties,
            payload: r.rest(),
        })
    }

    pub(crate) fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(field_len(self.topic.len())?
            + self.qospid.encoded_len()
            + self.properties.encoded_len()?
            + self.payload.len())
    }

    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        if self.dup && self.qospid == QosPid::AtMostOnce {
            return Err(EncodeError::DupWithQoS0);
        }
        let ids = self.properties.validated_ids(PropertyContext::Publish)?;
        if !topic_ok(self.topic, || ids.contains(PropertyId::TopicAlias)) {
            return Err(EncodeError::InvalidTopicName);
        }
        Ok(())
    }

    pub(crate) fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(self.topic)?;
        self.qospid.encode(w)?;
        self.properties.write(w)?;
        w.bytes(self.payload)?;
        Ok(())
    }
}
