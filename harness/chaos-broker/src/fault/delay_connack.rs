//! Delay CONNACK: the broker holds a CONNECT for a while before answering
//! it (a slow or overloaded broker). Everything the client sends after the
//! CONNECT waits behind it.

use std::fmt;
use std::time::Duration;

use super::{no_more, parse_duration, FaultParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayConnack {
    pub delay: Duration,
}

impl DelayConnack {
    /// `delay-connack <ms | Nms | Ns>`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let Some((arg, rest)) = args.split_first() else {
            return Err(FaultParseError(
                "delay-connack: missing delay (e.g. 500ms or 2s)".into(),
            ));
        };
        let delay = parse_duration(arg).ok_or_else(|| {
            FaultParseError(format!(
                "delay-connack: `{}` is not a delay (e.g. 500ms or 2s)",
                arg.escape_debug()
            ))
        })?;
        no_more("delay-connack", rest)?;
        Ok(DelayConnack { delay })
    }
}

impl fmt::Display for DelayConnack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "delay-connack {}ms", self.delay.as_millis())
    }
}
