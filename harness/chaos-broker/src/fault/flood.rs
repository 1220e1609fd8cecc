//! Flood: acts once, when set. The broker sends every connected client of
//! the target a burst of QoS 2 PUBLISHes on `chaos/flood` at once,
//! ignoring the client's Receive Maximum: `count` of them, or (without a
//! count) one more than the client's Receive Maximum, so that an MQTT 5
//! client sees more unacknowledged QoS 2 publishes than it allowed and
//! must answer DISCONNECT 0x93 (receive maximum exceeded). QoS 2 because a
//! client acknowledges QoS 1 at once, while a QoS 2 publish stays
//! unacknowledged until PUBREL, which cannot arrive before the burst does.
//! The messages are part of the session like any other (kept and resent,
//! within the window, if the session is). To a 3.1.1 client (no Receive
//! Maximum) the burst is just a burst; without a count it is 21 messages.

use std::fmt;
use std::time::Duration;

use resilient_mqtt::codec::QoS;

use crate::core::Core;
use crate::state::Message;

use super::{no_more, parse_count, FaultHook, FaultParseError, FaultTarget, Standing};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flood {
    /// `None`: the client's Receive Maximum + 1.
    pub count: Option<u32>,
}

impl Flood {
    /// `flood [n]`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let Some((first, rest)) = args.split_first() else {
            return Ok(Flood { count: None });
        };
        let count = parse_count("flood", Some(first))?;
        no_more("flood", rest)?;
        Ok(Flood { count: Some(count) })
    }
}

impl FaultHook for Flood {
    /// The burst to each connected client of the target, past its window.
    fn on_set(&self, core: &mut Core, target: &FaultTarget, now: Duration) -> Standing {
        for id in core.connected(target) {
            let Some(client_id) = core.connected_client(id) else {
                continue;
            };
            let rm = core.receive_maximum(id);
            let n = self.count.unwrap_or(rm.saturating_add(1));
            core.fault_injected(
                id,
                format!("flood of {n} QoS 2 PUBLISH (receive maximum {rm})"),
                now,
            );
            for i in 1..=n {
                let message = Message {
                    topic: "chaos/flood".into(),
                    payload: format!("flood {i}").into_bytes(),
                    qos: QoS::ExactlyOnce,
                    retain: false,
                    props: None,
                };
                if !core.push_inflight(id, &client_id, message, now) {
                    break;
                }
            }
        }
        Standing::Done
    }
}

impl fmt::Display for Flood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.count {
            Some(n) => write!(f, "flood {n}"),
            None => write!(f, "flood"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::Kit;

    #[test]
    fn a_burst_of_qos2_publishes_joins_the_session() {
        let mut k = Kit::new();
        let (id, _) = k.connect("dev", false);
        k.fault(None, "flood 3");
        assert_eq!(
            k.out(id),
            [
                "PUBLISH pid=1 qos=2 dup=0 retain=0 topic=chaos/flood len=7",
                "PUBLISH pid=2 qos=2 dup=0 retain=0 topic=chaos/flood len=7",
                "PUBLISH pid=3 qos=2 dup=0 retain=0 topic=chaos/flood len=7",
            ]
        );
        assert_eq!(
            k.injected(),
            ["flood of 3 QoS 2 PUBLISH (receive maximum 20)"]
        );
        // Kept and resent with DUP on resume.
        k.drop_conn(id);
        let (_, out) = k.connect("dev", false);
        assert_eq!(out.len(), 4);
        assert_eq!(
            out[1],
            "PUBLISH pid=1 qos=2 dup=1 retain=0 topic=chaos/flood len=7"
        );
    }
}
