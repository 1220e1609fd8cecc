//! `conformance`: the DUT's packets follow MQTT 3.1.1 where a broker or
//! peer depends on it:
//!
//! - nothing (PUBLISH, PINGREQ) is sent outside a connection: after it
//!   was lost and before the next attempt; a PUBLISH sent after CONNECT and
//!   before its CONNACK is allowed (MQTT 3.1.1 section 3.1.4: a client
//!   need not wait for CONNACK; black-box clients such as paho-mqtt do it);
//! - QoS 0 publishes carry no packet id and no DUP flag; QoS > 0 ones carry
//!   a non-zero packet id;
//! - a resend of an unacknowledged publish (same pid and message) has DUP
//!   set; a first send does not (a message sent before, in an earlier
//!   session too, may carry DUP when it is sent again: it is a
//!   re-delivery); a packet id is not reused for a different
//!   message while it is in flight (in-flight ids survive reconnections that
//!   keep the session);
//! - while connected with keepalive K > 0, the DUT sends something (a
//!   publish, a ping, an acknowledgement of an incoming qos > 0 message, a
//!   PUBREL, a subscription) at least every K seconds.

use std::collections::{BTreeMap, BTreeSet};

use super::{secs, Evidence, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event, EventRef};

#[derive(Debug, Clone, PartialEq)]
pub struct Conformance;

impl OracleSpec for Conformance {
    const NAME: &'static str = "conformance";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str =
        "DUP on resends, unique in-flight packet ids, nothing before CONNACK, traffic within every keepalive";

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(Conformance)
    }

    fn params(&self) -> String {
        String::new()
    }

    /// Judged from the DUT's connections and packets: black-box DUTs too.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let mut failures = Vec::new();
        let mut connected: Option<(usize, u16)> = None; // (connected index, keepalive_s)
        let mut last_send: (usize, u64) = (0, 0);
        let mut inflight: BTreeMap<u16, (&str, usize)> = BTreeMap::new();
        // Messages sent at least once (any connection).
        let mut sent: BTreeSet<&str> = BTreeSet::new();
        // After CONNECT, before its CONNACK: publishes may be pipelined.
        let mut connecting = false;
        let mut any = false;
        let gap = |failures: &mut Vec<Failure>,
                   ka: u16,
                   from: (usize, u64),
                   to_t: u64,
                   to: Option<EventRef>| {
            let k = u64::from(ka) * 1000;
            if ka > 0 && to_t.saturating_sub(from.1) > k {
                let mut events = vec![t.r(from.0)];
                events.extend(to);
                failures.push(Failure::new(
                    format!(
                        "nothing sent for {} ms while connected with keepalive {ka}s: from {} to {}",
                        to_t - from.1,
                        secs(from.1),
                        secs(to_t)
                    ),
                    events,
                ));
            }
        };
        for (i, r) in t.iter() {
            let ev = &r.event;
            let is_reboot = r.actor == Actor::Faults
                && matches!(ev, Event::Fault { kind, .. } if crate::scenario::fault::Fault::reboots(kind));
            if is_reboot {
                if let Some((_, ka)) = connected.take() {
                    gap(&mut failures, ka, last_send, r.t_ms, Some(t.r(i)));
                }
                inflight.clear();
                continue;
            }
            if r.actor != Actor::Dut {
                continue;
            }
            match ev {
                Event::Connected {
                    session_present,
                    keepalive_s,
                } => {
                    any = true;
                    connecting = false;
                    connected = Some((i, *keepalive_s));
                    last_send = (i, r.t_ms);
                    if !session_present {
                        inflight.clear();
                    }
                }
                Event::Connecting { .. }
                | Event::ConnectionLost { .. }
                | Event::ConnectFailed { .. }
                | Event::Down
                | Event::WifiDown => {
                    connecting = matches!(ev, Event::Connecting { .. });
                    if let Some((_, ka)) = connected.take() {
                        gap(&mut failures, ka, last_send, r.t_ms, Some(t.r(i)));
                    }
                }
                Event::PublishSent {
                    pid, qos, dup, msg, ..
                } => {
                    match connected {
                        Some((_, ka)) => {
                            gap(&mut failures, ka, last_send, r.t_ms, Some(t.r(i)));
                            last_send = (i, r.t_ms);
                        }
                        None if connecting => {}
                        None => {
                            failures.push(Failure::new(
                                format!(
                                    "publish {msg} sent at {} outside a connection (before CONNACK)",
                                    secs(r.t_ms)
                                ),
                                vec![t.r(i)],
                            ));
                            continue;
                        }
                    }
                    let resent = !sent.insert(msg.as_str()) && !msg.is_empty();
                    match (qos, pid) {
                        (0, None) if !dup => {}
                        (0, _) => failures.push(Failure::new(
                            format!(
                                "qos 0 publish {msg} at {} has a packet id or DUP",
                                secs(r.t_ms)
                            ),
                            vec![t.r(i)],
                        )),
                        (_, None | Some(0)) => failures.push(Failure::new(
                            format!(
                                "qos {qos} publish {msg} at {} has no packet id",
                                secs(r.t_ms)
                            ),
                            vec![t.r(i)],
                        )),
                        (_, Some(p)) => match inflight.get(p) {
                            Some((m, first)) if *m == msg.as_str() => {
                                if !dup {
                                    failures.push(Failure::new(
                                        format!(
                                            "resend of {msg} (pid {p}) at {} without DUP",
                                            secs(r.t_ms)
                                        ),
                                        vec![t.r(*first), t.r(i)],
                                    ));
                                }
                            }
                            Some((m, first)) => failures.push(Failure::new(
                                format!(
                                    "pid {p} reused for {msg} at {} while {m} is still in flight",
                                    secs(r.t_ms)
                                ),
                                vec![t.r(*first), t.r(i)],
                            )),
                            None => {
                                if *dup && !resent {
                                    failures.push(Failure::new(
                                        format!(
                                            "first send of {msg} (pid {p}) at {} has DUP set",
                                            secs(r.t_ms)
                                        ),
                                        vec![t.r(i)],
                                    ));
                                }
                                inflight.insert(*p, (msg, i));
                            }
                        },
                    }
                }
                Event::Puback { pid } => {
                    inflight.remove(pid);
                }
                Event::PingSent => {
                    let Some((_, ka)) = connected else {
                        failures.push(Failure::new(
                            format!("ping sent at {} outside a connection", secs(r.t_ms)),
                            vec![t.r(i)],
                        ));
                        continue;
                    };
                    gap(&mut failures, ka, last_send, r.t_ms, Some(t.r(i)));
                    last_send = (i, r.t_ms);
                }
                Event::Message { qos, .. } if *qos > 0 => {
                    if let Some((_, ka)) = connected {
                        gap(&mut failures, ka, last_send, r.t_ms, Some(t.r(i)));
                        last_send = (i, r.t_ms);
                    }
                }
                Event::Subscribed { .. }
                | Event::PubrelSent { .. }
                | Event::Qos2Duplicate { .. } => {
                    if let Some((_, ka)) = connected {
                        gap(&mut failures, ka, last_send, r.t_ms, Some(t.r(i)));
                        last_send = (i, r.t_ms);
                    }
                }
                _ => {}
            }
        }
        if let Some((_, ka)) = connected {
            gap(&mut failures, ka, last_send, t.end_ms(), None);
        }
        if !any {
            return Outcome::Inconclusive("the DUT never connected".into());
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn publish(pid: Option<u16>, qos: u8, dup: bool, msg: &str) -> crate::trace::Event {
        PublishSent {
            pid,
            qos,
            dup,
            topic: s("t"),
            msg: s(msg),
        }
    }

    #[test]
    fn passes_a_well_behaved_dut() {
        let t = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (
                10,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            (100, Dut, publish(Some(1), 1, false, "dut-0:1")),
            (10_100, Dut, Retransmit { pid: 1 }),
            (10_100, Dut, publish(Some(1), 1, true, "dut-0:1")),
            (10_200, Dut, Puback { pid: 1 }),
            (10_300, Dut, publish(Some(1), 1, false, "dut-0:2")),
            (10_400, Dut, Puback { pid: 1 }),
            (25_000, Dut, PingSent),
            (25_010, Dut, Pingresp),
            (40_000, Dut, publish(None, 0, false, "dut-0:3")),
            run_end(60_000),
        ]);
        passes(&oracle("oracle = \"conformance\""), &t);
    }

    /// paho-mqtt, seen from the wire: it pipelines a PUBLISH after CONNECT
    /// (MQTT 3.1.1 section 3.1.4 allows it), the broker refuses the
    /// connection, and it sends the message again with DUP in the next,
    /// clean, session (a re-delivery).
    #[test]
    fn pipelined_publishes_and_redeliveries_conform() {
        let t = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (1, Dut, publish(Some(7), 1, false, "t#7")),
            (
                2,
                Dut,
                ConnectFailed {
                    reason: s("CONNACK return code 5"),
                },
            ),
            (1_000, Dut, Connecting { attempt: 2 }),
            (
                1_010,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            (1_020, Dut, publish(Some(7), 1, true, "t#7")),
            (1_030, Dut, Puback { pid: 7 }),
            run_end(2_000),
        ]);
        passes(&oracle("oracle = \"conformance\""), &t);
        // Still a failure: a publish with no connection attempt under way,
        // and DUP on a message never sent before.
        let t = trace(vec![
            (0, Dut, Connecting { attempt: 1 }),
            (
                1,
                Dut,
                ConnectFailed {
                    reason: s("refused"),
                },
            ),
            (2, Dut, publish(Some(1), 1, false, "t#1")),
            (
                10,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            (20, Dut, publish(Some(2), 1, true, "t#2")),
            run_end(1_000),
        ]);
        let f = failures(&oracle("oracle = \"conformance\""), &t);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].message.contains("outside a connection"), "{}", f[0]);
        assert!(f[1].message.contains("first send of t#2"), "{}", f[1]);
    }

    #[test]
    fn names_each_violation() {
        let t = trace(vec![
            (0, Dut, publish(Some(1), 1, false, "dut-0:1")),
            (
                10,
                Dut,
                Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            (100, Dut, publish(Some(2), 1, false, "dut-0:2")),
            (10_100, Dut, publish(Some(2), 1, false, "dut-0:2")),
            (10_200, Dut, publish(Some(2), 1, false, "dut-0:3")),
            (100_000, Dut, PingSent),
            run_end(100_100),
        ]);
        let f = failures(&oracle("oracle = \"conformance\""), &t);
        let msgs: Vec<String> = f.iter().map(|f| f.message.clone()).collect();
        assert_eq!(
            msgs,
            vec![
                "publish dut-0:1 sent at 0.000s outside a connection (before CONNACK)",
                "resend of dut-0:2 (pid 2) at 10.100s without DUP",
                "pid 2 reused for dut-0:3 at 10.200s while dut-0:2 is still in flight",
                "nothing sent for 89800 ms while connected with keepalive 60s: from 10.200s to 100.000s",
            ]
        );
        assert_eq!(
            f[1].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(
            f[3].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![4, 5]
        );
    }
}
