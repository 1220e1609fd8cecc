//! Live time scale: a scenario written for minutes runs in seconds.
//!
//! With `live_time_scale = k` every duration of the scenario (run length,
//! timeline, workload periods, the DUT's timers, link latencies) is
//! multiplied by `k` for the live run, and trace times are divided by `k`,
//! so the trace, the oracles' thresholds and the transcript stay in the
//! scenario's own time. MQTT keepalives are whole seconds: a scaled
//! keepalive is rounded up (at least 1 s).

use crate::duration::Dur;
use crate::scenario::at::At;
use crate::scenario::Scenario;

fn s(d: Dur, k: f64) -> Dur {
    Dur::from_millis((d.as_millis() as f64 * k).round() as u64)
}

fn scale_at(a: At, k: f64) -> At {
    At {
        at: s(a.at, k),
        tolerance: s(a.tolerance, k),
    }
}

fn keepalive(d: Dur, k: f64) -> Dur {
    if d.is_zero() {
        return d;
    }
    let ms = (d.as_millis() as f64 * k).max(1000.0);
    Dur::from_millis(((ms / 1000.0).ceil() * 1000.0) as u64)
}

/// The scenario as the live run executes it (schedule steps are scaled
/// when executed, not here).
pub fn scaled(sc: &Scenario, k: f64) -> Scenario {
    let mut x = sc.clone();
    if (k - 1.0).abs() < f64::EPSILON {
        return x;
    }
    x.duration = s(sc.duration, k);
    let d = &mut x.dut;
    d.keepalive = keepalive(sc.dut.keepalive, k);
    d.ping_interval = s(sc.dut.ping_interval, k);
    d.response_time = s(sc.dut.response_time, k);
    if let (Some(a), Some(orig)) = (&mut d.adaptive_response, &sc.dut.adaptive_response) {
        a.min = s(orig.min, k);
        a.max = s(orig.max, k);
    }
    d.backoff.min = s(sc.dut.backoff.min, k);
    d.backoff.max = s(sc.dut.backoff.max, k);
    d.backoff.refused = s(sc.dut.backoff.refused, k);
    let w = &mut x.workload;
    w.heartbeat = sc.workload.heartbeat.map(|h| s(h, k));
    w.connect_retry = sc.workload.connect_retry.map(|h| s(h, k));
    w.handler_delay = s(sc.workload.handler_delay, k);
    w.disconnect_at = sc.workload.disconnect_at.map(|h| scale_at(h, k));
    for p in &mut w.publish {
        p.interval = s(p.interval, k);
        p.start = scale_at(p.start, k);
    }
    for o in &mut w.observer {
        o.interval = s(o.interval, k);
        o.start = scale_at(o.start, k);
    }
    for l in [&mut x.network.dut, &mut x.network.observer] {
        l.latency.min = s(l.latency.min, k);
        l.latency.max = s(l.latency.max, k);
    }
    x
}

/// Scales one duration (fault parameters such as latency).
pub fn dur(d: Dur, k: f64) -> Dur {
    s(d, k)
}
