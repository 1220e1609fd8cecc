//! Rule `link_down`: the DUT's link went down and came back, read from
//!
//! - the device's own log (`wifi_down` / `wifi_up` in a trace or agent log);
//! - a traffic gap: the DUT's connection went silent and the broker gave
//!   up on its keepalive (no reset: down from its last packet), or the
//!   connection ended by the DUT's side or a socket error (a reset or FIN:
//!   down from that end), until the DUT's next connection attempt.
//!
//! A DISCONNECT by the application is not an outage.

use super::{outage_length, Ctx, Fault, Inferred};
use crate::field::evidence::{Dir, EndHow, Obs};
use crate::scenario::fault::WifiDown;

pub const NAME: &str = "link_down";

pub fn infer(ctx: &mut Ctx<'_>) -> Vec<Inferred> {
    let mut out = Vec::new();
    // The device said so.
    let links: Vec<_> = ctx
        .ev
        .of(ctx.dut)
        .filter_map(|e| match e.obs {
            Obs::Link { up } => Some((e, up)),
            _ => None,
        })
        .collect();
    let mut k = 0;
    while k < links.len() {
        let (down, up) = links[k];
        if up {
            k += 1;
            continue;
        }
        let back = links[k + 1..].iter().find(|(_, up)| *up).map(|(e, _)| *e);
        let end = back
            .map(|e| e.t_ms)
            .unwrap_or_else(|| ctx.ev.events.last().map(|e| e.t_ms).unwrap_or(down.t_ms));
        let mut evidence = vec![down.src.clone()];
        evidence.extend(back.map(|e| e.src.clone()));
        out.push(Inferred {
            at_ms: down.t_ms,
            fault: Fault::WifiDown(WifiDown {
                r#for: Some(outage_length(end.saturating_sub(down.t_ms))),
            }),
            recorded: None,
            rule: NAME,
            evidence,
            why: "the device logged its WiFi going down and up".into(),
        });
        for (i, o) in ctx.outages.iter().enumerate() {
            if o.end_ms + 1_000 >= down.t_ms && o.end_ms <= end && !ctx.claimed.contains(&i) {
                ctx.claimed.push(i);
            }
        }
        k += 1;
    }
    // Gaps.
    for i in 0..ctx.outages.len() {
        if ctx.claimed.contains(&i) {
            continue;
        }
        let o = &ctx.outages[i];
        let (down_ms, down_src, how) = match o.how {
            EndHow::KeepaliveTimeout | EndHow::ClientTimeout => {
                let last = o.before.last(Dir::ToBroker).unwrap_or(o.before.open);
                (
                    last.t_ms,
                    last.src.clone(),
                    "went silent (no reset) until the broker's keepalive gave up",
                )
            }
            EndHow::FinFromClient | EndHow::Reset | EndHow::SocketError => (
                o.end_ms,
                o.end_src.clone(),
                "was cut by the DUT's side (FIN, reset or socket error)",
            ),
            EndHow::Unknown if o.next.is_some() => {
                let last = o.before.events.last().copied().unwrap_or(o.before.open);
                (last.t_ms, last.src.clone(), "went silent")
            }
            _ => continue,
        };
        let (up_ms, up_src) = match &o.next {
            Some(c) => {
                // The first attempt after the gap shows the link was back.
                let first = o
                    .failed_attempts
                    .iter()
                    .find(|a| a.t_ms > o.end_ms)
                    .copied()
                    .unwrap_or(c.open);
                (first.t_ms, Some(first.src.clone()))
            }
            None => (
                ctx.ev.events.last().map(|e| e.t_ms).unwrap_or(down_ms),
                None,
            ),
        };
        if up_ms <= down_ms {
            continue;
        }
        let mut evidence = vec![down_src.clone(), o.end_src.clone()];
        evidence.dedup();
        evidence.extend(up_src.clone());
        out.push(Inferred {
            at_ms: down_ms,
            fault: Fault::WifiDown(WifiDown {
                r#for: Some(outage_length(up_ms - down_ms)),
            }),
            recorded: None,
            rule: NAME,
            evidence,
            why: format!(
                "the DUT's connection {how} ({}), {}",
                o.end_src,
                match up_src {
                    Some(s) => format!("next connection attempt at {s}"),
                    None => "no reconnection before the evidence ends".into(),
                }
            ),
        });
        ctx.claimed.push(i);
    }
    out
}
