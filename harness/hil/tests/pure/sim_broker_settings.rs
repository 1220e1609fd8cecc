//! `[broker]` settings reach the simulator's broker: `max_packet_size` is
//! advertised to an MQTT 5 DUT in CONNACK, and our driver, as the spec
//! asks of a client, then sends the broker nothing larger. (The broker's
//! DISCONNECT 0x95 for a larger packet is tested in chaos-broker's unit
//! tests, with a client that breaks the rule.)

use hil::backend::Backend;
use hil::sim::SimBackend;
use hil::trace::sink::VecSink;
use hil::trace::{Dir, Event};

const SCENARIO: &str = r#"
name = "sim-broker-max-packet-size"
description = "a broker packet limit below the DUT's publishes"
duration = "10s"

[dut]
client_id = "dut-mps"
mqtt = 5

[broker]
max_packet_size = 64

[[workload.publish]]
topic = "dut/mps/t"
qos = 0
interval = "2s"
payload_size = 100
"#;

#[test]
fn the_broker_advertises_and_enforces_the_scenarios_max_packet_size() {
    let (scenario, _) = hil::scenario::parse(SCENARIO).expect("valid scenario");
    assert_eq!(scenario.broker.max_packet_size, Some(64));
    let mut sink = VecSink::default();
    SimBackend::new()
        .run(&scenario, 1, &mut sink)
        .expect("the simulation runs");
    let out: Vec<String> = sink
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::BrokerPacket {
                dir: Dir::Out,
                summary,
                ..
            } => Some(summary.clone()),
            _ => None,
        })
        .collect();
    assert!(
        out.iter()
            .any(|s| s.starts_with("CONNACK") && s.contains("max_packet=64")),
        "{out:?}"
    );
    let too_large_in: Vec<&String> = sink
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::BrokerPacket {
                dir: Dir::In,
                summary,
                ..
            } if summary.starts_with("PUBLISH") => Some(summary),
            _ => None,
        })
        .collect();
    assert!(
        too_large_in.is_empty(),
        "100-byte payloads over a 64-byte limit: {too_large_in:?}"
    );
}
