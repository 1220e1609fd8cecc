//! Close on a packet: the next N times the broker sends a packet of one
//! kind to a hit client (e.g. PUBREC), it closes that connection right
//! after the packet (which is still delivered), as a link that breaks at
//! the worst moment: the QoS 2 message is stored, the client got its
//! PUBREC, and its PUBREL will not arrive on this connection. The
//! session is kept (unless it was clean) and no will is held back: the
//! connection ends as if it was lost.

use std::fmt;

use super::{no_more, parse_count, DropKind, FaultHook, FaultParseError, OnSend};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseOn {
    pub kind: DropKind,
    /// How many closes are still to come.
    pub count: u32,
}

impl CloseOn {
    /// `close-on <kind> <n>`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let (kind, rest) = DropKind::parse_first("close-on", args)?;
        let count = parse_count("close-on", rest.first())?;
        no_more("close-on", rest.get(1..).unwrap_or(&[]))?;
        Ok(CloseOn { kind, count })
    }

    /// Uses one close; false when the count is spent.
    pub(crate) fn take(&mut self) -> bool {
        if self.count == 0 {
            return false;
        }
        self.count -= 1;
        true
    }
}

impl FaultHook for CloseOn {
    fn on_send(&mut self, kind: DropKind) -> Option<OnSend> {
        (kind == self.kind && self.take()).then_some(OnSend::CloseAfter)
    }

    fn spent(&self) -> bool {
        self.count == 0
    }
}

impl fmt::Display for CloseOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "close-on {} {}", self.kind.word(), self.count)
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::{publish, Kit};

    #[test]
    fn the_connection_closes_right_after_the_packet() {
        let mut k = Kit::new();
        let (id, _) = k.connect("dev", false);
        k.fault(Some("dev"), "close-on pubrec 1");
        k.send(id, publish("t", b"x", 2, 1, false));
        assert_eq!(k.out(id), ["PUBREC pid=1"]);
        assert!(k.closing(id));
        assert_eq!(k.injected(), ["closed after PUBREC pid=1"]);
        // The session (and the stored QoS 2 message) is kept.
        assert_eq!(k.core.sessions(), [("dev".to_string(), false)]);
    }
}
