//! `wifi_up`: the DUT's WiFi signal is back. Needs a `wifi_down` (without
//! `for`) before it; it ends that fault.

use super::{Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct WifiUp;

impl FaultSpec for WifiUp {
    const KIND: &'static str = "wifi_up";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str = "the DUT's WiFi signal comes back (ends a `wifi_down`)";
    const DISRUPTS: bool = false;

    const ENDS_FAULT: bool = true;

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(WifiUp)
    }

    fn detail(&self) -> String {
        String::new()
    }

    fn toml(&self) -> String {
        String::new()
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::WifiUp);
    }
}
