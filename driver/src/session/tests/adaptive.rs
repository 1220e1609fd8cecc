//! C3 beyond (issue 11): the adaptive response time. Round trips measured
//! from PINGREQ/PINGRESP and publish acks (Karn's rule), the timeout
//! SRTT + 4 RTTVAR clamped, the earlier ping that bounds silent-outage
//! detection by the ping interval, resend backoff, and no false outage
//! during a latency burst below the lower bound.

use super::*;

fn adaptive() -> Config {
    Config {
        response_mode: ResponseMode::ADAPTIVE,
        ..Config::default()
    }
}

fn downs(pair: &Pair) -> Vec<Instant> {
    pair.events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Down { .. }))
        .map(|(t, _)| *t)
        .collect()
}

/// A PINGRESP gives a sample equal to the round trip.
#[test]
fn pingresp_is_a_round_trip_sample() {
    let mut pair = Pair::connected(adaptive());
    assert_eq!(pair.session.rtt_estimate(), None);
    pair.latency = ms(300);
    pair.run_for(secs(20));
    assert!(pair.event_time(|e| *e == Event::PingResp).is_some());
    let (srtt, _) = pair.session.rtt_estimate().expect("sampled");
    assert_eq!(srtt, ms(300));
    // 300 ms + 4 x 150 ms is below the 7.5 s floor.
    assert_eq!(pair.session.response_timeout(), ms(7_500));
}

/// A publish acknowledged after one transmission gives a sample; fixed
/// mode measures too but keeps its timeout.
#[test]
fn puback_is_a_round_trip_sample() {
    for (config, timeout) in [(adaptive(), ms(7_500)), (Config::default(), secs(10))] {
        let mut pair = Pair::connected(config);
        pair.latency = ms(700);
        pair.publish("t", b"x", QoS::AtLeastOnce);
        pair.run_for(secs(1));
        assert_eq!(pair.session.rtt_estimate(), Some((ms(700), ms(350))));
        assert_eq!(pair.session.response_timeout(), timeout);
    }
}

/// Karn's rule: the ack of a resent publish is ambiguous and not sampled.
#[test]
fn karn_resent_publish_is_not_sampled() {
    let mut pair = Pair::connected(Config {
        keepalive: Duration::ZERO, // no pings: the publish is the only round trip
        ..adaptive()
    });
    pair.broker.drop_pubacks = 1;
    let token = pair.publish("t", b"x", QoS::AtLeastOnce);
    pair.run_for(secs(12));
    assert!(pair
        .event_time(|e| *e == Event::PublishDone { token })
        .is_some());
    assert_eq!(pair.session.stats().resends, 1);
    assert_eq!(pair.session.rtt_estimate(), None);
}

/// A PINGRESP that may answer an earlier PINGREQ (whose outstanding state
/// other traffic cleared) is not taken as a sample of the later one.
#[test]
fn stale_pingresp_is_not_sampled() {
    let mut pair = Pair::connected(adaptive());
    pair.latency = secs(4);
    // Ping goes out at 7.5 s (half the interval before any sample); an
    // incoming publish clears it before its PINGRESP comes back.
    pair.run_until(at_ms(8_000));
    assert!(pair.event_time(|e| *e == Event::PingSent).is_some());
    let incoming = Packet::Publish(codec::Publish {
        dup: false,
        qospid: QosPid::AtMostOnce,
        retain: false,
        topic: "cmd",
        payload: b"x",
    });
    let mut bytes = Vec::new();
    incoming.encode_to_vec(&mut bytes).unwrap();
    pair.broker_sends(bytes);
    pair.run_until(at_ms(12_000));
    assert!(pair.event_time(|e| *e == Event::PingResp).is_some());
    assert_eq!(pair.session.rtt_estimate(), None, "stale PINGRESP ignored");
}

/// Issue 11 goal: keepalive 60 s, a silent outage is declared within 15 s
/// whenever it starts (fixed mode: up to 25 s, B4).
#[test]
fn silent_outage_detected_within_the_ping_interval() {
    let mut worst = [Duration::ZERO; 2];
    for offset_ms in (0..15_000).step_by(250) {
        for (i, config) in [adaptive(), Config::default()].into_iter().enumerate() {
            let mut pair = Pair::connected(config);
            pair.latency = ms(40);
            pair.run_for(secs(120)); // samples from several pings
            pair.run_for(ms(offset_ms));
            pair.blackhole = true;
            let start = pair.now;
            pair.run_for(secs(40));
            let took = downs(&pair)[0].saturating_since(start);
            worst[i] = worst[i].max(took);
        }
    }
    assert!(worst[0] <= secs(15), "adaptive: {worst:?}");
    assert!(
        worst[1] > secs(20) && worst[1] <= secs(25),
        "fixed: {worst:?}"
    );
}

/// Also while publishing QoS 1 every second: within 15 s.
#[test]
fn silent_outage_detected_while_publishing() {
    let mut pair = Pair::connected(adaptive());
    pair.latency = ms(40);
    for _ in 0..60 {
        pair.publish("t", b"x", QoS::AtLeastOnce);
        pair.run_for(secs(1));
    }
    assert!(downs(&pair).is_empty());
    pair.blackhole = true;
    let start = pair.now;
    for _ in 0..30 {
        pair.publish_held("t", b"x", QoS::AtLeastOnce);
        pair.run_for(secs(1));
    }
    let down = downs(&pair)[0];
    assert!(down.saturating_since(start) <= secs(15), "{down:?}");
}

/// A latency burst of 2 s each way (4 s round trip) for a minute on a link
/// that was fast: no outage in either mode, publishes all complete.
#[test]
fn latency_burst_below_the_floor_is_no_outage() {
    for config in [adaptive(), Config::default()] {
        let mut pair = Pair::connected(config);
        pair.latency = ms(30);
        for s in 0..240 {
            pair.latency = if (60..120).contains(&s) {
                secs(2)
            } else {
                ms(30)
            };
            pair.publish("t", b"x", QoS::AtLeastOnce);
            pair.run_for(secs(1));
        }
        pair.run_for(secs(10));
        assert!(downs(&pair).is_empty(), "{:?}", pair.events);
        assert_eq!(pair.session.pending_publishes(), 0);
    }
}

/// Unacknowledged publishes are resent after the timeout, doubling each
/// time, never above the upper bound.
#[test]
fn resends_back_off() {
    let mut pair = Pair::connected(Config {
        response_mode: ResponseMode::Adaptive {
            min: secs(1),
            max: secs(6),
        },
        keepalive: Duration::ZERO,
        max_repubs: 5,
        ..Config::default()
    });
    pair.latency = ms(10);
    pair.publish("t", b"x", QoS::AtLeastOnce);
    pair.run_for(secs(1));
    assert_eq!(pair.session.response_timeout(), secs(1));
    pair.broker.silent = true;
    let start = pair.now;
    pair.publish("t", b"y", QoS::AtLeastOnce);
    pair.run_for(secs(60));
    let resends: Vec<u64> = pair
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Retransmit { .. }))
        .map(|(t, _)| t.saturating_since(start).as_millis() as u64)
        .collect();
    assert_eq!(&resends[..5], &[1_000, 3_000, 7_000, 13_000, 19_000]);
    let down = downs(&pair)[0];
    assert_eq!(down.saturating_since(start), secs(25));
}

/// Bounds are checked.
#[test]
fn adaptive_bounds_are_validated() {
    for (min, max) in [(secs(0), secs(1)), (secs(5), secs(4))] {
        let c = Config {
            response_mode: ResponseMode::Adaptive { min, max },
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::InvalidAdaptiveBounds));
    }
    assert_eq!(adaptive().validate(), Ok(()));
}
