//! `broker_disconnect`: the broker sends the DUT an MQTT 5 DISCONNECT
//! with reason code `reason` (default 0x8B, server shutting down; any code
//! a server may send, e.g. 0x98 administrative action) and closes the
//! connection, once. A 3.1.1 DUT (no server DISCONNECT in 3.1.1) just sees
//! the connection closed. Sessions are kept.

use resilient_mqtt::codec::v5::{PacketType, ReasonCode};

use super::{toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerDisconnect {
    /// A DISCONNECT reason code.
    pub reason: u8,
}

impl FaultSpec for BrokerDisconnect {
    const KIND: &'static str = "broker_disconnect";
    const FIELDS: &'static [&'static str] = &["reason"];
    const SUMMARY: &'static str =
        "the broker sends the DUT an MQTT 5 DISCONNECT with `reason` (default 0x8B server shutting down) and closes, once";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let reason: i64 = f.opt("reason")?.unwrap_or(0x8B);
        let code = u8::try_from(reason)
            .ok()
            .and_then(|c| ReasonCode::for_packet(c, PacketType::Disconnect));
        match code {
            Some(c) => Ok(BrokerDisconnect { reason: c as u8 }),
            None => Err(f.invalid(
                "reason",
                format!("{reason:#04x} is not a DISCONNECT reason code (e.g. 0x8B server shutting down, 0x98 administrative action)"),
            )),
        }
    }

    fn detail(&self) -> String {
        words(&[("reason", Some(format!("0x{:02X}", self.reason)))])
    }

    fn toml(&self) -> String {
        // A TOML hex integer, as the detail writes it.
        toml_lines(&[("reason", Some(format!("0x{:02X}", self.reason)))])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(
            Dur::ZERO,
            Action::BrokerDisconnect {
                reason: self.reason,
            },
        );
        x.ends_at(Dur::ZERO);
    }
}
