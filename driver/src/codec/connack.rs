//! CONNACK: session-present flag and the six 3.1.1 return codes.

use core::fmt;

use super::frame::Codec;
use super::{DecodeError, EncodeError, Reader, Writer};

/// CONNACK return codes (MQTT 3.1.1 section 3.2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ConnectReturnCode {
    Accepted = 0,
    UnacceptableProtocolVersion = 1,
    IdentifierRejected = 2,
    ServerUnavailable = 3,
    BadUserNameOrPassword = 4,
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    /// The code for 0..=5.
    pub fn from_u8(n: u8) -> Option<Self> {
        use ConnectReturnCode::*;
        Some(match n {
            0 => Accepted,
            1 => UnacceptableProtocolVersion,
            2 => IdentifierRejected,
            3 => ServerUnavailable,
            4 => BadUserNameOrPassword,
            5 => NotAuthorized,
            _ => return None,
        })
    }
}

impl fmt::Display for ConnectReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectReturnCode::Accepted => "accepted",
            ConnectReturnCode::UnacceptableProtocolVersion => "unacceptable protocol version",
            ConnectReturnCode::IdentifierRejected => "identifier rejected",
            ConnectReturnCode::ServerUnavailable => "server unavailable",
            ConnectReturnCode::BadUserNameOrPassword => "bad user name or password",
            ConnectReturnCode::NotAuthorized => "not authorized",
        })
    }
}

/// CONNACK packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck {
    /// Only with [`ConnectReturnCode::Accepted`]; encoding refuses it with
    /// any other code ([`EncodeError::SessionPresentWithError`]).
    pub session_present: bool,
    pub code: ConnectReturnCode,
}

impl<'a> Codec<'a> for ConnAck {
    type DecodeError = DecodeError;
    type EncodeError = EncodeError;

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        let code = r.u8()?;
        let rc = ConnectReturnCode::from_u8(code);
        match (flags, rc) {
            (0 | 1, Some(code)) if !(flags == 1 && code != ConnectReturnCode::Accepted) => {
                Ok(ConnAck {
                    session_present: flags == 1,
                    code,
                })
            }
            _ => Err(DecodeError::InvalidConnAck { flags, code }),
        }
    }

    /// The decoder rejects session present with a refusal (MQTT-3.2.2-4),
    /// so the encoder does not produce it.
    fn validate(&self) -> Result<(), EncodeError> {
        if self.session_present && self.code != ConnectReturnCode::Accepted {
            return Err(EncodeError::SessionPresentWithError);
        }
        Ok(())
    }

    fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(2)
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(self.session_present as u8)?;
        w.u8(self.code as u8)
    }
}
