//! `dut_power_cycle`: the DUT's power goes off for `off_for`, then comes
//! back: while it is off nothing it sent is delivered and its connections
//! die without a FIN or DISCONNECT (the broker finds out by its keepalive);
//! then it boots like after `dut_reboot` (the application starts over).
//! Its recovery is measured from the power coming back (its `fault_end`).

use super::{quoted, toml_lines, words, Action, Cut, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct DutPowerCycle {
    /// How long the power stays off.
    pub off_for: Dur,
}

impl FaultSpec for DutPowerCycle {
    const KIND: &'static str = "dut_power_cycle";
    const FIELDS: &'static [&'static str] = &["off_for"];
    const SUMMARY: &'static str =
        "the DUT's power is off for `off_for` (connections die silently), then it boots again";

    const REBOOTS: bool = true;
    const CUT: Cut = Cut::UntilEnd { or_kind: None };

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let off_for: Dur = f.req("off_for")?;
        if off_for.is_zero() {
            return Err(f.invalid("off_for", "must be greater than zero"));
        }
        Ok(DutPowerCycle { off_for })
    }

    fn detail(&self) -> String {
        words(&[("off_for", Some(self.off_for.to_string()))])
    }

    fn toml(&self) -> String {
        toml_lines(&[("off_for", Some(quoted(self.off_for)))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::DutPowerOff);
        x.act(self.off_for, Action::DutPowerOn);
        x.ends_at(self.off_for);
    }
}
