//! The simulator's `link_blackhole` is a silent path loss as TCP lives
//! through it: nothing gets through while it lasts, nothing is lost, and
//! what was sent arrives in order when it ends, on the same connection.
//! turmoil has no retransmission: its `partition` drops the segments and
//! wedges the stream for good (the bytes after the gap never arrive), which
//! cut the DUT's stream in the middle; the simulator now holds the link.

use hil::backend::Backend;
use hil::sim::SimBackend;
use hil::trace::sink::VecSink;
use hil::trace::{Actor, Event, Record};

/// A 3 s blackhole, far shorter than the DUT's detection (keepalive 60 s),
/// while it publishes QoS 1 every second.
const SCENARIO: &str = r#"
name = "sim-blackhole-holds"
description = "a short blackhole: held bytes arrive in order on the same connection"
duration = "20s"

[dut]
client_id = "dut-bh"
keepalive = "60s"

[[workload.publish]]
topic = "dut/bh/t"
qos = 1
interval = "1s"
wait = false

[[timeline]]
at = "10s"
kind = "link_blackhole"
for = "3s"
"#;

fn run() -> Vec<Record> {
    let (scenario, _) = hil::scenario::parse(SCENARIO).expect("valid scenario");
    let mut sink = VecSink::default();
    SimBackend::new()
        .run(&scenario, 1, &mut sink)
        .expect("the simulation runs");
    sink.records
}

#[test]
fn bytes_sent_into_a_blackhole_arrive_in_order_on_the_same_connection() {
    let records = run();
    let dut = |f: fn(&Event) -> bool| {
        records
            .iter()
            .filter(|r| r.actor == Actor::Dut && f(&r.event))
            .collect::<Vec<_>>()
    };
    let lost = dut(|e| matches!(e, Event::ConnectionLost { .. }));
    assert!(
        lost.is_empty(),
        "the connection survives a 3 s blackhole: {lost:?}"
    );
    assert_eq!(
        dut(|e| matches!(e, Event::Connected { .. })).len(),
        1,
        "no reconnection"
    );
    let resent = dut(|e| matches!(e, Event::PublishSent { dup: true, .. }));
    assert!(resent.is_empty(), "nothing needed resending: {resent:?}");
    // Publishes sent during the blackhole (10-13 s) are acknowledged after it,
    // every one, in the order sent.
    let sent: Vec<(u64, u16)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::PublishSent { pid: Some(p), .. } if r.actor == Actor::Dut => Some((r.t_ms, *p)),
            _ => None,
        })
        .collect();
    let acked: Vec<(u64, u16)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Puback { pid } if r.actor == Actor::Dut => Some((r.t_ms, *pid)),
            _ => None,
        })
        .collect();
    let during: Vec<u16> = sent
        .iter()
        .filter(|(t, _)| (10_000..13_000).contains(t))
        .map(|(_, p)| *p)
        .collect();
    assert!(
        during.len() >= 2,
        "publishes during the blackhole: {sent:?}"
    );
    let acked_after: Vec<u16> = acked
        .iter()
        .filter(|(t, p)| *t >= 13_000 && during.contains(p))
        .map(|(_, p)| *p)
        .collect();
    assert_eq!(
        acked_after, during,
        "each publish of the blackhole acknowledged after it, in order"
    );
    let sent_pids: Vec<u16> = sent.iter().map(|(_, p)| *p).collect();
    let acked_pids: Vec<u16> = acked.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        &sent_pids[..acked_pids.len()],
        &acked_pids[..],
        "acknowledged in the order sent"
    );
}
