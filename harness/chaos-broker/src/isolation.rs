//! The isolation check shared by the fuzz target (`fuzz/`, target
//! `connection`) and the property tests: arbitrary bytes from one client,
//! fed through the sans-IO core in arbitrary chunks and at arbitrary times,
//! must never panic the broker nor disturb a well-behaved client.

use std::time::Duration;

use resilient_mqtt::codec::{
    decode, Connect, Decoded, List, Packet, Pid, Publish, QoS, QosPid, Subscribe, SubscribeTopic,
};

use crate::config::BrokerConfig;
use crate::core::{ConnId, Core};

fn encode(p: Packet<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    // Fixed, valid packets: encoding cannot fail.
    let _ = p.encode_to_vec(&mut v);
    v
}

fn connect(id: &str) -> Vec<u8> {
    encode(Packet::Connect(Connect {
        client_id: id,
        keep_alive: 0,
        clean_session: true,
        will: None,
        username: None,
        password: None,
    }))
}

/// Everything the connection has to send, decoded to (summary, payload).
fn drain(core: &mut Core, id: ConnId, now: Duration) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut bytes = Vec::new();
    while let Some(b) = core.poll_transmit(id, now) {
        bytes.extend_from_slice(&b);
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match decode(&bytes[pos..], usize::MAX) {
            Ok(Decoded::Packet { packet, len }) => {
                let payload = match &packet {
                    Packet::Publish(p) => p.payload.to_vec(),
                    _ => Vec::new(),
                };
                out.push((crate::log::summarize(&packet), payload));
                pos += len;
            }
            Ok(Decoded::Incomplete { .. }) => {
                return Err("the broker sent a truncated packet".into())
            }
            Err(e) => return Err(format!("the broker sent a malformed packet: {e}")),
        }
    }
    Ok(out)
}

/// Runs the scenario; `Err` says what went wrong. The first input byte
/// picks the chunk size, the second the time step between chunks.
pub fn check_isolation(data: &[u8]) -> Result<(), String> {
    let mut core = Core::new(BrokerConfig {
        max_packet_size: 64 * 1024,
        ..BrokerConfig::default()
    });
    let mut now = Duration::ZERO;
    let good = core.open(now);
    core.handle_input(good, &connect("well-behaved"), now);
    let topics = [SubscribeTopic {
        filter: "probe/#",
        qos: QoS::AtMostOnce,
    }];
    core.handle_input(
        good,
        &encode(Packet::Subscribe(Subscribe {
            pid: Pid::MIN,
            topics: List::new(&topics),
        })),
        now,
    );
    let first = drain(&mut core, good, now)?;
    let want = ["CONNACK sp=0 rc=0", "SUBACK pid=1 codes=0"];
    if first.iter().map(|(s, _)| s.as_str()).ne(want) {
        return Err(format!("well-behaved client set-up got {first:?}"));
    }

    let chunk = data.first().map_or(1, |b| (*b as usize % 64) + 1);
    let step = Duration::from_millis(data.get(1).map_or(0, |b| *b as u64 * 250));
    let bad = core.open(now);
    for piece in data.get(2..).unwrap_or(&[]).chunks(chunk) {
        core.handle_input(bad, piece, now);
        now += step;
        core.handle_timeout(now);
        while core.poll_transmit(bad, now).is_some() {}
        // The good client's inbox is checked below; keep it drained.
        let _ = drain(&mut core, good, now)?;
    }
    core.handle_closed(bad, now);
    let _ = drain(&mut core, good, now)?;

    // The bad client may legitimately have taken the good one's client id
    // over; otherwise the good client must still get its messages.
    if core.should_close(good) {
        return Ok(());
    }
    let probe = core.open(now);
    core.handle_input(probe, &connect("probe-publisher"), now);
    core.handle_input(
        probe,
        &encode(Packet::Publish(Publish {
            dup: false,
            qospid: QosPid::AtLeastOnce(Pid::MIN),
            retain: false,
            topic: "probe/x",
            payload: b"still here",
        })),
        now,
    );
    let acks = drain(&mut core, probe, now)?;
    if !acks.iter().any(|(s, _)| s == "PUBACK pid=1") {
        return Err(format!("probe publisher got {acks:?}"));
    }
    let got = drain(&mut core, good, now)?;
    if !got.iter().any(|(s, p)| {
        s.starts_with("PUBLISH qos=0") && s.contains("topic=probe/x") && p == b"still here"
    }) {
        return Err(format!(
            "well-behaved client got {got:?} instead of the probe"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_run_passes() {
        assert_eq!(check_isolation(&[]), Ok(()));
        assert_eq!(check_isolation(&[3, 1, 0xff, 0, 1, 2]), Ok(()));
    }

    #[test]
    fn takeover_by_the_bad_client_is_allowed() {
        let mut data = vec![63, 0];
        data.extend(connect("well-behaved"));
        assert_eq!(check_isolation(&data), Ok(()));
    }
}
