//! Forget sessions: acts once, when set. The broker discards the sessions of
//! the target (subscriptions, queued and in-flight messages) as a broker that
//! lost its state would, and closes their live connections without
//! publishing wills. Clients then reconnect to `session present = 0`.
//! Retained messages are kept.

use std::fmt;
use std::time::Duration;

use crate::core::Core;
use crate::log::{BrokerEvent, DisconnectReason};

use super::{no_more, FaultHook, FaultParseError, FaultTarget, Standing};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForgetSessions;

impl ForgetSessions {
    /// `forget-sessions`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        no_more("forget-sessions", args)?;
        Ok(ForgetSessions)
    }
}

impl FaultHook for ForgetSessions {
    fn on_set(&self, core: &mut Core, target: &FaultTarget, now: Duration) -> Standing {
        let ids = core.session_ids(target);
        for id in &ids {
            core.forget_session(id, DisconnectReason::Fault("forget-sessions".into()), now);
        }
        core.event(now, BrokerEvent::SessionsForgotten { count: ids.len() });
        Standing::Done
    }
}

impl fmt::Display for ForgetSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "forget-sessions")
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::Kit;
    use crate::log::BrokerEvent;

    #[test]
    fn sessions_are_discarded_and_their_connections_closed_without_wills() {
        let mut k = Kit::new();
        let (id, _) = k.connect("dev", false);
        k.events();
        k.fault(None, "forget-sessions");
        assert!(k.closing(id));
        assert!(k.core.sessions().is_empty());
        let events = k.events();
        assert!(events.contains(&BrokerEvent::SessionsForgotten { count: 1 }));
        assert!(!events
            .iter()
            .any(|e| matches!(e, BrokerEvent::WillPublished { .. })));
        assert!(k.core.faults().is_empty(), "it acts once");
        k.drop_conn(id);
        let (_, out) = k.connect("dev", false);
        assert_eq!(out, ["CONNACK sp=0 rc=0"]);
    }
}
