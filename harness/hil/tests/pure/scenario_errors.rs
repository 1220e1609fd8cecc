//! The error messages for bad scenario files, locked by snapshots: each
//! names the file, line and column, shows the line, and says what was
//! expected. Accept intended changes with `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test -p hil`), see harness/hil/README.md.

use hil::diag::render;
use hil::scenario;

const HEAD: &str = "name = \"bad\"\nduration = \"5m\"\n";

fn errors(src: &str) -> String {
    match scenario::parse(src) {
        Ok(_) => panic!("expected errors for:\n{src}"),
        Err(diags) => diags
            .iter()
            .map(|d| render("scenarios/bad.toml", src, d))
            .collect(),
    }
}

fn with_head(body: &str) -> String {
    format!("{HEAD}{body}")
}

macro_rules! snap {
    ($name:ident, $src:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(errors(&$src));
        }
    };
}

snap!(toml_syntax_error, with_head("[dut\nkeepalive = \"60s\"\n"));
snap!(unknown_top_level_field, with_head("durration = \"1m\"\n"));
snap!(missing_duration, "name = \"bad\"\n");
snap!(
    broker_max_packet_size_out_of_range,
    with_head("[broker]\nmax_packet_size = 5\n")
);
snap!(
    broker_unknown_key,
    with_head("[broker]\nmax_packet = 1024\n")
);
snap!(
    unknown_fault_kind,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_dwn\"\n")
);
snap!(
    unknown_oracle,
    with_head("[[expect]]\noracle = \"recovers_whithin\"\nseconds = 3\n")
);
snap!(
    unknown_fault_field,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_down\"\nduration = \"10s\"\n")
);
snap!(
    unknown_oracle_field,
    with_head("[[expect]]\noracle = \"recovers_within\"\nsecs = 3\n")
);
snap!(missing_kind, with_head("[[timeline]]\nat = \"30s\"\n"));
snap!(
    missing_at,
    with_head("[[timeline]]\nkind = \"broker_crash\"\n")
);
snap!(
    missing_fault_field,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_flap\"\nperiod = \"10s\"\nfor = \"1m\"\n")
);
snap!(
    wrong_type,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_down\"\nfor = 10\n")
);
snap!(
    bad_duration,
    with_head("[[timeline]]\nat = \"30 s\"\nkind = \"broker_crash\"\n")
);
snap!(
    bad_qos,
    with_head("[[workload.publish]]\ntopic = \"t\"\nqos = 3\ninterval = \"1s\"\n")
);
snap!(
    bad_topic_filter,
    with_head("[[workload.subscribe]]\ntopic = \"a/#/b\"\nqos = 1\n")
);
snap!(
    wifi_up_without_wifi_down,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_up\"\n")
);
snap!(
    wifi_up_after_self_ending_down,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_down\"\nfor = \"1m\"\n\n[[timeline]]\nat = \"40s\"\nkind = \"wifi_up\"\n")
);
snap!(
    overlapping_wifi_down,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_down\"\n\n[[timeline]]\nat = \"40s\"\nkind = \"wifi_flap\"\nperiod = \"10s\"\nduty = 0.5\nfor = \"1m\"\n")
);
snap!(
    for_past_the_end,
    with_head("[[timeline]]\nat = \"4m\"\nkind = \"broker_hang\"\nfor = \"2m\"\n")
);
snap!(
    at_past_the_end,
    with_head("[[timeline]]\nat = \"6m\"\nkind = \"dut_reboot\"\n")
);
snap!(
    restart_of_a_running_broker,
    with_head("[[timeline]]\nat = \"1m\"\nkind = \"broker_restart\"\npersist = true\n")
);
snap!(
    refusal_code_out_of_range,
    with_head("[[timeline]]\nat = \"1m\"\nkind = \"broker_refuse\"\ncode = 9\n")
);
snap!(
    bad_drop_packet,
    with_head("[[timeline]]\nat = \"1m\"\nkind = \"broker_drop\"\npacket = \"connack\"\n")
);
snap!(bad_flap_duty, with_head("[[timeline]]\nat = \"1m\"\nkind = \"wifi_flap\"\nperiod = \"10s\"\nduty = 1.5\nfor = \"1m\"\n"));
snap!(
    password_without_user,
    with_head("[dut]\npassword = { env = \"PW\" }\n")
);
snap!(
    unknown_dut_field,
    with_head("[dut]\nkeep_alive = \"60s\"\n")
);
snap!(
    will_without_qos,
    with_head("[dut]\nwill = { topic = \"s\", message = \"x\", retain = false }\n")
);
snap!(
    latency_min_above_max,
    with_head("[network.dut]\nlatency = { min = \"2s\", max = \"1s\" }\n")
);
snap!(bad_name, "name = \"Bad Name\"\nduration = \"1m\"\n");
snap!(
    oracle_needs_a_will,
    with_head("[[expect]]\noracle = \"will_published\"\n")
);
snap!(
    oracle_needs_a_heartbeat,
    with_head("[[expect]]\noracle = \"never_stalls\"\nms = 500\n")
);
snap!(oracle_needs_a_silent_fault, with_head("[[timeline]]\nat = \"1m\"\nkind = \"wifi_down\"\nfor = \"10s\"\n[[expect]]\noracle = \"detects_outage_within\"\nseconds = 25\n"));
snap!(
    mqtt5_settings_need_mqtt5,
    with_head("[dut]\nsession_expiry = \"1h\"\nreceive_maximum = 8\n")
);
snap!(mqtt5_bad_values, with_head("[dut]\nmqtt = 4\n"));
snap!(
    mqtt5_kept_session_needs_expiry,
    with_head("[dut]\nmqtt = 5\nclean = false\nreceive_maximum = 0\n")
);
snap!(
    broker_disconnect_bad_reason,
    with_head("[[timeline]]\nat = \"1m\"\nkind = \"broker_disconnect\"\nreason = 0x01\n")
);
snap!(
    disconnect_reason_needs_mqtt5,
    with_head("[[expect]]\noracle = \"disconnect_reason\"\ncode = 0x8B\nfrom = \"broker\"\n")
);
snap!(
    several_errors_at_once,
    with_head("[[timeline]]\nat = \"1m\"\nkind = \"nope\"\n\n[[timeline]]\nat = \"2m\"\nkind = \"wifi_down\"\nfr = \"1s\"\n\n[[expect]]\noracle = \"none\"\n")
);

// ---- issue 21: windows on counted broker faults, the new fault kinds ----
snap!(
    drop_window_zero,
    with_head(
        "[[timeline]]\nat = \"30s\"\nkind = \"broker_drop\"\npacket = \"puback\"\nfor = \"0s\"\n"
    )
);
snap!(
    drop_window_bare_number,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"broker_drop\"\npacket = \"puback\"\ncount = 2\nfor = 120\n")
);
snap!(
    drop_window_count_zero,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"broker_delay\"\npacket = \"pubcomp\"\ndelay = \"5s\"\ncount = 0\nfor = \"1m\"\n")
);
snap!(
    drop_windows_overlap,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"broker_drop\"\npacket = \"puback\"\nfor = \"1m\"\n\n[[timeline]]\nat = \"1m\"\nkind = \"broker_drop\"\npacket = \"puback\"\ncount = 3\n")
);
snap!(
    drop_window_past_the_end,
    with_head(
        "[[timeline]]\nat = \"4m\"\nkind = \"broker_drop\"\npacket = \"puback\"\nfor = \"2m\"\n"
    )
);
snap!(
    flap_irregular_with_period,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_flap\"\ndown = \"1s..5s\"\nup = \"2s..9s\"\nperiod = \"10s\"\nfor = \"1m\"\n")
);
snap!(
    flap_down_without_up,
    with_head(
        "[[timeline]]\nat = \"30s\"\nkind = \"wifi_flap\"\ndown = \"1s..5s\"\nfor = \"1m\"\n"
    )
);
snap!(
    flap_range_backwards,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_flap\"\ndown = \"5s..1s\"\nup = \"2s\"\nfor = \"1m\"\n")
);
snap!(
    latency_direction_on_observer,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"latency\"\nlink = \"observer\"\ndirection = \"up\"\nmin = \"1s\"\nmax = \"2s\"\n")
);
snap!(
    latency_burst_without_for,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"latency\"\nmin = \"1s\"\nmax = \"2s\"\nburst_every = \"10s..1m\"\nburst_length = \"1s\"\n")
);
snap!(
    associating_bad_connects,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_associating\"\nfor = \"20s\"\nconnects = \"maybe\"\n")
);
snap!(
    associating_during_wifi_down,
    with_head("[[timeline]]\nat = \"30s\"\nkind = \"wifi_down\"\nfor = \"1m\"\n\n[[timeline]]\nat = \"1m\"\nkind = \"wifi_associating\"\nfor = \"20s\"\n")
);
snap!(
    at_tolerance_without_unit,
    with_head("[[timeline]]\nat = \"30s ± 2\"\nkind = \"broker_crash\"\n")
);
snap!(
    tolerances_that_could_swap_one_thing,
    with_head("[[timeline]]\nat = \"30s ± 2s\"\nkind = \"wifi_down\"\nfor = \"10s\"\n[[timeline]]\nat = \"41s +- 1s\"\nkind = \"wifi_down\"\nfor = \"5s\"\n")
);
snap!(
    sim_phase_not_shorter_than_the_run,
    "name = \"bad\"\nduration = \"1s\"\n[sim]\nboot_delay = \"2s\"\n"
);

#[test]
fn warnings_do_not_invalidate() {
    let src = with_head("[dut]\nuser = \"u\"\npassword = \"inline\"\n[workload]\nheartbeat = \"100ms\"\n[[expect]]\noracle = \"never_stalls\"\nms = 500\n");
    let (_, warnings) = scenario::parse(&src).expect("valid");
    let text: String = warnings
        .iter()
        .map(|d| render("scenarios/w.toml", &src, d))
        .collect();
    insta::assert_snapshot!(text);
}
