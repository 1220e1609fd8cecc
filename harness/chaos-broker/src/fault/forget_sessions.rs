//! Forget sessions: acts once, when set. The broker discards the sessions of
//! the target (subscriptions, queued and in-flight messages) as a broker that
//! lost its state would, and closes their live connections without
//! publishing wills. Clients then reconnect to `session present = 0`.
//! Retained messages are kept.

use std::fmt;

use super::{no_more, FaultParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForgetSessions;

impl ForgetSessions {
    /// `forget-sessions`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        no_more("forget-sessions", args)?;
        Ok(ForgetSessions)
    }
}

impl fmt::Display for ForgetSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "forget-sessions")
    }
}
