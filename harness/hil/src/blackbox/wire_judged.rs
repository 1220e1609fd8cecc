//! Tests: the oracles that judge a black-box DUT, on traces the wire view
//! ([`super::wire`]) makes from MQTT bytes and connection events, marked
//! `source = "wire"` as a `--dut` run records them, and gated as such a
//! run gates them (`Oracle::verdict_with` with what a DUT profile with a
//! `seq` rule produces: [`Evidence::Wire`] and [`Evidence::Messages`]).
//! One test per oracle that opts into wire evidence, each with a verdict
//! that fails; and the oracles that cannot judge a black box say why.

use std::collections::BTreeMap;

use fault_proxy::fault::Dir;
use fault_proxy::wire::{Closer, Framer, WireEvent};

use super::seq::SeqRule;
use super::wire::WireView;
use crate::duration::Dur;
use crate::oracle::testkit::oracle;
use crate::oracle::{Evidence, Oracle, Status, Verdict};
use crate::trace::{Actor, Event, Record, Source};

/// What paho (a profile with a `seq` rule) produces.
const PRODUCED: &[Evidence] = &[Evidence::Wire, Evidence::Messages];

/// A black-box run told as what the proxy saw, at scenario times (scale
/// 1), plus the records of the other actors.
struct Run {
    view: WireView,
    framers: BTreeMap<(u64, bool), Framer>,
    records: Vec<Record>,
    t: u64,
}

impl Run {
    fn new() -> Run {
        Run {
            view: WireView::new(Some(SeqRule::default_for_exec()), 1.0),
            framers: BTreeMap::new(),
            records: Vec::new(),
            t: 0,
        }
    }

    fn at(&mut self, t_ms: u64) -> &mut Run {
        self.t = t_ms;
        self
    }

    fn feed(&mut self, ev: WireEvent) -> &mut Run {
        for (a, e) in self.view.feed(ev) {
            self.records
                .push(Record::new(self.t, a, e).from_source(Source::Wire));
        }
        self
    }

    fn open(&mut self, conn: u64) -> &mut Run {
        self.feed(WireEvent::Opened { conn })
    }

    fn close(&mut self, conn: u64, by: Closer) -> &mut Run {
        self.feed(WireEvent::Closed { conn, by })
    }

    fn bytes(&mut self, conn: u64, dir: Dir, bytes: &[u8]) -> &mut Run {
        let packets = self
            .framers
            .entry((conn, dir == Dir::Up))
            .or_default()
            .push(bytes);
        for packet in packets {
            self.feed(WireEvent::Packet { conn, dir, packet });
        }
        self
    }

    /// The DUT sends `bytes` on `conn`.
    fn up(&mut self, conn: u64, bytes: &[u8]) -> &mut Run {
        self.bytes(conn, Dir::Up, bytes)
    }

    /// `bytes` reach the DUT on `conn`.
    fn down(&mut self, conn: u64, bytes: &[u8]) -> &mut Run {
        self.bytes(conn, Dir::Down, bytes)
    }

    /// Opens `conn`, sends CONNECT (keepalive `ka` s), gets CONNACK.
    fn connect(&mut self, conn: u64, ka: u16, session_present: bool) -> &mut Run {
        self.open(conn)
            .up(conn, &connect(ka))
            .down(conn, &[0x20, 0x02, u8::from(session_present), 0x00])
    }

    /// A record of another actor (reported, not seen on the wire).
    fn rec(&mut self, actor: Actor, event: Event) -> &mut Run {
        self.records.push(Record::new(self.t, actor, event));
        self
    }

    fn fault(&mut self, kind: &str) -> &mut Run {
        self.rec(
            Actor::Faults,
            Event::Fault {
                kind: kind.into(),
                detail: String::new(),
            },
        )
    }

    fn fault_end(&mut self, kind: &str) -> &mut Run {
        self.rec(Actor::Faults, Event::FaultEnd { kind: kind.into() })
    }

    fn end(&mut self, t_ms: u64) -> Vec<Record> {
        self.at(t_ms).rec(Actor::Harness, Event::RunEnd);
        self.records.clone()
    }
}

fn connect(ka: u16) -> Vec<u8> {
    let [a, b] = ka.to_be_bytes();
    vec![
        0x10, 0x0f, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, a, b, 0x00, 0x03, b'd', b'u',
        b't',
    ]
}

fn publish(qos: u8, dup: bool, pid: u16, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&pid.to_be_bytes());
    }
    body.extend_from_slice(payload);
    let mut p = vec![
        0x30 | (qos << 1) | if dup { 0x08 } else { 0 },
        body.len() as u8,
    ];
    p.extend(body);
    p
}

/// The DUT's application message number `n` (`peers/d/seq`, decimal).
fn seq(qos: u8, dup: bool, pid: u16, n: u8) -> Vec<u8> {
    publish(qos, dup, pid, "peers/d/seq", n.to_string().as_bytes())
}

/// 0x40 PUBACK, 0x50 PUBREC, 0x62 PUBREL, 0x70 PUBCOMP.
fn ack(first: u8, pid: u16) -> Vec<u8> {
    let [a, b] = pid.to_be_bytes();
    vec![first, 0x02, a, b]
}

const PUBACK: u8 = 0x40;
const PUBREC: u8 = 0x50;
const PUBREL: u8 = 0x62;
const PUBCOMP: u8 = 0x70;
const PINGREQ: &[u8] = &[0xc0, 0x00];
const PINGRESP: &[u8] = &[0xd0, 0x00];

fn subscribe(pid: u16, filter: &str, qos: u8) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    body.extend_from_slice(&(filter.len() as u16).to_be_bytes());
    body.extend_from_slice(filter.as_bytes());
    body.push(qos);
    let mut p = vec![0x82, body.len() as u8];
    p.extend(body);
    p
}

fn suback(pid: u16, granted: u8) -> Vec<u8> {
    let [a, b] = pid.to_be_bytes();
    vec![0x90, 0x03, a, b, granted]
}

fn judge(o: &Oracle, records: &[Record]) -> Verdict {
    o.verdict_with(records, PRODUCED, "paho")
}

fn assert_fails(v: &Verdict, starts: &str) {
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        v.failures.iter().any(|f| f.message.starts_with(starts)),
        "no failure starting {starts:?}: {v:?}"
    );
}

fn assert_passes(v: &Verdict) {
    assert_eq!(v.status, Status::Pass, "{v:?}");
}

#[test]
fn ping_cadence_holds_a_black_box_to_its_keepalive() {
    let o = oracle("oracle = \"ping_cadence\"");
    let run = |pings_again: bool| {
        let mut run = Run::new();
        run.connect(1, 10, false)
            .at(9_000)
            .up(1, PINGREQ)
            .down(1, PINGRESP)
            .at(15_000)
            .close(1, Closer::DeviceFin)
            .at(16_000)
            .connect(2, 10, true);
        if pings_again {
            run.at(25_000).up(2, PINGREQ).down(2, PINGRESP);
            run.at(34_000).up(2, PINGREQ).down(2, PINGRESP);
        }
        run.end(40_000)
    };
    assert_passes(&judge(&o, &run(true)));
    // No packet from the DUT for 24 s on a 10 s keepalive.
    assert_fails(
        &judge(&o, &run(false)),
        "connected at 16.000s: no ping 10.5s after the connection went quiet at 16.000s (keepalive 10s)",
    );
}

#[test]
fn retransmits_per_message_counts_a_black_boxs_dup_resends() {
    let o = oracle("oracle = \"retransmits_per_message_at_most\"\nn = 1");
    let mut run = Run::new();
    run.connect(1, 60, false)
        .at(1_000)
        .up(1, &seq(1, false, 1, 1))
        .at(6_000)
        .up(1, &seq(1, true, 1, 1))
        .at(7_000)
        .close(1, Closer::DeviceReset)
        .at(8_000)
        .connect(2, 60, true)
        .up(2, &seq(1, true, 1, 1))
        .down(2, &ack(PUBACK, 1));
    let records = run.end(10_000);
    assert_fails(
        &judge(&o, &records),
        "peers/d/seq#1 was resent 2 times, more than the 1 allowed",
    );
    // Without message ids (no `seq` rule) it cannot tell messages apart.
    let v = o.verdict_with(&records, &[Evidence::Wire], "exec:x");
    assert_eq!(v.status, Status::Unsupported, "{v:?}");
}

#[test]
fn backoff_followed_times_a_black_boxs_attempts() {
    let mut o = oracle("oracle = \"backoff_followed\"");
    o.configure(&crate::scenario::dut::DutConfig {
        backoff: crate::scenario::dut::Backoff {
            min: Dur::from_secs(1),
            max: Dur::from_secs(8),
            jitter: 0.0,
            refused: Dur::from_secs(30),
        },
        ..Default::default()
    });
    // The broker is gone: the proxy turns each attempt away.
    let attempts = |gaps: &[u64]| {
        let mut run = Run::new();
        let mut t = 0;
        for (i, gap) in gaps.iter().enumerate() {
            t += gap;
            let conn = i as u64 + 1;
            run.at(t).open(conn).at(t + 10).close(conn, Closer::Proxy);
            t += 10;
        }
        run.end(t + 1_000)
    };
    assert_passes(&judge(&o, &attempts(&[0, 1_000, 2_000, 4_000])));
    assert_fails(
        &judge(&o, &attempts(&[0, 1_000, 100])),
        "attempt 3 at 1.120s came 0.1s after attempt 2 failed",
    );
}

#[test]
fn no_stray_acks_sees_an_ack_the_black_box_had_no_pid_for() {
    let mut run = Run::new();
    run.connect(1, 60, false)
        .at(1_000)
        .up(1, &seq(1, false, 1, 1))
        .at(6_000)
        .up(1, &seq(1, true, 1, 1))
        // Both the original and the resend acknowledged.
        .down(1, &ack(PUBACK, 1))
        .at(6_010)
        .down(1, &ack(PUBACK, 1));
    let records = run.end(10_000);
    assert_fails(
        &judge(&oracle("oracle = \"no_stray_acks\""), &records),
        "1 stray acks, more than the 0 allowed: pid 1 at 6.010s",
    );
    assert_passes(&judge(
        &oracle("oracle = \"no_stray_acks\"\nn = 1"),
        &records,
    ));
}

#[test]
fn fresh_ids_after_session_loss_on_a_black_box() {
    let o = oracle("oracle = \"fresh_ids_after_session_loss\"");
    let lost = |dup_again: bool| {
        let mut run = Run::new();
        run.connect(1, 60, false)
            .at(1_000)
            .up(1, &seq(1, false, 1, 1))
            .at(2_000)
            .close(1, Closer::DeviceFin)
            .at(3_000)
            .connect(2, 60, false)
            .up(2, &seq(1, dup_again, 1, 1))
            .down(2, &ack(PUBACK, 1));
        run.end(5_000)
    };
    assert_fails(
        &judge(&o, &lost(true)),
        "peers/d/seq#1 resent with DUP (pid 1) at 3.000s although the session was lost at 3.000s",
    );
    assert_passes(&judge(&o, &lost(false)));
}

#[test]
fn receives_within_counts_what_the_black_box_acknowledged() {
    let o = oracle("oracle = \"receives_within\"\nseconds = 5");
    let run = |acked: bool| {
        let mut run = Run::new();
        run.connect(1, 60, false)
            .up(1, &subscribe(1, "c/#", 1))
            .down(1, &suback(1, 1))
            .at(10_000)
            .fault("broker_crash")
            .at(20_000)
            .fault_end("broker_crash")
            .at(22_000)
            .rec(
                Actor::Observer,
                Event::ObserverPublish {
                    topic: "c/x".into(),
                    msg: "obs-0:5".into(),
                    qos: 1,
                },
            )
            .at(22_100)
            .down(1, &publish(1, false, 9, "c/x", b"obs-0:5 ...."));
        if acked {
            run.at(22_200).up(1, &ack(PUBACK, 9));
        }
        run.end(40_000)
    };
    assert_passes(&judge(&o, &run(true)));
    // A PUBLISH the DUT never acknowledged is not a message it received.
    assert_eq!(judge(&o, &run(false)).status, Status::Fail);
}

#[test]
fn exactly_once_on_a_black_boxs_qos2_both_ways() {
    let src = "name = \"t\"\nduration = \"1m\"\n[workload]\nheartbeat = \"1s\"\n\
               observer = [{ topic = \"c\", qos = 2, interval = \"1s\" }]\n\
               publish = [{ topic = \"t\", qos = 2, interval = \"1s\" }]\n\
               subscribe = [{ topic = \"c\", qos = 2 }]\n\
               [[expect]]\noracle = \"exactly_once\"\n";
    let o = match crate::scenario::parse(src) {
        Ok((sc, _)) => sc.expect[0].oracle.clone(),
        Err(e) => panic!("{e:?}"),
    };
    let run = |twice: bool| {
        let mut run = Run::new();
        run.connect(1, 60, false)
            .up(1, &subscribe(1, "c", 2))
            .down(1, &suback(1, 2))
            // Outgoing: number 1 at QoS 2, completed.
            .at(1_000)
            .up(1, &seq(2, false, 1, 1))
            .down(1, &ack(PUBREC, 1))
            .up(1, &ack(PUBREL, 1))
            .down(1, &ack(PUBCOMP, 1))
            .at(1_100)
            .rec(
                Actor::Observer,
                Event::Delivered {
                    topic: "peers/d/seq".into(),
                    msg: "peers/d/seq#1".into(),
                    qos: 2,
                    retain: false,
                    dup: false,
                },
            )
            // Incoming: the broker resends (its PUBREC was lost); the DUT
            // acknowledges again and must not deliver again.
            .at(2_000)
            .rec(
                Actor::Observer,
                Event::ObserverPublish {
                    topic: "c".into(),
                    msg: "obs-0:1".into(),
                    qos: 2,
                },
            )
            .down(1, &publish(2, false, 4, "c", b"obs-0:1 ...."))
            .up(1, &ack(PUBREC, 4))
            .at(2_500)
            .down(1, &publish(2, true, 4, "c", b"obs-0:1 ...."))
            .up(1, &ack(PUBREC, 4))
            .down(1, &ack(PUBREL, 4))
            .up(1, &ack(PUBCOMP, 4));
        if twice {
            // A broker that sends it again on a new id after release.
            run.at(3_000)
                .down(1, &publish(2, false, 5, "c", b"obs-0:1 ...."))
                .up(1, &ack(PUBREC, 5));
        }
        run.end(10_000)
    };
    let once = run(false);
    assert!(once
        .iter()
        .any(|r| matches!(r.event, Event::Qos2Duplicate { pid: 4 })));
    assert_passes(&judge(&o, &once));
    assert_eq!(judge(&o, &run(true)).status, Status::Fail);
}

#[test]
fn detection_time_is_the_black_boxs_own_give_up() {
    let o = oracle("oracle = \"detects_outage_within\"\nseconds = 5");
    // The DUT resets its connection 4 s into a silent outage: detected.
    let mut run = Run::new();
    run.connect(1, 60, false)
        .at(10_000)
        .fault("link_blackhole")
        .at(14_000)
        .close(1, Closer::DeviceReset)
        .at(30_000)
        .fault_end("link_blackhole");
    assert_passes(&judge(&o, &run.end(40_000)));
    // The proxy closing the connection is not the DUT noticing: its next
    // connection attempt, 7 s in, is.
    let mut run = Run::new();
    run.connect(1, 60, false)
        .at(10_000)
        .fault("link_blackhole")
        .at(11_000)
        .close(1, Closer::Proxy)
        .at(17_000)
        .open(2)
        .at(30_000)
        .fault_end("link_blackhole");
    assert_fails(
        &judge(&o, &run.end(40_000)),
        "fault link_blackhole at 10.000s: no DUT down within 5s (first down at 17.000s)",
    );
}

#[test]
fn recovers_within_and_reconnect_attempts_on_a_black_box() {
    // The broker is down from 10 s to 20 s; the DUT tries every second,
    // `attempts` times, and connects after the last.
    let run = |attempts: u64| {
        let mut run = Run::new();
        run.connect(1, 60, false)
            .at(10_000)
            .fault("broker_crash")
            .at(10_100)
            .close(1, Closer::Proxy);
        let mut ended = false;
        let mut t = 11_000;
        for conn in 2..attempts + 2 {
            if t >= 20_000 && !ended {
                run.at(20_000).fault_end("broker_crash");
                ended = true;
            }
            if conn == attempts + 1 {
                run.at(t).connect(conn, 60, false);
            } else {
                run.at(t).open(conn).at(t + 10).close(conn, Closer::Proxy);
            }
            t += 1_000;
        }
        if !ended {
            run.at(20_000).fault_end("broker_crash");
        }
        run.end(60_000)
    };
    let o = oracle("oracle = \"recovers_within\"\nseconds = 5");
    assert_passes(&judge(&o, &run(12)));
    assert_eq!(judge(&o, &run(17)).status, Status::Fail);
    // The first connection and 12 attempts.
    let o = oracle("oracle = \"reconnect_attempts_at_most\"\nn = 13\nwindow = \"1m\"");
    assert_passes(&judge(&o, &run(12)));
    assert_eq!(judge(&o, &run(17)).status, Status::Fail);
}

/// The oracles a black box cannot feed say exactly what they miss.
#[test]
fn oracles_a_black_box_cannot_feed_say_what_they_miss() {
    for (body, why) in [
        ("oracle = \"never_stalls\"\nms = 5000", "heartbeats"),
        (
            "oracle = \"publish_completes_within\"\nms = 1000",
            "`publish()` call returned",
        ),
        ("oracle = \"wifi_not_cycled\"", "view of its WiFi"),
        ("oracle = \"no_broker_violations\"", "driver itself flagged"),
        (
            "oracle = \"no_reconnect_after_disconnect\"",
            "`app_disconnect`",
        ),
        ("oracle = \"will_published\"", "sets its own will"),
        ("oracle = \"discards_counted\"\nmin = 1", "`discarded`"),
    ] {
        let v = judge(&oracle(body), &Run::new().end(1_000));
        assert_eq!(v.status, Status::Unsupported, "{body}: {v:?}");
        let note = v.note.unwrap_or_default();
        assert!(
            note.contains(why) && note.ends_with("which paho cannot produce"),
            "{body}: {note}"
        );
    }
}
