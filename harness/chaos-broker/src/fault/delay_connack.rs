//! Delay CONNACK: the broker holds a CONNECT for a while before answering
//! it (a slow or overloaded broker). Everything the client sends after the
//! CONNECT waits behind it.

use std::fmt;
use std::time::Duration;

use super::{no_more, parse_duration, FaultHook, FaultParseError};

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

impl FaultHook for DelayConnack {
    fn connack_delay(&self) -> Option<Duration> {
        Some(self.delay)
    }
}

impl fmt::Display for DelayConnack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "delay-connack {}ms", self.delay.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::Kit;

    #[test]
    fn connack_comes_after_the_delay_and_later_packets_wait() {
        let mut k = Kit::new();
        k.fault(None, "delay-connack 2s");
        let (id, out) = k.connect("dev", true);
        assert!(out.is_empty());
        k.send(id, resilient_mqtt::codec::Packet::PingReq);
        assert!(k.out(id).is_empty());
        assert_eq!(k.core.poll_timeout(id), Some(Duration::from_secs(2)));
        k.advance(Duration::from_millis(1999));
        assert!(k.out(id).is_empty());
        k.advance(Duration::from_millis(1));
        assert_eq!(k.out(id), ["CONNACK sp=0 rc=0", "PINGRESP"]);
        assert_eq!(k.injected(), ["CONNACK delayed 2000ms"]);
    }
}
