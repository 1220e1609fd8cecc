//! Rule `blackhole`: a missing response with the connection still open.
//! The DUT's requests at the end of a connection (PINGREQ, QoS 1 PUBLISH,
//! SUBSCRIBE) got no response, the broker's side never closed it, and the
//! DUT gave up (timeout, its own FIN or RST) or the evidence ends: a
//! half-open link from the first unanswered request until the DUT's next
//! connection the broker accepted (attempts in between went unanswered).
//! Needs the device's view (a device-side capture, our trace, an agent
//! log): the broker's view of the same incident is a silent gap, which the
//! `link_down` rule reads.

use super::{outage_length, Ctx, Fault, Inferred};
use crate::field::evidence::EndHow;
use crate::scenario::fault::LinkBlackhole;
use crate::scenario::network::Link;

pub const NAME: &str = "blackhole";

pub fn infer(ctx: &mut Ctx<'_>) -> Vec<Inferred> {
    let mut out = Vec::new();
    for i in 0..ctx.outages.len() {
        if ctx.claimed.contains(&i) {
            continue;
        }
        let o = &ctx.outages[i];
        if !matches!(
            o.how,
            EndHow::ClientTimeout | EndHow::FinFromClient | EndHow::Reset | EndHow::Unknown
        ) {
            continue;
        }
        let unanswered = o.before.unanswered();
        let Some(first) = unanswered.first() else {
            continue;
        };
        // A single request unanswered right before a FIN is a link loss,
        // not a blackhole: the DUT must have waited for the response.
        if o.how != EndHow::ClientTimeout && o.end_ms.saturating_sub(first.t_ms) < 2_000 {
            continue;
        }
        let end = o.up_ms().unwrap_or(o.end_ms);
        let mut evidence = vec![first.src.clone()];
        evidence.extend(unanswered.iter().skip(1).take(2).map(|e| e.src.clone()));
        evidence.push(o.end_src.clone());
        out.push(Inferred {
            at_ms: first.t_ms,
            fault: Fault::LinkBlackhole(LinkBlackhole {
                link: Link::Dut,
                r#for: Some(outage_length(end.saturating_sub(first.t_ms))),
            }),
            recorded: None,
            rule: NAME,
            evidence,
            why: format!(
                "{} request(s) from the DUT got no response while the connection stayed open (first at {}); the DUT gave up at {}{}",
                unanswered.len(),
                first.src,
                o.end_src,
                match &o.next {
                    Some(c) => format!(" and was accepted again at {}", c.open.src),
                    None => " and the evidence ends".to_string(),
                }
            ),
        });
        ctx.claimed.push(i);
    }
    out
}
