//! `slow-close DELAY`: when one side closes its half (FIN), the proxy
//! passes the close on only DELAY later.

use std::fmt;

use super::Words;
use crate::duration::fmt_ms;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowClose {
    pub delay_ms: u64,
}

impl SlowClose {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        Ok(SlowClose {
            delay_ms: w.duration("a delay")?,
        })
    }
}

impl fmt::Display for SlowClose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "slow-close {}", fmt_ms(self.delay_ms))
    }
}
