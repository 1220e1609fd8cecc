//! A transport failure that a quick retry cannot fix (a TLS certificate
//! rejected: `Session::handle_transport_rejected`): the first connect
//! reports it (K1), and later attempts wait `backoff.refused` like after a
//! CONNACK refusal (no retry storm); an ordinary failure backs off from
//! `backoff.initial`.

use super::*;

fn connack_accepted() -> Vec<u8> {
    let mut v = Vec::new();
    Packet::ConnAck(ConnAck {
        session_present: false,
        code: ConnectReturnCode::Accepted,
    })
    .encode_to_vec(&mut v)
    .unwrap();
    v
}

fn events(s: &mut Session) -> Vec<Event> {
    core::iter::from_fn(|| s.poll_event()).collect()
}

/// Up, then the broker closes the connection: the session asks to open.
fn running() -> Session {
    let mut s = Session::new(Config::default()).unwrap();
    let t = Instant::ZERO;
    s.handle_link(t, true);
    s.connect(t, true).unwrap();
    s.handle_transport_connected(t);
    s.handle_bytes(t, &connack_accepted());
    assert!(s.is_connected());
    s.handle_transport_closed(t);
    assert!(core::iter::from_fn(|| s.poll_action()).any(|a| a == Action::OpenTransport));
    events(&mut s);
    s
}

fn retry_in_ms(evs: &[Event]) -> u64 {
    evs.iter()
        .find_map(|e| match e {
            Event::AttemptFailed { retry_in_ms, .. } => Some(*retry_in_ms),
            _ => None,
        })
        .expect("attempt failed")
}

#[test]
fn rejected_transport_waits_the_refused_backoff() {
    let mut s = running();
    s.handle_transport_rejected(Instant::ZERO, "TLS handshake rejected: expired");
    let evs = events(&mut s);
    assert!(retry_in_ms(&evs) >= 30_000, "{evs:?}");
    assert!(evs
        .iter()
        .any(|e| matches!(e, Event::AttemptFailed { reason, .. } if reason.contains("expired"))));

    let mut s = running();
    s.handle_transport_failed(Instant::ZERO, "connection refused");
    assert!(retry_in_ms(&events(&mut s)) <= 500);
}

#[test]
fn rejected_first_connect_is_reported() {
    let mut s = Session::new(Config::default()).unwrap();
    s.handle_link(Instant::ZERO, true);
    s.connect(Instant::ZERO, true).unwrap();
    s.handle_transport_rejected(Instant::ZERO, "TLS handshake rejected: UnknownIssuer");
    let evs = events(&mut s);
    assert!(
        evs.iter().any(|e| matches!(e,
            Event::ConnectResult(Err(ConnectError::Transport(r))) if r.contains("UnknownIssuer"))),
        "{evs:?}"
    );
}
