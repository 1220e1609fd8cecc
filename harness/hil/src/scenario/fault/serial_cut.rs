//! `serial_cut`: the serial cable between a bridge host and its gateway is
//! pulled (`[bridge]` scenarios): bytes on the wire and bytes written while
//! it is out vanish, both ways; after `for` it is plugged back in. The
//! MQTT side behind the gateway is untouched: the bridge host must notice
//! (`gateway_down`), hold its QoS >= 1 publishes and recover on its own.

use super::{positive, quoted, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct SerialCut {
    /// How long the cable stays out (required: there is no `serial_restore`).
    pub r#for: Dur,
}

impl FaultSpec for SerialCut {
    const KIND: &'static str = "serial_cut";
    const FIELDS: &'static [&'static str] = &["for"];
    const SUMMARY: &'static str =
        "[bridge] the serial cable between host and gateway is pulled for `for` (bytes vanish both ways)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let d: Dur = f.req("for")?;
        let d = positive(f, "for", Some(d))?.unwrap_or(Dur::ZERO);
        Ok(SerialCut { r#for: d })
    }

    fn detail(&self) -> String {
        words(&[("for", Some(self.r#for.to_string()))])
    }

    fn toml(&self) -> String {
        toml_lines(&[("for", Some(quoted(self.r#for)))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::SerialCut);
        x.act(self.r#for, Action::SerialRestore);
        x.ends_at(self.r#for);
    }
}
