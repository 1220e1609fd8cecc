//! Drop packets: the broker swallows the next N packets of one kind it would
//! have sent (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK or PINGRESP), while
//! doing everything else as usual (a published message is still routed).

use std::fmt;

use super::{no_more, parse_count, FaultParseError};

/// A kind of packet the broker can be told to drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropKind {
    PubAck,
    PubRec,
    PubComp,
    SubAck,
    UnsubAck,
    PingResp,
}

impl DropKind {
    pub const ALL: [DropKind; 6] = [
        DropKind::PubAck,
        DropKind::PubRec,
        DropKind::PubComp,
        DropKind::SubAck,
        DropKind::UnsubAck,
        DropKind::PingResp,
    ];

    /// The control-channel word.
    pub fn word(self) -> &'static str {
        match self {
            DropKind::PubAck => "puback",
            DropKind::PubRec => "pubrec",
            DropKind::PubComp => "pubcomp",
            DropKind::SubAck => "suback",
            DropKind::UnsubAck => "unsuback",
            DropKind::PingResp => "pingresp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropPackets {
    pub kind: DropKind,
    /// How many are still to be dropped.
    pub count: u32,
}

impl DropPackets {
    /// `drop <kind> <n>`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let Some((kind, rest)) = args.split_first() else {
            return Err(FaultParseError(
                "drop: missing packet kind (puback, pubrec, pubcomp, suback, unsuback, pingresp)"
                    .into(),
            ));
        };
        let kind = DropKind::ALL
            .into_iter()
            .find(|k| k.word().eq_ignore_ascii_case(kind))
            .ok_or_else(|| {
                FaultParseError(format!(
                    "drop: `{}` is not one of puback, pubrec, pubcomp, suback, unsuback, pingresp",
                    kind.escape_debug()
                ))
            })?;
        let count = parse_count("drop", rest.first())?;
        no_more("drop", rest.get(1..).unwrap_or(&[]))?;
        Ok(DropPackets { kind, count })
    }

    /// Uses one drop; false when the count is spent.
    pub(crate) fn take(&mut self) -> bool {
        if self.count == 0 {
            return false;
        }
        self.count -= 1;
        true
    }
}

impl fmt::Display for DropPackets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "drop {} {}", self.kind.word(), self.count)
    }
}
