//! `connack-code CODE`: every CONNACK is rewritten to carry return code
//! CODE (1-5: the broker refuses), with session present cleared. With this
//! a proxy makes any broker refuse the device.

use std::fmt;

use super::Words;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnackCode {
    pub code: u8,
}

impl ConnackCode {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        let code: u8 = w.number("a CONNACK return code (0-5)")?;
        if code > 5 {
            return Err(format!(
                "`connack-code`: {code} is not a CONNACK return code (0-5)"
            ));
        }
        Ok(ConnackCode { code })
    }

    /// Rewrites a whole CONNACK packet (4 bytes) in place.
    pub fn apply(&self, frame: &mut [u8]) {
        if frame.len() == 4 {
            if self.code != 0 {
                frame[2] = 0;
            }
            frame[3] = self.code;
        }
    }
}

impl fmt::Display for ConnackCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connack-code {}", self.code)
    }
}
