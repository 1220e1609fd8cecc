//! `gateway_reboot`: the bridge's gateway (`[bridge]` scenarios; the radio
//! module running `resilient-mqtt`) loses power and boots again: its
//! driver, its MQTT connection and its per-host queue are gone. The bridge
//! host keeps running and must re-send its configuration, subscriptions
//! and every QoS >= 1 publish not yet acknowledged end to end.

use super::{Action, Cut, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayReboot;

impl FaultSpec for GatewayReboot {
    const KIND: &'static str = "gateway_reboot";
    const FIELDS: &'static [&'static str] = &[];
    const SUMMARY: &'static str =
        "[bridge] the gateway loses power and boots again (its MQTT connection and queue are gone)";

    const CUT: Cut = Cut::Instant;

    fn parse(_: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(GatewayReboot)
    }

    fn detail(&self) -> String {
        String::new()
    }

    fn toml(&self) -> String {
        String::new()
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::GatewayReboot);
        x.ends_at(Dur::ZERO);
    }
}
