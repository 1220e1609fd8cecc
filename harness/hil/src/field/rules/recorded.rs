//! Rule `recorded`: one of our own traces recorded the faults it ran
//! (`fault{kind, detail}` by the fault executor); they are copied as they
//! were written, and no other rule runs (the evidence needs no guessing).

use super::{Ctx, Fault, Inferred};
use crate::field::evidence::Obs;

pub const NAME: &str = "recorded";

pub fn infer(ctx: &mut Ctx<'_>) -> Vec<Inferred> {
    ctx.ev
        .events
        .iter()
        .filter_map(|e| match &e.obs {
            Obs::RecordedFault { kind, detail } => Some(Inferred {
                at_ms: e.t_ms,
                fault: Fault::Recorded {
                    kind: kind.clone(),
                    detail: detail.clone(),
                },
                rule: NAME,
                evidence: vec![e.src.clone()],
                why: format!("the trace records fault `{kind}` {detail}"),
            }),
            _ => None,
        })
        .collect()
}
