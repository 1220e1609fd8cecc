//! `blackhole`: the proxy keeps accepting and keeps every socket open, but
//! forwards nothing: whole MQTT packets vanish (a half-open link as the
//! device sees it). Bytes that are not MQTT vanish as they come.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blackhole;
