//! `serial_noise {rate}`: a noisy UART (`[bridge]` scenarios): each byte on
//! the serial line, either way, has one bit flipped with probability
//! `rate` (drawn from the run's seed), for `for` or until the end of the
//! run. The bridge's framing must detect the damage (CRC), resynchronise
//! and retransmit.

use super::{serial_rate, Action, Expansion, FaultSpec, Fields, SerialRate};
use crate::diag::Diagnostic;

#[derive(Debug, Clone, PartialEq)]
pub struct SerialNoise(pub SerialRate);

impl FaultSpec for SerialNoise {
    const KIND: &'static str = "serial_noise";
    const FIELDS: &'static [&'static str] = &["rate", "for"];
    const SUMMARY: &'static str =
        "[bridge] each serial byte has a bit flipped with probability `rate` (0 < rate <= 1); optional `for`";
    const DISRUPTS: bool = false;

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        SerialRate::parse(f).map(SerialNoise)
    }

    fn detail(&self) -> String {
        self.0.detail()
    }

    fn toml(&self) -> String {
        self.0.toml()
    }

    fn expand(&self, x: &mut Expansion) {
        serial_rate(x, self.0, |rate| Action::SerialNoise { rate });
    }
}
