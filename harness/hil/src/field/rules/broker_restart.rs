//! Rule `broker_restart`: the broker went away and came back.
//!
//! - A broker log shows a new `mosquitto version ... starting` after other
//!   lines: the broker was down from the last line before it (a killed
//!   mosquitto writes nothing more; a stopped one writes `terminating`)
//!   until that line.
//! - A capture or trace shows the DUT's connection closed by the broker's
//!   side (FIN or RST) together with a burst of other clients' ends
//!   (within 1 s), or followed by attempts the broker side refused or
//!   closed: down from that end until the next connection it accepted
//!   (of any client).
//!
//! `persist` is the session-present flag of the DUT's first CONNACK after
//! the restart when it asked for a session (clean = 0); else false.

use super::{Ctx, Fault, Inferred};
use crate::field::evidence::{EndHow, Event, Obs};
use crate::scenario::fault::{BrokerCrash, BrokerRestart};

pub const NAME: &str = "broker_restart";

/// Ends of different clients this close together make a burst.
const BURST_MS: u64 = 1_000;

fn persist_after(ctx: &Ctx<'_>, t: u64) -> bool {
    let Some(c) = ctx
        .conns
        .iter()
        .find(|c| c.open.t_ms >= t && c.accepted.is_some())
    else {
        return false;
    };
    let asked = c.events.iter().any(|e| {
        matches!(
            e.obs,
            Obs::ConnectSettings {
                clean: Some(false),
                ..
            }
        )
    });
    asked
        && c.events.iter().any(|e| {
            matches!(
                e.obs,
                Obs::Connack {
                    session_present: true,
                    ..
                }
            )
        })
}

fn claim(ctx: &mut Ctx<'_>, from: u64, to: u64) {
    for (i, o) in ctx.outages.iter().enumerate() {
        if o.end_ms + 2_000 >= from && o.end_ms <= to && !ctx.claimed.contains(&i) {
            ctx.claimed.push(i);
        }
    }
}

pub fn infer(ctx: &mut Ctx<'_>) -> Vec<Inferred> {
    let mut out = Vec::new();
    // From broker logs: a start line after other lines.
    let starts: Vec<&Event> = ctx
        .ev
        .events
        .iter()
        .filter(|e| e.obs == Obs::BrokerStart)
        .collect();
    for s in starts {
        let before: Vec<&Event> = ctx
            .ev
            .events
            .iter()
            .filter(|e| e.src.file == s.src.file && e.src < s.src)
            .collect();
        let Some(last) = before.iter().max_by_key(|e| e.src.clone()) else {
            continue; // the first start of the log
        };
        let stop = before
            .iter()
            .rev()
            .find(|e| e.obs == Obs::BrokerStop)
            .copied();
        let down = stop.unwrap_or(last);
        let how = if stop.is_some() {
            "logged `terminating`"
        } else {
            "the log goes silent (killed: no `terminating` line)"
        };
        out.push(Inferred {
            at_ms: down.t_ms,
            fault: Fault::BrokerCrash(BrokerCrash),
            recorded: None,
            rule: NAME,
            evidence: vec![down.src.clone(), s.src.clone()],
            why: format!(
                "broker {how} at {}, then a new `mosquitto ... starting` at {}",
                down.src, s.src
            ),
        });
        out.push(Inferred {
            at_ms: s.t_ms,
            fault: Fault::BrokerRestart(BrokerRestart {
                persist: persist_after(ctx, s.t_ms),
            }),
            recorded: None,
            rule: NAME,
            evidence: vec![s.src.clone()],
            why: "mosquitto started again".into(),
        });
        claim(ctx, down.t_ms, s.t_ms);
    }
    if !out.is_empty() {
        return out;
    }
    // From captures and traces: the broker's side closed, in a burst or
    // with refused attempts after it.
    for i in 0..ctx.outages.len() {
        if ctx.claimed.contains(&i) {
            continue;
        }
        let o = &ctx.outages[i];
        if !matches!(o.how, EndHow::FinFromBroker | EndHow::Reset) {
            continue;
        }
        if ctx.coarse_files.contains(&o.end_src.file) {
            continue;
        }
        // Events are sorted by time: look only at the burst window.
        let evs = &ctx.ev.events;
        let from = evs.partition_point(|e| e.t_ms + BURST_MS < o.end_ms);
        let to = evs.partition_point(|e| e.t_ms <= o.end_ms + BURST_MS);
        let others: Vec<&Event> = evs[from..to]
            .iter()
            .filter(|e| {
                e.client.as_deref() != Some(ctx.dut)
                    && matches!(
                        e.obs,
                        Obs::End {
                            how: EndHow::FinFromBroker
                                | EndHow::Reset
                                | EndHow::SocketError
                                | EndHow::Unknown
                        }
                    )
                    && e.t_ms.abs_diff(o.end_ms) <= BURST_MS
            })
            .collect();
        let refused: Vec<&Event> = o
            .failed_attempts
            .iter()
            .copied()
            .filter(|a| {
                ctx.conns.iter().any(|c| {
                    std::ptr::eq(c.open, *a)
                        && c.events.iter().any(|e| {
                            matches!(
                                e.obs,
                                Obs::Refused
                                    | Obs::End {
                                        how: EndHow::FinFromBroker | EndHow::Reset
                                    }
                            )
                        })
                })
            })
            .collect();
        if others.is_empty() && refused.is_empty() {
            continue;
        }
        let Some(up) = o.up_ms() else { continue };
        // Restart: the first connection any client got accepted after the end.
        let after = evs.partition_point(|e| e.t_ms <= o.end_ms);
        let restart = evs[after..]
            .iter()
            .take_while(|e| e.t_ms <= up)
            .find(|e| matches!(e.obs, Obs::Connack { code: 0, .. }))
            .map(|e| e.t_ms)
            .unwrap_or(up)
            .min(up);
        let mut evidence = vec![o.end_src.clone()];
        evidence.extend(others.iter().take(3).map(|e| e.src.clone()));
        evidence.extend(refused.iter().take(3).map(|e| e.src.clone()));
        let why = format!(
            "the DUT's connection was closed by the broker's side ({}) {} and {}",
            o.end_src,
            if others.is_empty() {
                String::new()
            } else {
                format!("together with {} other client(s)", others.len())
            },
            if refused.is_empty() {
                "nobody else".to_string()
            } else {
                format!(
                    "{} reconnect attempt(s) were refused or closed",
                    refused.len()
                )
            }
        );
        out.push(Inferred {
            at_ms: o.end_ms,
            fault: Fault::BrokerCrash(BrokerCrash),
            recorded: None,
            rule: NAME,
            evidence,
            why,
        });
        let next_src = o
            .next
            .as_ref()
            .map(|c| c.open.src.clone())
            .unwrap_or_else(|| o.end_src.clone());
        out.push(Inferred {
            at_ms: restart,
            fault: Fault::BrokerRestart(BrokerRestart {
                persist: persist_after(ctx, restart),
            }),
            recorded: None,
            rule: NAME,
            evidence: vec![next_src],
            why: "the first connection the broker accepted again".into(),
        });
        ctx.claimed.push(i);
    }
    out
}
