//! The link faults issue 21 added, in the simulator: one-way latency, a TCP
//! reset on the path, WiFi associated without IP, irregular flapping drawn
//! from the seed.

use hil::trace::{Actor, Event, Record};

use crate::support::sim_records as run;

fn scenario(name: &str, duration: &str, timeline: &str) -> String {
    format!(
        "name = \"{name}\"\nduration = \"{duration}\"\n\
         [dut]\nclient_id = \"dut-1\"\n\
         [[workload.publish]]\ntopic = \"dut/t\"\nqos = 1\ninterval = \"1s\"\n\
         {timeline}\n\
         [[expect]]\noracle = \"qos1_no_loss\"\n"
    )
}

/// (start, done) of each application publish, in ms.
fn round_trips(records: &[Record]) -> Vec<(u64, u64)> {
    let mut started = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for r in records {
        match &r.event {
            Event::AppPublishStart { msg, .. } => {
                started.insert(msg.clone(), r.t_ms);
            }
            Event::AppPublishDone { msg } => {
                if let Some(s) = started.remove(msg) {
                    out.push((s, r.t_ms));
                }
            }
            _ => {}
        }
    }
    out
}

fn max_rtt(records: &[Record], from: u64, to: u64) -> u64 {
    round_trips(records)
        .iter()
        .filter(|(s, _)| (from..to).contains(s))
        .map(|(s, d)| d - s)
        .max()
        .unwrap_or(0)
}

fn min_rtt(records: &[Record], from: u64, to: u64) -> u64 {
    round_trips(records)
        .iter()
        .filter(|(s, _)| (from..to).contains(s))
        .map(|(s, d)| d - s)
        .min()
        .unwrap_or(u64::MAX)
}

/// Extra latency one way shows in every publish's round trip while it is
/// in force, and only then; no resend (it stays under response_time).
#[test]
fn one_way_latency_delays_that_direction_for_its_window() {
    for dir in ["up", "down"] {
        let text = scenario(
            "one-way",
            "60s",
            &format!(
                "[[timeline]]\nat = \"20s\"\nkind = \"latency\"\ndirection = \"{dir}\"\nmin = \"1s\"\nmax = \"3s\"\nfor = \"20s\"\n"
            ),
        );
        let records = run(&text, 1);
        assert!(max_rtt(&records, 5_000, 19_000) < 200, "{dir}: before");
        let (lo, hi) = (
            min_rtt(&records, 21_000, 38_000),
            max_rtt(&records, 21_000, 38_000),
        );
        assert!(lo >= 1_000 && hi <= 3_200, "{dir}: during: {lo}..{hi}");
        assert!(max_rtt(&records, 45_000, 60_000) < 200, "{dir}: after");
        assert!(
            !records
                .iter()
                .any(|r| matches!(r.event, Event::Retransmit { .. })),
            "{dir}: no resend"
        );
    }
}

/// A reset on the path: the DUT sees its connection reset (not closed by
/// the broker), the broker sees it end, and the DUT is back at once.
#[test]
fn a_link_reset_resets_the_connection_at_both_ends() {
    let text = scenario(
        "reset",
        "40s",
        "[[timeline]]\nat = \"20s\"\nkind = \"link_reset\"\n",
    );
    let records = run(&text, 1);
    let lost: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.event, Event::ConnectionLost { .. }))
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].t_ms, 20_000);
    let Event::ConnectionLost { reason } = &lost[0].event else {
        unreachable!()
    };
    assert!(reason.contains("connection reset"), "{reason}");
    assert!(records.iter().any(|r| r.actor == Actor::Broker
        && r.t_ms >= 20_000
        && matches!(&r.event, Event::ClientDisconnected { client_id, .. } if client_id == "dut-1")));
    let back = records
        .iter()
        .find(|r| r.t_ms > 20_000 && matches!(r.event, Event::Connected { .. }))
        .map(|r| r.t_ms);
    assert!(back.is_some_and(|t| t < 21_000), "{back:?}");
}

/// Associated without IP: the driver's link is up (it tries to connect)
/// and every attempt fails until IP works; then it connects.
#[test]
fn wifi_associating_fails_connects_with_the_link_up_until_ip_works() {
    let text = scenario(
        "assoc",
        "60s",
        "[[timeline]]\nat = \"10s\"\nkind = \"wifi_associating\"\nfor = \"20s\"\n",
    );
    let records = run(&text, 1);
    let t = |pred: &dyn Fn(&Event) -> bool| -> Vec<u64> {
        records
            .iter()
            .filter(|r| r.actor == Actor::Dut && pred(&r.event))
            .map(|r| r.t_ms)
            .collect()
    };
    assert_eq!(t(&|e| matches!(e, Event::WifiDown)), [10_000]);
    // Up at boot (after the seeded boot delay), then associated at 11 s.
    let ups = t(&|e| matches!(e, Event::WifiUp));
    assert_eq!(ups.len(), 2, "{ups:?}");
    assert!(ups[0] < 10_000 && ups[1] == 11_000, "{ups:?}");
    let failed = t(&|e| matches!(e, Event::ConnectFailed { .. }));
    assert!(failed.len() >= 2, "{failed:?}");
    assert!(
        failed.iter().all(|t| (11_000..31_000).contains(t)),
        "{failed:?}"
    );
    let connected = t(&|e| matches!(e, Event::Connected { .. }));
    assert!(
        connected.iter().any(|c| (31_000..45_000).contains(c)),
        "{connected:?}"
    );
    assert!(!connected.iter().any(|c| (10_000..31_000).contains(c)));
}

fn wifi_changes(records: &[Record]) -> Vec<(u64, bool)> {
    records
        .iter()
        .filter(|r| r.actor == Actor::Dut)
        .filter_map(|r| match r.event {
            Event::WifiDown => Some((r.t_ms, false)),
            Event::WifiUp => Some((r.t_ms, true)),
            _ => None,
        })
        .collect()
}

/// An irregular flap draws its times from the seed: one seed gives the same
/// flap twice, another seed another; every down and up within its range.
#[test]
fn an_irregular_flap_is_drawn_from_the_seed() {
    let text = scenario(
        "flap",
        "3m",
        "[[timeline]]\nat = \"10s\"\nkind = \"wifi_flap\"\ndown = \"200ms..5s\"\nup = \"1s..30s\"\nfor = \"2m\"\n",
    );
    let a = wifi_changes(&run(&text, 1));
    assert_eq!(a, wifi_changes(&run(&text, 1)));
    let b = wifi_changes(&run(&text, 2));
    assert_ne!(a, b);
    for w in [&a, &b] {
        assert!(w.len() >= 6, "{w:?}");
        assert_eq!(w[1], (10_000, false));
        assert_eq!(w.last().map(|x| x.1), Some(true));
        for p in w[1..].windows(2) {
            let len = p[1].0 - p[0].0;
            let last = p[1].0 == 130_000;
            if !p[0].1 && !last {
                assert!((200..=5_000).contains(&len), "down {len} in {w:?}");
            }
            if p[0].1 {
                assert!((1_000..=30_000).contains(&len), "up {len} in {w:?}");
            }
        }
        assert!(w.last().unwrap().0 <= 130_000);
    }
}
