//! Broker faults in real time with the chaos broker (issue 21): a counted
//! fault keeps what is left of its count across a broker restart (the
//! restarted broker process gets the fault as the stopped one had it), and
//! the packet log stamps a delayed packet when it leaves.

use hil::backend::Backend;
use hil::live::{BrokerKind, LiveBackend};
use hil::trace::sink::VecSink;
use hil::trace::{Dir, Event};

/// `broker_delay` of 2 PUBACKs: one is used before the crash at 4.6 s, the
/// other by the first PUBACK after the restart, and no PUBACK after that is
/// delayed. (Before, real time could not run `broker_delay` at all.)
#[test]
fn a_counted_delay_keeps_its_remaining_count_across_a_chaos_broker_restart() {
    let text = r#"name = "live-chaos-delay-restart"
duration = "10s"

[dut]
client_id = "dut-lcr"
quick = true
clean_init = false
clean = false

[[workload.publish]]
topic = "dut/lcr"
qos = 1
interval = "1s"

[[timeline]]
at = "3.5s"
kind = "broker_delay"
packet = "puback"
delay = "100ms"
count = 2

[[timeline]]
at = "4.6s"
kind = "broker_crash"

[[timeline]]
at = "4.8s"
kind = "broker_restart"
persist = true

[[expect]]
oracle = "qos1_no_loss"
"#;
    let (s, _) = hil::scenario::parse(text).unwrap_or_else(|e| panic!("{e:?}"));
    let mut sink = VecSink::default();
    LiveBackend::new(BrokerKind::Chaos)
        .run(&s, 1, &mut sink)
        .unwrap_or_else(|e| panic!("{e}"));
    let pubacks: Vec<(u64, Option<u64>)> = sink
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::BrokerPacket {
                dir: Dir::Out,
                client_id,
                summary,
                queued_ms,
            } if client_id == "dut-lcr" && summary.starts_with("PUBACK") => {
                Some((r.t_ms, *queued_ms))
            }
            _ => None,
        })
        .collect();
    let delayed: Vec<&(u64, Option<u64>)> = pubacks.iter().filter(|p| p.1.is_some()).collect();
    assert_eq!(delayed.len(), 2, "two delayed PUBACKs: {pubacks:?}");
    assert!(delayed[0].0 < 4_600, "one before the crash: {pubacks:?}");
    assert!(delayed[1].0 > 4_800, "one after the restart: {pubacks:?}");
    let after = pubacks.iter().filter(|p| p.0 > 4_800).collect::<Vec<_>>();
    assert_eq!(
        after.first().map(|p| p.1.is_some()),
        Some(true),
        "the first PUBACK after the restart is the delayed one: {pubacks:?}"
    );
    for (sent, queued) in delayed {
        let held = sent - queued.unwrap_or(0);
        assert!((80..400).contains(&held), "held {held} ms: {pubacks:?}");
    }
}

/// A broker fault only the chaos broker can inject is refused on mosquitto
/// with an error that names the backend, the broker and the way out.
#[test]
fn a_chaos_only_fault_on_mosquitto_is_unsupported_naming_the_backend() {
    let text = r#"name = "live-mosquitto-reuse-pid"
duration = "3s"

[dut]
quick = true

[[workload.publish]]
topic = "dut/m"
qos = 1
interval = "1s"

[[timeline]]
at = "1s"
kind = "broker_reuse_pid"

[[expect]]
oracle = "qos1_no_loss"
"#;
    let (s, _) = hil::scenario::parse(text).unwrap_or_else(|e| panic!("{e:?}"));
    let mut sink = VecSink::default();
    let e = LiveBackend::new(BrokerKind::Mosquitto)
        .run(&s, 1, &mut sink)
        .expect_err("mosquitto cannot reuse packet ids on command");
    let text = e.to_string();
    for part in ["live", "mosquitto", "--broker chaos", "`broker_reuse_pid`"] {
        assert!(text.contains(part), "{part} in: {text}");
    }
}
