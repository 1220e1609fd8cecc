//! `ping_cadence{tolerance}`: the DUT keeps its keepalive on every
//! connection, reconnections included (C2, D1): while connected with a
//! ping interval P (the scenario's `dut.ping_interval`, or the connection's
//! keepalive / 4, whichever is smaller), a PINGREQ goes out at most P (+
//! `tolerance`, default 0.5 s) after the connection last went quiet in
//! either direction, and never sooner than P (P / 2 with
//! `adaptive_response`, which pings one reply timeout early) less the
//! tolerance after the connection came up or after the previous ping
//! (other traffic only delays a ping). A ping timer left over from a lost
//! connection, or one not armed again after a reconnection, breaks it.
//!
//! What counts as traffic, from the DUT's trace lines: sent: `publish_sent`,
//! `pubrel_sent` (resends), `ping_sent`; received: `puback`, `pingresp`,
//! `stray_ack`; both (a packet and its acknowledgement): `message` at
//! qos > 0, `qos2_duplicate`, `broker_violation`, `subscribed` (SUBSCRIBE
//! and its SUBACK), a first `pubrel_sent` (the PUBREC it answers);
//! `message` at qos 0 is received only. Packets the trace does not show
//! (an incoming PUBREL, an UNSUBACK) make the check stricter than the
//! driver's own timer. A connection lasts from
//! `connected` to `connection_lost`, `down`, `connecting`, `wifi_down` or
//! a `dut_reboot`. While a ping is unanswered nothing is judged (that is
//! outage detection, `detects_outage_within`).
//!
//! A connection seen on the wire (`connected` with `source = "wire"`, a
//! black-box DUT) is judged by MQTT's own rule, not our driver's: the DUT
//! sends a packet at most its keepalive (+ `tolerance`) after the last one
//! it sent ([MQTT-3.1.2-23]; what it received does not count), and how
//! early it pings is its own business.

use super::Evidence;
use super::{fmt_seconds, secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::dut::DutConfig;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event, Source};

#[derive(Debug, Clone, PartialEq)]
pub struct PingCadence {
    pub tolerance_ms: u64,
    /// `dut.ping_interval` in ms (0: keepalive / 4), from the scenario.
    pub ping_interval_ms: u64,
    /// `dut.adaptive_response` is set: pings may come from P / 2 on.
    pub adaptive: bool,
}

/// One connection being followed.
struct Conn {
    at: usize,
    interval: u64,
    last_tx: u64,
    last_rx: u64,
    ping_out: bool,
    /// The last ping, or the connection's start.
    last_ping: u64,
    reported: bool,
    /// Seen on the wire: MQTT's rule (see the module doc).
    wire: bool,
}

impl PingCadence {
    fn interval_for(&self, keepalive_s: u16) -> Option<u64> {
        let quarter = u64::from(keepalive_s) * 1000 / 4;
        match (quarter, self.ping_interval_ms) {
            (0, 0) => None,
            (0, p) => Some(p),
            (q, 0) => Some(q),
            (q, p) => Some(q.min(p)),
        }
    }

    /// Checks that no ping was overdue at `now`; a failure names the
    /// connection's start and the record at `now` (if any).
    fn overdue(
        &self,
        t: &Trace<'_>,
        c: &mut Conn,
        now: u64,
        at: Option<usize>,
        failures: &mut Vec<Failure>,
    ) {
        let quiet = if c.wire {
            c.last_tx
        } else {
            c.last_tx.min(c.last_rx)
        };
        if c.ping_out || c.reported || now <= quiet + c.interval + self.tolerance_ms {
            return;
        }
        c.reported = true;
        let mut events = vec![t.r(c.at)];
        events.extend(at.map(|i| t.r(i)));
        failures.push(Failure::new(
            format!(
                "connected at {}: no ping {}s after the connection went quiet at {} ({} {}s), nothing until {}",
                secs(t.records[c.at].t_ms),
                fmt_seconds(c.interval + self.tolerance_ms),
                secs(quiet),
                if c.wire { "keepalive" } else { "ping interval" },
                fmt_seconds(c.interval),
                secs(now)
            ),
            events,
        ));
    }
}

impl OracleSpec for PingCadence {
    const NAME: &'static str = "ping_cadence";
    const FIELDS: &'static [&'static str] = &["tolerance"];
    const SUMMARY: &'static str =
        "on every connection, reconnections included, PINGREQ goes out at the ping interval after the link goes quiet (± `tolerance`, default 0.5 s)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(PingCadence {
            tolerance_ms: f.opt::<Dur>("tolerance")?.map_or(500, |d| d.as_millis()),
            ping_interval_ms: 0,
            adaptive: false,
        })
    }

    fn configure(&mut self, dut: &DutConfig) {
        self.ping_interval_ms = dut.ping_interval.as_millis();
        self.adaptive = dut.adaptive_response.is_some();
    }

    fn params(&self) -> String {
        format!("tolerance={}", Dur::from_millis(self.tolerance_ms))
    }

    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let mut failures = Vec::new();
        let mut conn: Option<Conn> = None;
        let mut judged = 0usize;
        for (i, r) in t.iter() {
            let now = r.t_ms;
            let ends = match (&r.actor, &r.event) {
                (Actor::Faults, Event::Fault { kind, .. }) => {
                    crate::scenario::fault::Fault::reboots(kind)
                }
                (Actor::Dut, e) => matches!(
                    e,
                    Event::ConnectionLost { .. }
                        | Event::Down
                        | Event::Connecting { .. }
                        | Event::WifiDown
                        | Event::Connected { .. }
                ),
                (Actor::Harness, Event::RunEnd) => true,
                _ => false,
            };
            if let Some(c) = conn.as_mut() {
                self.overdue(t, c, now, Some(i), &mut failures);
                if ends {
                    if now >= t.records[c.at].t_ms + c.interval + self.tolerance_ms {
                        judged += 1;
                    }
                    conn = None;
                }
            }
            if r.actor != Actor::Dut {
                continue;
            }
            if let Event::Connected { keepalive_s, .. } = &r.event {
                let wire = r.source == Source::Wire;
                let interval = if wire {
                    (*keepalive_s > 0).then(|| u64::from(*keepalive_s) * 1000)
                } else {
                    self.interval_for(*keepalive_s)
                };
                conn = interval.map(|interval| Conn {
                    at: i,
                    interval,
                    last_tx: now,
                    last_rx: now,
                    ping_out: false,
                    last_ping: now,
                    reported: false,
                    wire,
                });
                continue;
            }
            let Some(c) = conn.as_mut() else {
                continue;
            };
            let (tx, rx) = match &r.event {
                // The first PUBREL answers a PUBREC that arrived.
                Event::PubrelSent { resend: false, .. } => (true, true),
                Event::PublishSent { .. } | Event::PubrelSent { .. } => (true, false),
                Event::PingSent => {
                    let floor = if self.adaptive {
                        c.interval / 2
                    } else {
                        c.interval
                    };
                    if !c.wire && !c.ping_out && now + self.tolerance_ms < c.last_ping + floor {
                        let since = if c.last_ping == t.records[c.at].t_ms {
                            "the connection came up"
                        } else {
                            "the previous ping"
                        };
                        failures.push(Failure::new(
                            format!(
                                "ping at {} only {}s after {since} at {} (ping interval {}s)",
                                secs(now),
                                fmt_seconds(now - c.last_ping),
                                secs(c.last_ping),
                                fmt_seconds(c.interval)
                            ),
                            vec![t.r(c.at), t.r(i)],
                        ));
                    }
                    c.ping_out = true;
                    c.last_ping = now;
                    (true, false)
                }
                Event::Pingresp => {
                    c.ping_out = false;
                    (false, true)
                }
                Event::Puback { .. } | Event::StrayAck { .. } => (false, true),
                Event::Message { qos: 0, .. } => (false, true),
                Event::Message { .. }
                | Event::Qos2Duplicate { .. }
                | Event::BrokerViolation { .. }
                | Event::Subscribed { .. } => (true, true),
                _ => (false, false),
            };
            if tx {
                c.last_tx = now;
            }
            if rx {
                c.last_rx = now;
            }
        }
        if judged == 0 && failures.is_empty() {
            return Outcome::Inconclusive(
                "no connection lasted a ping interval with keepalive on".into(),
            );
        }
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn connected(t: u64) -> (u64, crate::trace::Actor, crate::trace::Event) {
        (
            t,
            Dut,
            Connected {
                session_present: false,
                keepalive_s: 60,
            },
        )
    }

    /// Keepalive 60 s: a ping every 15 s when idle, on both connections.
    #[test]
    fn passes_when_pings_resume_after_the_reconnect() {
        let o = oracle("oracle = \"ping_cadence\"");
        let t = trace(vec![
            connected(0),
            (15_000, Dut, PingSent),
            (15_010, Dut, Pingresp),
            (20_000, Dut, ConnectionLost { reason: s("x") }),
            connected(21_000),
            (36_000, Dut, PingSent),
            (36_010, Dut, Pingresp),
            run_end(40_000),
        ]);
        passes(&o, &t);
    }

    #[test]
    fn fails_when_no_ping_follows_a_reconnect() {
        let o = oracle("oracle = \"ping_cadence\"");
        let t = trace(vec![
            connected(0),
            (15_000, Dut, PingSent),
            (15_010, Dut, Pingresp),
            (20_000, Dut, ConnectionLost { reason: s("x") }),
            connected(21_000),
            run_end(60_000),
        ]);
        let f = failures(&o, &t);
        assert_eq!(
            f[0].message,
            "connected at 21.000s: no ping 15.5s after the connection went quiet at 21.000s (ping interval 15s), nothing until 60.000s"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![4, 5]
        );
    }

    #[test]
    fn fails_on_an_early_ping_and_counts_traffic_as_activity() {
        let o = oracle("oracle = \"ping_cadence\"");
        let t = trace(vec![
            connected(0),
            (
                10_000,
                Dut,
                PublishSent {
                    pid: Some(1),
                    qos: 1,
                    dup: false,
                    topic: s("t"),
                    msg: s("dut-0:1"),
                },
            ),
            (10_010, Dut, Puback { pid: 1 }),
            // Pings due from 15 s on (at 25 s here: traffic at 10 s).
            (12_000, Dut, PingSent),
            (12_010, Dut, Pingresp),
            (13_000, Dut, PingSent),
            run_end(14_000),
        ]);
        let f = failures(&o, &t);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            f[0].message,
            "ping at 12.000s only 12s after the connection came up at 0.000s (ping interval 15s)"
        );
        assert_eq!(
            f[1].message,
            "ping at 13.000s only 1s after the previous ping at 12.000s (ping interval 15s)"
        );
    }

    #[test]
    fn takes_the_ping_interval_from_the_dut() {
        let mut o = oracle("oracle = \"ping_cadence\"");
        let dut = crate::scenario::dut::DutConfig {
            ping_interval: crate::duration::Dur::from_secs(5),
            ..Default::default()
        };
        o.configure(&dut);
        let t = trace(vec![connected(0), (15_000, Dut, PingSent), run_end(16_000)]);
        assert!(failures(&o, &t)[0].message.contains("ping interval 5s"));
    }

    /// Seen on the wire: MQTT's rule. paho pings at its keepalive (60 s),
    /// not at a quarter of it, and may ping early; what it receives does
    /// not keep the connection alive, what it sends does.
    #[test]
    fn a_wire_connection_is_judged_by_the_keepalive() {
        let o = oracle("oracle = \"ping_cadence\"");
        let msg = |t: u64| {
            (
                t,
                Dut,
                Message {
                    topic: s("c"),
                    qos: 0,
                    retain: false,
                    dup: false,
                    msg: s("obs-1:1"),
                },
            )
        };
        let t = wire(vec![
            connected(0),
            (5_000, Dut, PingSent),
            (5_010, Dut, Pingresp),
            (65_000, Dut, PingSent),
            (65_010, Dut, Pingresp),
            (100_000, Dut, ConnectionLost { reason: s("x") }),
            connected(101_000),
            msg(130_000),
            msg(160_000),
            run_end(200_000),
        ]);
        let f = failures(&o, &t);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            "connected at 101.000s: no ping 60.5s after the connection went quiet at 101.000s (keepalive 60s), nothing until 200.000s"
        );
        // The same trace as our driver's: its own, stricter rule.
        let ours = trace(vec![
            connected(0),
            (5_000, Dut, PingSent),
            (5_010, Dut, Pingresp),
            run_end(10_000),
        ]);
        assert_eq!(failures(&o, &ours).len(), 1);
    }
}
