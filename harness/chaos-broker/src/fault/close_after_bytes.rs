//! Close after bytes: once the broker has sent N bytes on a hit connection
//! (counted from the start of the connection) it closes it, cutting a packet
//! in the middle if N falls there. Stays active for every new connection of
//! the target until cleared: a link that keeps breaking.

use std::fmt;

use super::{no_more, FaultHook, FaultParseError};

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

impl FaultHook for CloseAfterBytes {
    fn byte_limit(&self) -> Option<u64> {
        Some(self.bytes)
    }
}

impl fmt::Display for CloseAfterBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "close-after {}", self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::Kit;

    #[test]
    fn the_packet_is_cut_at_the_limit_and_the_connection_closed() {
        let mut k = Kit::new();
        k.fault(None, "close-after 3");
        let (id, out) = k.connect("dev", true);
        assert_eq!(out, ["PARTIAL 3 bytes"]);
        assert!(k.closing(id));
        assert_eq!(
            k.injected(),
            ["cut CONNACK sp=0 rc=0 after 3 of 4 bytes; closed"]
        );
    }
}
