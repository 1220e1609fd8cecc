//! `limit-data BYTES`: a connection is closed once BYTES have gone through
//! it in this direction (counted per connection).

use std::fmt;

use super::Words;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitData {
    pub bytes: u64,
}

impl LimitData {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        Ok(LimitData {
            bytes: w.number("a byte count")?,
        })
    }
}

impl fmt::Display for LimitData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "limit-data {}", self.bytes)
    }
}
