//! Rule `lost_ack`: a PUBACK or PINGRESP that never reached the DUT,
//! from a request-response mismatch on a connection that stayed healthy:
//!
//! - PUBACK: the DUT resent a QoS 1 PUBLISH (same packet id, DUP set) on
//!   the same connection, with no PUBACK for it in between (device view),
//!   or after the broker had sent that PUBACK (broker view: it was lost on
//!   the way), and the connection got responses afterwards;
//! - PINGRESP: a PINGREQ followed by another PINGREQ with no PINGRESP in
//!   between, responses flowing afterwards.
//!
//! Consecutive losses on one connection make one `broker_drop` with
//! `count`.

use super::{Ctx, Fault, Inferred};
use crate::field::evidence::{Dir, PacketKind, Source};
use crate::scenario::fault::{BrokerDrop, Budget, Packet};

pub const NAME: &str = "lost_ack";

pub fn infer(ctx: &mut Ctx<'_>) -> Vec<Inferred> {
    let mut out: Vec<Inferred> = Vec::new();
    for c in &ctx.conns {
        let pk: Vec<_> = c.packets().collect();
        let mut losses: Vec<(u64, Packet, Vec<Source>)> = Vec::new();
        for (k, &(e, dir, kind, pid, dup)) in pk.iter().enumerate() {
            if dir != Dir::ToBroker {
                continue;
            }
            let later_response = |from: usize| pk[from..].iter().any(|p| p.1 == Dir::ToClient);
            if kind == PacketKind::Publish && !dup && pid.is_some() {
                // The resend of this pid, if any.
                let Some(r) = pk[k + 1..].iter().position(|p| {
                    p.1 == Dir::ToBroker && p.2 == PacketKind::Publish && p.3 == pid && p.4
                }) else {
                    continue;
                };
                let r = k + 1 + r;
                let between = &pk[k + 1..r];
                let acked_by_broker = between
                    .iter()
                    .find(|p| p.1 == Dir::ToClient && p.2 == PacketKind::Puback && p.3 == pid);
                let device_view_lost = acked_by_broker.is_none();
                if (device_view_lost || acked_by_broker.is_some()) && later_response(r + 1) {
                    let mut ev = vec![e.src.clone()];
                    ev.extend(acked_by_broker.map(|p| p.0.src.clone()));
                    ev.push(pk[r].0.src.clone());
                    losses.push((e.t_ms, Packet::Puback, ev));
                }
            } else if kind == PacketKind::Pingreq {
                let Some(n) = pk[k + 1..]
                    .iter()
                    .position(|p| p.2 == PacketKind::Pingreq || p.2 == PacketKind::Pingresp)
                else {
                    continue;
                };
                let n = k + 1 + n;
                if pk[n].2 == PacketKind::Pingreq
                    && pk[n].1 == Dir::ToBroker
                    && later_response(n + 1)
                {
                    losses.push((
                        e.t_ms,
                        Packet::Pingresp,
                        vec![e.src.clone(), pk[n].0.src.clone()],
                    ));
                }
            }
        }
        // Group consecutive losses of one packet type.
        for (t, packet, evidence) in losses {
            if let Some(last) = out.last_mut() {
                if let Fault::BrokerDrop(BrokerDrop {
                    packet: p,
                    budget:
                        Budget {
                            count: Some(count),
                            r#for: None,
                        },
                }) = &mut last.fault
                {
                    if *p == packet
                        && last.evidence.first().map(|s| &s.file)
                            == evidence.first().map(|s| &s.file)
                        && t.saturating_sub(last.at_ms) < 60_000
                        && *count < 20
                    {
                        *count += 1;
                        last.evidence.extend(evidence);
                        continue;
                    }
                }
            }
            let what = if packet == Packet::Puback {
                "a QoS 1 PUBLISH was resent with DUP (same packet id) without its PUBACK reaching the DUT"
            } else {
                "a PINGREQ was followed by another PINGREQ without a PINGRESP"
            };
            out.push(Inferred {
                at_ms: t.saturating_sub(100),
                fault: Fault::BrokerDrop(BrokerDrop {
                    packet,
                    budget: Budget::next(1),
                }),
                recorded: None,
                rule: NAME,
                why: format!(
                    "{what} ({}), the connection stayed healthy",
                    evidence
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                evidence,
            });
        }
    }
    out
}
