//! `serial_drop {rate}`: a UART losing bytes (`[bridge]` scenarios, an
//! overrun or a marginal line): each byte on the serial line, either way,
//! is lost with probability `rate` (drawn from the run's seed), for `for`
//! or until the end of the run. The bridge's framing must resynchronise
//! after a frame with a byte missing and retransmit it.

use super::{serial_rate, Action, Expansion, FaultSpec, Fields, SerialRate};
use crate::diag::Diagnostic;

#[derive(Debug, Clone, PartialEq)]
pub struct SerialDrop(pub SerialRate);

impl FaultSpec for SerialDrop {
    const KIND: &'static str = "serial_drop";
    const FIELDS: &'static [&'static str] = &["rate", "for"];
    const SUMMARY: &'static str =
        "[bridge] each serial byte is lost with probability `rate` (0 < rate <= 1); optional `for`";
    const DISRUPTS: bool = false;

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        SerialRate::parse(f).map(SerialDrop)
    }

    fn detail(&self) -> String {
        self.0.detail()
    }

    fn toml(&self) -> String {
        self.0.toml()
    }

    fn expand(&self, x: &mut Expansion) {
        serial_rate(x, self.0, |rate| Action::SerialDrop { rate });
    }
}
