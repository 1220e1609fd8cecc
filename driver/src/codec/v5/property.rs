//! Properties (MQTT 5.0 §2.2.2): the 27 identifiers, their value types,
//! which packets may carry each (§2.2.2.2), and a [`Properties`] block that
//! is either borrowed raw bytes already validated by the decoder or a slice
//! of typed properties given to the encoder. The rules (known identifier,
//! allowed in this packet, at most once except User Property and, in
//! PUBLISH, Subscription Identifier, value in range) are one function,
//! [`Checker`], used by both directions.

use core::fmt;

use super::{varint, DecodeError, EncodeError, PropertyError};
use crate::codec::primitives::field_len;
use crate::codec::{valid_topic_name, Reader, Writer};

/// Where a property block sits: a packet, or the will inside CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum PropertyContext {
    Connect = 0,
    Will,
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

impl PropertyContext {
    /// The upper-case packet name ("will properties" for the will).
    pub fn name(self) -> &'static str {
        use PropertyContext::*;
        match self {
            Connect => "CONNECT",
            Will => "will properties",
            ConnAck => "CONNACK",
            Publish => "PUBLISH",
            PubAck => "PUBACK",
            PubRec => "PUBREC",
            PubRel => "PUBREL",
            PubComp => "PUBCOMP",
            Subscribe => "SUBSCRIBE",
            SubAck => "SUBACK",
            Unsubscribe => "UNSUBSCRIBE",
            UnsubAck => "UNSUBACK",
            Disconnect => "DISCONNECT",
            Auth => "AUTH",
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u8
    }
}

/// Bit masks of contexts, for the table below.
mod ctx {
    use super::PropertyContext as C;
    pub const CONNECT: u16 = C::Connect.bit();
    pub const WILL: u16 = C::Will.bit();
    pub const CONNACK: u16 = C::ConnAck.bit();
    pub const PUBLISH: u16 = C::Publish.bit();
    pub const PUB_ACKS: u16 =
        C::PubAck.bit() | C::PubRec.bit() | C::PubRel.bit() | C::PubComp.bit();
    pub const SUBSCRIBE: u16 = C::Subscribe.bit();
    pub const SUBACK: u16 = C::SubAck.bit();
    pub const UNSUBSCRIBE: u16 = C::Unsubscribe.bit();
    pub const UNSUBACK: u16 = C::UnsubAck.bit();
    pub const DISCONNECT: u16 = C::Disconnect.bit();
    pub const AUTH: u16 = C::Auth.bit();
    pub const ALL: u16 = CONNECT
        | WILL
        | CONNACK
        | PUBLISH
        | PUB_ACKS
        | SUBSCRIBE
        | SUBACK
        | UNSUBSCRIBE
        | UNSUBACK
        | DISCONNECT
        | AUTH;
}

macro_rules! property_ids {
    ($($name:ident = $id:literal, $text:literal, $contexts:expr;)*) => {
        /// A property identifier (MQTT 5.0 §2.2.2.2).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum PropertyId {
            $($name = $id,)*
        }

        impl PropertyId {
            /// The identifier for a number, if MQTT 5.0 defines it.
            pub fn from_u32(id: u32) -> Option<Self> {
                match id {
                    $($id => Some(PropertyId::$name),)*
                    _ => None,
                }
            }

            /// The specification's name.
            pub fn name(self) -> &'static str {
                match self {
                    $(PropertyId::$name => $text,)*
                }
            }

            fn contexts(self) -> u16 {
                match self {
                    $(PropertyId::$name => $contexts,)*
                }
            }

            /// All 27 identifiers, in numeric order.
            pub const ALL: &'static [PropertyId] = &[$(PropertyId::$name,)*];
        }
    };
}

use ctx::*;

property_ids! {
    PayloadFormatIndicator = 0x01, "Payload Format Indicator", PUBLISH | WILL;
    MessageExpiryInterval = 0x02, "Message Expiry Interval", PUBLISH | WILL;
    ContentType = 0x03, "Content Type", PUBLISH | WILL;
    ResponseTopic = 0x08, "Response Topic", PUBLISH | WILL;
    CorrelationData = 0x09, "Correlation Data", PUBLISH | WILL;
    SubscriptionIdentifier = 0x0B, "Subscription Identifier", PUBLISH | SUBSCRIBE;
    SessionExpiryInterval = 0x11, "Session Expiry Interval", CONNECT | CONNACK | DISCONNECT;
    AssignedClientIdentifier = 0x12, "Assigned Client Identifier", CONNACK;
    ServerKeepAlive = 0x13, "Server Keep Alive", CONNACK;
    AuthenticationMethod = 0x15, "Authentication Method", CONNECT | CONNACK | AUTH;
    AuthenticationData = 0x16, "Authentication Data", CONNECT | CONNACK | AUTH;
    RequestProblemInformation = 0x17, "Request Problem Information", CONNECT;
    WillDelayInterval = 0x18, "Will Delay Interval", WILL;
    RequestResponseInformation = 0x19, "Request Response Information", CONNECT;
    ResponseInformation = 0x1A, "Response Information", CONNACK;
    ServerReference = 0x1C, "Server Reference", CONNACK | DISCONNECT;
    ReasonString = 0x1F, "Reason String",
        CONNACK | PUB_ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH;
    ReceiveMaximum = 0x21, "Receive Maximum", CONNECT | CONNACK;
    TopicAliasMaximum = 0x22, "Topic Alias Maximum", CONNECT | CONNACK;
    TopicAlias = 0x23, "Topic Alias", PUBLISH;
    MaximumQoS = 0x24, "Maximum QoS", CONNACK;
    RetainAvailable = 0x25, "Retain Available", CONNACK;
    UserProperty = 0x26, "User Property", ALL;
    MaximumPacketSize = 0x27, "Maximum Packet Size", CONNECT | CONNACK;
    WildcardSubscriptionAvailable = 0x28, "Wildcard Subscription Available", CONNACK;
    SubscriptionIdentifierAvailable = 0x29, "Subscription Identifier Available", CONNACK;
    SharedSubscriptionAvailable = 0x2A, "Shared Subscription Available", CONNACK;
}

impl PropertyId {
    /// Whether a packet of this context may carry the property.
    pub fn allowed_in(self, context: PropertyContext) -> bool {
        self.contexts() & context.bit() != 0
    }

    /// Whether the property may appear more than once in this context.
    pub fn repeatable_in(self, context: PropertyContext) -> bool {
        self == PropertyId::UserProperty
            || (self == PropertyId::SubscriptionIdentifier && context == PropertyContext::Publish)
    }
}

impl fmt::Display for PropertyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One property with its value. Strings and binary data borrow from the
/// decoded input (or from the caller, for encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property<'a> {
    /// 0: unspecified bytes; 1: UTF-8 (the codec does not check the payload).
    PayloadFormatIndicator(u8),
    /// Seconds.
    MessageExpiryInterval(u32),
    ContentType(&'a str),
    /// A topic name (no wildcards).
    ResponseTopic(&'a str),
    CorrelationData(&'a [u8]),
    /// 1..=268,435,455.
    SubscriptionIdentifier(u32),
    /// Seconds; 0xFFFFFFFF never expires.
    SessionExpiryInterval(u32),
    AssignedClientIdentifier(&'a str),
    /// Seconds.
    ServerKeepAlive(u16),
    AuthenticationMethod(&'a str),
    AuthenticationData(&'a [u8]),
    /// 0 or 1.
    RequestProblemInformation(u8),
    /// Seconds.
    WillDelayInterval(u32),
    /// 0 or 1.
    RequestResponseInformation(u8),
    ResponseInformation(&'a str),
    ServerReference(&'a str),
    ReasonString(&'a str),
    /// Not 0.
    ReceiveMaximum(u16),
    TopicAliasMaximum(u16),
    /// Not 0.
    TopicAlias(u16),
    /// 0 or 1 (absent means 2).
    MaximumQoS(u8),
    /// 0 or 1.
    RetainAvailable(u8),
    /// A name and a value; may repeat, and the order is kept.
    UserProperty(&'a str, &'a str),
    /// Not 0.
    MaximumPacketSize(u32),
    /// 0 or 1.
    WildcardSubscriptionAvailable(u8),
    /// 0 or 1.
    SubscriptionIdentifierAvailable(u8),
    /// 0 or 1.
    SharedSubscriptionAvailable(u8),
}

/// How a property's value is laid out on the wire.
#[derive(Clone, Copy)]
enum Value<'a> {
    Byte(u8),
    U16(u16),
    U32(u32),
    VarInt(u32),
    Str(&'a str),
    Bin(&'a [u8]),
    Pair(&'a str, &'a str),
}

impl<'a> Property<'a> {
    /// The property's identifier.
    pub fn id(&self) -> PropertyId {
        self.parts().0
    }

    fn parts(&self) -> (PropertyId, Value<'a>) {
        use Property as P;
        use PropertyId as I;
        use Value::*;
        match *self {
            P::PayloadFormatIndicator(v) => (I::PayloadFormatIndicator, Byte(v)),
            P::MessageExpiryInterval(v) => (I::MessageExpiryInterval, U32(v)),
            P::ContentType(v) => (I::ContentType, Str(v)),
            P::ResponseTopic(v) => (I::ResponseTopic, Str(v)),
            P::CorrelationData(v) => (I::CorrelationData, Bin(v)),
            P::SubscriptionIdentifier(v) => (I::SubscriptionIdentifier, VarInt(v)),
            P::SessionExpiryInterval(v) => (I::SessionExpiryInterval, U32(v)),
            P::AssignedClientIdentifier(v) => (I::AssignedClientIdentifier, Str(v)),
            P::ServerKeepAlive(v) => (I::ServerKeepAlive, U16(v)),
            P::AuthenticationMethod(v) => (I::AuthenticationMethod, Str(v)),
            P::AuthenticationData(v) => (I::AuthenticationData, Bin(v)),
            P::RequestProblemInformation(v) => (I::RequestProblemInformation, Byte(v)),
            P::WillDelayInterval(v) => (I::WillDelayInterval, U32(v)),
            P::RequestResponseInformation(v) => (I::RequestResponseInformation, Byte(v)),
            P::ResponseInformation(v) => (I::ResponseInformation, Str(v)),
            P::ServerReference(v) => (I::ServerReference, Str(v)),
            P::ReasonString(v) => (I::ReasonString, Str(v)),
            P::ReceiveMaximum(v) => (I::ReceiveMaximum, U16(v)),
            P::TopicAliasMaximum(v) => (I::TopicAliasMaximum, U16(v)),
            P::TopicAlias(v) => (I::TopicAlias, U16(v)),
            P::MaximumQoS(v) => (I::MaximumQoS, Byte(v)),
            P::RetainAvailable(v) => (I::RetainAvailable, Byte(v)),
            P::UserProperty(k, v) => (I::UserProperty, Pair(k, v)),
            P::MaximumPacketSize(v) => (I::MaximumPacketSize, U32(v)),
            P::WildcardSubscriptionAvailable(v) => (I::WildcardSubscriptionAvailable, Byte(v)),
            P::SubscriptionIdentifierAvailable(v) => (I::SubscriptionIdentifierAvailable, Byte(v)),
            P::SharedSubscriptionAvailable(v) => (I::SharedSubscriptionAvailable, Byte(v)),
        }
    }

    /// Reads one property (identifier and value); the rules of the packet
    /// are checked by the [`Checker`].
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        use Property as P;
        use PropertyId as I;
        let raw = varint::read(r)?;
        let id = PropertyId::from_u32(raw).ok_or(PropertyError::Unknown(raw))?;
        Ok(match id {
            I::PayloadFormatIndicator => P::PayloadFormatIndicator(r.u8()?),
            I::MessageExpiryInterval => P::MessageExpiryInterval(r.u32()?),
            I::ContentType => P::ContentType(r.string()?),
            I::ResponseTopic => P::ResponseTopic(r.string()?),
            I::CorrelationData => P::CorrelationData(r.binary()?),
            I::SubscriptionIdentifier => P::SubscriptionIdentifier(varint::read(r)?),
            I::SessionExpiryInterval => P::SessionExpiryInterval(r.u32()?),
            I::AssignedClientIdentifier => P::AssignedClientIdentifier(r.string()?),
            I::ServerKeepAlive => P::ServerKeepAlive(r.u16()?),
            I::AuthenticationMethod => P::AuthenticationMethod(r.string()?),
            I::AuthenticationData => P::AuthenticationData(r.binary()?),
            I::RequestProblemInformation => P::RequestProblemInformation(r.u8()?),
            I::WillDelayInterval => P::WillDelayInterval(r.u32()?),
            I::RequestResponseInformation => P::RequestResponseInformation(r.u8()?),
            I::ResponseInformation => P::ResponseInformation(r.string()?),
            I::ServerReference => P::ServerReference(r.string()?),
            I::ReasonString => P::ReasonString(r.string()?),
            I::ReceiveMaximum => P::ReceiveMaximum(r.u16()?),
            I::TopicAliasMaximum => P::TopicAliasMaximum(r.u16()?),
            I::TopicAlias => P::TopicAlias(r.u16()?),
            I::MaximumQoS => P::MaximumQoS(r.u8()?),
            I::RetainAvailable => P::RetainAvailable(r.u8()?),
            I::UserProperty => P::UserProperty(r.string()?, r.string()?),
            I::MaximumPacketSize => P::MaximumPacketSize(r.u32()?),
            I::WildcardSubscriptionAvailable => P::WildcardSubscriptionAvailable(r.u8()?),
            I::SubscriptionIdentifierAvailable => P::SubscriptionIdentifierAvailable(r.u8()?),
            I::SharedSubscriptionAvailable => P::SharedSubscriptionAvailable(r.u8()?),
        })
    }

    /// Whether the value is one the specification allows.
    fn value_valid(&self) -> bool {
        use Property as P;
        match *self {
            P::PayloadFormatIndicator(v)
            | P::RequestProblemInformation(v)
            | P::RequestResponseInformation(v)
            | P::MaximumQoS(v)
            | P::RetainAvailable(v)
            | P::WildcardSubscriptionAvailable(v)
            | P::SubscriptionIdentifierAvailable(v)
            | P::SharedSubscriptionAvailable(v) => v <= 1,
            P::SubscriptionIdentifier(v) => (1..=varint::MAX_VARINT).contains(&v),
            P::ReceiveMaximum(v) | P::TopicAlias(v) => v != 0,
            P::MaximumPacketSize(v) => v != 0,
            P::ResponseTopic(t) => valid_topic_name(t),
            _ => true,
        }
    }

    /// Bytes the property takes: identifier (one byte for every defined
    /// one) and value.
    fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(1 + match self.parts().1 {
            Value::Byte(_) => 1,
            Value::U16(_) => 2,
            Value::U32(_) => 4,
            Value::VarInt(v) => varint::len(v as usize),
            Value::Str(s) => field_len(s.len())?,
            Value::Bin(b) => field_len(b.len())?,
            Value::Pair(k, v) => field_len(k.len())? + field_len(v.len())?,
        })
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let (id, value) = self.parts();
        w.u8(id as u8)?;
        match value {
            Value::Byte(v) => w.u8(v)?,
            Value::U16(v) => w.u16(v)?,
            Value::U32(v) => w.u32(v)?,
            Value::VarInt(v) => w.remaining_length(v as usize)?,
            Value::Str(s) => w.string(s)?,
            Value::Bin(b) => w.binary(b)?,
            Value::Pair(k, v) => {
                w.string(k)?;
                w.string(v)?;
            }
        }
        Ok(())
    }

    /// Strings the decoder would refuse (U+0000).
    fn strings_valid(&self) -> bool {
        match self.parts().1 {
            Value::Str(s) => !s.contains('\0'),
            Value::Pair(k, v) => !k.contains('\0') && !v.contains('\0'),
            _ => true,
        }
    }
}

/// The rules of one property block, fed one property at a time: allowed
/// here, not repeated (unless it may be), value in range; then, at the end,
/// authentication data only with a method.
pub(crate) struct Checker {
    context: PropertyContext,
    /// Bit `id` set once property `id` was seen (identifiers are < 64).
    seen: u64,
}

impl Checker {
    pub(crate) fn new(context: PropertyContext) -> Self {
        Checker { context, seen: 0 }
    }

    pub(crate) fn add(&mut self, p: &Property<'_>) -> Result<(), PropertyError> {
        let id = p.id();
        if !id.allowed_in(self.context) {
            return Err(PropertyError::NotAllowed {
                id,
                context: self.context,
            });
        }
        let bit = 1u64 << (id as u8);
        if self.seen & bit != 0 && !id.repeatable_in(self.context) {
            return Err(PropertyError::Duplicate(id));
        }
        self.seen |= bit;
        if !p.value_valid() {
            return Err(PropertyError::InvalidValue(id));
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<IdSet, PropertyError> {
        let seen = IdSet(self.seen);
        if seen.contains(PropertyId::AuthenticationData)
            && !seen.contains(PropertyId::AuthenticationMethod)
        {
            return Err(PropertyError::AuthDataWithoutMethod);
        }
        Ok(seen)
    }
}

/// The identifiers a checked block holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdSet(u64);

impl IdSet {
    pub(crate) fn contains(self, id: PropertyId) -> bool {
        self.0 & (1u64 << (id as u8)) != 0
    }
}

/// A property block: validated raw bytes (decoded) or typed properties (to
/// encode). Both forms compare equal when they hold the same properties in
/// the same order.
#[derive(Clone, Copy)]
pub struct Properties<'a> {
    repr: Repr<'a>,
}

#[derive(Clone, Copy)]
enum Repr<'a> {
    Raw(&'a [u8]),
    Items(&'a [Property<'a>]),
}

impl Default for Properties<'_> {
    fn default() -> Self {
        Properties::EMPTY
    }
}

impl<'a> Properties<'a> {
    /// No properties.
    pub const EMPTY: Properties<'static> = Properties {
        repr: Repr::Items(&[]),
    };

    /// A block for encoding.
    pub const fn new(items: &'a [Property<'a>]) -> Self {
        Properties {
            repr: Repr::Items(items),
        }
    }

    /// The properties in order.
    pub fn iter(&self) -> PropertyIter<'a> {
        match self.repr {
            Repr::Raw(raw) => PropertyIter(IterRepr::Raw(Reader::new(raw))),
            Repr::Items(items) => PropertyIter(IterRepr::Items(items.iter())),
        }
    }

    /// Whether the block is empty.
    pub fn is_empty(&self) -> bool {
        match self.repr {
            Repr::Raw(raw) => raw.is_empty(),
            Repr::Items(items) => items.is_empty(),
        }
    }

    /// How many properties the block holds.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The first property with this identifier.
    pub fn get(&self, id: PropertyId) -> Option<Property<'a>> {
        self.iter().find(|p| p.id() == id)
    }

    /// The user properties, in order.
    pub fn user_properties(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.iter().filter_map(|p| match p {
            Property::UserProperty(k, v) => Some((k, v)),
            _ => None,
        })
    }

    /// The subscription identifiers (one per matching subscription in a
    /// PUBLISH from the server; at most one in SUBSCRIBE).
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + 'a {
        self.iter().filter_map(|p| match p {
            Property::SubscriptionIdentifier(id) => Some(id),
            _ => None,
        })
    }

    /// Reads a property length and the block it announces, checking every
    /// rule for `context`.
    pub(crate) fn read(r: &mut Reader<'a>, context: PropertyContext) -> Result<Self, DecodeError> {
        let len = varint::read(r)? as usize;
        let raw = r.take(len)?;
        let mut block = Reader::new(raw);
        let mut checker = Checker::new(context);
        while !block.is_empty() {
            checker.add(&Property::read(&mut block)?)?;
        }
        checker.finish()?;
        Ok(Properties {
            repr: Repr::Raw(raw),
        })
    }

    /// The rules [`Properties::read`] enforces, before encoding.
    pub(crate) fn validate(&self, context: PropertyContext) -> Result<(), EncodeError> {
        self.validated_ids(context).map(|_| ())
    }

    /// As [`Properties::validate`], and on success which identifiers the
    /// block holds (so that a caller need not look for one again).
    pub(crate) fn validated_ids(&self, context: PropertyContext) -> Result<IdSet, EncodeError> {
        let mut checker = Checker::new(context);
        for p in self.iter() {
            if !p.strings_valid() {
                return Err(EncodeError::InvalidString);
            }
            checker.add(&p)?;
        }
        Ok(checker.finish()?)
    }

    /// Bytes of the block without its length prefix.
    fn block_len(&self) -> Result<usize, EncodeError> {
        let mut total = 0usize;
        let mut add = |p: &Property<'_>| -> Result<(), EncodeError> {
            total = total.saturating_add(p.encoded_len()?);
            Ok(())
        };
        match self.repr {
            // The encoder's case (every outgoing packet): the slice itself,
            // without the iterator's per-item dispatch.
            Repr::Items(items) => items.iter().try_for_each(&mut add)?,
            Repr::Raw(_) => self.iter().try_for_each(|p| add(&p))?,
        }
        if total > varint::MAX_VARINT as usize {
            return Err(EncodeError::PacketTooLarge(total));
        }
        Ok(total)
    }

    /// Bytes of the length prefix and the block.
    pub(crate) fn encoded_len(&self) -> Result<usize, EncodeError> {
        let block = self.block_len()?;
        Ok(varint::len(block) + block)
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.remaining_length(self.block_len()?)?;
        match self.repr {
            Repr::Items(items) => items.iter().try_for_each(|p| p.write(w)),
            Repr::Raw(_) => self.iter().try_for_each(|p| p.write(w)),
        }
    }
}

/// Iterator over [`Properties`].
pub struct PropertyIter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Raw(Reader<'a>),
    Items(core::slice::Iter<'a, Property<'a>>),
}

impl<'a> Iterator for PropertyIter<'a> {
    type Item = Property<'a>;
    fn next(&mut self) -> Option<Property<'a>> {
        match &mut self.0 {
            // Raw bytes were validated when the block was read.
            IterRepr::Raw(r) => {
                if r.is_empty() {
                    None
                } else {
                    Property::read(r).ok()
                }
            }
            IterRepr::Items(it) => it.next().copied(),
        }
    }
}

impl PartialEq for Properties<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Properties<'_> {}

impl fmt::Debug for Properties<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
