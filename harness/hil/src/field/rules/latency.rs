//! Rule `latency`: the link's latency from the request-response time
//! distribution on the DUT's connections (CONNECT-CONNACK, PUBLISH-PUBACK,
//! PINGREQ-PINGRESP, SUBSCRIBE-SUBACK). With at least 5 samples and a
//! median round trip of 40 ms or more, the device link gets a one-way
//! latency from half the 10th to half the 90th percentile
//! (`[network.dut] latency`). Whole-second log times are not used.

use super::{Ctx, Fault, Inferred};
use crate::duration::Dur;
use crate::field::evidence::{Dir, PacketKind};
use crate::scenario::fault::Latency;
use crate::scenario::network::Link;

pub const NAME: &str = "latency";

/// Fewer samples say nothing.
const MIN_SAMPLES: usize = 5;
/// Round trips below this are a LAN; not worth a setting.
const MIN_MEDIAN_MS: u64 = 40;

pub fn infer(ctx: &mut Ctx<'_>) -> Vec<Inferred> {
    let mut rtts: Vec<(
        u64,
        &crate::field::evidence::Event,
        &crate::field::evidence::Event,
    )> = Vec::new();
    for c in &ctx.conns {
        if ctx.coarse_files.contains(&c.open.src.file) {
            continue;
        }
        let pk: Vec<_> = c.packets().collect();
        for (k, &(req, dir, kind, pid, dup)) in pk.iter().enumerate() {
            if dir != Dir::ToBroker || dup {
                continue;
            }
            let want = match kind {
                PacketKind::Connect => PacketKind::Connack,
                PacketKind::Publish if pid.is_some() => PacketKind::Puback,
                PacketKind::Pingreq => PacketKind::Pingresp,
                PacketKind::Subscribe => PacketKind::Suback,
                _ => continue,
            };
            // Resent requests make ambiguous samples: skip them.
            let resent = pk[k + 1..].iter().any(|p| p.2 == kind && p.3 == pid && p.4);
            if resent {
                continue;
            }
            if let Some(resp) = pk[k + 1..].iter().find(|p| {
                p.1 == Dir::ToClient
                    && p.2 == want
                    && (pid.is_none()
                        || want == PacketKind::Connack
                        || want == PacketKind::Pingresp
                        || p.3 == pid)
            }) {
                rtts.push((resp.0.t_ms.saturating_sub(req.t_ms), req, resp.0));
            }
        }
    }
    if rtts.len() < MIN_SAMPLES {
        return Vec::new();
    }
    rtts.sort_by_key(|r| r.0);
    let pct = |p: usize| rtts[(rtts.len() - 1) * p / 100];
    let median = pct(50).0;
    if median < MIN_MEDIAN_MS {
        return Vec::new();
    }
    let (lo, hi) = (pct(10), pct(90));
    let first = rtts.iter().map(|r| r.1.t_ms).min().unwrap_or(0);
    vec![Inferred {
        at_ms: first,
        fault: Fault::Latency(Latency {
            link: Link::Dut,
            min: Dur::from_millis(lo.0 / 2),
            max: Dur::from_millis((hi.0 / 2).max(lo.0 / 2)),
            r#for: None,
            up: None,
            burst: None,
        }),
        recorded: None,
        rule: NAME,
        evidence: vec![
            lo.1.src.clone(),
            lo.2.src.clone(),
            hi.1.src.clone(),
            hi.2.src.clone(),
        ],
        why: format!(
            "{} request-response pairs: round trip p10 {} ms, median {median} ms, p90 {} ms",
            rtts.len(),
            lo.0,
            hi.0
        ),
    }]
}

#[cfg(test)]
mod tests {
    use crate::field::evidence::{
        Dir, Event, Evidence, InputSummary, Loc, Obs, PacketKind, Source,
    };
    use crate::field::rules::{infer, Fault};

    fn ev(t_ms: u64, n: usize, dir: Dir, kind: PacketKind, pid: Option<u16>) -> Event {
        Event {
            t_ms,
            client: Some("d".into()),
            conn: Some(1),
            obs: Obs::Packet {
                dir,
                kind,
                pid,
                qos: u8::from(pid.is_some()),
                dup: false,
                topic: Some("t".into()),
            },
            src: Source {
                file: "c.pcap".into(),
                loc: Loc::Packet(n),
            },
        }
    }

    #[test]
    fn slow_round_trips_give_the_link_a_latency_and_fast_ones_do_not() {
        for (rtt, want) in [(300u64, true), (4, false)] {
            let mut events = vec![Event {
                obs: Obs::Open,
                ..ev(0, 1, Dir::ToBroker, PacketKind::Connect, None)
            }];
            let mut n = 2;
            for i in 0..10u16 {
                let t = 1_000 + i as u64 * 1_000;
                // Round trips rtt .. rtt + 90 ms.
                let r = rtt + (i as u64 % 10) * (rtt / 30);
                events.push(ev(t, n, Dir::ToBroker, PacketKind::Publish, Some(i + 1)));
                events.push(ev(
                    t + r,
                    n + 1,
                    Dir::ToClient,
                    PacketKind::Puback,
                    Some(i + 1),
                ));
                n += 2;
            }
            let mut e = Evidence::default();
            let len = events.len();
            e.add(
                InputSummary {
                    file: "c.pcap".into(),
                    format: "pcap",
                    units: len,
                    unknown: 0,
                    observations: len,
                },
                events,
            );
            let found: Vec<_> = infer(&e, "d")
                .unwrap()
                .into_iter()
                .filter(|i| i.rule == super::NAME)
                .collect();
            assert_eq!(found.len(), usize::from(want), "rtt {rtt}: {found:?}");
            if want {
                let Fault::Latency(l) = &found[0].fault else {
                    panic!()
                };
                assert_eq!(
                    (l.min.as_millis(), l.max.as_millis()),
                    (150, 190),
                    "half the p10 and p90 round trips"
                );
                assert!(
                    found[0].why.contains("10 request-response pairs"),
                    "{}",
                    found[0].why
                );
            }
        }
    }
}
