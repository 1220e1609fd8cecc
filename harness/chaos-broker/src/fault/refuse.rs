//! Refuse: answer every CONNECT with a non-zero CONNACK return code and
//! close, as a broker that rejects the client (bad credentials, server
//! unavailable...) does.

use std::fmt;

use resilient_mqtt::codec::ConnectReturnCode;

use super::{no_more, FaultHook, FaultParseError};

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

impl FaultHook for Refuse {
    fn refuses(&self) -> Option<ConnectReturnCode> {
        Some(self.code)
    }
}

impl fmt::Display for Refuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refuse {}", self.code as u8)
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::Kit;

    #[test]
    fn connect_is_refused_with_the_code_and_closed() {
        let mut k = Kit::new();
        k.fault(Some("dev"), "refuse 5");
        let (id, out) = k.connect("dev", true);
        assert_eq!(out, ["CONNACK sp=0 rc=5"]);
        assert!(k.closing(id));
        assert_eq!(k.injected(), ["CONNECT refused with code 5"]);
        // Another client id is not hit.
        let (_, out) = k.connect("other", true);
        assert_eq!(out, ["CONNACK sp=0 rc=0"]);
    }
}
