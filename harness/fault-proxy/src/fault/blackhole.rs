//! `blackhole [reset]`: a silent path loss. The proxy keeps accepting and
//! keeps every socket open, but nothing gets through: every byte and every
//! FIN is held, in order, per direction. That is what TCP does on a dead
//! path: nothing arrives, nothing is lost, and when the path comes back
//! the retransmissions deliver what was sent, in order (a CONNECT sent
//! during the blackhole still arrives first on its connection). No packet
//! ever vanishes from the middle of a stream.
//!
//! When it ends (removed, or its `for` elapsed):
//! - plain `blackhole`: what was held is delivered at once, in order;
//! - `blackhole reset`: a path dead so long that the peers' stacks gave up
//!   (`TCP_USER_TIMEOUT`, retransmission limit): each connection that had
//!   bytes held is reset (RST both ways) instead; connections that sent
//!   nothing during it carry on.

use std::fmt;

use super::Words;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blackhole {
    /// Reset the held connections at the end instead of delivering.
    pub reset: bool,
}

impl Blackhole {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        Ok(Blackhole {
            reset: w.option("reset").is_some(),
        })
    }
}

impl fmt::Display for Blackhole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.reset {
            "blackhole reset"
        } else {
            "blackhole"
        })
    }
}
