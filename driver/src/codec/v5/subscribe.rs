//! SUBSCRIBE with subscription options (§3.8), SUBACK (§3.9), UNSUBSCRIBE
//! (§3.10) and UNSUBACK (§3.11): a packet id, properties and a non-empty
//! [`List`] of entries. The lists reuse the 3.1.1 codec's [`List`]; the
//! version-5 rules of each entry are checked here first, with version-5
//! errors.

use super::{DecodeError, EncodeError, PacketType, Properties, PropertyContext, ReasonCode};
use crate::codec::primitives::field_len;
use crate::codec::{valid_topic_filter, Entry, List, Pid, QoS, Reader, Writer};

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

impl<'a> SubscribeTopic<'a> {
    /// Reads one entry with every version-5 rule.
    fn parse(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
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

    fn no_local_on_shared(&self) -> bool {
        self.options.no_local && self.filter.starts_with("$share/")
    }

    fn check(&self) -> Result<(), EncodeError> {
        if !valid_topic_filter(self.filter) {
            return Err(EncodeError::InvalidTopicFilter);
        }
        if self.no_local_on_shared() {
            return Err(EncodeError::NoLocalOnSharedSubscription);
        }
        Ok(())
    }
}

/// The list form. [`Subscribe`] checks each entry with
/// [`SubscribeTopic::parse`] (precise version-5 errors) before the list
/// reads them again here.
impl<'a> Entry<'a> for SubscribeTopic<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, crate::codec::DecodeError> {
        // Not reached with an invalid entry after the check in `Subscribe::read`.
        SubscribeTopic::parse(r).map_err(|_| crate::codec::DecodeError::InvalidTopicFilter)
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), crate::codec::EncodeError> {
        w.string(self.filter)?;
        w.u8(self.options.to_u8())
    }
    fn encoded_len(&self) -> Result<usize, crate::codec::EncodeError> {
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

/// The common shape: packet id, properties, then a non-empty list whose
/// entries `each` checks with version-5 errors.
fn read_list<'a, T: Entry<'a>>(
    r: &mut Reader<'a>,
    packet_type: PacketType,
    context: PropertyContext,
    mut each: impl FnMut(&mut Reader<'a>) -> Result<(), DecodeError>,
) -> Result<(Pid, Properties<'a>, List<'a, T>), DecodeError> {
    let pid = Pid::read(r)?;
    let properties = Properties::read(r, context)?;
    let raw = r.rest();
    if raw.is_empty() {
        return Err(DecodeError::EmptyList(packet_type));
    }
    let mut check = Reader::new(raw);
    while !check.is_empty() {
        each(&mut check)?;
    }
    let list = List::read(&mut Reader::new(raw))?;
    Ok((pid, properties, list))
}

/// Checks before encoding: properties, a non-empty list, each entry.
fn validate_list<'a, T: Entry<'a>>(
    properties: &Properties<'_>,
    context: PropertyContext,
    list: &List<'a, T>,
    each: impl Fn(&T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    properties.validate(context)?;
    if list.is_empty() {
        return Err(EncodeError::EmptyList);
    }
    list.iter().try_for_each(|t| each(&t))
}

fn list_body_len<'a, T: Entry<'a>>(
    properties: &Properties<'_>,
    list: &List<'a, T>,
) -> Result<usize, EncodeError> {
    let mut len = 2 + properties.encoded_len()?;
    for item in list.iter() {
        len = len.saturating_add(item.encoded_len()?);
    }
    Ok(len)
}

fn write_list<'a, T: Entry<'a>>(
    pid: Pid,
    properties: &Properties<'_>,
    list: &List<'a, T>,
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    pid.write(w)?;
    properties.write(w)?;
    for item in list.iter() {
        item.write(w)?;
    }
    Ok(())
}

fn reason_in(t: PacketType) -> impl Fn(&mut Reader<'_>) -> Result<(), DecodeError> {
    move |r| ReasonCode::read(r, t).map(drop)
}

/// The four list packets share one layout; each names its list and how an
/// entry is checked when read (with version-5 errors) and before writing.
macro_rules! list_packet {
    ($ty:ident, $list:ident, $read_entry:expr, $check_entry:expr) => {
        impl<'a> $ty<'a> {
            pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                let (pid, properties, $list) =
                    read_list(r, PacketType::$ty, PropertyContext::$ty, $read_entry)?;
                Ok($ty {
                    pid,
                    properties,
                    $list,
                })
            }
            pub(crate) fn validate(&self) -> Result<(), EncodeError> {
                validate_list(
                    &self.properties,
                    PropertyContext::$ty,
                    &self.$list,
                    $check_entry,
                )
            }
            pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
                list_body_len(&self.properties, &self.$list)
            }
            pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                write_list(self.pid, &self.properties, &self.$list, w)
            }
        }
    };
}

list_packet!(
    Subscribe,
    topics,
    |r: &mut Reader<'_>| SubscribeTopic::parse(r).map(drop),
    SubscribeTopic::check
);
list_packet!(
    Unsubscribe,
    topics,
    |r: &mut Reader<'_>| <&str as Entry>::read(r)
        .map(drop)
        .map_err(DecodeError::from),
    |t: &&str| Ok(t.validate()?)
);
list_packet!(
    SubAck,
    codes,
    reason_in(PacketType::SubAck),
    |c: &ReasonCode| c.check(PacketType::SubAck)
);
list_packet!(
    UnsubAck,
    codes,
    reason_in(PacketType::UnsubAck),
    |c: &ReasonCode| c.check(PacketType::UnsubAck)
);
