//! Hang: the broker stops reading and answering on the hit connections while
//! keeping their sockets open, like a mosquitto process under SIGSTOP. Bytes
//! the client sends wait unread; keepalive is not enforced; output waits.
//! Clearing the fault resumes everything where it stopped. A connection is
//! hit by a client-id target once its CONNECT has been read (that CONNECT is
//! then left unanswered).

use std::fmt;

use super::{no_more, FaultHook, FaultParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hang;

impl Hang {
    /// `hang`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        no_more("hang", args)?;
        Ok(Hang)
    }
}

impl FaultHook for Hang {
    fn holds(&self) -> bool {
        true
    }
}

impl fmt::Display for Hang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hang")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::core::testkit::Kit;
    use resilient_mqtt::codec::Packet;

    #[test]
    fn nothing_is_answered_or_judged_until_cleared_then_the_clock_restarts() {
        let mut k = Kit::new();
        let (id, _) = k.connect("dev", true);
        k.fault(None, "hang");
        assert!(k.core.is_connection_hung(id));
        assert!(!k.core.wants_read(id));
        k.send(id, Packet::PingReq);
        assert!(k.out(id).is_empty());
        assert_eq!(k.core.poll_timeout(id), None);
        k.advance(Duration::from_secs(200));
        assert!(!k.closing(id), "keepalive is not judged while hung");
        k.clear();
        assert_eq!(k.out(id), ["PINGRESP"]);
        assert_eq!(k.core.poll_timeout(id), Some(Duration::from_secs(290)));
    }
}
