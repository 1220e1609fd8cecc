//! CONNECT: protocol "MQTT" level 4, flags, keepalive, client id, will,
//! user name and password.

use super::primitives::{field_len, valid_topic_name};
use super::{DecodeError, EncodeError, QoS, Reader, Writer};

/// The last-will message the broker publishes if the client vanishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Will<'a> {
    pub topic: &'a str,
    pub message: &'a [u8],
    pub qos: QoS,
    pub retain: bool,
}

/// CONNECT packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    pub client_id: &'a str,
    /// Seconds; 0 turns keepalive off.
    pub keep_alive: u16,
    pub clean_session: bool,
    pub will: Option<Will<'a>>,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
}

const PROTOCOL_NAME: &str = "MQTT";
const PROTOCOL_LEVEL: u8 = 4;

impl<'a> Connect<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let name = r.binary()?;
        if name != PROTOCOL_NAME.as_bytes() {
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
        let password_flag = flags & 0x40 != 0;
        let username_flag = flags & 0x80 != 0;
        if flags & 0x01 != 0
            || (!will_flag && (will_qos != 0 || will_retain))
            || (password_flag && !username_flag)
        {
            return Err(DecodeError::InvalidConnectFlags(flags));
        }
        let will_qos = QoS::from_u8(will_qos).ok_or(DecodeError::InvalidQoS(will_qos))?;
        let keep_alive = r.u16()?;
        let client_id = r.string()?;
        let will = if will_flag {
            let topic = r.string()?;
            if !valid_topic_name(topic) {
                return Err(DecodeError::InvalidTopicName);
            }
            let message = r.binary()?;
            Some(Will {
                topic,
                message,
                qos: will_qos,
                retain: will_retain,
            })
        } else {
            None
        };
        let username = if username_flag {
            Some(r.string()?)
        } else {
            None
        };
        let password = if password_flag {
            Some(r.binary()?)
        } else {
            None
        };
        Ok(Connect {
            client_id,
            keep_alive,
            clean_session: flags & 0x02 != 0,
            will,
            username,
            password,
        })
    }

    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        let mut len =
            field_len(PROTOCOL_NAME.len())? + 1 + 1 + 2 + field_len(self.client_id.len())?;
        if let Some(w) = &self.will {
            len += field_len(w.topic.len())? + field_len(w.message.len())?;
        }
        if let Some(u) = self.username {
            len += field_len(u.len())?;
        }
        if let Some(p) = self.password {
            len += field_len(p.len())?;
        }
        Ok(len)
    }

    /// The rules the decoder enforces: a valid will topic, no password
    /// without a user name, no U+0000 in the strings.
    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        self.flags()?;
        let has_nul = |s: &str| s.contains('\0');
        if has_nul(self.client_id) || self.username.is_some_and(has_nul) {
            return Err(EncodeError::InvalidString);
        }
        Ok(())
    }

    fn flags(&self) -> Result<u8, EncodeError> {
        let mut flags = 0u8;
        if self.clean_session {
            flags |= 0x02;
        }
        if let Some(w) = &self.will {
            if !valid_topic_name(w.topic) {
                return Err(EncodeError::InvalidTopicName);
            }
            flags |= 0x04 | ((w.qos as u8) << 3);
            if w.retain {
                flags |= 0x20;
            }
        }
        if self.password.is_some() {
            if self.username.is_none() {
                return Err(EncodeError::PasswordWithoutUsername);
            }
            flags |= 0x40;
        }
        if self.username.is_some() {
            flags |= 0x80;
        }
        Ok(flags)
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let flags = self.flags()?;
        w.string(PROTOCOL_NAME)?;
        w.u8(PROTOCOL_LEVEL)?;
        w.u8(flags)?;
        w.u16(self.keep_alive)?;
        w.string(self.client_id)?;
        if let Some(will) = &self.will {
            w.string(will.topic)?;
            w.binary(will.message)?;
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
