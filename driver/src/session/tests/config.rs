//! C1-C8: the configuration and its defaults.

use super::*;

/// C1: the client id is generated from the seed when not given, the same
/// for the same seed and different for another; it is what CONNECT carries.
#[test]
fn c1_client_id_generated_from_seed() {
    let a = Session::new(Config {
        seed: 7,
        ..Config::default()
    })
    .unwrap();
    let b = Session::new(Config {
        seed: 7,
        ..Config::default()
    })
    .unwrap();
    let c = Session::new(Config {
        seed: 8,
        ..Config::default()
    })
    .unwrap();
    assert_eq!(a.client_id(), b.client_id());
    assert_ne!(a.client_id(), c.client_id());
    assert!(a.client_id().starts_with("rmqtt-"));
    let pair = Pair::connected(Config {
        seed: 7,
        ..Config::default()
    });
    match &pair.seen_connects()[0].1 {
        Seen::Connect { client_id, .. } => assert_eq!(client_id, a.client_id()),
        other => panic!("{other:?}"),
    }
    let named = Pair::connected(Config {
        client_id: t("dev-1"),
        ..Config::default()
    });
    assert!(
        matches!(&named.seen_connects()[0].1, Seen::Connect { client_id, .. } if client_id == "dev-1")
    );
}

/// C1: a password without a user is a configuration error; port 0 means
/// 1883 (8883 with TLS); user name goes in CONNECT.
#[test]
fn c1_password_needs_user_and_port_default() {
    let bad = Config {
        password: Some(b(b"secret")),
        ..Config::default()
    };
    assert_eq!(
        Session::new(bad).unwrap_err(),
        ConfigError::PasswordWithoutUser
    );
    let cfg = Config::default();
    assert_eq!(cfg.effective_port(false), 1883);
    assert_eq!(cfg.effective_port(true), 8883);
    assert_eq!(
        Config {
            port: 1999,
            ..Config::default()
        }
        .effective_port(true),
        1999
    );
    let pair = Pair::connected(Config {
        user: Some(t("u")),
        password: Some(b(b"p")),
        ..Config::default()
    });
    assert!(matches!(&pair.seen_connects()[0].1, Seen::Connect { user: Some(u), .. } if u == "u"));
}

/// Secrets: the password never shows in Debug output.
#[test]
fn c1_password_redacted_in_debug() {
    let cfg = Config {
        user: Some(t("u")),
        password: Some(b(b"hunter2")),
        ..Config::default()
    };
    let text = alloc::format!("{cfg:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("<redacted>"));
}

/// C2: keepalive 60 s by default; ping interval keepalive/4, or a smaller
/// configured value.
#[test]
fn c2_keepalive_and_ping_interval() {
    let cfg = Config::default();
    assert_eq!(cfg.keepalive, secs(60));
    assert_eq!(cfg.effective_ping_interval(), Some(secs(15)));
    let smaller = Config {
        ping_interval: secs(5),
        ..Config::default()
    };
    assert_eq!(smaller.effective_ping_interval(), Some(secs(5)));
    let larger = Config {
        ping_interval: secs(30),
        ..Config::default()
    };
    assert_eq!(larger.effective_ping_interval(), Some(secs(15)));
    let pair = Pair::connected(Config::default());
    assert!(matches!(
        pair.seen_connects()[0].1,
        Seen::Connect { keep_alive: 60, .. }
    ));
    // A configured smaller ping interval is used on the wire.
    let mut pair = Pair::connected(smaller);
    pair.run_for(secs(5) + Duration::from_millis(1));
    assert_eq!(pair.count_seen(|s| *s == Seen::PingReq), 1);
}

/// C3: an unacknowledged QoS 1 publish is resent after response_time,
/// not before.
#[test]
fn c3_response_time_governs_resend() {
    let mut pair = Pair::connected(Config {
        response_time: secs(3),
        ..Config::default()
    });
    pair.broker.drop_pubacks = 1;
    pair.publish("t", b"x", QoS::AtLeastOnce);
    pair.run_for(Duration::from_millis(2999));
    assert_eq!(pair.seen_publishes().len(), 1);
    pair.run_for(Duration::from_millis(2));
    assert_eq!(pair.seen_publishes().len(), 2);
}

/// C4: after max_repubs resends the link is declared down.
#[test]
fn c4_max_repubs_then_down() {
    let mut pair = Pair::connected(Config {
        max_repubs: 2,
        ..Config::default()
    });
    pair.broker.drop_pubacks = 100;
    pair.publish("t", b"x", QoS::AtLeastOnce);
    pair.run_for(secs(29));
    assert!(!pair.has_event(|e| matches!(e, Event::Down { .. })));
    assert_eq!(pair.seen_publishes().len(), 3, "original + 2 resends");
    pair.run_for(secs(2));
    assert_eq!(
        pair.event_time(|e| *e
            == Event::Down {
                reason: DownReason::MaxRepubs
            }),
        Some(at_ms(30_001))
    );
}

/// C5: clean_init governs the first CONNECT, clean the later ones.
#[test]
fn c5_clean_flags() {
    let mut pair = Pair::connected(Config {
        clean_init: false,
        clean: true,
        ..Config::default()
    });
    pair.broker_crash();
    pair.broker_reachable = true;
    pair.run_for(secs(10));
    let cleans: Vec<bool> = pair
        .seen_connects()
        .iter()
        .map(|(_, s)| matches!(s, Seen::Connect { clean: true, .. }))
        .collect();
    assert_eq!(cleans, [false, true]);
}

/// C6: the will goes in CONNECT; an invalid will topic is rejected.
#[test]
fn c6_will() {
    let will = WillConfig {
        topic: t("dev/status"),
        message: b(b"gone"),
        retain: true,
        qos: QoS::AtLeastOnce,
    };
    let pair = Pair::connected(Config {
        will: Some(will.clone()),
        ..Config::default()
    });
    assert!(
        matches!(&pair.seen_connects()[0].1, Seen::Connect { will_topic: Some(t), .. } if t == "dev/status")
    );
    let bad = Config {
        will: Some(WillConfig {
            topic: t("a/#"),
            ..will
        }),
        ..Config::default()
    };
    assert_eq!(
        Session::new(bad).unwrap_err(),
        ConfigError::InvalidWillTopic
    );
}

/// C7: queue_len 0 gives the callback interface (message events); > 0 the
/// event interface (a queue the application pops).
#[test]
fn c7_callback_or_event_interface() {
    let msg = || BrokerModel::publish_bytes("in", b"hello", QosPid::AtMostOnce, false, false);
    let mut cb = Pair::connected(Config::default());
    cb.broker_sends(msg());
    assert!(cb.has_event(|e| matches!(e, Event::Message(m) if m.payload == b"hello")));
    assert_eq!(cb.session.queued_messages(), 0);
    let mut ev = Pair::connected(Config {
        queue_len: 4,
        ..Config::default()
    });
    ev.broker_sends(msg());
    assert!(!ev.has_event(|e| matches!(e, Event::Message(_))));
    assert_eq!(ev.session.pop_message().unwrap().payload, b"hello");
}

/// C8: WiFi credentials belong to the link layer and are never printed.
#[test]
fn c8_wifi_credentials_redacted() {
    let wifi = WifiCredentials {
        ssid: t("home"),
        password: t("wpa-secret"),
    };
    let cfg = Config {
        wifi: Some(wifi),
        ..Config::default()
    };
    let text = alloc::format!("{cfg:?}");
    assert!(text.contains("home"));
    assert!(!text.contains("wpa-secret"), "{text}");
}

/// Config validation catches what cannot work.
#[test]
fn config_validation() {
    let z = Config {
        response_time: Duration::ZERO,
        ..Config::default()
    };
    assert_eq!(z.validate(), Err(ConfigError::ZeroResponseTime));
    let b = Config {
        backoff: Backoff {
            jitter: 2.0,
            ..Backoff::default()
        },
        ..Config::default()
    };
    assert_eq!(b.validate(), Err(ConfigError::InvalidBackoff));
    let k = Config {
        keepalive: secs(70_000),
        ..Config::default()
    };
    assert_eq!(k.validate(), Err(ConfigError::KeepaliveTooLong));
}
