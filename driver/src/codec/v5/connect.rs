//! CONNECT (MQTT 5.0 §3.1): protocol "MQTT" level 5, flags, keepalive,
//! properties, client id, will (with its own properties), user name and
//! password (a password no longer needs a user name).

use super::{DecodeError, EncodeError, Properties, PropertyContext};
use crate::codec::connect::{ConnectFlags, Header};
use crate::codec::primitives::field_len;
use crate::codec::QoS;
use crate::codec::{valid_topic_name, Codec, Reader, Writer};

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

/// The protocol level of MQTT 5.0.
pub const PROTOCOL_LEVEL: u8 = 5;

impl<'a> Codec<'a> for Connect<'a> {
    type DecodeError = DecodeError;
    type EncodeError = EncodeError;

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let Header { flags, keep_alive } = Header::read(r, PROTOCOL_LEVEL, false)?;
        let properties = Properties::read(r, PropertyContext::Connect)?;
        let client_id = r.string()?;
        let will = match flags.will() {
            Some((qos, retain)) => {
                let properties = Properties::read(r, PropertyContext::Will)?;
                let topic = r.string()?;
                if !valid_topic_name(topic) {
                    return Err(DecodeError::InvalidTopicName);
                }
                Some(Will {
                    properties,
                    topic,
                    payload: r.binary()?,
                    qos,
                    retain,
                })
            }
            None => None,
        };
        let username = flags.username().then(|| r.string()).transpose()?;
        let password = flags.password().then(|| r.binary()).transpose()?;
        Ok(Connect {
            clean_start: flags.clean(),
            keep_alive,
            properties,
            client_id,
            will,
            username,
            password,
        })
    }

    fn encoded_len(&self) -> Result<usize, EncodeError> {
        let mut len =
            Header::LEN + self.properties.encoded_len()? + field_len(self.client_id.len())?;
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
    fn validate(&self) -> Result<(), EncodeError> {
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

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let flags = ConnectFlags::new(
            self.clean_start,
            self.will.map(|w| (w.qos, w.retain)),
            self.username.is_some(),
            self.password.is_some(),
        );
        Header::write(w, PROTOCOL_LEVEL, flags, self.keep_alive)?;
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
