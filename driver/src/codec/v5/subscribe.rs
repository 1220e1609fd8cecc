//! SUBSCRIBE with subscription options (§3.8), SUBACK (§3.9), UNSUBSCRIBE
//! (§3.10) and UNSUBACK (§3.11): a packet id, properties and a non-empty
//! [`List`] of entries. The lists are the 3.1.1 codec's [`List`]; entries
//! are read and checked with version-5 errors.

use super::{DecodeError, EncodeError, PacketType, Properties, PropertyContext, ReasonCode};
use crate::codec::primitives::field_len;
use crate::codec::{valid_topic_filter, Codec, List, Pid, QoS, Reader, Writer};

/// When the server sends retained messages for a new subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum RetainHandling {
    /// At subscribe time (the default).
    #[default]
    SendAtSubscribe = 0,
    /// At subscribe time, only if the subscription did not exist yet.
    SendAtSubscribeIfNew = 1,
    /// Never.
    DoNotSend = 2,
}

/// The options byte of one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// Do not receive our own publications (not on a shared subscription).
    pub no_local: bool,
    /// Keep the RETAIN flag as published instead of clearing it.
    pub retain_as_published: bool,
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options for `qos` with every flag at its default.
    pub fn qos(qos: QoS) -> Self {
        SubscriptionOptions {
            qos,
            ..Default::default()
        }
    }

    /// The options for a byte: reserved bits 6-7 clear, retain handling not
    /// 3, QoS not 3.
    pub fn from_u8(b: u8) -> Result<Self, DecodeError> {
        let retain_handling = match (b >> 4) & 0x03 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendAtSubscribeIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(DecodeError::InvalidSubscriptionOptions(b)),
        };
        if b & 0xC0 != 0 {
            return Err(DecodeError::InvalidSubscriptionOptions(b));
        }
        let qos = QoS::from_u8(b & 0x03).ok_or(DecodeError::InvalidQoS(b & 0x03))?;
        Ok(SubscriptionOptions {
            qos,
            no_local: b & 0x04 != 0,
            retain_as_published: b & 0x08 != 0,
            retain_handling,
        })
    }

    /// The options byte.
    pub fn to_u8(self) -> u8 {
        self.qos as u8
            | (self.no_local as u8) << 2
            | (self.retain_as_published as u8) << 3
            | (self.retain_handling as u8) << 4
    }
}

/// One SUBSCRIBE entry: a topic filter and its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeTopic<'a> {
    pub filter: &'a str,
    pub options: SubscriptionOptions,
}

impl SubscribeTopic<'_> {
    fn no_local_on_shared(&self) -> bool {
        self.options.no_local && self.filter.starts_with("$share/")
    }
}

/// One entry with every version-5 rule.
impl<'a> Codec<'a> for SubscribeTopic<'a> {
    type DecodeError = DecodeError;
    type EncodeError = EncodeError;
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let filter = r.string()?;
        if !valid_topic_filter(filter) {
            return Err(DecodeError::InvalidTopicFilter);
        }
        let entry = SubscribeTopic {
            filter,
            options: SubscriptionOptions::from_u8(r.u8()?)?,
        };
        if entry.no_local_on_shared() {
            return Err(DecodeError::NoLocalOnSharedSubscription);
        }
        Ok(entry)
    }
    fn validate(&self) -> Result<(), EncodeError> {
        if !valid_topic_filter(self.filter) {
            return Err(EncodeError::InvalidTopicFilter);
        }
        if self.no_local_on_shared() {
            return Err(EncodeError::NoLocalOnSharedSubscription);
        }
        Ok(())
    }
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(self.filter)?;
        Ok(w.u8(self.options.to_u8())?)
    }
    fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(field_len(self.filter.len())? + 1)
    }
}

/// SUBSCRIBE packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribe<'a> {
    pub pid: Pid,
    /// At most one subscription identifier, and user properties.
    pub properties: Properties<'a>,
    pub topics: List<'a, SubscribeTopic<'a>>,
}

/// SUBACK packet: one reason code per requested filter, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubAck<'a> {
    pub pid: Pid,
    pub properties: Properties<'a>,
    pub codes: List<'a, ReasonCode>,
}

/// UNSUBSCRIBE packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    pub pid: Pid,
    pub properties: Properties<'a>,
    pub topics: List<'a, &'a str>,
}

/// UNSUBACK packet: one reason code per filter, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsubAck<'a> {
    pub pid: Pid,
    pub properties: Properties<'a>,
    pub codes: List<'a, ReasonCode>,
}

/// The four list packets share one layout: a packet id, properties, then a
/// non-empty list; each names its list, how an entry is read (with
/// version-5 errors) and how it is checked before writing.
macro_rules! list_packet {
    ($ty:ident, $list:ident, $read_entry:expr, $check_entry:expr) => {
        impl<'a> Codec<'a> for $ty<'a> {
            type DecodeError = DecodeError;
            type EncodeError = EncodeError;
            fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                let pid = Pid::read(r)?;
                let properties = Properties::read(r, PropertyContext::$ty)?;
                let empty = DecodeError::EmptyList(PacketType::$ty);
                let $list = List::read_non_empty(r, empty, $read_entry)?;
                Ok($ty {
                    pid,
                    properties,
                    $list,
                })
            }
            fn validate(&self) -> Result<(), EncodeError> {
                self.properties.validate(PropertyContext::$ty)?;
                self.$list.validate_non_empty($check_entry)
            }
            fn encoded_len(&self) -> Result<usize, EncodeError> {
                let len = 2 + self.properties.encoded_len()?;
                Ok(len.saturating_add(self.$list.encoded_len()?))
            }
            // The `?` turns the 3.1.1 errors of UNSUBSCRIBE's `&str`
            // entries into version-5 ones; for the others it is the identity.
            #[allow(clippy::needless_question_mark)]
            fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                self.pid.encode(w)?;
                self.properties.write(w)?;
                Ok(self.$list.encode(w)?)
            }
        }
    };
}

list_packet!(Subscribe, topics, Codec::read, Codec::validate);
list_packet!(
    Unsubscribe,
    topics,
    |r| Ok(<&str as Codec>::read(r)?),
    |t: &&str| Ok(t.validate()?)
);
list_packet!(
    SubAck,
    codes,
    |r| ReasonCode::read(r, PacketType::SubAck),
    |c: &ReasonCode| c.check(PacketType::SubAck)
);
list_packet!(
    UnsubAck,
    codes,
    |r| ReasonCode::read(r, PacketType::UnsubAck),
    |c: &ReasonCode| c.check(PacketType::UnsubAck)
);
