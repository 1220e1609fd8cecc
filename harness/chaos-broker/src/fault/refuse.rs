//! Refuse: answer every CONNECT with a non-zero CONNACK return code and
//! close, as a broker that rejects the client (bad credentials, server
//! unavailable...) does.

use std::fmt;

use resilient_mqtt::codec::ConnectReturnCode;

use super::{no_more, FaultParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refuse {
    /// Never `Accepted`.
    pub code: ConnectReturnCode,
}

impl Refuse {
    /// `refuse <1-5>`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let Some((code, rest)) = args.split_first() else {
            return Err(FaultParseError(
                "refuse: missing return code (1 to 5)".into(),
            ));
        };
        let code = code
            .parse::<u8>()
            .ok()
            .filter(|c| *c != 0)
            .and_then(ConnectReturnCode::from_u8)
            .ok_or_else(|| {
                FaultParseError(format!(
                    "refuse: `{}` is not a CONNACK return code from 1 to 5",
                    code.escape_debug()
                ))
            })?;
        no_more("refuse", rest)?;
        Ok(Refuse { code })
    }
}

impl fmt::Display for Refuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refuse {}", self.code as u8)
    }
}
