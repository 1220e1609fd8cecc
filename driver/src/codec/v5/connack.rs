//! CONNACK (MQTT 5.0 §3.2): session present, a reason code and the
//! server's properties (assigned client id, receive maximum, maximum QoS,
//! topic alias maximum, server keepalive, server reference...).

use super::{DecodeError, EncodeError, PacketType, Properties, PropertyContext, ReasonCode};
use crate::codec::{Codec, Reader, Writer};

/// CONNACK packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck<'a> {
    /// Only with a success code; encoding refuses it with a failure
    /// ([`EncodeError::SessionPresentWithError`]).
    pub session_present: bool,
    pub reason: ReasonCode,
    pub properties: Properties<'a>,
}

impl<'a> Codec<'a> for ConnAck<'a> {
    type DecodeError = DecodeError;
    type EncodeError = EncodeError;

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        if flags > 1 {
            return Err(DecodeError::InvalidConnAckFlags(flags));
        }
        let reason = ReasonCode::read(r, PacketType::ConnAck)?;
        if flags == 1 && reason.is_error() {
            return Err(DecodeError::SessionPresentWithError);
        }
        Ok(ConnAck {
            session_present: flags == 1,
            reason,
            properties: Properties::read(r, PropertyContext::ConnAck)?,
        })
    }

    fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(2 + self.properties.encoded_len()?)
    }

    fn validate(&self) -> Result<(), EncodeError> {
        self.reason.check(PacketType::ConnAck)?;
        if self.session_present && self.reason.is_error() {
            return Err(EncodeError::SessionPresentWithError);
        }
        self.properties.validate(PropertyContext::ConnAck)
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(self.session_present as u8)?;
        w.u8(self.reason as u8)?;
        self.properties.write(w)
    }
}
