//! K1-K4: the first connect, the link integrity check, and clean sessions.

use super::*;

fn connect_result(pair: &Pair) -> Option<Result<(), ConnectError>> {
    pair.events.iter().find_map(|(_, e)| match e {
        Event::ConnectResult(r) => Some(r.clone()),
        _ => None,
    })
}

/// K1: a refused first connect returns a distinct error per code 1-5 and
/// does not retry by itself.
#[test]
fn k1_refusal_codes_are_distinct_errors_and_not_retried() {
    for code in 1..=5u8 {
        let code = ConnectReturnCode::from_u8(code).unwrap();
        let mut pair = Pair::new(Config::default());
        pair.broker.refuse = Some(code);
        pair.connect(true);
        pair.run_for(secs(120));
        assert_eq!(
            connect_result(&pair),
            Some(Err(ConnectError::Refused(code)))
        );
        assert_eq!(pair.seen_connects().len(), 1, "no retry after {code:?}");
        assert_eq!(pair.session.poll_timeout(), None, "nothing scheduled");
    }
}

/// K1: a broker that cannot be reached fails the first connect with a
/// transport error at once, without retrying; the app may call again.
#[test]
fn k1_unreachable_broker_errors_and_app_may_retry() {
    let mut pair = Pair::new(Config::default());
    pair.broker_reachable = false;
    pair.connect(true);
    pair.run_for(secs(60));
    assert!(matches!(
        connect_result(&pair),
        Some(Err(ConnectError::Transport(_)))
    ));
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::Connecting { .. })),
        1
    );
    assert!(matches!(
        pair.session
            .publish(pair.now, "t", b"x", QoS::AtLeastOnce, false),
        Err(RequestError::NotConnected)
    ));
    pair.broker_reachable = true;
    pair.events.clear();
    pair.session.connect(pair.now, true).unwrap();
    pair.run_for(secs(1));
    assert_eq!(connect_result(&pair), Some(Ok(())));
}

/// K1: WiFi that never comes up fails the first connect after
/// link_timeout; a silent broker fails it after response_time. Never hangs.
#[test]
fn k1_link_timeout_and_connack_timeout() {
    let mut pair = Pair::new(Config::default());
    pair.wifi_available = false;
    pair.connect(false);
    pair.run_for(secs(29));
    assert_eq!(connect_result(&pair), None);
    pair.run_for(secs(2));
    assert_eq!(connect_result(&pair), Some(Err(ConnectError::LinkTimeout)));

    let mut pair = Pair::new(Config::default());
    pair.broker.silent = true;
    pair.connect(true);
    pair.run_for(secs(11));
    assert_eq!(connect_result(&pair), Some(Err(ConnectError::Timeout)));
    assert_eq!(
        pair.event_time(|e| matches!(e, Event::ConnectResult(_))),
        Some(at_ms(10_000))
    );
}

/// K2: the link must stay up for the integrity period before the broker
/// is contacted, unless quick; a drop during it fails the first connect.
#[test]
fn k2_link_integrity_period() {
    let mut pair = Pair::new(Config::default());
    pair.connect(false);
    pair.run_for(secs(10));
    let open = pair
        .actions
        .iter()
        .find(|(_, a)| *a == Action::OpenTransport)
        .map(|(t, _)| *t);
    assert_eq!(open, Some(at_ms(5_000)));

    let mut quick = Pair::new(Config::default());
    quick.connect(true);
    let open = quick
        .actions
        .iter()
        .find(|(_, a)| *a == Action::OpenTransport)
        .map(|(t, _)| *t);
    assert_eq!(open, Some(Instant::ZERO));

    let mut unstable = Pair::new(Config::default());
    unstable.connect(false);
    unstable.run_for(secs(2));
    unstable.wifi_down();
    assert_eq!(
        connect_result(&unstable),
        Some(Err(ConnectError::LinkUnstable))
    );
    assert!(!unstable
        .actions
        .iter()
        .any(|(_, a)| *a == Action::OpenTransport));
}

/// K3: after the first success, outages are handled inside the driver:
/// no second connect result, only down/up notifications.
#[test]
fn k3_later_outages_are_internal() {
    let mut pair = Pair::connected(Config::default());
    pair.broker_crash();
    pair.run_for(secs(20));
    pair.broker_reachable = true;
    pair.run_for(secs(20));
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::ConnectResult(_))),
        1
    );
    assert_eq!(pair.count_events(|e| matches!(e, Event::Down { .. })), 1);
    assert_eq!(pair.count_events(|e| matches!(e, Event::Up { .. })), 2);
    assert!(pair.session.is_connected());
}

/// K4: clean_init and not clean: connect clean, disconnect, connect unclean
/// at power-up; later reconnects stay unclean and keep the session.
#[test]
fn k4_clean_init_then_unclean() {
    let mut pair = Pair::connected(Config {
        clean_init: true,
        clean: false,
        ..Config::default()
    });
    let kinds: Vec<Seen> = pair.broker.seen.iter().map(|(_, s)| s.clone()).collect();
    assert!(matches!(kinds[0], Seen::Connect { clean: true, .. }));
    assert_eq!(kinds[1], Seen::Disconnect);
    assert!(matches!(kinds[2], Seen::Connect { clean: false, .. }));
    assert_eq!(
        pair.count_events(|e| matches!(e, Event::ConnectResult(Ok(())))),
        1
    );
    pair.broker_crash();
    pair.broker_reachable = true;
    pair.run_for(secs(5));
    assert!(matches!(
        pair.seen_connects()[2].1,
        Seen::Connect { clean: false, .. }
    ));
    assert!(pair.has_event(|e| *e
        == Event::Up {
            session_present: true
        }));
}

/// K4: both false resumes the old session at power-up; both true is clean
/// on every connect.
#[test]
fn k4_both_false_and_both_true() {
    let mut pair = Pair::new(Config {
        clean_init: false,
        clean: false,
        ..Config::default()
    });
    pair.broker.has_session = true;
    pair.connect(true);
    pair.run_for(ms(1));
    assert_eq!(pair.seen_connects().len(), 1);
    assert!(pair.has_event(|e| *e
        == Event::Up {
            session_present: true
        }));

    let mut pair = Pair::connected(Config::default());
    pair.broker_crash();
    pair.broker_reachable = true;
    pair.run_for(secs(5));
    assert!(pair
        .seen_connects()
        .iter()
        .all(|(_, s)| matches!(s, Seen::Connect { clean: true, .. })));
    assert_eq!(pair.seen_connects().len(), 2);
}

/// connect() twice is an error, not a second session.
#[test]
fn connect_twice_is_rejected() {
    let mut pair = Pair::connected(Config::default());
    assert_eq!(
        pair.session.connect(pair.now, true),
        Err(ConnectError::AlreadyConnecting)
    );
}
