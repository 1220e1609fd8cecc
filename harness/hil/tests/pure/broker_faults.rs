//! Broker faults in the simulator (issue 21): a counted fault's count and a
//! window belong to the scenario, not to one broker process; the broker's
//! packet log stamps a delayed packet when it leaves, with its queued time.

use hil::trace::{Actor, Dir, Event, Record};

use crate::support::sim_records as run;

/// A QoS 1 publish every second, and `timeline`.
fn publisher(name: &str, duration: &str, timeline: &str) -> String {
    format!(
        "name = \"{name}\"\nduration = \"{duration}\"\n\
         [dut]\nclient_id = \"dut-1\"\nclean_init = false\nclean = false\n\
         [[workload.publish]]\ntopic = \"dut/t\"\nqos = 1\ninterval = \"1s\"\n\
         {timeline}\n\
         [[expect]]\noracle = \"qos1_no_loss\"\n"
    )
}

fn retransmits(records: &[Record]) -> Vec<u64> {
    records
        .iter()
        .filter(|r| r.actor == Actor::Dut && matches!(r.event, Event::Retransmit { .. }))
        .map(|r| r.t_ms)
        .collect()
}

/// PUBACKs the broker sent the DUT in `from..to` ms.
fn pubacks(records: &[Record], from: u64, to: u64) -> usize {
    records
        .iter()
        .filter(|r| (from..to).contains(&r.t_ms))
        .filter(|r| {
            matches!(&r.event, Event::BrokerPacket { dir: Dir::Out, client_id, summary, .. }
                if client_id == "dut-1" && summary.starts_with("PUBACK"))
        })
        .count()
}

/// Publishes the broker got from the DUT in `from..to` ms.
fn publishes_in(records: &[Record], from: u64, to: u64) -> usize {
    records
        .iter()
        .filter(|r| (from..to).contains(&r.t_ms))
        .filter(|r| {
            matches!(&r.event, Event::BrokerPacket { dir: Dir::In, client_id, summary, .. }
                if client_id == "dut-1" && summary.starts_with("PUBLISH"))
        })
        .count()
}

/// Drop one PUBACK at 10 s, restart the broker at 31 s: the PUBACK lost at
/// 10 s is the only one (the DUT resends that publish once, ~10 s later);
/// the first PUBACK after the restart arrives. Before the fix the restarted
/// broker got `drop puback 1` again and dropped it too.
#[test]
fn a_counted_drop_is_not_rearmed_by_a_broker_restart() {
    let text = publisher(
        "drop-across-restart",
        "60s",
        "[[timeline]]\nat = \"10s\"\nkind = \"broker_drop\"\npacket = \"puback\"\ncount = 1\n\
         [[timeline]]\nat = \"30.5s\"\nkind = \"broker_crash\"\n\
         [[timeline]]\nat = \"31s\"\nkind = \"broker_restart\"\npersist = true\n",
    );
    let records = run(&text, 1);
    let resent = retransmits(&records);
    assert_eq!(
        resent.len(),
        1,
        "one resend, for the PUBACK lost at 10 s: {resent:?}"
    );
    assert!((10_000..31_000).contains(&resent[0]), "{resent:?}");
    // After the restart every publish is acknowledged.
    let (ins, acks) = (
        publishes_in(&records, 31_000, 60_000),
        pubacks(&records, 31_000, 60_000),
    );
    assert!(ins >= 20, "the DUT kept publishing: {ins}");
    assert_eq!(acks, ins, "every publish after the restart acknowledged");
}

/// `for`: every PUBACK is dropped for the window, none after it, and a
/// broker restart inside the window does not end or extend it.
#[test]
fn a_drop_window_covers_every_packet_for_its_length_across_a_restart() {
    let text = publisher(
        "drop-window",
        "90s",
        "[[timeline]]\nat = \"10s\"\nkind = \"broker_drop\"\npacket = \"puback\"\nfor = \"20s\"\n\
         [[timeline]]\nat = \"15.5s\"\nkind = \"broker_crash\"\n\
         [[timeline]]\nat = \"16s\"\nkind = \"broker_restart\"\npersist = true\n",
    );
    let records = run(&text, 1);
    // Inside the window (after the first PUBACK's round trip) nothing is
    // acknowledged, before the restart and after it.
    assert!(publishes_in(&records, 10_100, 29_900) > 0);
    assert_eq!(pubacks(&records, 10_100, 29_900), 0);
    // After it everything is.
    let (ins, acks) = (
        publishes_in(&records, 45_000, 90_000),
        pubacks(&records, 45_000, 90_000),
    );
    assert!(ins >= 40, "{ins}");
    assert_eq!(acks, ins);
    let end = records
        .iter()
        .find(|r| matches!(&r.event, Event::FaultEnd { kind } if kind == "broker_drop"))
        .map(|r| r.t_ms);
    assert_eq!(end, Some(30_000), "the window ends at 10 s + 20 s");
}

/// `count` with `for`: the next `count` within the window; what is left
/// when the window ends expires.
#[test]
fn a_counted_drop_with_a_window_ends_with_the_window() {
    let text = publisher(
        "drop-count-window",
        "60s",
        "[[timeline]]\nat = \"10.5s\"\nkind = \"broker_drop\"\npacket = \"pingresp\"\ncount = 5\nfor = \"2s\"\n",
    );
    // No PINGRESP goes out in those 2 s (pings every 15 s by default), so
    // the 5 drops expire unused: no ping goes unanswered later.
    let records = run(&text, 1);
    let pings_out = records
        .iter()
        .filter(|r| {
            matches!(&r.event, Event::BrokerPacket { dir: Dir::Out, client_id, summary, .. }
            if client_id == "dut-1" && summary == "PINGRESP")
        })
        .count();
    let pings_in = records
        .iter()
        .filter(|r| {
            matches!(&r.event, Event::BrokerPacket { dir: Dir::In, client_id, summary, .. }
            if client_id == "dut-1" && summary == "PINGREQ")
        })
        .count();
    assert_eq!(pings_out, pings_in, "every PINGREQ answered");
}

/// A delayed packet is in the trace when it left the broker, with the time
/// it was queued (`queued_ms`); before, only the queued time was logged.
#[test]
fn a_delayed_packet_is_logged_when_it_leaves_with_its_queued_time() {
    let text = publisher(
        "delay-log",
        "30s",
        "[[timeline]]\nat = \"9.5s\"\nkind = \"broker_delay\"\npacket = \"puback\"\ndelay = \"3s\"\n",
    );
    let records = run(&text, 1);
    let delayed: Vec<(u64, Option<u64>)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::BrokerPacket {
                dir: Dir::Out,
                summary,
                queued_ms: Some(q),
                ..
            } if summary.starts_with("PUBACK") => Some((r.t_ms, Some(*q))),
            _ => None,
        })
        .collect();
    assert!(
        !delayed.is_empty(),
        "the delayed PUBACK carries its queued time"
    );
    let (sent, queued) = (delayed[0].0, delayed[0].1.unwrap_or(0));
    assert_eq!(
        sent - queued,
        3_000,
        "left 3 s after it was queued: {delayed:?}"
    );
    assert!(
        (10_000..10_500).contains(&queued),
        "queued at the 10 s publish: {delayed:?}"
    );
}
