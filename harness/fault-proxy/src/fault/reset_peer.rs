//! `reset-peer`: while active, every connection through the proxy (open
//! ones and new ones) is closed with a TCP reset on both sides.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetPeer;
