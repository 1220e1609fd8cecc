//! Close after bytes: once the broker has sent N bytes on a hit connection
//! (counted from the start of the connection) it closes it, cutting a packet
//! in the middle if N falls there. Stays active for every new connection of
//! the target until cleared: a link that keeps breaking.

use std::fmt;

use super::{no_more, FaultParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseAfterBytes {
    pub bytes: u64,
}

impl CloseAfterBytes {
    /// `close-after <bytes>`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let Some((arg, rest)) = args.split_first() else {
            return Err(FaultParseError("close-after: missing byte count".into()));
        };
        let bytes = arg.parse::<u64>().map_err(|_| {
            FaultParseError(format!(
                "close-after: `{}` is not a byte count",
                arg.escape_debug()
            ))
        })?;
        no_more("close-after", rest)?;
        Ok(CloseAfterBytes { bytes })
    }
}

impl fmt::Display for CloseAfterBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "close-after {}", self.bytes)
    }
}
