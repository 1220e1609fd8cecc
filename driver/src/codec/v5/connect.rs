//! CONNECT (MQTT 5.0 §3.1): protocol "MQTT" level 5, flags, keepalive,
//! properties, client id, will (with its own properties), user name and
//! password (a password no longer needs a user name).

use super::{DecodeError, EncodeError, Properties, PropertyContext};
use crate::codec::primitives::field_len;
use crate::codec::{valid_topic_name, QoS, Reader, Writer};

/// The last-will message, with its properties (will delay, message expiry,
/// content type, response topic, correlation data, user properties...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Will<'a> {
    pub properties: Properties<'a>,
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: QoS,
    pub retain: bool,
}

/// CONNECT packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Start a new session (discarding any kept one).
    pub clean_start: bool,
    /// Seconds; 0 turns keepalive off.
    pub keep_alive: u16,
    pub properties: Properties<'a>,
    /// May be empty: the server then assigns one (in CONNACK).
    pub client_id: &'a str,
    pub will: Option<Will<'a>>,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
}

const PROTOCOL_NAME: &str = "MQTT";
/// The protocol level of MQTT 5.0.
pub const PROTOCOL_LEVEL: u8 = 5;

impl<'a> Connect<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        if r.binary()? != PROTOCOL_NAME.as_bytes() {
            return Err(DecodeError::InvalidProtocolName);
        }
        let level = r.u8()?;
        if level != PROTOCOL_LEVEL {
            return Err(DecodeError::UnsupportedProtocolLevel(level));
        }
        let flags = r.u8()?;
        let will_flag = flags & 0x04 != 0;
        let will_qos = (flags >> 3) & 0x03;
        let will_retain = flags & 0x20 != 0;
        if flags & 0x01 != 0 || (!will_flag && (will_qos != 0 || will_retain)) {
            return Err(DecodeError::InvalidConnectFlags(flags));
        }
        let will_qos = QoS::from_u8(will_qos).ok_or(DecodeError::InvalidQoS(will_qos))?;
        let keep_alive = r.u16()?;
        let properties = Properties::read(r, PropertyContext::Connect)?;
        let client_id = r.string()?;
        let will = if will_flag {
            let properties = Properties::read(r, PropertyContext::Will)?;
            let topic = r.string()?;
            if !valid_topic_name(topic) {
                return Err(DecodeError::InvalidTopicName);
            }
            Some(Will {
                properties,
                topic,
                payload: r.binary()?,
                qos: will_qos,
                retain: will_retain,
            })
        } else {
            None
        };
        let username = if flags & 0x80 != 0 {
            Some(r.string()?)
        } else {
            None
        };
        let password = if flags & 0x40 != 0 {
            Some(r.binary()?)
        } else {
            None
        };
        Ok(Connect {
            clean_start: flags & 0x02 != 0,
            keep_alive,
            properties,
            client_id,
            will,
            username,
            password,
        })
    }

    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        let mut len = field_len(PROTOCOL_NAME.len())?
            + 1
            + 1
            + 2
            + self.properties.encoded_len()?
            + field_len(self.client_id.len())?;
        if let Some(w) = &self.will {
            len += w.properties.encoded_len()?
                + field_len(w.topic.len())?
                + field_len(w.payload.len())?;
        }
        if let Some(u) = self.username {
            len += field_len(u.len())?;
        }
        if let Some(p) = self.password {
            len += field_len(p.len())?;
        }
        Ok(len)
    }

    /// The rules the decoder enforces.
    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        self.properties.validate(PropertyContext::Connect)?;
        if let Some(w) = &self.will {
            w.properties.validate(PropertyContext::Will)?;
            if !valid_topic_name(w.topic) {
                return Err(EncodeError::InvalidTopicName);
            }
        }
        let has_nul = |s: &str| s.contains('\0');
        if has_nul(self.client_id) || self.username.is_some_and(has_nul) {
            return Err(EncodeError::InvalidString);
        }
        Ok(())
    }

    fn flags(&self) -> u8 {
        let mut flags = (self.clean_start as u8) << 1;
        if let Some(w) = &self.will {
            flags |= 0x04 | ((w.qos as u8) << 3) | ((w.retain as u8) << 5);
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        if self.username.is_some() {
            flags |= 0x80;
        }
        flags
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(PROTOCOL_NAME)?;
        w.u8(PROTOCOL_LEVEL)?;
        w.u8(self.flags())?;
        w.u16(self.keep_alive)?;
        self.properties.write(w)?;
        w.string(self.client_id)?;
        if let Some(will) = &self.will {
            will.properties.write(w)?;
            w.string(will.topic)?;
            w.binary(will.payload)?;
        }
        if let Some(u) = self.username {
            w.string(u)?;
        }
        if let Some(p) = self.password {
            w.binary(p)?;
        }
        Ok(())
    }
}
