//! The live backend against a real mosquitto and against the chaos broker
//! on real TCP, through the fault proxy: short time-scaled scenarios whose
//! oracles must pass, faults that must show in the trace, and the errors
//! for what live runs cannot do.

use hil::backend::{Backend, BackendError};
use hil::live::{BrokerKind, ContainerSpec, LiveBackend};
use hil::oracle::{Outcome, Trace};
use hil::scenario::{self, Scenario};
use hil::trace::sink::VecSink;
use hil::trace::{Actor, Event, Record};

fn scenario(src: &str) -> Scenario {
    scenario::parse(src).unwrap_or_else(|e| panic!("{e:?}")).0
}

fn run(broker: BrokerKind, s: &Scenario) -> Vec<Record> {
    let mut sink = VecSink::default();
    LiveBackend::new(broker)
        .run(s, s.seed, &mut sink)
        .unwrap_or_else(|e| panic!("live run failed: {e}"));
    sink.records
}

/// Every oracle of the scenario passes (or has nothing to judge).
fn assert_oracles(s: &Scenario, records: &[Record]) {
    let trace = Trace::new(records);
    for e in &s.expect {
        if let Outcome::Fail(f) = e.oracle.check(&trace) {
            let text: Vec<String> = records.iter().map(|r| r.to_json_line()).collect();
            panic!(
                "oracle {} failed: {f:?}\ntrace:\n{}",
                e.oracle.name(),
                text.join("\n")
            );
        }
    }
}

/// The trace as text, for failure messages.
fn dump(records: &[Record]) -> String {
    let lines: Vec<String> = records
        .iter()
        .filter(|r| !matches!(r.event, Event::Heartbeat))
        .map(|r| r.to_json_line())
        .collect();
    lines.join("\n")
}

fn count(records: &[Record], actor: Actor, pred: impl Fn(&Event) -> bool) -> usize {
    records
        .iter()
        .filter(|r| r.actor == actor && pred(&r.event))
        .count()
}

const PUBACK_LOST: &str = r#"
name = "live-puback-lost"
duration = "20s"
live_time_scale = 0.2

[dut]
client_id = "dut-live-pl"
response_time = "2s"

[workload]
heartbeat = "500ms"

[[workload.publish]]
topic = "dut/live/pl"
qos = 1
interval = "1s"

[[timeline]]
at = "5s"
kind = "broker_drop"
packet = "puback"
count = 1

[[expect]]
oracle = "retransmits_at_most"
n = 1

[[expect]]
oracle = "qos1_no_loss"

[[expect]]
oracle = "reconnect_attempts_at_most"
n = 1
window = "20s"
"#;

#[test]
fn a_puback_dropped_by_the_proxy_in_front_of_mosquitto_costs_one_dup_resend() {
    let s = scenario(PUBACK_LOST);
    let records = run(BrokerKind::Mosquitto, &s);
    assert_oracles(&s, &records);
    assert_eq!(
        count(&records, Actor::Dut, |e| matches!(
            e,
            Event::Retransmit { .. }
        )),
        1
    );
    assert_eq!(
        count(&records, Actor::Dut, |e| matches!(
            e,
            Event::PublishSent { dup: true, .. }
        )),
        1
    );
    // Times are in scenario time: the run lasted 20 s of it (4 s of wall).
    let last = records.last().map(|r| r.t_ms).unwrap_or(0);
    assert!(
        (19_000..=22_000).contains(&last),
        "last record at {last} ms"
    );
    assert!(
        count(&records, Actor::Observer, |e| matches!(
            e,
            Event::Delivered { .. }
        )) >= 3,
        // qos1_no_loss above checks every completed publish was delivered;
        // how many complete in 4 s of wall time depends on the machine's load.
        "the observer saw the DUT's publishes"
    );
}

const BROKER_RESTART: &str = r#"
name = "live-broker-restart"
duration = "40s"
live_time_scale = 0.2

[dut]
client_id = "dut-live-br"
clean_init = false
clean = false

[workload]
heartbeat = "500ms"

[[workload.publish]]
topic = "dut/live/br"
qos = 1
interval = "1s"

[[timeline]]
at = "10s"
kind = "broker_crash"

[[timeline]]
at = "15s"
kind = "broker_restart"
persist = true

[[expect]]
oracle = "qos1_no_loss"

[[expect]]
oracle = "recovers_within"
seconds = 15
"#;

fn restart_run(broker: BrokerKind) {
    let s = scenario(BROKER_RESTART);
    let records = run(broker, &s);
    assert_oracles(&s, &records);
    let lost = count(&records, Actor::Dut, |e| {
        matches!(e, Event::ConnectionLost { .. })
    });
    let ups = count(&records, Actor::Dut, |e| {
        matches!(e, Event::Connected { .. })
    });
    assert!(lost >= 1, "the crash was seen:\n{}", dump(&records));
    assert!(
        ups >= 2,
        "the DUT came back after the restart:\n{}",
        dump(&records)
    );
    assert!(
        records.iter().any(|r| matches!(
            r.event,
            Event::Connected {
                session_present: true,
                ..
            }
        )),
        "the persisted session survived the restart"
    );
}

#[test]
fn mosquitto_killed_and_restarted_with_persistence_keeps_the_session() {
    restart_run(BrokerKind::Mosquitto);
}

#[test]
fn the_chaos_broker_on_real_tcp_crashes_and_restarts_too() {
    restart_run(BrokerKind::Chaos);
}

const REFUSE_AND_HANG: &str = r#"
name = "live-refuse-hang"
duration = "40s"
live_time_scale = 0.2

[dut]
client_id = "dut-live-rh"
keepalive = "10s"
response_time = "2s"

[dut.backoff]
refused = "2s"

[workload]
heartbeat = "500ms"

[[workload.publish]]
topic = "dut/live/rh"
qos = 1
interval = "2s"

[[timeline]]
at = "8s"
kind = "broker_hang"
for = "8s"

[[timeline]]
at = "20s"
kind = "broker_refuse"
code = 3
for = "12s"

[[timeline]]
at = "21s"
kind = "dut_reboot"

[[expect]]
oracle = "qos1_no_loss"
"#;

#[test]
fn a_hung_mosquitto_is_detected_and_a_rewritten_connack_refuses() {
    let s = scenario(REFUSE_AND_HANG);
    let records = run(BrokerKind::Mosquitto, &s);
    assert_oracles(&s, &records);
    let lost_during_hang = records.iter().any(|r| {
        (8_000..16_500).contains(&r.t_ms) && matches!(r.event, Event::ConnectionLost { .. })
    });
    assert!(
        lost_during_hang,
        "the silent broker was detected while hung:\n{}",
        dump(&records)
    );
    assert!(
        count(
            &records,
            Actor::Dut,
            |e| matches!(e, Event::ConnectFailed { reason } if reason.contains("unavailable") || reason.contains("refused") || reason.contains("3"))
        ) >= 1,
        "the rewritten CONNACK refused the rebooted DUT"
    );
    assert!(
        count(&records, Actor::App, |e| matches!(
            e,
            Event::AppConnectStart
        )) >= 2,
        "the DUT rebooted"
    );
}

#[test]
fn what_live_runs_cannot_do_is_a_clear_error() {
    let lossy = scenario(
        "name = \"lossy\"\nduration = \"5s\"\n[network.dut]\nloss = 0.1\n[[expect]]\noracle = \"never_stalls\"\nms = 500\n[workload]\nheartbeat = \"100ms\"\n",
    );
    let mut sink = VecSink::default();
    let e = LiveBackend::new(BrokerKind::Mosquitto)
        .run(&lossy, 1, &mut sink)
        .unwrap_err();
    assert!(
        matches!(&e, BackendError::Unsupported { kind, backend, .. } if kind == "network.dut.loss" && backend == "live/mosquitto"),
        "{e}"
    );
    assert!(e.to_string().contains("cannot apply"), "{e}");

    assert_eq!("chaos".parse(), Ok(BrokerKind::Chaos));
    assert_eq!(
        "container:my/mosq:1".parse(),
        Ok(BrokerKind::Container(ContainerSpec::new("my/mosq:1")))
    );
    let emqx: BrokerKind =
        "container:emqx/emqx:5,port=1884,env=EMQX_NODE__COOKIE=x,data=/opt/emqx/data"
            .parse()
            .unwrap();
    let BrokerKind::Container(spec) = emqx else {
        panic!("not a container")
    };
    assert_eq!(
        (spec.image.as_str(), spec.port, spec.data.as_deref()),
        ("emqx/emqx:5", 1884, Some("/opt/emqx/data"))
    );
    assert_eq!(spec.env, vec![("EMQX_NODE__COOKIE".into(), "x".into())]);
    for (bad, says) in [
        ("container:", "expected an image name"),
        ("container:x,port=0", "not a port"),
        ("container:x,mount=rel", "HOST_PATH:CONTAINER_PATH"),
        ("container:x,data=rel", "absolute path"),
        ("container:x,colour=red", "unknown option `colour=red`"),
    ] {
        let e = bad.parse::<BrokerKind>().unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
    let bad: Result<BrokerKind, _> = "rabbit".parse();
    assert!(bad.unwrap_err().contains("expected mosquitto, chaos"));

    let e = scenario::parse("name = \"x\"\nduration = \"5s\"\nlive_time_scale = 0\n").unwrap_err();
    assert!(format!("{e:?}").contains("live_time_scale must be between 0.01 and 10"));
}
