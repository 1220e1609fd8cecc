//! Hang: the broker stops reading and answering on the hit connections while
//! keeping their sockets open, like a mosquitto process under SIGSTOP. Bytes
//! the client sends wait unread; keepalive is not enforced; output waits.
//! Clearing the fault resumes everything where it stopped. A connection is
//! hit by a client-id target once its CONNECT has been read (that CONNECT is
//! then left unanswered).

use std::fmt;

use super::{no_more, FaultParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hang;

impl Hang {
    /// `hang`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        no_more("hang", args)?;
        Ok(Hang)
    }
}

impl fmt::Display for Hang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hang")
    }
}
