//! Rule `recorded`: one of our own traces recorded the faults it ran
//! (`fault{kind, detail}` by the fault executor); they are copied as they
//! were written, and no other rule runs (the evidence needs no guessing).
//!
//! A recorded fault is read as the scenario fault its `key=value` words
//! describe, written as TOML the way [`toml`] writes them back, so what the
//! rule proposes is exactly what the imported scenario will hold.

use super::{Ctx, Fault, Inferred};
use crate::field::evidence::{Evidence, Obs};

pub const NAME: &str = "recorded";

/// A recorded fault's `key=value` words as TOML lines: `true`, `false` and
/// numbers bare, anything else a string.
pub fn toml(detail: &str) -> String {
    let mut t = String::new();
    for w in detail.split_whitespace() {
        let Some((k, v)) = w.split_once('=') else {
            continue;
        };
        let bare = v == "true" || v == "false" || v.parse::<f64>().is_ok();
        if bare {
            t.push_str(&format!("{k} = {v}\n"));
        } else {
            t.push_str(&format!("{k} = {}\n", toml::Value::String(v.to_string())));
        }
    }
    t
}

/// The recorded fault `kind` `detail` as a scenario fault.
fn read(kind: &str, detail: &str) -> Result<Fault, String> {
    Fault::from_toml(kind, &toml(detail))
}

/// The first recorded fault in the evidence that does not read as a
/// scenario fault, as an error naming its place.
pub fn unreadable(ev: &Evidence) -> Option<String> {
    ev.events.iter().find_map(|e| match &e.obs {
        Obs::RecordedFault { kind, detail } => read(kind, detail).err().map(|why| {
            format!(
                "{}: the trace records fault `{kind}` {detail}, which does not read as a scenario fault: {why}",
                e.src
            )
        }),
        _ => None,
    })
}

pub fn infer(ctx: &mut Ctx<'_>) -> Vec<Inferred> {
    ctx.ev
        .events
        .iter()
        .filter_map(|e| match &e.obs {
            Obs::RecordedFault { kind, detail } => Some(Inferred {
                at_ms: e.t_ms,
                // `rules::infer` checked that every recorded fault reads.
                fault: read(kind, detail).ok()?,
                recorded: Some(detail.clone()),
                rule: NAME,
                evidence: vec![e.src.clone()],
                why: format!("the trace records fault `{kind}` {detail}"),
            }),
            _ => None,
        })
        .collect()
}
