//! `dut_power_cycle` in the simulator: while the power is off the DUT says
//! nothing and no FIN reaches the broker (it finds out by its keepalive and
//! publishes the will, before the power is back); then the DUT boots with
//! a new session. The same seed gives the same trace; the checker refuses
//! a second power cycle (or a reboot) while the power is off.

use hil::trace::{Actor, Event, Record};

use crate::support::sim_records;

/// Keepalive 20 s: the broker gives up 30 s after the last packet, well
/// within the 60 s the power is off.
const SCENARIO: &str = r#"
name = "sim-power-cycle"
duration = "2m"

[dut]
client_id = "dut-pc"
keepalive = "20s"
will = { topic = "dut/pc/status", message = "offline", retain = false, qos = 1 }

[[workload.publish]]
topic = "dut/pc/t"
qos = 1
interval = "1s"

[[timeline]]
at = "20s"
kind = "dut_power_cycle"
off_for = "60s"
"#;

fn at(rs: &[Record], pred: impl Fn(&Record) -> bool) -> Vec<u64> {
    rs.iter().filter(|r| pred(r)).map(|r| r.t_ms).collect()
}

#[test]
fn the_power_is_off_for_off_for_and_the_broker_finds_out_by_keepalive() {
    let rs = sim_records(SCENARIO, 1);
    let faults = at(&rs, |r| {
        r.actor == Actor::Faults
            && matches!(&r.event, Event::Fault { kind, detail } if kind == "dut_power_cycle" && detail == "off_for=1m")
    });
    assert_eq!(faults, [20_000]);
    let ends = at(
        &rs,
        |r| matches!(&r.event, Event::FaultEnd { kind } if kind == "dut_power_cycle"),
    );
    assert_eq!(ends, [80_000]);

    // Nothing from the device while it is off.
    let dut_while_off = at(&rs, |r| {
        matches!(r.actor, Actor::Dut | Actor::App) && r.t_ms > 20_000 && r.t_ms < 80_000
    });
    assert!(dut_while_off.is_empty(), "{dut_while_off:?}");

    // No FIN: the broker drops the client by its keepalive (1.5 x 20 s
    // after the last packet, so from 30 s after the cut), not at the cut,
    // and publishes the will while the device is still off.
    let gone = at(&rs, |r| {
        r.actor == Actor::Broker
            && matches!(&r.event, Event::ClientDisconnected { client_id, .. } if client_id == "dut-pc")
    });
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert!((45_000..=52_000).contains(&gone[0]), "dropped at {gone:?}");
    let will = at(&rs, |r| matches!(&r.event, Event::WillPublished { .. }));
    assert!(
        will.len() == 1 && (45_000..80_000).contains(&will[0]),
        "{will:?}"
    );

    // It boots again when the power is back, with a clean session.
    let connected: Vec<(u64, bool)> = rs
        .iter()
        .filter_map(|r| match &r.event {
            Event::Connected {
                session_present, ..
            } if r.actor == Actor::Dut => Some((r.t_ms, *session_present)),
            _ => None,
        })
        .collect();
    assert_eq!(connected.len(), 2, "{connected:?}");
    assert!(connected[0].0 < 20_000);
    assert!(
        (80_000..90_000).contains(&connected[1].0) && !connected[1].1,
        "{connected:?}"
    );
}

#[test]
fn a_power_cycle_is_deterministic_and_checked() {
    assert_eq!(sim_records(SCENARIO, 7), sim_records(SCENARIO, 7));
    for second in [
        "kind = \"dut_reboot\"",
        "kind = \"dut_power_cycle\"\noff_for = \"5s\"",
    ] {
        let text = format!("{SCENARIO}\n[[timeline]]\nat = \"50s\"\n{second}\n");
        let e = format!("{:?}", hil::scenario::parse(&text).unwrap_err());
        assert!(
            e.contains("the DUT's power is off (the dut_power_cycle at 20s)"),
            "{e}"
        );
    }
    let e = format!(
        "{:?}",
        hil::scenario::parse(&SCENARIO.replace("off_for = \"60s\"", "off_for = \"0s\""))
            .unwrap_err()
    );
    assert!(e.contains("must be greater than zero"), "{e}");
}
