//! Reuse pid: a broker that breaks the packet-id rules. For each of the
//! next N QoS 2 PUBREC it receives from a hit client, the broker first
//! sends that client a *new* QoS 2 PUBLISH (DUP=0, on `chaos/reuse-pid`)
//! carrying the same packet id, and only then the PUBREL. The client still
//! holds that id (an incoming QoS 2 publish awaiting PUBREL), so the new
//! PUBLISH is a protocol violation (MQTT 3.1.1 2.3.1: a packet id is in use
//! until its exchange completes): a client that takes it for a resend
//! acknowledges it and drops the message. The reused PUBLISH is not part of
//! the session (the broker keeps no state for it); the client's PUBREC for
//! it is answered with another PUBREL, as for any id.

use std::fmt;
use std::time::Duration;

use resilient_mqtt::codec::{Pid, QoS};

use crate::core::{ConnId, Core};
use crate::state::Message;

use super::{no_more, parse_count, take_one, FaultHook, FaultParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReusePid {
    /// How many PUBRECs are still to be answered with a reused id.
    pub count: u32,
}

impl ReusePid {
    /// `reuse-pid [n]` (default 1).
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let Some((first, rest)) = args.split_first() else {
            return Ok(ReusePid { count: 1 });
        };
        let count = parse_count("reuse-pid", Some(first))?;
        no_more("reuse-pid", rest)?;
        Ok(ReusePid { count })
    }

    /// Sends `conn` the new PUBLISH that reuses `pid` (the `n`th).
    pub(crate) fn inject(core: &mut Core, conn: ConnId, pid: Pid, now: Duration) {
        let message = Message {
            topic: "chaos/reuse-pid".into(),
            payload: format!("reuse-pid {}", pid.get()).into_bytes(),
            qos: QoS::ExactlyOnce,
            retain: false,
            props: None,
        };
        core.fault_injected(
            conn,
            format!("new PUBLISH reusing pid={} before its PUBREL", pid.get()),
            now,
        );
        core.send_unsessioned(conn, &message, pid);
    }
}

impl FaultHook for ReusePid {
    fn reuses_pid(&mut self) -> bool {
        let mut n = Some(self.count);
        let used = take_one(&mut n);
        self.count = n.unwrap_or(0);
        used
    }

    fn spent(&self) -> bool {
        self.count == 0
    }
}

impl fmt::Display for ReusePid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reuse-pid {}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::{publish, pubrec, pubrel, Kit};

    #[test]
    fn a_new_publish_reuses_the_id_the_client_holds_before_its_pubrel() {
        let mut k = Kit::new();
        let dev = k.subscriber("dev", true, "t", 2);
        let (p, _) = k.connect("pub", true);
        k.fault(Some("dev"), "reuse-pid 1");
        k.send(p, publish("t", b"x", 2, 1, false));
        k.out(p);
        k.send(p, pubrel(1));
        k.out(p);
        assert_eq!(
            k.out(dev),
            ["PUBLISH pid=1 qos=2 dup=0 retain=0 topic=t len=1"]
        );
        k.send(dev, pubrec(1));
        assert_eq!(
            k.out(dev),
            [
                "PUBLISH pid=1 qos=2 dup=0 retain=0 topic=chaos/reuse-pid len=11",
                "PUBREL pid=1"
            ]
        );
        assert_eq!(
            k.injected(),
            ["new PUBLISH reusing pid=1 before its PUBREL"]
        );
        assert!(k.core.faults().is_empty(), "spent");
        // The next exchange is left alone.
        k.send(p, publish("t", b"y", 2, 2, false));
        k.send(p, pubrel(2));
        k.out(p);
        assert_eq!(
            k.out(dev),
            ["PUBLISH pid=2 qos=2 dup=0 retain=0 topic=t len=1"]
        );
        k.send(dev, pubrec(2));
        assert_eq!(k.out(dev), ["PUBREL pid=2"]);
    }
}
