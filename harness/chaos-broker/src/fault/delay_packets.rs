//! Delay packets: the next N packets of one kind the broker sends to a hit
//! client (e.g. PUBCOMP) leave `delay` later than they would have. TCP order
//! is kept: whatever the broker sends on that connection after a delayed
//! packet waits behind it, as with the fault proxy's `delay`. A delayed
//! packet still queued when its connection ends is never sent.

use std::fmt;
use std::time::Duration;

use super::{no_more, parse_count, parse_duration, DropKind, FaultHook, FaultParseError, OnSend};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayPackets {
    pub kind: DropKind,
    pub delay: Duration,
    /// How many are still to be delayed.
    pub count: u32,
}

impl DelayPackets {
    /// `delay <kind> <ms | Nms | Ns> <n>`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let (kind, rest) = DropKind::parse_first("delay", args)?;
        let Some((arg, rest)) = rest.split_first() else {
            return Err(FaultParseError(
                "delay: missing delay (e.g. 500ms or 15s)".into(),
            ));
        };
        let delay = parse_duration(arg).ok_or_else(|| {
            FaultParseError(format!(
                "delay: `{}` is not a delay (e.g. 500ms or 15s)",
                arg.escape_debug()
            ))
        })?;
        let count = parse_count("delay", rest.first())?;
        no_more("delay", rest.get(1..).unwrap_or(&[]))?;
        Ok(DelayPackets { kind, delay, count })
    }

    /// Uses one delay; `None` when the count is spent.
    pub(crate) fn take(&mut self) -> Option<Duration> {
        if self.count == 0 {
            return None;
        }
        self.count -= 1;
        Some(self.delay)
    }
}

impl FaultHook for DelayPackets {
    fn on_send(&mut self, kind: DropKind) -> Option<OnSend> {
        if kind != self.kind {
            return None;
        }
        self.take().map(OnSend::Delay)
    }

    fn spent(&self) -> bool {
        self.count == 0
    }
}

impl fmt::Display for DelayPackets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "delay {} {}ms {}",
            self.kind.word(),
            self.delay.as_millis(),
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::Kit;
    use resilient_mqtt::codec::Packet;

    #[test]
    fn the_packet_leaves_later_and_what_follows_waits_behind_it() {
        let mut k = Kit::new();
        let (id, _) = k.connect("dev", true);
        k.fault(None, "delay pingresp 500ms 1");
        k.send(id, Packet::PingReq);
        k.send(id, Packet::PingReq);
        assert!(k.out(id).is_empty());
        assert_eq!(k.core.poll_timeout(id), Some(Duration::from_millis(500)));
        k.advance(Duration::from_millis(500));
        assert_eq!(k.out(id), ["PINGRESP", "PINGRESP"]);
        assert_eq!(k.injected(), ["delayed PINGRESP by 500ms"]);
    }
}
