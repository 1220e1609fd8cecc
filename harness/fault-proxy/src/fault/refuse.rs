//! `refuse`: while active, new connections are closed as soon as they are
//! accepted (reset), before anything reaches the broker. Open connections
//! are left alone.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refuse;
