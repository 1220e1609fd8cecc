//! Delay packets: the next N packets of one kind the broker sends to a hit
//! client (e.g. PUBCOMP) leave `delay` later than they would have. TCP order
//! is kept: whatever the broker sends on that connection after a delayed
//! packet waits behind it, as with the fault proxy's `delay`. A delayed
//! packet still queued when its connection ends is never sent.

use std::fmt;
use std::time::Duration;

use super::{
    fmt_count, no_more, parse_count_or_all, parse_duration, take_one, DropKind, FaultHook,
    FaultParseError, OnSend,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayPackets {
    pub kind: DropKind,
    pub delay: Duration,
    /// How many are still to be delayed; `None`: every one, until cleared
    /// (`delay <kind> <d> all`).
    pub count: Option<u32>,
}

impl DelayPackets {
    /// `delay <kind> <ms | Nms | Ns> <n | all>`.
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
        let count = parse_count_or_all("delay", rest.first())?;
        no_more("delay", rest.get(1..).unwrap_or(&[]))?;
        Ok(DelayPackets { kind, delay, count })
    }
}

impl FaultHook for DelayPackets {
    fn on_send(&mut self, kind: DropKind) -> Option<OnSend> {
        if kind != self.kind {
            return None;
        }
        take_one(&mut self.count).then_some(OnSend::Delay(self.delay))
    }

    fn spent(&self) -> bool {
        self.count == Some(0)
    }
}

impl fmt::Display for DelayPackets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "delay {} {}ms {}",
            self.kind.word(),
            self.delay.as_millis(),
            fmt_count(self.count)
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

    /// The packet log stamps a delayed packet, and what waited behind it,
    /// when it leaves, with the time it was queued (issue 21).
    #[test]
    fn the_packet_log_has_both_times_of_a_delayed_packet() {
        let mut k = Kit::new();
        let (id, _) = k.connect("dev", true);
        k.fault(None, "delay pingresp 500ms 1");
        k.advance(Duration::from_millis(100));
        k.send(id, Packet::PingReq);
        k.advance(Duration::from_millis(50));
        k.send(id, Packet::PingReq);
        let out = |k: &Kit| -> Vec<(u128, Option<u128>, String)> {
            k.core
                .packet_log()
                .into_iter()
                .filter(|e| e.direction == crate::log::Direction::Out)
                .map(|e| (e.at.as_millis(), e.queued.map(|q| q.as_millis()), e.summary))
                .collect()
        };
        // Nothing has left yet: only the CONNACK is logged.
        assert_eq!(out(&k), [(0, None, "CONNACK sp=0 rc=0".to_string())]);
        k.advance(Duration::from_millis(450));
        assert_eq!(k.out(id), ["PINGRESP", "PINGRESP"]);
        assert_eq!(
            out(&k)[1..],
            [
                (600, Some(100), "PINGRESP".to_string()),
                (600, Some(150), "PINGRESP".to_string()),
            ]
        );
        // Later packets leave at once and carry one time.
        k.send(id, Packet::PingReq);
        assert_eq!(k.out(id), ["PINGRESP"]);
        assert_eq!(out(&k)[3], (600, None, "PINGRESP".to_string()));
    }
}
