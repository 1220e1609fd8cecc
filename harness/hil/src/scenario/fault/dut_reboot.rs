//! `dut_reboot`: the DUT loses power and boots again at once: the driver's
//! state is gone and the application starts over (connect, subscribe...).
//! Its recovery is measured from the reboot.

use super::{Action, Cut, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct DutReboot;

impl FaultSpec for DutReboot {
    const KIND: &'static str = "dut_reboot";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str = "the DUT loses power and boots again (the application restarts)";

    const REBOOTS: bool = true;
    const CUT: Cut = Cut::Instant;

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(DutReboot)
    }

    fn detail(&self) -> String {
        String::new()
    }

    fn toml(&self) -> String {
        String::new()
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::DutReboot);
        x.ends_at(Dur::ZERO);
    }
}
