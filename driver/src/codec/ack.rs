//! The two-byte acknowledgements: PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK.

use super::Pid;

/// PUBACK: QoS 1 publish acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubAck(pub Pid);

/// PUBREC: QoS 2 publish received (step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubRec(pub Pid);

/// PUBREL: QoS 2 publish released (step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubRel(pub Pid);

/// PUBCOMP: QoS 2 publish complete (step 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubComp(pub Pid);

/// UNSUBACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsubAck(pub Pid);
