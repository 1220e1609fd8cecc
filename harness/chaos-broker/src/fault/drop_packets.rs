//! Drop packets: the broker swallows the next N packets of one kind it would
//! have sent (PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK or
//! PINGRESP), while doing everything else as usual (a published message is
//! still routed; a dropped PUBLISH counts as sent, lost on the wire, and is
//! resent with DUP on resume). [`DropKind`] also names the packets the
//! delay and close-on faults act on.

use std::fmt;

use super::{fmt_count, no_more, parse_count_or_all, take_one, FaultHook, FaultParseError, OnSend};

/// A kind of packet the broker can be told to drop, delay, or close after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropKind {
    /// A message delivered to a client.
    Publish,
    PubAck,
    PubRec,
    /// QoS 2 to a client: the release after the client's PUBREC.
    PubRel,
    PubComp,
    SubAck,
    UnsubAck,
    PingResp,
}

impl DropKind {
    pub const ALL: [DropKind; 8] = [
        DropKind::Publish,
        DropKind::PubAck,
        DropKind::PubRec,
        DropKind::PubRel,
        DropKind::PubComp,
        DropKind::SubAck,
        DropKind::UnsubAck,
        DropKind::PingResp,
    ];

    /// The control-channel word.
    pub fn word(self) -> &'static str {
        match self {
            DropKind::Publish => "publish",
            DropKind::PubAck => "puback",
            DropKind::PubRec => "pubrec",
            DropKind::PubRel => "pubrel",
            DropKind::PubComp => "pubcomp",
            DropKind::SubAck => "suback",
            DropKind::UnsubAck => "unsuback",
            DropKind::PingResp => "pingresp",
        }
    }
}

/// The kinds, for messages.
const KIND_WORDS: &str = "publish, puback, pubrec, pubrel, pubcomp, suback, unsuback, pingresp";

impl DropKind {
    /// Reads the packet kind that starts `args` (for fault `what`); returns
    /// it and the words after it.
    pub(crate) fn parse_first<'a, 'b>(
        what: &str,
        args: &'a [&'b str],
    ) -> Result<(DropKind, &'a [&'b str]), FaultParseError> {
        let Some((kind, rest)) = args.split_first() else {
            return Err(FaultParseError(format!(
                "{what}: missing packet kind ({KIND_WORDS})"
            )));
        };
        let kind = DropKind::ALL
            .into_iter()
            .find(|k| k.word().eq_ignore_ascii_case(kind))
            .ok_or_else(|| {
                FaultParseError(format!(
                    "{what}: `{}` is not one of {KIND_WORDS}",
                    kind.escape_debug()
                ))
            })?;
        Ok((kind, rest))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropPackets {
    pub kind: DropKind,
    /// How many are still to be dropped; `None`: every one, until cleared
    /// (`drop <kind> all`).
    pub count: Option<u32>,
}

impl DropPackets {
    /// `drop <kind> <n | all>`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let (kind, rest) = DropKind::parse_first("drop", args)?;
        let count = parse_count_or_all("drop", rest.first())?;
        no_more("drop", rest.get(1..).unwrap_or(&[]))?;
        Ok(DropPackets { kind, count })
    }
}

impl FaultHook for DropPackets {
    fn on_send(&mut self, kind: DropKind) -> Option<OnSend> {
        (kind == self.kind && take_one(&mut self.count)).then_some(OnSend::Drop)
    }

    fn spent(&self) -> bool {
        self.count == Some(0)
    }
}

impl fmt::Display for DropPackets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "drop {} {}", self.kind.word(), fmt_count(self.count))
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::{publish, Kit};

    #[test]
    fn the_next_n_packets_of_the_kind_are_swallowed_and_the_rest_proceeds() {
        let mut k = Kit::new();
        let s = k.subscriber("sub", true, "t", 1);
        let (p, _) = k.connect("pub", true);
        k.fault(Some("pub"), "drop puback 1");
        k.send(p, publish("t", b"x", 1, 1, false));
        assert!(k.out(p).is_empty());
        assert_eq!(k.injected(), ["dropped PUBACK pid=1"]);
        // The message was still routed.
        assert_eq!(
            k.out(s),
            ["PUBLISH pid=1 qos=1 dup=0 retain=0 topic=t len=1"]
        );
        k.send(p, publish("t", b"x", 1, 2, false));
        assert_eq!(k.out(p), ["PUBACK pid=2"]);
        assert!(k.core.faults().is_empty());
    }

    #[test]
    fn drop_all_swallows_every_packet_of_the_kind_until_cleared() {
        let mut k = Kit::new();
        let (p, _) = k.connect("pub", true);
        k.fault(Some("pub"), "drop puback all");
        for pid in 1..=3 {
            k.send(p, publish("t", b"x", 1, pid, false));
            assert!(k.out(p).is_empty());
        }
        assert_eq!(k.core.faults().len(), 1, "never spent");
        assert_eq!(k.core.faults()[0].1.to_string(), "drop puback all");
        k.clear();
        k.send(p, publish("t", b"x", 1, 4, false));
        assert_eq!(k.out(p), ["PUBACK pid=4"]);
    }
}
